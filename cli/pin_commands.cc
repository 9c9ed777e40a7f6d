// tpmauthn reset-pin / change-pin: the life of a per-credential PIN
// (tpm/pin_index.h). The credential — id, public key, every relying party's
// copy of it — stays the same; only the PIN its TPM index holds changes.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/command_util.h"
#include "cli/exit_codes.h"
#include "cli/pin_input.h"
#include "cli/tpm_commands.h"
#include "cli/verb.h"
#include "config/plural.h"
#include "tpm/tpm_authenticator.h"
#include "webauthn/base64url.h"

namespace tpmauthn::cli {
namespace {

namespace wa = tpmauthn::webauthn;

struct PinCommandArgs {
  std::string user;
  std::optional<std::string> credential;
  std::optional<int> pin_fd;
};

// USER's one PIN credential in the store, or the one --credential names.
wa::Result<tpm::KeyRecord, int> Choose(const TpmArgs& tpm_args, const PinCommandArgs& args,
                                      const char* command, std::ostream& err) {
  tpm::KeyStore store(tpm_args.store);
  auto records = store.List();
  if (!records) return ReportTpmError(err, command, records.error());
  std::optional<wa::Bytes> wanted;
  if (args.credential) {
    auto decoded = wa::Base64UrlDecode(*args.credential);
    if (!decoded) return Usage(err, command, "--credential is not base64url");
    wanted = std::move(*decoded);
  }
  std::vector<tpm::KeyRecord> mine;
  for (auto& r : *records) {
    if (r.user != args.user || !r.pin) continue;
    if (wanted && r.credential_id != *wanted) continue;
    mine.push_back(std::move(r));
  }
  if (mine.empty()) {
    return Usage(err, command,
                 (wanted ? "no PIN credential " + *args.credential + " of " + args.user
                         : args.user + " has no PIN credential") +
                     " in " + tpm_args.store);
  }
  if (mine.size() > 1) {
    return Usage(err, command,
                 args.user + " has " +
                     config::CountOf(mine.size(), "PIN credential", "PIN credentials") +
                     "; choose one with --credential (tpmauthn list " + args.user + ")");
  }
  return std::move(mine.front());
}

std::string LabelOf(const tpm::KeyRecord& record) {
  return record.label.empty() ? record.user : record.label;
}

// reset-pin (`change` false: only the new PIN) or change-pin (the current
// PIN first; with --pin-fd the current PIN on the first line, the new one on
// the second).
int RunPinCommand(const TpmArgs& tpm_args, const PinCommandArgs& args, bool change,
                  std::ostream& out, std::ostream& err) {
  const char* command = change ? "change-pin" : "reset-pin";
  auto record = Choose(tpm_args, args, command, err);
  if (!record) return record.error();
  auto connection = OpenTpm(tpm_args);
  if (!connection) return ReportTpmError(err, command, connection.error());
  PinResult current;
  if (change) {
    current = ReadPin(args.pin_fd, "Current PIN for " + LabelOf(*record) + ": ", false, false);
    if (!current.ok) return Usage(err, command, current.error);
  }
  auto fresh = ReadNewPin(args.pin_fd, "New PIN for " + LabelOf(*record) + ": ");
  if (!fresh.ok) return Usage(err, command, fresh.error);
  tpm::KeyStore store(tpm_args.store);
  tpm::TpmAuthenticator authenticator(**connection, store);
  auto done = change ? authenticator.ChangePin(record->credential_id, current.pin, fresh.pin)
                     : authenticator.ResetPin(record->credential_id, fresh.pin);
  current.pin.Wipe();
  fresh.pin.Wipe();
  if (!done) return ReportTpmError(err, command, done.error());
  out << (change ? "PIN changed for " : "new PIN set for ") << args.user << "'s credential "
      << wa::Base64UrlEncode(record->credential_id) << " (" << LabelOf(*record) << "); "
      << config::CountOf(record->pin_tries, "wrong PIN", "wrong PINs") << " in a row block it\n";
  return kExitOk;
}

CLI::App* AddPinCommand(CLI::App& app, const char* name, const char* help,
                        const std::shared_ptr<PinCommandArgs>& args, const char* pin_fd_help) {
  CLI::App* c = app.add_subcommand(name, help);
  c->add_option("USER", args->user)->required();
  c->add_option("--credential", args->credential,
                "base64url credential id (needed when USER has several)");
  c->add_option("--pin-fd", args->pin_fd, pin_fd_help);
  return c;
}

}  // namespace

Verb RegisterResetPin(CLI::App& app) {
  auto args = std::make_shared<PinCommandArgs>();
  CLI::App* c = AddPinCommand(app, "reset-pin",
                              "Set a new PIN for USER's credential, blocked or forgotten (root)",
                              args, "read the new PIN from this descriptor");
  return {c, [args](const GlobalArgs& g) {
            return RunPinCommand(g.tpm, *args, false, std::cout, std::cerr);
          }};
}

Verb RegisterChangePin(CLI::App& app) {
  auto args = std::make_shared<PinCommandArgs>();
  CLI::App* c = AddPinCommand(app, "change-pin",
                              "Change USER's PIN after the TPM has checked the current one",
                              args, "read the current PIN, then the new one, from this descriptor");
  return {c, [args](const GlobalArgs& g) {
            return RunPinCommand(g.tpm, *args, true, std::cout, std::cerr);
          }};
}

}  // namespace tpmauthn::cli
