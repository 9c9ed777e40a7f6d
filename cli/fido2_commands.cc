// tpmauthn enroll --authenticator fido2: makeCredential on a security key with
// our own clientDataJSON, the attestationObject verified as a relying party
// would (§7.1: packed or none; U2F-only keys are refused, see
// fido2::Enroll), then the `fido2` line appended.
#include "cli/fido2_commands.h"

#include <unistd.h>

#include <iostream>

#include "cli/command_util.h"
#include "cli/exit_codes.h"
#include "cli/pin_input.h"
#include "config/credential_file.h"
#include "config/credential_writer.h"
#include "config/options.h"
#include "config/safe_file.h"
#include "fido2/system_authenticator.h"
#include "webauthn/base64url.h"
#include "webauthn/client_data.h"
#include "webauthn/registration_verifier.h"
#include "webauthn/response_json.h"

namespace tpmauthn::cli {
namespace {

namespace wa = tpmauthn::webauthn;

// The key's PIN from the terminal (no echo) or --pin-fd; cues on stderr.
class TerminalInterface final : public wa::UserInterface {
 public:
  TerminalInterface(std::optional<int> pin_fd, const char* command, std::ostream& err)
      : pin_fd_(pin_fd), command_(command), err_(err) {}
  std::optional<wa::SecretBytes> AskSecret(const std::string& prompt) override {
    PinResult read = ReadPin(pin_fd_, prompt, /*confirm=*/false, /*enrolling=*/false);
    if (!read.ok) {
      err_ << "tpmauthn: " << command_ << ": " << read.error << "\n";
      return std::nullopt;
    }
    return std::move(read.pin);
  }
  std::optional<std::string> AskText(const std::string&) override { return std::nullopt; }
  void Info(const std::string& message) override { err_ << message << "\n" << std::flush; }
  void Error(const std::string& message) override { err_ << message << "\n"; }

 private:
  std::optional<int> pin_fd_;
  const char* command_;
  std::ostream& err_;
};

int ExitCodeFor(wa::AuthenticatorErrorKind kind) {
  switch (kind) {
    case wa::AuthenticatorErrorKind::kUnavailable:
      return kExitTpmUnavailable;
    case wa::AuthenticatorErrorKind::kLockout:
    case wa::AuthenticatorErrorKind::kPinBlocked:
      return kExitTpmLockout;
    case wa::AuthenticatorErrorKind::kWrongPin:
    case wa::AuthenticatorErrorKind::kNotFound:
    case wa::AuthenticatorErrorKind::kCancelled:
    case wa::AuthenticatorErrorKind::kRefused:
      return kExitRejected;
  }
  return kExitRejected;
}

// The user's fido2 credentials already in the file: the key is asked not to
// make a second one next to any of them.
config::ConfigResult<std::vector<wa::Bytes>> EnrolledIds(const std::string& path,
                                                         const std::string& user) {
  auto opened = config::OpenChecked(path, config::FileRules{{0, ::geteuid()}, false});
  if (!opened) return opened.error();
  std::vector<wa::Bytes> ids;
  if (opened->status != config::OpenStatus::kOpened) return ids;
  auto read = config::ReadCredentials(opened->fd.get(), path, user);
  if (!read) return read.error();
  for (const config::Credential& c : *read) {
    if (c.kind == config::AuthenticatorKind::kFido2 && !c.id.empty()) ids.push_back(c.id);
  }
  return ids;
}

// The fido2 credentials in `path` (every user's: a client's own file).
config::ConfigResult<std::vector<config::Credential>> KeyCredentials(const std::string& path) {
  auto opened = config::OpenChecked(path, config::FileRules{{0, ::geteuid()}, false});
  if (!opened) return opened.error();
  std::vector<config::Credential> out;
  if (opened->status != config::OpenStatus::kOpened) return out;
  auto read = config::ReadCredentials(opened->fd.get(), path, std::nullopt);
  if (!read) return read.error();
  for (config::Credential& c : *read) {
    if (c.kind == config::AuthenticatorKind::kFido2 && !c.id.empty()) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

int AnswerWithSecurityKey(const CredentialFileArgs& file, const wa::RemoteRequest& request,
                          const std::string& origin, std::optional<int> pin_fd,
                          const char* command, std::ostream& out, std::ostream& err) {
  auto credentials = KeyCredentials(file.path);
  if (!credentials) {
    err << "tpmauthn: " << command << ": " << credentials.error().message << "\n";
    return kExitUsage;
  }
  const std::string client_data = wa::SerializeClientData(wa::kTypeGet, request.challenge, origin);
  wa::GetAssertionOptions options;
  options.rp_id = request.rp_id;
  options.challenge = request.challenge;
  options.client_data_json.assign(client_data.begin(), client_data.end());
  options.client_data_hash = wa::Sha256(options.client_data_json);
  options.require_user_verification = request.user_verification;
  for (const config::Credential& c : *credentials) {
    if (c.rp_id.value_or(c.origin.value_or("")) != request.rp_id) continue;
    const auto digest = wa::CredentialDigest(c.id);
    for (const auto& d : request.credential_digests) {
      if (d == digest) {
        options.allow_credentials.push_back(c.id);
        options.credential_requires_uv.push_back(c.require_uv);
        break;
      }
    }
  }
  if (options.allow_credentials.empty()) {
    err << "tpmauthn: " << command << ": no credential here (TPM or security key in "
        << file.path << ") for RP ID \"" << request.rp_id << "\" that the server accepts\n";
    return kExitRejected;
  }
  TerminalInterface ui(pin_fd, command, err);
  auto key = fido2::NewSystemAuthenticator(ui, fido2::Fido2Settings{});
  auto made = key->GetAssertion(options);
  if (!made) {
    err << "tpmauthn: " << command << ": " << made.error().message << "\n";
    return ExitCodeFor(made.error().kind);
  }
  wa::RemoteReply reply{made->credential_id, made->authenticator_data, made->signature,
                        options.client_data_json};
  out << reply.Encode() << "\n";
  return kExitOk;
}

int RunEnrollFido2(const CredentialFileArgs& file, const EnrollArgs& args, std::ostream& out,
                   std::ostream& err) {
  const char* kCommand = "enroll";
  if (!args.pcrs.empty() || args.pin_tries != tpm::kPinTriesDefault) {
    return Usage(err, kCommand,
                 "--pcrs and --pin-tries are for TPM credentials (a security key keeps its own "
                 "PIN and its own tries)");
  }
  const std::string origin = args.origin.value_or(config::DefaultOrigin());
  const std::string rp_id = args.rp_id.value_or(origin);
  wa::Bytes challenge = RandomBytes(32);
  if (args.challenge) {
    auto decoded = wa::Base64UrlDecode(*args.challenge);
    if (!decoded || decoded->size() < 16) {
      return Usage(err, kCommand, "--challenge must be base64url of at least 16 bytes");
    }
    challenge = std::move(*decoded);
  }
  auto exclude = EnrolledIds(file.path, args.user);
  if (!exclude) return Usage(err, kCommand, exclude.error().message);

  const std::string client_data = wa::SerializeClientData(wa::kTypeCreate, challenge, origin);
  fido2::Fido2EnrollRequest request;
  request.rp_id = rp_id;
  request.client_data_json.assign(client_data.begin(), client_data.end());
  request.user_handle = RandomBytes(32);
  request.user_name = args.user;
  request.resident = args.resident;
  request.uv = args.uv == "pin";
  request.exclude = std::move(*exclude);
  request.device_path = args.device;
  TerminalInterface ui(args.pin_fd, kCommand, err);
  auto made = fido2::EnrollOnSystemKey(ui, fido2::Fido2Settings{}, request);
  if (!made) {
    err << "tpmauthn: " << kCommand << ": " << made.error().message << "\n";
    return ExitCodeFor(made.error().kind);
  }

  // Verify the key's registration as a relying party would (§7.1).
  wa::RegistrationResponse response{
      wa::CredentialEnvelope{wa::Base64UrlEncode(made->credential_id), made->credential_id,
                             "public-key"},
      request.client_data_json, made->attestation_object};
  wa::RegistrationExpectations expected;
  expected.challenge = challenge;
  expected.origins = {origin};
  expected.rp_ids = {rp_id};
  expected.require_user_verification = request.uv;
  auto verified = wa::VerifyRegistration(response, expected);
  if (!verified) {
    err << "tpmauthn: " << kCommand << ": the key's registration failed verification ("
        << wa::ToString(verified.error().check) << "): " << verified.error().message << "\n";
    return kExitRejected;
  }
  const config::Credential line =
      EnrolledLine(args.user, made->credential_id, verified->public_key,
                   config::AuthenticatorKind::kFido2, request.uv, rp_id, origin, args.label);
  if (auto ok = config::AppendCredentials(file.path, {line}, config::FileRules{{0, ::geteuid()}});
      !ok) {
    return Usage(err, kCommand,
                 ok.error().message + " (the key holds the new credential; it is unused)");
  }
  if (args.json) {
    auto json = wa::RegistrationResponseToJson(response, "cross-platform", {"usb"});
    if (!json) return Usage(err, kCommand, json.error().message);
    out << json->dump() << "\n";
  } else {
    out << "enrolled security key credential " << wa::Base64UrlEncode(made->credential_id)
        << " for " << args.user << " (RP ID " << rp_id << ", attestation "
        << wa::ToString(verified->attestation_type) << ")\n";
  }
  return kExitOk;
}

}  // namespace tpmauthn::cli
