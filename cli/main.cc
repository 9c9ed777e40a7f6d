// tpmauthn — command-line entry point. Thin: each command lives in its own file.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "cli/exit_codes.h"
#include "cli/verify_command.h"

int main(int argc, char** argv) {
  using namespace tpmauthn::cli;
  CLI::App app{"tpmauthn — TPM-backed WebAuthn platform authenticator and verifier"};
  app.set_version_flag("--version", "tpmauthn " TPMAUTHN_VERSION);
  app.require_subcommand(1);

  std::string verify_path = "-";
  CLI::App* verify = app.add_subcommand(
      "verify", "Verify a WebAuthn response against a verification document (JSON)");
  verify->add_option("FILE", verify_path, "document file, or - for standard input");

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
  } catch (const std::exception& e) {
    std::cerr << "tpmauthn: internal error: " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitUsage;
}
