// tpmauthn — command-line entry point. Thin: each command registers its options
// and handler from its own file (cli/verb.h); this is the loop over them.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

#include "cli/exit_codes.h"
#include "cli/attestation_commands.h"
#include "cli/ldap_commands.h"
#include "cli/remote_commands.h"
#include "cli/verb.h"
#include "config/options.h"

#include <pwd.h>
#include <unistd.h>

namespace {

// root: the system store and file; anyone else: their own, under $HOME from
// passwd. $TPMAUTHN_STORE wins; $TPMAUTHN_CREDENTIALS only in the askpass
// that `tpmauthn ssh` starts (it sets both).
std::string Home() {
  struct passwd* pw = ::getpwuid(::geteuid());
  return pw && pw->pw_dir ? pw->pw_dir : "/";
}

std::string DefaultStore() {
  if (const char* env = std::getenv("TPMAUTHN_STORE"); env && *env) return env;
  if (::geteuid() == 0) return tpmauthn::config::kDefaultStore;
  return Home() + "/.local/share/tpmauthn/keys";
}

bool AskpassMode() {
  const char* mode = std::getenv("TPMAUTHN_ASKPASS");
  return mode && std::string_view(mode) == "1";
}

std::string DefaultCredentials() {
  // Set by `tpmauthn ssh` for its askpass (the file it was given); only
  // there, so root's `tpmauthn remove` after `su` never edits a file named by
  // someone else's environment.
  if (const char* env = std::getenv("TPMAUTHN_CREDENTIALS"); env && *env && AskpassMode()) {
    return env;
  }
  if (::geteuid() == 0) return tpmauthn::config::kDefaultCredentials;
  return Home() + "/.config/tpmauthn/credentials";
}

// Credential ids are base64url, so one in 64 starts with '-' and CLI11 reads it
// as an option. tpmauthn has no short option but -h, so a word of the form
// "-X..." is such a value: say how to pass it ("--" ends the options).
std::string DashedValueHint(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-' && arg[1] != '-' && arg != "-h") {
      return " (\"" + std::string(arg) +
             "\" starts with '-' and was read as an option: put \"--\" before it, e.g. "
             "tpmauthn remove USER -- " + std::string(arg) + ")";
    }
  }
  return {};
}

// Every command, in the order of `tpmauthn --help`.
constexpr tpmauthn::cli::RegisterVerb kVerbs[] = {
    tpmauthn::cli::RegisterEnroll,  tpmauthn::cli::RegisterAssert,
    tpmauthn::cli::RegisterRespond, tpmauthn::cli::RegisterSsh,
    tpmauthn::cli::RegisterSshAskpass, tpmauthn::cli::RegisterStatus,
    tpmauthn::cli::RegisterVerify,  tpmauthn::cli::RegisterList,
    tpmauthn::cli::RegisterRemove,  tpmauthn::cli::RegisterAdd,
    tpmauthn::cli::RegisterImportU2f, tpmauthn::cli::RegisterResetPin,
    tpmauthn::cli::RegisterChangePin, tpmauthn::cli::RegisterLdapCredentials,
    tpmauthn::cli::RegisterAttestationCa, tpmauthn::cli::RegisterAttestationKey,
};

}  // namespace

int main(int argc, char** argv) {
  using namespace tpmauthn::cli;
  // tpm2-tss logs its own errors to stderr; tpmauthn reports each failure as
  // one line instead. Set TSS2_LOG yourself to see the library's messages.
  ::setenv("TSS2_LOG", "all+NONE", /*overwrite=*/0);
  GlobalArgs global{{DefaultCredentials()}, {std::nullopt, DefaultStore()}};
  // Started by ssh as its SSH_ASKPASS (see `tpmauthn ssh`): argv[1] is the prompt.
  if (AskpassMode() && argc == 2) {
    try {
      return RunSshAskpass(global.tpm, global.file, argv[1], std::cout, std::cerr);
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
  app.add_option("--credentials", global.file.path, "credentials file")->capture_default_str();
  app.add_option("--tcti", global.tpm.tcti,
                 "TPM connection (default: $TPMAUTHN_TCTI, then tcti= in tpmauthn.conf, "
                 "then device:/dev/tpmrm0)");
  app.add_option("--store", global.tpm.store, "key store directory")->capture_default_str();
  std::vector<Verb> verbs;
  for (RegisterVerb add : kVerbs) verbs.push_back(add(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tpmauthn: usage: " << e.what() << DashedValueHint(argc, argv) << "\n";
    return kExitUsage;
  }
  try {
    for (const Verb& verb : verbs) {
      if (verb.command->parsed()) return verb.run(global);
    }
  } catch (const std::exception& e) {
    std::cerr << "tpmauthn: internal error: " << e.what() << "\n";
    return kExitUsage;
  }
  return kExitUsage;
}
