// tpmauthn — command-line entry point. Thin: each command lives in its own file.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/credential_commands.h"
#include "cli/exit_codes.h"
#include "cli/remote_commands.h"
#include "cli/tpm_commands.h"
#include "cli/verify_command.h"
#include "config/options.h"

#include <pwd.h>
#include <unistd.h>

namespace {

// root: the system store and file; anyone else: their own, under $HOME from
// passwd. $TPMAUTHN_STORE (set by `tpmauthn ssh` for its askpass) wins.
std::string Home() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return pw && pw->pw_dir ? pw->pw_dir : "/";
}

std::string DefaultStore() {
  if (const char* env = std::getenv("TPMAUTHN_STORE"); env && *env) return env;
  if (::geteuid() == 0) return tpmauthn::config::kDefaultStore;
  return Home() + "/.local/share/tpmauthn/keys";
}

std::string DefaultCredentials() {
  if (::geteuid() == 0) return tpmauthn::config::kDefaultCredentials;
  return Home() + "/.config/tpmauthn/credentials";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tpmauthn::cli;
  // tpm2-tss logs its own errors to stderr; tpmauthn reports each failure as
  // one line instead. Set TSS2_LOG yourself to see the library's messages.
  ::setenv("TSS2_LOG", "all+NONE", /*overwrite=*/0);
  // Started by ssh as its SSH_ASKPASS (see `tpmauthn ssh`): argv[1] is the prompt.
  if (const char* askpass_mode = std::getenv("TPMAUTHN_ASKPASS");
      askpass_mode && std::string(askpass_mode) == "1" && argc == 2) {
    TpmArgs tpm{std::nullopt, DefaultStore()};
    try {
      return RunSshAskpass(tpm, argv[1], std::cout, std::cerr);
    } catch (const std::exception& e) {
      std::cerr << "tpmauthn: ssh-askpass: internal error: " << e.what() << "\n";
      return kExitUsage;
    }
  }
  CLI::App app{"tpmauthn — TPM-backed WebAuthn platform authenticator and verifier"};
  app.set_version_flag("--version", "tpmauthn " TPMAUTHN_VERSION);
  app.require_subcommand(1);
  // --tcti, --store and --credentials also after the subcommand, as users of
  // systemctl and ip expect (subcommands made below inherit this).
  app.fallthrough();

  CredentialFileArgs file{DefaultCredentials()};
  app.add_option("--credentials", file.path, "credentials file")->capture_default_str();
  TpmArgs tpm{std::nullopt, DefaultStore()};
  app.add_option("--tcti", tpm.tcti,
                 "TPM connection (default: $TPMAUTHN_TCTI, then tcti= in tpmauthn.conf, "
                 "then device:/dev/tpmrm0)");
  app.add_option("--store", tpm.store, "key store directory")->capture_default_str();

  EnrollArgs enroll_args;
  CLI::App* enroll = app.add_subcommand("enroll", "Create a TPM credential for USER");
  enroll->add_option("USER", enroll_args.user)->required();
  enroll->add_option("--label", enroll_args.label, "free-text label");
  enroll->add_option("--uv", enroll_args.uv, "pin (PIN-protected) or none")->capture_default_str();
  enroll->add_option("--pcrs", enroll_args.pcrs, "bind to these SHA-256 PCRs, e.g. 0,7");
  enroll->add_option("--rp-id", enroll_args.rp_id, "RP ID (default: the origin)");
  enroll->add_option("--origin", enroll_args.origin, "origin (default: pam://<hostname>)");
  enroll->add_option("--challenge", enroll_args.challenge, "base64url challenge (default: random)");
  enroll->add_option("--pin-fd", enroll_args.pin_fd, "read the PIN from this descriptor");
  enroll->add_flag("--json", enroll_args.json, "print RegistrationResponseJSON");

  AssertArgs assert_args;
  CLI::App* assert_cmd = app.add_subcommand("assert", "Sign a WebAuthn assertion with the TPM");
  assert_cmd->add_option("--rp-id", assert_args.rp_id, "RP ID")->required();
  assert_cmd->add_option("--origin", assert_args.origin, "origin for clientDataJSON")->required();
  assert_cmd->add_option("--challenge", assert_args.challenge, "base64url challenge")->required();
  assert_cmd->add_option("--user", assert_args.user, "only this user's credentials");
  assert_cmd->add_option("--credential", assert_args.credential, "base64url credential id");
  assert_cmd->add_option("--pin-fd", assert_args.pin_fd, "read the PIN from this descriptor");
  assert_cmd->add_flag("--json", assert_args.json, "print AuthenticationResponseJSON (default)");

  RespondArgs respond_args;
  CLI::App* respond = app.add_subcommand(
      "respond", "Answer a remote-login request (from an SSH prompt) with this computer's TPM");
  respond->add_option("--origin", respond_args.origin, "the server you are signing in to, "
                                                       "e.g. ssh://server.example")->required();
  respond->add_option("REQUEST", respond_args.request, "the tpmauthn-request-v1 line (default: stdin)");
  respond->add_option("--pin-fd", respond_args.pin_fd, "read the PIN from this descriptor");

  // Everything after "ssh" goes to ssh unchanged, in order.
  CLI::App* ssh = app.add_subcommand("ssh", "Run ssh; answer tpmauthn sign-in requests with the TPM");
  ssh->prefix_command();

  std::string askpass_prompt;
  CLI::App* askpass = app.add_subcommand("ssh-askpass", "SSH_ASKPASS helper used by tpmauthn ssh");
  askpass->add_option("PROMPT", askpass_prompt)->required();

  bool status_json = false;
  CLI::App* status = app.add_subcommand("status", "TPM, SRK, lockout and key store health");
  status->add_flag("--json", status_json, "print JSON");

  std::string verify_path = "-";
  CLI::App* verify = app.add_subcommand(
      "verify", "Verify a WebAuthn response against a verification document (JSON)");
  verify->add_option("FILE", verify_path, "document file, or - for standard input");

  std::optional<std::string> list_user;
  bool list_json = false;
  CLI::App* list = app.add_subcommand("list", "List enrolled credentials");
  list->add_option("USER", list_user, "only this user's credentials");
  list->add_flag("--json", list_json, "print a JSON array");

  std::string remove_user, remove_id;
  CLI::App* remove = app.add_subcommand("remove", "Remove a user's credential");
  remove->add_option("USER", remove_user)->required();
  remove->add_option("CREDENTIAL-ID", remove_id, "base64url credential id")->required();

  AddArgs add_args;
  CLI::App* add = app.add_subcommand(
      "add", "Verify a RegistrationResponseJSON made elsewhere and add its credential");
  add->add_option("USER", add_args.user)->required();
  add->add_option("FILE", add_args.response_path, "RegistrationResponseJSON, or -")->required();
  add->add_option("--rp-id", add_args.rp_id, "RP ID (default: the origin)");
  add->add_option("--origin", add_args.origin, "expected origin (default: pam://<hostname>)");
  add->add_option("--challenge", add_args.challenge, "base64url challenge this host issued");
  add->add_option("--kind", add_args.kind, "tpm, fido2 or remote")->capture_default_str();
  add->add_option("--uv", add_args.uv, "pin (UV required) or none")->capture_default_str();
  add->add_option("--label", add_args.label, "free-text label");

  ImportArgs import_args;
  CLI::App* import = app.add_subcommand(
      "import-u2f", "Append a pam-u2f authfile's credentials as tpmauthn lines");
  import->add_option("FILE", import_args.authfile, "pam-u2f authfile, or -")->required();
  import->add_option("--rp-id", import_args.rp_id, "RP ID they were made for (default: origin)");
  import->add_option("--origin", import_args.origin, "origin (default: pam://<hostname>)");
  import->add_option("--user", import_args.user,
                     "only this user's lines (required from stdin; a user's own file "
                     "yields only theirs)");
  import->add_flag("--dry-run", import_args.dry_run, "print the lines instead of adding them");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tpmauthn: usage: " << e.what() << "\n";
    return kExitUsage;
  }
  try {
    if (verify->parsed()) return RunVerify(verify_path, std::cout, std::cerr);
    if (list->parsed()) return RunList(file, list_user, list_json, std::cout, std::cerr);
    if (remove->parsed()) {
      int code = RunRemove(file, remove_user, remove_id, std::cout, std::cerr);
      if (code == kExitOk && RemoveStoredKey(tpm, remove_id)) {
        std::cout << "deleted its TPM key from " << tpm.store << "\n";
      }
      return code;
    }
    if (enroll->parsed()) return RunEnroll(tpm, file, enroll_args, std::cout, std::cerr);
    if (assert_cmd->parsed()) return RunAssert(tpm, assert_args, std::cout, std::cerr);
    if (status->parsed()) return RunStatus(tpm, status_json, std::cout, std::cerr);
    if (respond->parsed()) return RunRespond(tpm, respond_args, std::cout, std::cerr);
    if (askpass->parsed()) return RunSshAskpass(tpm, askpass_prompt, std::cout, std::cerr);
    if (ssh->parsed()) return RunSsh(tpm, ssh->remaining(), std::cerr);
    if (add->parsed()) return RunAdd(file, add_args, std::cout, std::cerr);
    if (import->parsed()) return RunImportU2f(file, import_args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "tpmauthn: internal error: " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitUsage;
}
