// tpmauthn — command-line entry point. Thin: each command lives in its own file.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "cli/credential_commands.h"
#include "cli/exit_codes.h"
#include "cli/verify_command.h"
#include "config/options.h"

int main(int argc, char** argv) {
  using namespace tpmauthn::cli;
  CLI::App app{"tpmauthn — TPM-backed WebAuthn platform authenticator and verifier"};
  app.set_version_flag("--version", "tpmauthn " TPMAUTHN_VERSION);
  app.require_subcommand(1);

  CredentialFileArgs file{tpmauthn::config::kDefaultCredentials};
  app.add_option("--credentials", file.path, "credentials file")->capture_default_str();

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
    if (remove->parsed()) return RunRemove(file, remove_user, remove_id, std::cout, std::cerr);
    if (add->parsed()) return RunAdd(file, add_args, std::cout, std::cerr);
    if (import->parsed()) return RunImportU2f(file, import_args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "tpmauthn: internal error: " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitUsage;
}
