// enroll, assert and status over tpm/ and webauthn/.
#include "cli/tpm_commands.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <cstdlib>

#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command_util.h"
#include "cli/exit_codes.h"
#include "cli/fido2_commands.h"
#include "cli/pin_input.h"
#include "cli/verb.h"
#include "config/credential_writer.h"
#include "config/options.h"
#include "config/pin_rules.h"
#include "config/plural.h"
#include "config/safe_file.h"
#include "tpm/connection.h"
#include "tpm/platform_authenticator.h"
#include "tpm/srk.h"
#include "tpm/tpm_authenticator.h"
#include "webauthn/base64url.h"
#include "webauthn/client_data.h"
#include "webauthn/registration_verifier.h"
#include "webauthn/response_json.h"

namespace tpmauthn::cli {
namespace {

namespace wa = tpmauthn::webauthn;
using tpm::TpmError;
using tpm::TpmErrorKind;

int ExitCodeFor(TpmErrorKind kind) {
  switch (kind) {
    case TpmErrorKind::kUnavailable:
    case TpmErrorKind::kBusy:
    case TpmErrorKind::kWrongTpm:
      return kExitTpmUnavailable;
    case TpmErrorKind::kLockout:
    case TpmErrorKind::kPinBlocked:
      return kExitTpmLockout;
    case TpmErrorKind::kStore:
      return kExitUsage;
    case TpmErrorKind::kWrongPin:
    case TpmErrorKind::kPolicy:
    case TpmErrorKind::kRefused:
      return kExitRejected;
  }
  return kExitRejected;
}

int Report(std::ostream& err, const char* command, const TpmError& error) {
  err << "tpmauthn: " << command << ": " << error.message << "\n";
  return ExitCodeFor(error.kind);
}

std::optional<std::vector<uint32_t>> ParsePcrs(const std::string& text) {
  std::vector<uint32_t> pcrs;
  if (text.empty()) return pcrs;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty() || item.size() > 2 || item.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    uint32_t pcr = static_cast<uint32_t>(std::stoul(item));
    if (pcr > 23) return std::nullopt;
    pcrs.push_back(pcr);
  }
  return pcrs;
}

// tcti= from tpmauthn.conf (root's), else the default.
config::ConfigResult<config::TctiConfig> TctiFromConfigFile() {
  auto options = config::SystemOptions();
  if (!options) return options.error();
  return options->tcti;
}

}  // namespace


PinResult ReadNewPin(std::optional<int> fd, const std::string& prompt) {
  PinResult read = ReadPin(fd, prompt, /*confirm=*/true, /*enrolling=*/true);
  if (!read.ok) return read;
  auto options = config::SystemOptions();
  if (!options) {
    read.pin.Wipe();
    read.ok = false;
    read.error = options.error().message;
    return read;
  }
  if (auto why = config::PinRuleViolation(
          read.pin, {options->pin_min_length, options->pin_allow_simple})) {
    read.pin.Wipe();
    read.ok = false;
    read.error = "the new PIN is too easy to guess: " + *why +
                 " (pin_min_length and pin_allow_simple in " + config::kDefaultConfigFile + ")";
  }
  return read;
}

int ReportTpmError(std::ostream& err, const char* command, const TpmError& error) {
  return Report(err, command, error);
}

tpm::TpmResult<std::unique_ptr<tpm::Connection>> OpenTpm(const TpmArgs& tpm_args) {
  const char* env = ::secure_getenv("TPMAUTHN_TCTI");
  auto chosen = tpm_args.tcti ? config::ParseTcti(*tpm_args.tcti, config::TctiSource::kCommandLine)
                : env && *env ? config::ParseTcti(env, config::TctiSource::kEnvironment)
                              : TctiFromConfigFile();
  if (!chosen) return tpm::TpmFail(TpmErrorKind::kUnavailable, chosen.error().message);
  return tpm::Connection::Open(*chosen);
}

int RunEnroll(const TpmArgs& tpm_args, const CredentialFileArgs& file, const EnrollArgs& args,
              std::ostream& out, std::ostream& err) {
  const char* kCommand = "enroll";
  if (args.uv != "pin" && args.uv != "none") return Usage(err, kCommand, "--uv must be pin or none");
  if (args.attestation != "self" && args.attestation != "tpm") {
    return Usage(err, kCommand, "--attestation must be self or tpm");
  }
  if (args.authenticator == "fido2" && args.attestation != "self") {
    return Usage(err, kCommand, "--attestation is for --authenticator tpm (a security key "
                                "attests with its maker's certificate)");
  }
  if (args.algorithm != "es256" && args.algorithm != "rs256") {
    return Usage(err, kCommand, "--algorithm must be es256 or rs256");
  }
  if (args.authenticator == "fido2" && args.algorithm != "es256") {
    return Usage(err, kCommand, "--algorithm is for --authenticator tpm (security keys are "
                                "enrolled with es256)");
  }
  if (args.authenticator == "fido2" && args.counter) {
    return Usage(err, kCommand, "--counter is for --authenticator tpm (a security key keeps its own)");
  }
  if (args.authenticator == "fido2") return RunEnrollFido2(file, args, out, err);
  if (args.authenticator != "tpm") {
    return Usage(err, kCommand, "--authenticator must be tpm or fido2");
  }
  if (!args.device.empty() || args.resident) {
    return Usage(err, kCommand, "--device and --resident are for --authenticator fido2");
  }
  if (args.pin_tries < tpm::kPinTriesMin || args.pin_tries > tpm::kPinTriesMax) {
    return Usage(err, kCommand, "--pin-tries must be " + std::to_string(tpm::kPinTriesMin) + "-" +
                                    std::to_string(tpm::kPinTriesMax));
  }
  auto pcrs = ParsePcrs(args.pcrs);
  if (!pcrs) return Usage(err, kCommand, "--pcrs must be a comma-separated list of 0-23");
  if (args.counter && *args.counter != "tpm" && *args.counter != "file") {
    return Usage(err, kCommand, "--counter must be tpm or file");
  }
  const std::string origin = args.origin.value_or(config::DefaultOrigin());
  const std::string rp_id = args.rp_id.value_or(origin);
  wa::Bytes challenge;
  if (args.challenge) {
    auto decoded = wa::Base64UrlDecode(*args.challenge);
    if (!decoded || decoded->size() < 16) {
      return Usage(err, kCommand, "--challenge must be base64url of at least 16 bytes");
    }
    challenge = std::move(*decoded);
  } else {
    challenge = RandomBytes(32);
  }

  auto connection = OpenTpm(tpm_args);
  if (!connection) return Report(err, kCommand, connection.error());
  webauthn::SecretBytes pin;
  const bool with_pin = args.uv == "pin";
  if (with_pin) {
    auto read = ReadNewPin(args.pin_fd, "New PIN for " + args.user + ": ");
    if (!read.ok) return Usage(err, kCommand, read.error);
    pin = std::move(read.pin);
  }

  const std::string client_data = wa::SerializeClientData(wa::kTypeCreate, challenge, origin);
  tpm::KeyStore store(tpm_args.store);
  tpm::TpmAuthenticator authenticator(**connection, store);
  tpm::MakeCredentialRequest request;
  request.rp_id = rp_id;
  request.client_data_hash = wa::Sha256(wa::AsBytes(client_data));
  request.user = args.user;
  request.user_handle = RandomBytes(32);
  request.label = args.label;
  request.pin = with_pin;
  request.pin_tries = args.pin_tries;
  request.pcrs = *pcrs;
  using Counter = tpm::MakeCredentialRequest::Counter;
  request.counter = !args.counter ? Counter::kTpmOrFile
                    : *args.counter == "tpm" ? Counter::kTpm
                                             : Counter::kFile;
  request.attestation = args.attestation == "tpm"
                            ? tpm::MakeCredentialRequest::Attestation::kTpm
                            : tpm::MakeCredentialRequest::Attestation::kSelf;
  request.algorithm = args.algorithm == "rs256" ? tpm::MakeCredentialRequest::Algorithm::kRs256
                                                : tpm::MakeCredentialRequest::Algorithm::kEs256;
  auto made = authenticator.MakeCredential(request, pin);
  pin.Wipe();
  if (!made) return Report(err, kCommand, made.error());
  if (!made->counter_note.empty()) {
    err << "tpmauthn: enroll: note: the sign counter is kept in the key file, not the TPM ("
        << made->counter_note << "); a key store restored from a backup will then look like a "
        << "clone to relying parties\n";
  }

  // Verify our own registration as a relying party would (§7.1).
  wa::RegistrationResponse response{
      wa::CredentialEnvelope{wa::Base64UrlEncode(made->credential_id), made->credential_id,
                             "public-key"},
      wa::Bytes(client_data.begin(), client_data.end()), made->attestation_object};
  wa::RegistrationExpectations expected;
  expected.challenge = challenge;
  expected.origins = {origin};
  expected.rp_ids = {rp_id};
  expected.require_user_verification = with_pin;
  auto rollback = [&] { (void)authenticator.RemoveCredential(made->credential_id); };
  auto verified = wa::VerifyRegistration(response, expected);
  if (!verified) {
    rollback();
    return Usage(err, kCommand, "the new credential failed verification (" +
                                    std::string(wa::ToString(verified.error().check)) + "): " +
                                    verified.error().message);
  }
  const config::Credential line =
      EnrolledLine(args.user, made->credential_id, verified->public_key,
                   config::AuthenticatorKind::kTpm, with_pin, rp_id, origin, args.label);
  if (auto ok = config::AppendCredentials(file.path, {line}, config::FileRules{{0, ::geteuid()}});
      !ok) {
    // A line that is in place (only its durability failed) keeps its key.
    if (!ok.error().committed) rollback();
    return Usage(err, kCommand, ok.error().message);
  }
  if (args.json) {
    auto json = wa::RegistrationResponseToJson(response, "platform", {"internal"});
    if (!json) return Usage(err, kCommand, json.error().message);
    out << json->dump() << "\n";
  } else {
    out << "enrolled credential " << wa::Base64UrlEncode(made->credential_id) << " for "
        << args.user << " (RP ID " << rp_id << ")\n";
  }
  return kExitOk;
}

int RunAssert(const TpmArgs& tpm_args, const AssertArgs& args, std::ostream& out,
              std::ostream& err) {
  const char* kCommand = "assert";
  auto challenge = wa::Base64UrlDecode(args.challenge);
  if (!challenge || challenge->size() < 16) {
    return Usage(err, kCommand, "--challenge must be base64url of at least 16 bytes");
  }
  tpm::KeyStore store(tpm_args.store);
  std::optional<tpm::KeyRecord> chosen;
  if (args.credential) {
    auto id = wa::Base64UrlDecode(*args.credential);
    if (!id) return Usage(err, kCommand, "--credential is not base64url");
    auto record = store.Load(*id);
    if (!record) return Report(err, kCommand, record.error());
    chosen = std::move(*record);
  } else {
    auto records = store.List();
    if (!records) return Report(err, kCommand, records.error());
    std::vector<tpm::KeyRecord> matching;
    for (auto& r : *records) {
      if (r.rp_id == args.rp_id && (!args.user || r.user == *args.user)) matching.push_back(r);
    }
    if (matching.empty()) {
      return Usage(err, kCommand, "no credential for RP ID " + args.rp_id +
                                      (args.user ? " and user " + *args.user : std::string()) +
                                      " in " + tpm_args.store);
    }
    if (matching.size() > 1) {
      return Usage(err, kCommand,
                   config::CountOf(matching.size(), "credential matches", "credentials match") +
                       "; choose one with --credential");
    }
    chosen = std::move(matching.front());
  }

  const std::string client_data = wa::SerializeClientData(wa::kTypeGet, *challenge, args.origin);
  const std::string label = chosen->label.empty() ? chosen->user : chosen->label;
  auto made = SignWithStoredKey(
      tpm_args, store, {*chosen, args.rp_id, client_data, args.pin_fd, "PIN for " + label + ": "},
      kCommand, err);
  if (!made) return made.error();
  wa::AssertionResponse response{
      wa::CredentialEnvelope{wa::Base64UrlEncode(made->credential_id), made->credential_id,
                             "public-key"},
      wa::Bytes(client_data.begin(), client_data.end()), made->authenticator_data,
      made->signature, made->user_handle};
  out << wa::AuthenticationResponseToJson(response, "platform").dump() << "\n";
  return kExitOk;
}

int RunStatus(const TpmArgs& tpm_args, bool json, std::ostream& out, std::ostream& err) {
  nlohmann::ordered_json status;
  int code = kExitOk;
  auto connection = OpenTpm(tpm_args);
  if (!connection) {
    status["tpm"] = {{"present", false}, {"error", connection.error().message}};
    code = kExitTpmUnavailable;
  } else {
    ESYS_CONTEXT* esys = (*connection)->esys();
    TPMS_CAPABILITY_DATA* data = nullptr;
    TPMI_YES_NO more = TPM2_NO;
    std::string manufacturer = "unknown";
    if (Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                           TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more,
                           &data) == TSS2_RC_SUCCESS &&
        data->data.tpmProperties.count == 1) {
      uint32_t v = data->data.tpmProperties.tpmProperty[0].value;
      manufacturer.clear();
      for (int shift = 24; shift >= 0; shift -= 8) {
        char c = static_cast<char>((v >> shift) & 0xff);
        if (c > ' ' && c < 0x7f) manufacturer.push_back(c);
      }
    }
    Esys_Free(data);
    status["tpm"] = {{"present", true},
                     {"tcti", (*connection)->tcti()},
                     {"manufacturer", manufacturer}};
    auto srk = tpm::LoadSrk(esys, /*create=*/false);
    if (srk) {
      status["srk"] = {{"present", true},
                       {"handle", "0x81000001"},
                       {"type", srk->ecc ? "ecc-p256" : "rsa"},
                       {"name", wa::ToHex(srk->name)}};
    } else if (srk.error().kind == TpmErrorKind::kWrongTpm) {
      status["srk"] = {{"present", false},
                       {"note", "no SRK at 0x81000001 yet; the first enroll creates it"}};
    } else {
      status["srk"] = {{"present", false}, {"note", srk.error().message}};
    }
    tpm::KeyStore store(tpm_args.store);
    tpm::TpmAuthenticator authenticator(**connection, store);
    auto lockout = authenticator.ReadLockoutStatus();
    if (lockout) {
      status["lockout"] = {{"inLockout", lockout->in_lockout},
                           {"failures", lockout->failures},
                           {"maxFailures", lockout->max_failures},
                           {"triesLeft", lockout->tries_left()},
                           {"intervalSeconds", lockout->interval_seconds},
                           {"recoverySeconds", lockout->recovery_seconds}};
      if (lockout->in_lockout) code = kExitTpmLockout;
    }
    // Each credential's PIN as the TPM keeps it.
    if (auto records = store.List(); records) {
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      bool legacy = false;
      for (const tpm::KeyRecord& r : *records) {
        nlohmann::ordered_json c = {{"id", wa::Base64UrlEncode(r.credential_id)},
                                    {"user", r.user},
                                    {"label", r.label},
                                    {"signCounter", r.counter_index ? "tpm" : "file"}};
        if (!r.pin) {
          c["scheme"] = "none";
        } else if (!r.pin_index) {
          c["scheme"] = "legacy-da";
          legacy = true;
        } else {
          c["scheme"] = "pin-index";
          c["pinIndex"] = "0x" + wa::ToHex(wa::Bytes{static_cast<uint8_t>(r.pin_index >> 24),
                                                     static_cast<uint8_t>(r.pin_index >> 16),
                                                     static_cast<uint8_t>(r.pin_index >> 8),
                                                     static_cast<uint8_t>(r.pin_index)});
          auto pin = authenticator.ReadPinStatus(r);
          if (pin && pin->counter) {
            c["triesLeft"] = pin->counter->tries_left();
            c["limit"] = pin->counter->limit;
            c["blocked"] = pin->counter->tries_left() == 0;
          } else if (!pin) {
            c["error"] = pin.error().message;
          }
        }
        list.push_back(std::move(c));
      }
      status["credentials"] = std::move(list);
      if (legacy && lockout) {
        status["lockout"]["lockoutAuthSet"] = lockout->lockout_auth_set;
      }
    }
  }
  tpm::KeyStore store(tpm_args.store);
  auto records = store.List();
  if (records) {
    status["store"] = {{"dir", tpm_args.store}, {"healthy", true}, {"credentials", records->size()}};
  } else {
    status["store"] = {{"dir", tpm_args.store}, {"healthy", false},
                       {"error", records.error().message}};
    if (code == kExitOk) code = kExitUsage;
  }
  if (json) {
    out << status.dump() << "\n";
  } else {
    const auto& t = status["tpm"];
    out << "TPM:      " << (t["present"].get<bool>() ? "present, " + t["manufacturer"].get<std::string>() +
                                                           " via " + t["tcti"].get<std::string>()
                                                     : "not available: " + t["error"].get<std::string>())
        << "\n";
    if (status.contains("srk")) {
      const auto& s = status["srk"];
      out << "SRK:      "
          << (s["present"].get<bool>() ? "0x81000001, " + s["type"].get<std::string>()
                                       : s["note"].get<std::string>())
          << "\n";
    }
    if (status.contains("lockout")) {
      const auto& l = status["lockout"];
      out << "Lockout:  " << (l["inLockout"].get<bool>() ? "LOCKED OUT, " : "")
          << l["failures"].get<uint32_t>() << " of " << l["maxFailures"].get<uint32_t>()
          << " failures, " << config::CountOf(l["triesLeft"].get<uint32_t>(), "try", "tries")
          << " left; one forgiven every "
          << config::CountOf(l["intervalSeconds"].get<uint32_t>(), "second", "seconds") << "\n";
    }
    bool legacy = false;
    if (status.contains("credentials")) {
      for (const auto& c : status["credentials"]) {
        const std::string scheme = c["scheme"].get<std::string>();
        const std::string label = c["label"].get<std::string>();
        out << "PIN:      " << c["user"].get<std::string>()
            << (label.empty() ? "" : " (" + label + ")") << ", "
            << c["id"].get<std::string>().substr(0, 11) << "…: ";
        if (scheme == "none") {
          out << "no PIN (uv=none)\n";
        } else if (scheme == "legacy-da") {
          legacy = true;
          out << "legacy: the key's own authValue, counted by the TPM's lockout for every user; "
                 "re-enroll it (docs/tpm.md)\n";
        } else if (c.contains("triesLeft")) {
          out << (c["blocked"].get<bool>()
                      ? "BLOCKED after " + config::CountOf(c["limit"].get<uint32_t>(), "wrong PIN",
                                                           "wrong PINs") +
                            "; reset it with tpmauthn reset-pin"
                      : config::CountOf(c["triesLeft"].get<uint32_t>(), "try", "tries") + " of " +
                            std::to_string(c["limit"].get<uint32_t>()) + " left")
              << " (own PIN index " << c["pinIndex"].get<std::string>() << ")\n";
        } else {
          out << "own PIN index " << c["pinIndex"].get<std::string>() << ", state unknown"
              << (c.contains("error") ? ": " + c["error"].get<std::string>() : "") << "\n";
        }
      }
    }
    if (status.contains("credentials")) {
      size_t tpm_counters = 0, file_counters = 0;
      for (const auto& c : status["credentials"]) {
        (c["signCounter"].get<std::string>() == "tpm" ? tpm_counters : file_counters)++;
      }
      if (tpm_counters + file_counters) {
        out << "Counter:  " << config::CountOf(tpm_counters, "credential", "credentials")
            << " on the TPM's NV counter, " << file_counters << " in the key file\n";
      }
    }
    if (legacy && status["lockout"].contains("lockoutAuthSet") &&
        !status["lockout"]["lockoutAuthSet"].get<bool>()) {
      out << "Warning:  the TPM's lockout hierarchy has no authorization: anyone who can reach "
             "the TPM can reset its failure count, so it does not bound guessing of legacy PINs\n";
    }
    const auto& st = status["store"];
    out << "Store:    " << st["dir"].get<std::string>() << ", "
        << (st["healthy"].get<bool>() ? config::CountOf(st["credentials"].get<size_t>(), "credential",
                                                        "credentials")
                                      : "BROKEN: " + st["error"].get<std::string>())
        << "\n";
  }
  if (code != kExitOk && status["tpm"]["present"] == false) {
    err << "tpmauthn: status: no TPM: " << status["tpm"]["error"].get<std::string>() << "\n";
  }
  return code;
}

webauthn::Result<tpm::MadeAssertion, int> SignWithStoredKey(const TpmArgs& tpm_args,
                                                             const tpm::KeyStore& store,
                                                             const SignRequest& request,
                                                             const char* command,
                                                             std::ostream& err) {
  auto connection = OpenTpm(tpm_args);
  if (!connection) return Report(err, command, connection.error());
  const tpm::KeyRecord& record = request.record;
  webauthn::SecretBytes pin;
  if (record.pin) {
    auto read = ReadPin(request.pin_fd, request.pin_prompt, false, false);
    if (!read.ok) return Usage(err, command, read.error);
    pin = std::move(read.pin);
  }
  tpm::TpmAuthenticator authenticator(**connection, store);
  auto made = authenticator.GetAssertion(
      {request.rp_id, wa::Sha256(wa::AsBytes(request.client_data_json)), record.credential_id},
      record.pin ? &pin : nullptr);
  pin.Wipe();
  if (!made) return Report(err, command, made.error());
  return std::move(*made);
}

int RunRemoveWithKey(const TpmArgs& tpm_args, const CredentialFileArgs& file,
                     const std::string& user, const std::string& credential_id_base64url,
                     std::ostream& out, std::ostream& err) {
  const char* kCommand = "remove";
  auto id = wa::Base64UrlDecode(credential_id_base64url);
  tpm::KeyStore store(tpm_args.store);
  std::optional<tpm::KeyRecord> record;
  std::unique_ptr<tpm::Connection> connection;
  if (id && tpm::PlatformAuthenticator::HasKey(tpm_args.store, *id)) {
    auto loaded = store.Load(*id);
    if (!loaded) return Report(err, kCommand, loaded.error());
    record = std::move(*loaded);
    if (record->pin_index) {
      // Its PIN index must go with it: without the TPM, remove nothing.
      auto opened = OpenTpm(tpm_args);
      if (!opened) {
        TpmError error = opened.error();
        error.message = "the TPM is needed to delete this credential's PIN index; nothing was "
                        "removed (" + error.message + ")";
        return Report(err, kCommand, error);
      }
      connection = std::move(*opened);
    }
  }
  // The TPM side first: a line without its key is a credential that cannot
  // be used, and running remove again deletes the line; a key without its
  // line would never be found again.
  if (record) {
    if (record->user != user) {
      return Usage(err, kCommand, "credential " + credential_id_base64url + " was enrolled for " +
                                      record->user + ", not " + user + "; nothing was removed");
    }
    if (connection) {
      tpm::TpmAuthenticator authenticator(*connection, store);
      if (auto removed = authenticator.RemoveCredential(*id); !removed) {
        return Report(err, kCommand, removed.error());
      }
      out << "deleted its TPM key and PIN index from " << tpm_args.store << "\n";
    } else {
      if (auto removed = store.Remove(*id); !removed) {
        return Report(err, kCommand, removed.error());
      }
      out << "deleted its TPM key from " << tpm_args.store << "\n";
    }
  }
  return RunRemove(file, user, credential_id_base64url, out, err);
}

Verb RegisterEnroll(CLI::App& app) {
  auto args = std::make_shared<EnrollArgs>();
  CLI::App* c = app.add_subcommand("enroll", "Create a credential for USER (TPM or security key)");
  c->add_option("USER", args->user)->required();
  c->add_option("--label", args->label, "free-text label");
  c->add_option("--uv", args->uv, "pin (PIN-protected) or none")->capture_default_str();
  c->add_option("--pcrs", args->pcrs, "bind to these SHA-256 PCRs, e.g. 0,7");
  c->add_option("--rp-id", args->rp_id, "RP ID (default: the origin)");
  c->add_option("--origin", args->origin, "origin (default: pam://<hostname>)");
  c->add_option("--challenge", args->challenge, "base64url challenge (default: random)");
  c->add_option("--pin-tries", args->pin_tries,
                 "wrong PINs before this credential's PIN blocks (3-32)")
      ->capture_default_str();
  c->add_option("--pin-fd", args->pin_fd, "read the PIN from this descriptor");
  c->add_flag("--json", args->json, "print RegistrationResponseJSON");
  c->add_option("--authenticator", args->authenticator,
                "tpm (this machine's TPM) or fido2 (a security key)")
      ->capture_default_str();
  c->add_option("--device", args->device, "fido2: the key's device path (default: the one key)");
  c->add_flag("--resident", args->resident, "fido2: a discoverable (resident) credential");
  c->add_option("--attestation", args->attestation,
                "self (packed self attestation) or tpm (certified by this TPM's attestation key; "
                "see attestation-key)")
      ->capture_default_str();
  c->add_option("--counter", args->counter,
                "tpm (the TPM's NV counter; default when the TPM allows it) or file");
  c->add_option("--algorithm", args->algorithm,
                "es256 (ECDSA P-256) or rs256 (RSA 2048, for relying parties that need RSA)")
      ->capture_default_str();
  return {c, [args](const GlobalArgs& g) {
            return RunEnroll(g.tpm, g.file, *args, std::cout, std::cerr);
          }};
}

Verb RegisterAssert(CLI::App& app) {
  auto args = std::make_shared<AssertArgs>();
  CLI::App* c = app.add_subcommand("assert", "Sign a WebAuthn assertion with the TPM");
  c->add_option("--rp-id", args->rp_id, "RP ID")->required();
  c->add_option("--origin", args->origin, "origin for clientDataJSON")->required();
  c->add_option("--challenge", args->challenge, "base64url challenge")->required();
  c->add_option("--user", args->user, "only this user's credentials");
  c->add_option("--credential", args->credential, "base64url credential id");
  c->add_option("--pin-fd", args->pin_fd, "read the PIN from this descriptor");
  c->add_flag("--json", args->json, "print AuthenticationResponseJSON (default)");
  return {c, [args](const GlobalArgs& g) { return RunAssert(g.tpm, *args, std::cout, std::cerr); }};
}

Verb RegisterStatus(CLI::App& app) {
  auto json = std::make_shared<bool>(false);
  CLI::App* c = app.add_subcommand("status", "TPM, SRK, lockout and key store health");
  c->add_flag("--json", *json, "print JSON");
  return {c, [json](const GlobalArgs& g) { return RunStatus(g.tpm, *json, std::cout, std::cerr); }};
}

}  // namespace tpmauthn::cli
