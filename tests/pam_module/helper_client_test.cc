// The module ↔ tpmauthn-helper protocol (pam_module/helper_protocol.h) and the
// module's side of it (pam_module/helper_client.h), with stand-in helpers
// written as scripts: bounds and refusals, SIGPIPE-safe writes, the outcome
// taken from the reply (also where SIGCHLD is ignored), and a missing, silent
// or killed helper never counted as success. The real helper's trust rules
// are tested in helper_test.py.
#define BOOST_TEST_MODULE helper_client
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "config/safe_file.h"
#include "pam_module/helper_client.h"
#include "pam_module/helper_protocol.h"
#include "tests/support/temp_dir.h"

using namespace tpmauthn;
using namespace tpmauthn::pam;
using helper::Direction;
using helper::FrameType;

namespace {

webauthn::Bytes Frame(uint8_t type, std::string_view payload) {
  webauthn::Bytes out(3 + payload.size());
  out[0] = type;
  out[1] = static_cast<uint8_t>(payload.size() >> 8);
  out[2] = static_cast<uint8_t>(payload.size() & 0xff);
  std::copy(payload.begin(), payload.end(), out.begin() + 3);
  return out;
}

// Records what the helper showed and answers prompts from a list.
class ScriptedInterface : public webauthn::UserInterface {
 public:
  explicit ScriptedInterface(std::vector<std::string> answers) : answers_(std::move(answers)) {}
  std::optional<webauthn::SecretBytes> AskSecret(const std::string& prompt) override {
    shown.push_back("secret:" + prompt);
    if (answers_.empty()) return std::nullopt;
    std::string next = answers_.front();
    answers_.erase(answers_.begin());
    return webauthn::SecretBytes(std::string_view(next));
  }
  std::optional<std::string> AskText(const std::string& prompt) override {
    shown.push_back("text:" + prompt);
    return std::nullopt;
  }
  void Info(const std::string& message) override { shown.push_back("info:" + message); }
  void Error(const std::string& message) override { shown.push_back("error:" + message); }
  std::vector<std::string> shown;

 private:
  std::vector<std::string> answers_;
};

// A stand-in helper: a python3 script that speaks the protocol.
std::string WriteHelper(const testing::TempDir& dir, const std::string& name,
                        const std::string& body) {
  const std::string path = dir / name;
  testing::WriteFile(path,
                     "#!/usr/bin/python3\n"
                     "import os, struct, sys, time\n"
                     "def send(t, p=b''):\n"
                     "    os.write(0, struct.pack('>BH', t, len(p)) + p)\n"
                     "def read():\n"
                     "    h = os.read(0, 3)\n"
                     "    t, n = struct.unpack('>BH', h)\n"
                     "    return t, (os.read(0, n) if n else b'')\n"
                     "req = read()\n" +
                         body,
                     0755);
  return path;
}

}  // namespace

BOOST_AUTO_TEST_CASE(frames_within_bounds_parse_and_others_are_refused) {
  auto request = helper::ParseFrame(Frame(1, "\x01" "alice"), Direction::kToHelper);
  BOOST_REQUIRE(request.ok());
  BOOST_TEST(helper::RequestUser(*request) == "alice");
  BOOST_TEST(helper::ParseFrame(Frame(20, std::string(1, '\0')), Direction::kToModule).ok());
  BOOST_TEST(helper::ParseFrame(Frame(2, std::string(128, '7')), Direction::kToHelper).ok());

  struct Bad {
    webauthn::Bytes bytes;
    Direction direction;
    std::string why;
  };
  const std::vector<Bad> bad = {
      {Frame(2, std::string(129, '7')), Direction::kToHelper, "length 129 outside 0-128"},
      {Frame(1, "\x01" + std::string(257, 'a')), Direction::kToHelper, "outside 2-257"},
      {Frame(16, std::string(513, 'p')), Direction::kToModule, "outside 0-512"},
      {Frame(9, ""), Direction::kToHelper, "frame type 9 unknown"},
      {Frame(16, "PIN: "), Direction::kToHelper, "sent the wrong way"},
      {Frame(2, "12"), Direction::kToModule, "sent the wrong way"},
      {Frame(1, "\x02" "alice"), Direction::kToHelper, "protocol version 2 unsupported"},
      {Frame(1, "\x01" "al:ce"), Direction::kToHelper, "invalid user name"},
      {Frame(1, "\x01" "-alice"), Direction::kToHelper, "invalid user name"},
      {Frame(1, std::string("\x01" "a\0b", 4)), Direction::kToHelper, "invalid user name"},
      {Frame(2, std::string("12\0" "4", 4)), Direction::kToHelper, "NUL"},
      {Frame(20, "\x05"), Direction::kToModule, "unknown outcome 5"},
      {Frame(20, "\x00\x00"), Direction::kToModule, "outside 1-1"},
      {Frame(3, "x"), Direction::kToHelper, "outside 0-0"},
  };
  for (const Bad& b : bad) {
    auto parsed = helper::ParseFrame(b.bytes, b.direction);
    BOOST_TEST_CONTEXT(b.why) {
      BOOST_REQUIRE(!parsed.ok());
      BOOST_TEST(parsed.error().message.find(b.why) != std::string::npos, parsed.error().message);
    }
  }
  webauthn::Bytes truncated = Frame(2, "246813");
  truncated.pop_back();
  BOOST_TEST(helper::ParseFrame(truncated, Direction::kToHelper).error().message ==
             "frame truncated in its payload");
  webauthn::Bytes trailing = Frame(2, "246813");
  trailing.push_back('9');
  BOOST_TEST(helper::ParseFrame(trailing, Direction::kToHelper).error().message ==
             "trailing bytes after a frame");
}

BOOST_AUTO_TEST_CASE(frames_travel_over_a_socket_and_a_closed_peer_is_an_error_not_sigpipe) {
  int ends[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0);
  config::UniqueFd a(ends[0]), b(ends[1]);
  BOOST_REQUIRE(helper::WriteFrame(a.get(), FrameType::kAnswer, webauthn::AsBytes("246813")).ok());
  auto read = helper::ReadFrame(b.get(), Direction::kToHelper, 1000);
  BOOST_REQUIRE(read.ok());
  BOOST_TEST(webauthn::AsString(read->payload.bytes()) == "246813");
  // A frame longer than its type allows is not sent at all.
  BOOST_TEST(!helper::WriteFrame(a.get(), FrameType::kAnswer, webauthn::AsBytes(std::string(129, '1'))).ok());
  // Half a frame, then the end: an error naming where it ended.
  const uint8_t half[] = {2, 0, 6, '2', '4'};
  BOOST_REQUIRE(::write(a.get(), half, sizeof(half)) == static_cast<ssize_t>(sizeof(half)));
  a = config::UniqueFd();
  auto cut = helper::ReadFrame(b.get(), Direction::kToHelper, 1000);
  BOOST_REQUIRE(!cut.ok());
  BOOST_TEST(cut.error().message == "connection closed in the middle of a frame payload");
  // SIGPIPE keeps its default action (death): a write to the closed peer must
  // come back as an error.
  ::signal(SIGPIPE, SIG_DFL);
  auto sent = helper::WriteFrame(b.get(), FrameType::kInfo, webauthn::AsBytes("hello"));
  BOOST_TEST(!sent.ok());
  // Nothing sent within the limit: an error, not a hang.
  int quiet[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, quiet) == 0);
  config::UniqueFd q0(quiet[0]), q1(quiet[1]);
  auto timed_out = helper::ReadFrame(q0.get(), Direction::kToHelper, 50);
  BOOST_REQUIRE(!timed_out.ok());
  BOOST_TEST(timed_out.error().message == "no a frame header within the time limit");
}

BOOST_AUTO_TEST_CASE(prompts_and_messages_are_relayed_and_the_outcome_is_the_replys) {
  testing::TempDir dir;
  const std::string path = WriteHelper(dir, "helper",
                                       "assert req == (1, b'\\x01alice'), req\n"
                                       "send(18, b'Using the TPM')\n"
                                       "send(16, b'PIN for alice: ')\n"
                                       "t, pin = read()\n"
                                       "if pin != b'246813':\n"
                                       "    send(19, b'Wrong PIN.'); send(20, b'\\x02'); sys.exit(0)\n"
                                       "send(20, b'\\x00')\n");
  ScriptedInterface ui({"246813"});
  Decision decision = RunHelper(path, "alice", ui);
  BOOST_TEST(static_cast<int>(decision.outcome) == static_cast<int>(Outcome::kSuccess));
  BOOST_TEST(ui.shown == (std::vector<std::string>{"info:Using the TPM", "secret:PIN for alice: "}));

  ScriptedInterface wrong({"000000"});
  decision = RunHelper(path, "alice", wrong);
  BOOST_TEST(static_cast<int>(decision.outcome) == static_cast<int>(Outcome::kAuthError));
  BOOST_TEST(wrong.shown.back() == "error:Wrong PIN.");
}

BOOST_AUTO_TEST_CASE(no_reply_is_unavailable_whatever_the_exit_status) {
  testing::TempDir dir;
  ScriptedInterface ui({"246813"});
  // Exits 0 without a result.
  Decision d = RunHelper(WriteHelper(dir, "silent", "sys.exit(0)\n"), "alice", ui);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kUnavailable));
  BOOST_TEST(d.reason.find("closed the connection") != std::string::npos, d.reason);
  // Killed after the prompt was answered.
  d = RunHelper(WriteHelper(dir, "killed",
                            "send(16, b'PIN: ')\nread()\nimport signal\n"
                            "os.kill(os.getpid(), signal.SIGKILL)\n"),
                "alice", ui);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kUnavailable));
  // Half a result frame.
  d = RunHelper(WriteHelper(dir, "half", "os.write(0, b'\\x14\\x00')\n"), "alice", ui);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kUnavailable));
  // A frame only the module may send.
  d = RunHelper(WriteHelper(dir, "confused", "send(2, b'246813')\nsend(20, b'\\x00')\n"), "alice",
                ui);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kUnavailable));
  BOOST_TEST(d.reason.find("sent the wrong way") != std::string::npos, d.reason);
  // Missing.
  d = RunHelper(dir / "missing", "alice", ui);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kUnavailable));
  BOOST_TEST(d.reason.find("No such file") != std::string::npos, d.reason);
}

BOOST_AUTO_TEST_CASE(the_reply_decides_where_the_caller_ignores_sigchld) {
  testing::TempDir dir;
  ScriptedInterface ui({});
  struct sigaction ignore {}, old{};
  ignore.sa_handler = SIG_IGN;
  BOOST_REQUIRE(::sigaction(SIGCHLD, &ignore, &old) == 0);
  // Success in the reply, exit status 1: the reply counts.
  Decision ok = RunHelper(WriteHelper(dir, "ok", "send(20, b'\\x00')\nsys.exit(1)\n"), "alice", ui);
  // Exit status 0, no reply: never success.
  Decision none = RunHelper(WriteHelper(dir, "none", "sys.exit(0)\n"), "alice", ui);
  ::sigaction(SIGCHLD, &old, nullptr);
  BOOST_TEST(static_cast<int>(ok.outcome) == static_cast<int>(Outcome::kSuccess));
  BOOST_TEST(static_cast<int>(none.outcome) == static_cast<int>(Outcome::kUnavailable));
}

BOOST_AUTO_TEST_CASE(the_helper_gets_an_empty_environment_and_default_signals) {
  testing::TempDir dir;
  ScriptedInterface ui({});
  ::setenv("TSS2_LOGFILE", "/tmp/should-not-pass", 1);
  ::signal(SIGUSR1, SIG_IGN);  // (python3 sets SIGPIPE itself)
  const std::string out = dir / "seen";
  Decision d = RunHelper(
      WriteHelper(dir, "env",
                  "import signal\n"
                  "open('" + out + "', 'w').write(repr(sorted(os.environ)) + ' ' +\n"
                  "    str(signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL) + ' ' +\n"
                  "    str(len(sys.argv)))\n"
                  "send(20, b'\\x01')\n"),
      "alice", ui);
  ::unsetenv("TSS2_LOGFILE");
  ::signal(SIGUSR1, SIG_DFL);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kUserUnknown));
  // python3 itself may add LC_CTYPE; nothing of ours may be there.
  const std::string seen = testing::ReadFile(out);
  BOOST_TEST(seen.find("TSS2") == std::string::npos, seen);
  BOOST_TEST(seen.find(" True 1") != std::string::npos, seen);
}
