// A tpmauthn subcommand: each command file registers its own options and
// handler (a verb table, as git's builtins and systemd's tools have), so main
// stays a loop and new commands do not grow it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "cli/credential_commands.h"
#include "cli/tpm_commands.h"

namespace tpmauthn::cli {

// The options every command shares (before or after the command's name).
struct GlobalArgs {
  CredentialFileArgs file;  // --credentials
  TpmArgs tpm;              // --tcti, --store
};

struct Verb {
  CLI::App* command = nullptr;
  // Runs the command once the command line is parsed; returns the exit code.
  std::function<int(const GlobalArgs&)> run;
};

// Adds a subcommand to `app` and returns it with its handler.
using RegisterVerb = Verb (*)(CLI::App& app);

// The commands, one per file that implements them.
Verb RegisterEnroll(CLI::App& app);      // tpm_commands.cc
Verb RegisterAssert(CLI::App& app);      // tpm_commands.cc
Verb RegisterStatus(CLI::App& app);      // tpm_commands.cc
Verb RegisterResetPin(CLI::App& app);    // pin_commands.cc
Verb RegisterChangePin(CLI::App& app);   // pin_commands.cc
Verb RegisterRespond(CLI::App& app);     // remote_commands.cc
Verb RegisterSsh(CLI::App& app);         // remote_commands.cc
Verb RegisterSshAskpass(CLI::App& app);  // remote_commands.cc
Verb RegisterVerify(CLI::App& app);      // verify_command.cc
Verb RegisterList(CLI::App& app);        // credential_commands.cc
Verb RegisterRemove(CLI::App& app);      // credential_commands.cc
Verb RegisterAdd(CLI::App& app);         // credential_commands.cc
Verb RegisterImportU2f(CLI::App& app);   // credential_commands.cc

}  // namespace tpmauthn::cli
