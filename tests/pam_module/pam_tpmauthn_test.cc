// pam_tpmauthn.so through real libpam (pam_wrapper + libpamtest, service files
// in a temporary directory, the module by absolute path) against swtpm: the
// SPEC result table, path by path.
#define BOOST_TEST_MODULE pam_tpmauthn
#include <boost/test/unit_test.hpp>

#include <security/pam_appl.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/counter_store.h"
#include "config/credential_writer.h"
#include "tests/support/swtpm.h"
#include "tests/support/temp_dir.h"
#include "tpm/connection.h"
#include "tpm/tpm_authenticator.h"
#include "webauthn/base64url.h"

using namespace tpmauthn;
using webauthn::Bytes;
using webauthn::SecretBytes;

namespace {

constexpr const char* kRp = "pam://pamtest";

struct Rig {
  testing::Swtpm swtpm;
  testing::TempDir dir;
  std::string credentials = dir / "credentials";
  std::string store = dir / "keys";
  std::string state = dir / "state";

  // World-readable, so a runner that dropped to another uid can read it.
  std::string services = MakeServiceDir();
  // The module and the runner the service files and Spawn use: the build
  // tree's, or copies in `services` (ShareWithOtherUsers).
  std::string module = TPMAUTHN_PAM_MODULE;
  std::string runner = TPMAUTHN_PAMTEST_RUNNER;

  Rig() {
    testing::WriteFile(credentials, "# test credentials\n", 0644);
    // pam_start needs a service for direct module calls; its stack is unused
    // (and names nothing in the build tree, which another uid may not reach).
    testing::WriteFile(services + "/tpmauthn-direct", "auth required pam_deny.so\n", 0644);
  }
  ~Rig() { std::filesystem::remove_all(services); }

  // For a process that drops to another uid: the build tree may lie under a
  // directory only root can enter (/root, a mktemp -d), so that process gets
  // copies of the module and the runner in the world-readable service dir.
  void ShareWithOtherUsers() {
    namespace fs = std::filesystem;
    const std::string shared_module = services + "/pam_tpmauthn.so";
    const std::string shared_runner = services + "/pamtest_runner";
    fs::copy_file(module, shared_module);
    fs::copy_file(runner, shared_runner);
    fs::permissions(shared_module, fs::perms(0755));
    fs::permissions(shared_runner, fs::perms(0755));
    module = shared_module;
    runner = shared_runner;
  }

  static std::string MakeServiceDir() {
    char pattern[] = "/tmp/tpmauthn-pamd-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    ::chmod(pattern, 0755);
    return pattern;
  }

  // Enrolls `user` with `pin` and writes the credential line; returns it.
  using Scheme = tpm::MakeCredentialRequest::PinScheme;
  config::Credential Enroll(const std::string& user, const std::string& pin,
                            bool write_line = true, Scheme scheme = Scheme::kPinIndex,
                            uint32_t tries = 3) {
    auto connection = tpm::Connection::Open(swtpm.tcti());
    if (!connection) throw std::runtime_error(connection.error().message);
    tpm::KeyStore keys(store);
    tpm::TpmAuthenticator authenticator(**connection, keys);
    tpm::MakeCredentialRequest request;
    request.rp_id = kRp;
    request.client_data_hash = Bytes(32, 7);
    request.user = user;
    request.label = user + "'s laptop";
    request.pin = true;
    request.scheme = scheme;
    request.pin_tries = tries;
    auto made = authenticator.MakeCredential(request, SecretBytes(std::string_view(pin)));
    if (!made) throw std::runtime_error(made.error().message);
    config::Credential line;
    line.user = user;
    line.id = made->credential_id;
    line.public_key = made->public_key;
    line.kind = config::AuthenticatorKind::kTpm;
    line.require_uv = true;
    line.rp_id = kRp;
    line.origin = kRp;
    line.created = "2026-11-29";
    line.label = request.label;
    if (write_line) {
      auto ok = config::AppendCredentials(credentials, {line}, config::FileRules{{::geteuid()}});
      if (!ok) throw std::runtime_error(ok.error().message);
    }
    return line;
  }

  std::string Args(const std::string& extra, const std::string& tcti_override = "") const {
    return "credentials=" + credentials + " store=" + store + " state=" + state +
           " rp_id=" + kRp + " origin=" + kRp +
           " tcti=" + (tcti_override.empty() ? swtpm.tcti() : tcti_override) + " " + extra;
  }

  // Writes a PAM service file ("auth required MODULE ARGS") and returns its name.
  std::string Service(const std::string& extra, const std::string& tcti_override = "") const {
    static int serial = 0;
    std::string name = "tpmauthn-" + std::to_string(++serial);
    std::ofstream out(services + "/" + name);
    out << "auth required " << module << " " << Args(extra, tcti_override) << "\n";
    return name;
  }

  // A service whose password stack is the module (pam_sm_chauthtok).
  std::string PasswordService(const std::string& extra) const {
    static int serial = 0;
    std::string name = "tpmauthn-passwd-" + std::to_string(++serial);
    std::ofstream out(services + "/" + name);
    out << "password required " << module << " " << Args(extra) << "\n";
    return name;
  }

  size_t LeftoverHandles() {
    auto connection = tpm::Connection::Open(swtpm.tcti());
    size_t total = 0;
    for (TPM2_HANDLE first : {TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST}) {
      TPMS_CAPABILITY_DATA* data = nullptr;
      TPMI_YES_NO more = TPM2_NO;
      Esys_GetCapability((*connection)->esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                         TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES, &more, &data);
      for (UINT32 i = 0; data && i < data->data.handles.count; ++i) {
        if ((data->data.handles.handle[i] >> 24) == (first >> 24)) ++total;
      }
      Esys_Free(data);
    }
    return total;
  }
};

struct Run {
  int result = -1;
  std::vector<std::string> errors, infos;
};

// Runs pam_authenticate for `user` in a fresh pamtest_runner process under
// pam_wrapper, answering echo-off prompts with `pins`.
Run Spawn(const Rig& rig, std::vector<std::string> args);

Run Authenticate(const Rig& rig, const std::string& service, const std::string& user,
                 std::vector<std::string> pins) {
  std::vector<std::string> args = {rig.runner, service, user};
  args.insert(args.end(), pins.begin(), pins.end());
  return Spawn(rig, std::move(args));
}

// pam_chauthtok for `user`, answering echo-off prompts with `answers`.
Run ChangeAuthToken(const Rig& rig, const std::string& service, const std::string& user,
                    std::vector<std::string> answers) {
  std::vector<std::string> args = {rig.runner, "--chauthtok", service, user};
  args.insert(args.end(), answers.begin(), answers.end());
  return Spawn(rig, std::move(args));
}

// The module's own return value (pam_sm_authenticate on a real handle).
Run CallModule(const Rig& rig, const std::string& module_args, const std::string& user,
               std::vector<std::string> pins) {
  std::vector<std::string> args = {rig.runner, "--direct", rig.module,
                                   module_args, user};
  args.insert(args.end(), pins.begin(), pins.end());
  return Spawn(rig, std::move(args));
}

Run Spawn(const Rig& rig, std::vector<std::string> args) {
  // In a sanitizer build the ASan runtime must be loaded first; pam_wrapper then
  // also avoids RTLD_DEEPBIND, which ASan cannot work with.
  const char* asan = std::getenv("TPMAUTHN_ASAN_RUNTIME");
  std::string preload = std::string("LD_PRELOAD=") + (asan ? std::string(asan) + " " : "") +
                        "libpam_wrapper.so";
  std::vector<std::string> env = {preload, "PAM_WRAPPER=1",
                                  "PAM_WRAPPER_SERVICE_DIR=" + rig.services,
                                  "PAM_WRAPPER_DISABLE_DEEPBIND=1", "PATH=/usr/bin:/bin"};
  // Sanitizer builds: pam_wrapper is preloaded before the ASan runtime.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* value = std::getenv(name)) env.push_back(std::string(name) + "=" + value);
  }
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0) output.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Run run;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t nl = output.find('\n', pos);
    std::string line = output.substr(pos, nl - pos);
    pos = nl == std::string::npos ? output.size() : nl + 1;
    if (line.rfind("result ", 0) == 0) run.result = std::stoi(line.substr(7));
    if (line.rfind("error ", 0) == 0) run.errors.push_back(line.substr(6));
    if (line.rfind("info ", 0) == 0) run.infos.push_back(line.substr(5));
  }
  return run;
}

uint32_t StoredCounter(const Rig& rig, const config::Credential& c) {
  return config::CounterStore(rig.state).Load(c.user, c.id).value();
}

}  // namespace

BOOST_AUTO_TEST_CASE(right_pin_succeeds_and_stores_the_counter) {
  Rig rig;
  auto alice = rig.Enroll("alice", "4711");
  Run run = Authenticate(rig, rig.Service(""), "alice", {"4711"});
  BOOST_TEST(run.result == PAM_SUCCESS);
  BOOST_TEST(StoredCounter(rig, alice) == 1u);
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"4711"}).result == PAM_SUCCESS);
  BOOST_TEST(StoredCounter(rig, alice) == 2u);
  BOOST_TEST(rig.LeftoverHandles() == 0u);
}

BOOST_AUTO_TEST_CASE(wrong_pin_is_auth_err_and_says_how_many_tries_are_left) {
  Rig rig;
  rig.Enroll("alice", "4711");
  // One wrong PIN, then no answer to the second prompt.
  Run run = Authenticate(rig, rig.Service("max_tries=2"), "alice", {"0000"});
  BOOST_TEST(run.result == PAM_AUTH_ERR);
  BOOST_TEST_REQUIRE(!run.errors.empty());
  BOOST_TEST(run.errors[0] == "Wrong PIN. 2 tries left.");
  BOOST_TEST(rig.LeftoverHandles() == 0u);
}

// A credential from before per-credential PINs counts against the TPM.
BOOST_AUTO_TEST_CASE(a_legacy_credential_still_logs_in_and_says_the_tpm_counts) {
  Rig rig;
  rig.Enroll("alice", "4711", true, Rig::Scheme::kLegacyDa);
  Run run = Authenticate(rig, rig.Service("max_tries=2"), "alice", {"0000", "4711"});
  BOOST_TEST(run.result == PAM_SUCCESS);
  BOOST_TEST_REQUIRE(!run.errors.empty());
  BOOST_TEST(run.errors[0] == "Wrong PIN. 2 tries left before the TPM locks out.");
}

// The last try blocks the PIN: said, and the rest of the stack takes over.
BOOST_AUTO_TEST_CASE(a_blocked_pin_is_said_and_unavailable) {
  Rig rig;
  rig.Enroll("alice", "4711");
  rig.Enroll("bob", "2580");
  Run run = Authenticate(rig, rig.Service("max_tries=5"), "alice", {"0000", "1111", "2222"});
  BOOST_TEST(run.result == PAM_AUTHINFO_UNAVAIL);
  BOOST_TEST_REQUIRE(run.errors.size() == 3u);
  BOOST_TEST(run.errors[2] == "Wrong PIN. PIN blocked: ask an administrator to reset it.");
  Run blocked = Authenticate(rig, rig.Service(""), "alice", {"4711"});
  BOOST_TEST(blocked.result == PAM_AUTHINFO_UNAVAIL);
  BOOST_TEST_REQUIRE(!blocked.errors.empty());
  BOOST_TEST(blocked.errors[0] == "PIN blocked: ask an administrator to reset it.");
  // bob is not affected by alice's wrong PINs.
  BOOST_TEST(Authenticate(rig, rig.Service(""), "bob", {"2580"}).result == PAM_SUCCESS);
  BOOST_TEST(rig.LeftoverHandles() == 0u);
}

BOOST_AUTO_TEST_CASE(max_tries_wrong_pins_is_maxtries) {
  Rig rig;
  rig.Enroll("alice", "4711");
  BOOST_TEST(Authenticate(rig, rig.Service("max_tries=2"), "alice", {"0000", "1111"}).result ==
             PAM_MAXTRIES);
  // A wrong PIN then the right one within max_tries succeeds.
  Rig rig2;
  rig2.Enroll("alice", "4711");
  BOOST_TEST(Authenticate(rig2, rig2.Service("max_tries=2"), "alice", {"0000", "4711"}).result ==
             PAM_SUCCESS);
}

BOOST_AUTO_TEST_CASE(one_try_left_is_said_in_the_singular) {
  Rig rig;
  rig.Enroll("alice", "4711");
  Run twice = Authenticate(rig, rig.Service("max_tries=3"), "alice", {"0000", "1111"});
  BOOST_TEST(twice.result == PAM_AUTH_ERR);  // the third prompt gets no answer
  BOOST_TEST_REQUIRE(twice.errors.size() == 2u);
  BOOST_TEST(twice.errors[0] == "Wrong PIN. 2 tries left.");
  BOOST_TEST(twice.errors[1] == "Wrong PIN. 1 try left.");
}

BOOST_AUTO_TEST_CASE(empty_or_missing_pin_never_succeeds) {
  Rig rig;
  rig.Enroll("alice", "4711");
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {""}).result == PAM_AUTH_ERR);
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {}).result == PAM_AUTH_ERR);
  BOOST_TEST(Authenticate(rig, rig.Service("nouserok"), "alice", {}).result == PAM_AUTH_ERR);
}

BOOST_AUTO_TEST_CASE(unknown_user_is_user_unknown_or_ignore_with_nouserok) {
  Rig rig;
  rig.Enroll("alice", "4711");
  BOOST_TEST(Authenticate(rig, rig.Service(""), "mallory", {"4711"}).result == PAM_USER_UNKNOWN);
  BOOST_TEST(CallModule(rig, rig.Args(""), "mallory", {"4711"}).result == PAM_USER_UNKNOWN);
  BOOST_TEST(CallModule(rig, rig.Args("nouserok"), "mallory", {"4711"}).result == PAM_IGNORE);
  // No credentials file at all: still "no credential".
  ::unlink(rig.credentials.c_str());
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"4711"}).result == PAM_USER_UNKNOWN);
}

BOOST_AUTO_TEST_CASE(unreadable_credentials_is_unavailable_even_with_nouserok) {
  Rig rig;
  rig.Enroll("alice", "4711");
  if (::geteuid() != 0) return;  // needs root to become another user
  rig.ShareWithOtherUsers();
  ::chmod(rig.credentials.c_str(), 0600);
  const std::string plain = rig.Service("");
  const std::string lenient = rig.Service("nouserok");
  pid_t pid = ::fork();
  if (pid == 0) {
    // A non-root caller (as a setuid program's real user would be) meets EACCES.
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    int a = Authenticate(rig, plain, "alice", {"4711"}).result;
    int b = Authenticate(rig, lenient, "alice", {"4711"}).result;
    int c = CallModule(rig, rig.Args("nouserok"), "alice", {"4711"}).result;
    ::_exit(a == PAM_AUTHINFO_UNAVAIL && b == PAM_AUTHINFO_UNAVAIL && c == PAM_AUTHINFO_UNAVAIL
                ? 0
                : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  // World-writable central file: refused as well.
  ::chmod(rig.credentials.c_str(), 0666);
  BOOST_TEST(Authenticate(rig, rig.Service("nouserok"), "alice", {"4711"}).result ==
             PAM_AUTHINFO_UNAVAIL);
  // An invalid line anywhere: refused.
  ::chmod(rig.credentials.c_str(), 0644);
  std::ofstream(rig.credentials, std::ios::app) << "bob garbage\n";
  BOOST_TEST(Authenticate(rig, rig.Service("nouserok"), "alice", {"4711"}).result ==
             PAM_AUTHINFO_UNAVAIL);
}

BOOST_AUTO_TEST_CASE(tpm_unreachable_or_locked_out_is_unavailable) {
  Rig rig;
  rig.Enroll("alice", "4711");
  BOOST_TEST(Authenticate(rig, rig.Service("", "swtpm:path=" + rig.dir.path() + "/no-such-socket"),
                          "alice", {"4711"})
                 .result == PAM_AUTHINFO_UNAVAIL);
  // Three wrong PINs for a legacy credential lock swtpm; the right PIN then
  // meets the lockout.
  rig.Enroll("carol", "4711", true, Rig::Scheme::kLegacyDa);
  BOOST_TEST(Authenticate(rig, rig.Service("max_tries=3"), "carol", {"1", "2", "3"}).result ==
             PAM_MAXTRIES);
  Run locked = Authenticate(rig, rig.Service(""), "carol", {"4711"});
  BOOST_TEST(locked.result == PAM_AUTHINFO_UNAVAIL);
  // A per-credential PIN is not under the TPM's lockout (its key is noDA).
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"4711"}).result == PAM_SUCCESS);
  BOOST_TEST(rig.LeftoverHandles() == 0u);
}

BOOST_AUTO_TEST_CASE(someone_elses_public_key_is_auth_err) {
  Rig rig;
  auto alice = rig.Enroll("alice", "4711", /*write_line=*/false);
  auto bob = rig.Enroll("bob", "1234", /*write_line=*/false);
  alice.public_key = bob.public_key;  // alice's line, bob's key
  BOOST_TEST_REQUIRE(
      config::AppendCredentials(rig.credentials, {alice}, config::FileRules{{::geteuid()}}).ok());
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"4711"}).result == PAM_AUTH_ERR);
  BOOST_TEST(config::CounterStore(rig.state).Load(alice.user, alice.id).value() == 0u);
}

BOOST_AUTO_TEST_CASE(counter_regression_is_auth_err_and_corrupt_state_is_unavailable) {
  Rig rig;
  auto alice = rig.Enroll("alice", "4711");
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"4711"}).result == PAM_SUCCESS);
  // The RP saw counter 100 before: the authenticator's 2 is a regression (clone).
  BOOST_TEST_REQUIRE(config::CounterStore(rig.state)
                         .Advance(alice.user, alice.id, [](uint32_t) -> config::ConfigResult<uint32_t> {
                           return 100;
                         })
                         .ok());
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"4711"}).result == PAM_AUTH_ERR);
  testing::WriteFile(config::CounterStore(rig.state).PathFor(alice.user, alice.id), "garbage",
                     0600);
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"4711"}).result == PAM_AUTHINFO_UNAVAIL);
}

BOOST_AUTO_TEST_CASE(bad_options_fail_closed) {
  Rig rig;
  rig.Enroll("alice", "4711");
  for (const char* bad : {"frobnicate", "nouserok max_tries=zero", "uv=sometimes nouserok",
                          "mode=magic nouserok"}) {
    int result = Authenticate(rig, rig.Service(bad), "alice", {"4711"}).result;
    BOOST_TEST(result == PAM_AUTHINFO_UNAVAIL, bad);
  }
  // Unknown user with a bad option: still closed, not IGNORE.
  BOOST_TEST(CallModule(rig, rig.Args("nouserok bogus"), "mallory", {}).result ==
             PAM_AUTHINFO_UNAVAIL);
}

BOOST_AUTO_TEST_CASE(cue_and_prompt) {
  Rig rig;
  rig.Enroll("alice", "4711");
  Run run = Authenticate(rig, rig.Service("cue"), "alice", {"4711"});
  BOOST_TEST(run.result == PAM_SUCCESS);
  BOOST_TEST_REQUIRE(!run.infos.empty());
  BOOST_TEST(run.infos[0] == "Using this computer's TPM to verify you.");
}

BOOST_AUTO_TEST_CASE(the_module_exports_only_pam_sm_functions) {
  void* handle = ::dlopen(TPMAUTHN_PAM_MODULE, RTLD_NOW | RTLD_LOCAL);
  BOOST_REQUIRE_MESSAGE(handle, ::dlerror());
  for (const char* name : {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
                           "pam_sm_chauthtok"}) {
    BOOST_TEST(::dlsym(handle, name) != nullptr, name);
  }
  ::dlclose(handle);
  // The dynamic symbol table defines exactly these four (version script).
  FILE* nm = ::popen("nm -D --defined-only " TPMAUTHN_PAM_MODULE, "r");
  BOOST_TEST_REQUIRE(nm != nullptr);
  std::vector<std::string> defined;
  char line[512];
  while (std::fgets(line, sizeof(line), nm)) {
    std::string text(line);
    defined.push_back(text.substr(text.rfind(' ') + 1, text.size() - text.rfind(' ') - 2));
  }
  BOOST_TEST(::pclose(nm) == 0);
  std::sort(defined.begin(), defined.end());
  BOOST_TEST(defined == (std::vector<std::string>{"pam_sm_acct_mgmt", "pam_sm_authenticate",
                                                  "pam_sm_chauthtok", "pam_sm_setcred"}),
             boost::test_tools::per_element());
}

// passwd's path: pam_sm_chauthtok changes the PIN after the TPM checked the
// current one; the credential (and its line) stay the same.
BOOST_AUTO_TEST_CASE(chauthtok_changes_the_pin_after_the_tpm_checked_the_current_one) {
  Rig rig;
  rig.Enroll("alice", "471130", true, Rig::Scheme::kPinIndex, 5);
  const std::string passwd = rig.PasswordService("");
  Run wrong = ChangeAuthToken(rig, passwd, "alice", {"000000", "582914", "582914"});
  BOOST_TEST(wrong.result == PAM_AUTH_ERR);
  BOOST_TEST_REQUIRE(!wrong.errors.empty());
  BOOST_TEST(wrong.errors[0] == "Wrong PIN. 4 tries left.");
  Run differ = ChangeAuthToken(rig, passwd, "alice", {"471130", "582914", "582915"});
  BOOST_TEST(differ.result == PAM_AUTHTOK_ERR);
  BOOST_TEST_REQUIRE(!differ.errors.empty());
  BOOST_TEST(differ.errors[0] == "The PINs do not match.");
  Run simple = ChangeAuthToken(rig, passwd, "alice", {"471130", "123456", "123456"});
  BOOST_TEST(simple.result == PAM_AUTHTOK_ERR);
  BOOST_TEST_REQUIRE(!simple.errors.empty());
  BOOST_TEST(simple.errors[0].find("too easy") != std::string::npos);
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"471130"}).result == PAM_SUCCESS);

  Run changed = ChangeAuthToken(rig, passwd, "alice", {"471130", "582914", "582914"});
  BOOST_TEST(changed.result == PAM_SUCCESS);
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"471130"}).result == PAM_AUTH_ERR);
  BOOST_TEST(Authenticate(rig, rig.Service(""), "alice", {"582914"}).result == PAM_SUCCESS);
  // No PIN credential: not this module's business; pam_unix's line goes on.
  BOOST_TEST(CallModule(rig, rig.Args(""), "mallory", {}).result == PAM_USER_UNKNOWN);
  BOOST_TEST(ChangeAuthToken(rig, passwd, "mallory", {}).result != PAM_SUCCESS);
  BOOST_TEST(rig.LeftoverHandles() == 0u);
}
