// respond / ssh / ssh-askpass.
#include "cli/remote_commands.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <iterator>

#include "cli/exit_codes.h"
#include "cli/fido2_commands.h"
#include "cli/pin_input.h"
#include "cli/verb.h"
#include "tpm/connection.h"
#include "tpm/tpm_authenticator.h"
#include "webauthn/client_data.h"
#include "webauthn/remote_message.h"

extern char** environ;

namespace tpmauthn::cli {
namespace {

namespace wa = tpmauthn::webauthn;

int Fail(std::ostream& err, const char* command, const std::string& why, int code) {
  err << "tpmauthn: " << command << ": " << why << "\n";
  return code;
}

// Answers `request` with the first matching credential in the store, or
// with a security key (see RespondArgs::authenticator).
int Answer(const TpmArgs& tpm_args, const CredentialFileArgs& file,
           const std::string& authenticator, const wa::RemoteRequest& request,
           const std::string& origin, std::optional<int> pin_fd, const char* command,
           std::ostream& out, std::ostream& err) {
  if (origin.empty()) return Fail(err, command, "no origin (use --origin ssh://HOST)", kExitUsage);
  if (authenticator != "" && authenticator != "tpm" && authenticator != "fido2") {
    return Fail(err, command, "--authenticator must be tpm or fido2", kExitUsage);
  }
  if (authenticator == "fido2") {
    return AnswerWithSecurityKey(file, request, origin, pin_fd, command, out, err);
  }
  tpm::KeyStore store(tpm_args.store);
  auto records = store.List();
  if (!records) return Fail(err, command, records.error().message, kExitUsage);
  const tpm::KeyRecord* chosen = nullptr;
  for (const auto& r : *records) {
    if (r.rp_id != request.rp_id) continue;
    if (request.user_verification && !r.pin) continue;
    auto digest = wa::CredentialDigest(r.credential_id);
    for (const auto& d : request.credential_digests) {
      if (d == digest) chosen = &r;
    }
    if (chosen) break;
  }
  if (!chosen && authenticator.empty()) {
    return AnswerWithSecurityKey(file, request, origin, pin_fd, command, out, err);
  }
  if (!chosen) {
    return Fail(err, command,
                "no credential here for RP ID \"" + request.rp_id + "\" that the server accepts",
                kExitRejected);
  }
  const std::string client_data = wa::SerializeClientData(wa::kTypeGet, request.challenge, origin);
  const std::string label = chosen->label.empty() ? chosen->user : chosen->label;
  auto made = SignWithStoredKey(tpm_args, store,
                                {*chosen, request.rp_id, client_data, pin_fd,
                                 "PIN for " + label + " (signing in to " + origin + "): "},
                                command, err);
  if (!made) return made.error();
  wa::RemoteReply reply{made->credential_id, made->authenticator_data, made->signature,
                        wa::Bytes(client_data.begin(), client_data.end())};
  out << reply.Encode() << "\n";
  return kExitOk;
}

}  // namespace

int RunRespond(const TpmArgs& tpm, const CredentialFileArgs& file, const RespondArgs& args,
               std::ostream& out, std::ostream& err) {
  std::string text;
  if (args.request) {
    text = *args.request;
  } else {
    std::getline(std::cin, text);
  }
  auto request = wa::RemoteRequest::Parse(text);
  if (!request) return Fail(err, "respond", request.error().message, kExitUsage);
  return Answer(tpm, file, args.authenticator, *request, args.origin, args.pin_fd, "respond", out,
                err);
}

int RunSshAskpass(const TpmArgs& tpm, const CredentialFileArgs& file, const std::string& prompt,
                  std::ostream& out, std::ostream& err) {
  if (auto request = wa::RemoteRequest::Parse(prompt)) {
    const char* origin = std::getenv("TPMAUTHN_SSH_ORIGIN");
    const char* authenticator = std::getenv("TPMAUTHN_SSH_AUTHENTICATOR");
    return Answer(tpm, file, authenticator ? authenticator : "", *request, origin ? origin : "",
                  std::nullopt, "ssh-askpass", out, err);
  }
  // Not ours (a password, a host-key question): ask the person, unchanged.
  const char* kind = std::getenv("SSH_ASKPASS_PROMPT");
  const bool echo = kind && std::string(kind) == "confirm";
  wa::SecretBytes answer;
  if (!ReadTerminalLine(prompt, echo, answer)) {
    return Fail(err, "ssh-askpass", "no terminal for: " + prompt, kExitUsage);
  }
  out.write(reinterpret_cast<const char*>(answer.bytes().data()),
            static_cast<std::streamsize>(answer.size()));
  out << "\n";
  return kExitOk;
}

int RunSsh(const TpmArgs& tpm, const CredentialFileArgs& file, const std::string& authenticator,
           const std::vector<std::string>& ssh_args, std::ostream& err) {
  if (authenticator != "" && authenticator != "tpm" && authenticator != "fido2") {
    return Fail(err, "ssh", "--authenticator must be tpm or fido2", kExitUsage);
  }
  // Ask ssh itself which host it will connect to (aliases, Host blocks...).
  std::vector<std::string> probe = {"ssh", "-G"};
  probe.insert(probe.end(), ssh_args.begin(), ssh_args.end());
  int pipe_fds[2];
  // Close-on-exec: only the probe gets the write end, as its stdout (dup2).
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Fail(err, "ssh", "pipe failed", kExitUsage);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> argv;
  for (auto& a : probe) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "ssh", &actions, nullptr, argv.data(), environ) != 0) {
    return Fail(err, "ssh", "cannot run ssh (is openssh-client installed?)", kExitUsage);
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string config;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0;) config.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string host;
  for (size_t pos = 0; pos < config.size();) {
    size_t nl = config.find('\n', pos);
    std::string line = config.substr(pos, nl - pos);
    pos = nl == std::string::npos ? config.size() : nl + 1;
    if (line.rfind("hostname ", 0) == 0) host = line.substr(9);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || host.empty()) {
    return Fail(err, "ssh", "ssh -G could not resolve the destination", kExitUsage);
  }
  char self[4096];
  ssize_t len = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0) return Fail(err, "ssh", "cannot find the tpmauthn binary", kExitUsage);
  self[len] = '\0';
  ::setenv("SSH_ASKPASS", self, 1);
  ::setenv("SSH_ASKPASS_REQUIRE", "force", 1);
  ::setenv("TPMAUTHN_ASKPASS", "1", 1);
  ::setenv("TPMAUTHN_SSH_ORIGIN", ("ssh://" + host).c_str(), 1);
  ::setenv("TPMAUTHN_STORE", tpm.store.c_str(), 1);
  ::setenv("TPMAUTHN_CREDENTIALS", file.path.c_str(), 1);
  ::setenv("TPMAUTHN_SSH_AUTHENTICATOR", authenticator.c_str(), 1);
  if (tpm.tcti) ::setenv("TPMAUTHN_TCTI", tpm.tcti->c_str(), 1);
  std::vector<std::string> command = {"ssh"};
  command.insert(command.end(), ssh_args.begin(), ssh_args.end());
  std::vector<char*> ssh_argv;
  for (auto& a : command) ssh_argv.push_back(a.data());
  ssh_argv.push_back(nullptr);
  ::execvp("ssh", ssh_argv.data());
  return Fail(err, "ssh", "cannot run ssh", kExitUsage);
}

Verb RegisterRespond(CLI::App& app) {
  auto args = std::make_shared<RespondArgs>();
  CLI::App* c = app.add_subcommand(
      "respond",
      "Answer a remote-login request (from an SSH prompt) with this computer's TPM or a key");
  c->add_option("--origin", args->origin,
                "the server you are signing in to, e.g. ssh://server.example")
      ->required();
  c->add_option("REQUEST", args->request, "the tpmauthn-request-v1 line (default: stdin)");
  c->add_option("--pin-fd", args->pin_fd, "read the PIN from this descriptor");
  c->add_option("--authenticator", args->authenticator,
                "tpm or fido2 (default: the TPM, else a security key)");
  return {c, [args](const GlobalArgs& g) {
            return RunRespond(g.tpm, g.file, *args, std::cout, std::cerr);
          }};
}

Verb RegisterSsh(CLI::App& app) {
  auto authenticator = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand(
      "ssh", "Run ssh; answer tpmauthn sign-in requests with the TPM or a security key");
  c->add_option("--authenticator", *authenticator,
                "tpm or fido2 (default: the TPM, else a security key); before the ssh arguments");
  // Everything after the first ssh argument goes to ssh unchanged, in order
  // (and none of it falls through to tpmauthn's own options: -p is ssh's).
  c->prefix_command();
  c->fallthrough(false);
  return {c, [c, authenticator](const GlobalArgs& g) {
            return RunSsh(g.tpm, g.file, *authenticator, c->remaining(), std::cerr);
          }};
}

Verb RegisterSshAskpass(CLI::App& app) {
  auto prompt = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("ssh-askpass", "SSH_ASKPASS helper used by tpmauthn ssh");
  c->add_option("PROMPT", *prompt)->required();
  return {c, [prompt](const GlobalArgs& g) {
            return RunSshAskpass(g.tpm, g.file, *prompt, std::cout, std::cerr);
          }};
}

}  // namespace tpmauthn::cli
