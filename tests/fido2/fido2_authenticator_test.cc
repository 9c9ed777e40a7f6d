// The roaming-key authenticator against an in-memory CTAP2 key that libfido2
// talks to over CTAPHID (tests/support/fake_fido2_device.h): silent probe,
// one touch with the cue first, PIN and its retries, no key, a touch that
// never comes, several keys; and the relying party logging a user in with a
// key, falling back to it from a locked-out TPM, refusing a replayed counter.
#define BOOST_TEST_MODULE fido2_authenticator
#include <boost/test/unit_test.hpp>

#include "config/counter_store.h"
#include "config/credential.h"
#include "config/safe_file.h"
#include "fido2/fido2_authenticator.h"
#include "pam_module/relying_party.h"
#include "tests/support/fake_fido2_device.h"
#include "tests/support/temp_dir.h"
#include "webauthn/assertion_verifier.h"
#include "webauthn/base64url.h"
#include "webauthn/client_data.h"
#include "webauthn/registration_verifier.h"

namespace tpmauthn {
namespace {

using testing::FakeDeviceSource;
using testing::FakeFido2Device;
using webauthn::AuthenticatorErrorKind;
using webauthn::Bytes;

constexpr char kRp[] = "pam://fido2-test";

struct Ui : webauthn::UserInterface {
  std::vector<std::string> events;  // "info:...", "error:...", "pin:..."
  std::string pin = "123456";
  std::optional<webauthn::SecretBytes> AskSecret(const std::string& prompt) override {
    events.push_back("pin:" + prompt);
    return webauthn::SecretBytes(webauthn::AsBytes(pin));
  }
  std::optional<std::string> AskText(const std::string&) override { return std::nullopt; }
  void Info(const std::string& m) override { events.push_back("info:" + m); }
  void Error(const std::string& m) override { events.push_back("error:" + m); }
  bool Saw(const std::string& event) const {
    return std::find(events.begin(), events.end(), event) != events.end();
  }
};

struct Request {
  std::string client_data;
  webauthn::Bytes challenge = Bytes(32, 0x42);
  webauthn::GetAssertionOptions options;
  explicit Request(std::vector<Bytes> allow, bool uv = false) {
    client_data = webauthn::SerializeClientData(webauthn::kTypeGet, challenge, kRp);
    options.rp_id = kRp;
    options.challenge = challenge;
    options.client_data_json.assign(client_data.begin(), client_data.end());
    options.client_data_hash = webauthn::Sha256(options.client_data_json);
    options.allow_credentials = std::move(allow);
    options.require_user_verification = uv;
  }
};

// What the relying party would check: §7.2 with the enrolled key.
webauthn::Result<webauthn::VerifiedAssertion> Verify(const Request& r,
                                                     const webauthn::AssertionOutput& out,
                                                     const Bytes& cose_key, bool uv,
                                                     uint32_t stored = 0) {
  auto key = webauthn::CoseKey::Parse(cose_key);
  BOOST_REQUIRE(key.ok());
  webauthn::AssertionExpectations expected;
  expected.challenge = r.challenge;
  expected.origins = {kRp};
  expected.rp_ids = {kRp};
  expected.require_user_verification = uv;
  const webauthn::AssertionResponse response{
      {webauthn::Base64UrlEncode(out.credential_id), out.credential_id, "public-key"},
      Bytes(r.client_data.begin(), r.client_data.end()), out.authenticator_data, out.signature,
      out.user_handle};
  return webauthn::VerifyAssertion(response, webauthn::CredentialRecord{out.credential_id, *key,
                                                                         stored},
                                   expected);
}

struct Fixture {
  FakeDeviceSource keys;
  Ui ui;
  fido2::Fido2Authenticator Authenticator() { return {keys, ui, fido2::Fido2Settings{}}; }
};

BOOST_AUTO_TEST_CASE(authenticator_data_is_unwrapped_from_its_cbor_byte_string) {
  const Bytes wrapped = {0x45, 1, 2, 3, 4, 5};
  auto raw = fido2::UnwrapAuthenticatorData(wrapped);
  BOOST_TEST_REQUIRE(raw.ok());
  BOOST_TEST((*raw == Bytes{1, 2, 3, 4, 5}));
  BOOST_TEST(!fido2::UnwrapAuthenticatorData(Bytes{0x65, 'h', 'e', 'l', 'l', 'o'}).ok());
  BOOST_TEST(!fido2::UnwrapAuthenticatorData(Bytes{0x41, 1, 0}).ok());  // trailing byte
  BOOST_TEST(!fido2::UnwrapAuthenticatorData(Bytes{}).ok());
}

BOOST_FIXTURE_TEST_CASE(no_key_plugged_in_is_unavailable_and_says_so, Fixture) {
  auto a = Authenticator();
  auto out = a.GetAssertion(Request({Bytes(16, 1)}).options);
  BOOST_TEST_REQUIRE(!out.ok());
  BOOST_TEST((out.error().kind == AuthenticatorErrorKind::kUnavailable));
  BOOST_TEST(out.error().user_message == "No security key found.");
}

BOOST_FIXTURE_TEST_CASE(a_touch_signs_the_relying_partys_client_data_after_the_cue, Fixture) {
  FakeFido2Device& key = keys.Plug();
  const auto& credential = key.AddCredential(kRp);
  bool cue_before_touch = false;
  key.on_touch = [&] { cue_before_touch = ui.Saw("info:Touch your security key."); };
  auto a = Authenticator();
  Request r({credential.id});
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok(), (out.ok() ? "" : out.error().message));
  BOOST_TEST(cue_before_touch);
  BOOST_TEST(key.silent_requests == 1u);
  BOOST_TEST(key.touch_requests == 1u);
  BOOST_TEST(out->credential_id == credential.id);
  auto verified = Verify(r, *out, credential.cose_key, false);
  BOOST_TEST_REQUIRE(verified.ok(), (verified.ok() ? "" : verified.error().message));
  BOOST_TEST(verified->sign_count == key.counter());
  BOOST_TEST(ui.events.size() == 1u);  // the cue, and no PIN prompt
  // Required UV without a PIN on the response would not pass.
  BOOST_TEST(!Verify(r, *out, credential.cose_key, true).ok());
}

BOOST_FIXTURE_TEST_CASE(only_the_key_holding_the_credential_is_touched, Fixture) {
  FakeFido2Device& other = keys.Plug();
  other.AddCredential(kRp);  // someone else's
  FakeFido2Device& mine = keys.Plug();
  const auto& credential = mine.AddCredential(kRp);
  auto a = Authenticator();
  Request r({credential.id});
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok(), (out.ok() ? "" : out.error().message));
  BOOST_TEST(other.silent_requests == 0u);  // asked, held none: no signature made
  BOOST_TEST(other.touch_requests == 0u);
  BOOST_TEST(mine.touch_requests == 1u);
  BOOST_TEST(Verify(r, *out, credential.cose_key, false).ok());
}

BOOST_FIXTURE_TEST_CASE(keys_without_the_credential_are_not_found_and_never_touched, Fixture) {
  FakeFido2Device& key = keys.Plug();
  key.AddCredential(kRp);
  key.AddCredential("pam://elsewhere");
  auto a = Authenticator();
  auto out = a.GetAssertion(Request({Bytes(48, 7)}).options);
  BOOST_TEST_REQUIRE(!out.ok());
  BOOST_TEST((out.error().kind == AuthenticatorErrorKind::kNotFound));
  BOOST_TEST(key.touch_requests == 0u);
  BOOST_TEST(ui.events.empty());
}

BOOST_FIXTURE_TEST_CASE(a_credential_for_another_rp_id_is_not_used, Fixture) {
  FakeFido2Device& key = keys.Plug();
  const auto& credential = key.AddCredential("pam://elsewhere");
  auto a = Authenticator();
  auto out = a.GetAssertion(Request({credential.id}).options);
  BOOST_TEST_REQUIRE(!out.ok());
  BOOST_TEST((out.error().kind == AuthenticatorErrorKind::kNotFound));
}

BOOST_FIXTURE_TEST_CASE(uv_asks_the_keys_pin_and_a_wrong_one_says_the_keys_tries, Fixture) {
  FakeFido2Device& key = keys.Plug();
  key.SetPin("123456");
  const auto& credential = key.AddCredential(kRp);
  auto a = Authenticator();
  Request r({credential.id}, /*uv=*/true);
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok(), (out.ok() ? "" : out.error().message));
  BOOST_TEST(Verify(r, *out, credential.cose_key, true).ok());
  BOOST_TEST(ui.Saw("pin:PIN for your security key: "));
  // The PIN came before the cue, the cue before the touch.
  BOOST_TEST(ui.events.front().rfind("pin:", 0) == 0u);
  BOOST_TEST(ui.events.back() == "info:Touch your security key.");

  ui.pin = "654321";
  auto wrong = a.GetAssertion(Request({credential.id}, true).options);
  BOOST_TEST_REQUIRE(!wrong.ok());
  BOOST_TEST((wrong.error().kind == AuthenticatorErrorKind::kWrongPin));
  BOOST_TEST(wrong.error().per_credential_pin);
  BOOST_TEST_REQUIRE(wrong.error().tries_left.has_value());
  BOOST_TEST(*wrong.error().tries_left == 7u);
  BOOST_TEST(key.retries() == 7u);
  BOOST_TEST(key.touch_requests == 1u);  // no touch asked for with a wrong PIN
}

BOOST_FIXTURE_TEST_CASE(a_credential_line_with_uv_pin_asks_the_pin_without_a_uv_request,
                        Fixture) {
  FakeFido2Device& key = keys.Plug();
  key.SetPin("123456");
  const auto& credential = key.AddCredential(kRp);
  auto a = Authenticator();
  Request r({credential.id}, /*uv=*/false);
  r.options.credential_requires_uv = {true};
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok());
  BOOST_TEST(Verify(r, *out, credential.cose_key, true).ok());
}

BOOST_FIXTURE_TEST_CASE(a_blocked_pin_is_reported_as_the_keys_own, Fixture) {
  FakeFido2Device& key = keys.Plug();
  key.SetPin("123456");
  const auto& credential = key.AddCredential(kRp);
  ui.pin = "000000";
  auto a = Authenticator();
  std::optional<webauthn::AuthenticatorError> last;
  for (int i = 0; i < 8; ++i) {
    // Three wrong PINs in a row need a replug (PIN_AUTH_BLOCKED), as real keys do.
    auto out = a.GetAssertion(Request({credential.id}, true).options);
    BOOST_TEST_REQUIRE(!out.ok());
    last = out.error();
    if (last->kind == AuthenticatorErrorKind::kLockout) {
      BOOST_TEST(last->user_message.find("unplug") != std::string::npos);
      break;
    }
  }
  BOOST_TEST_REQUIRE(last.has_value());
  BOOST_TEST((last->kind == AuthenticatorErrorKind::kLockout));
  BOOST_TEST(key.retries() == 5u);
}

BOOST_FIXTURE_TEST_CASE(uv_on_a_key_without_a_pin_is_refused_with_what_to_do, Fixture) {
  FakeFido2Device& key = keys.Plug();
  const auto& credential = key.AddCredential(kRp);
  auto a = Authenticator();
  auto out = a.GetAssertion(Request({credential.id}, true).options);
  BOOST_TEST_REQUIRE(!out.ok());
  BOOST_TEST((out.error().kind == AuthenticatorErrorKind::kRefused));
  BOOST_TEST(out.error().user_message.find("fido2-token -S") != std::string::npos);
  BOOST_TEST(key.touch_requests == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_touch_that_never_comes_is_cancelled, Fixture) {
  FakeFido2Device& key = keys.Plug();
  const auto& credential = key.AddCredential(kRp);
  key.touched = false;
  auto a = Authenticator();
  auto out = a.GetAssertion(Request({credential.id}).options);
  BOOST_TEST_REQUIRE(!out.ok());
  BOOST_TEST((out.error().kind == AuthenticatorErrorKind::kCancelled));
  BOOST_TEST(key.cancels == 1u);
  BOOST_TEST(out.error().user_message == "The security key was not touched in time.");
}

BOOST_FIXTURE_TEST_CASE(a_missing_credential_id_is_the_single_allowed_one, Fixture) {
  FakeFido2Device& key = keys.Plug();
  const auto& credential = key.AddCredential(kRp);
  key.omit_single_id = true;
  auto a = Authenticator();
  Request r({credential.id});
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok(), (out.ok() ? "" : out.error().message));
  BOOST_TEST(out->credential_id == credential.id);
  BOOST_TEST(Verify(r, *out, credential.cose_key, false).ok());
}


BOOST_FIXTURE_TEST_CASE(many_credentials_are_asked_one_at_a_time, Fixture) {
  FakeFido2Device& key = keys.Plug();  // takes 8 ids per allow list, as a YubiKey 5
  const auto& credential = key.AddCredential(kRp);
  std::vector<Bytes> allow;
  for (int i = 0; i < 11; ++i) allow.push_back(Bytes(48, static_cast<uint8_t>(i)));
  allow.push_back(credential.id);  // the user's 12th credential is on this key
  auto a = Authenticator();
  Request r(allow);
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok(), (out.ok() ? "" : out.error().message));
  BOOST_TEST(out->credential_id == credential.id);
  BOOST_TEST(Verify(r, *out, credential.cose_key, false).ok());
}

BOOST_FIXTURE_TEST_CASE(a_u2f_only_key_logs_in_with_a_touch_and_cannot_verify, Fixture) {
  FakeFido2Device& key = keys.Plug();
  key.u2f_only = true;
  const auto& credential = key.AddCredential(kRp);
  auto a = Authenticator();
  Request r({Bytes(64, 1), credential.id});
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok(), (out.ok() ? "" : out.error().message));
  // U2F check-only: our probe, then libfido2's own look before it signs.
  BOOST_TEST(key.silent_requests == 2u);
  BOOST_TEST(key.touch_requests == 1u);
  BOOST_TEST(out->credential_id == credential.id);
  auto verified = Verify(r, *out, credential.cose_key, false);
  BOOST_TEST_REQUIRE(verified.ok(), (verified.ok() ? "" : verified.error().message));
  BOOST_TEST(verified->sign_count == key.counter());
  auto uv = a.GetAssertion(Request({credential.id}, /*uv=*/true).options);
  BOOST_TEST_REQUIRE(!uv.ok());
  BOOST_TEST((uv.error().kind == AuthenticatorErrorKind::kRefused));
  BOOST_TEST(uv.error().user_message.find("can only be touched") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_key_that_wants_its_pin_for_a_touch_gets_asked_then, Fixture) {
  FakeFido2Device& key = keys.Plug();
  key.SetPin("123456");
  key.pin_for_every_touch = true;  // credProtect / alwaysUv: PIN_REQUIRED without UV
  const auto& credential = key.AddCredential(kRp);
  auto a = Authenticator();
  Request r({credential.id}, /*uv=*/false);
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok(), (out.ok() ? "" : out.error().message));
  BOOST_TEST(ui.Saw("pin:PIN for your security key: "));
  BOOST_TEST(Verify(r, *out, credential.cose_key, true).ok());  // UV now set
}

BOOST_FIXTURE_TEST_CASE(an_expired_challenge_is_not_touched_for, Fixture) {
  FakeFido2Device& key = keys.Plug();
  const auto& credential = key.AddCredential(kRp);
  auto a = Authenticator();
  Request r({credential.id});
  r.options.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(!out.ok());
  BOOST_TEST((out.error().kind == AuthenticatorErrorKind::kCancelled));
  BOOST_TEST(key.touch_requests == 0u);
}

// makeCredential on a key: what `tpmauthn enroll --authenticator fido2` does.
struct Enrolling : Fixture {
  std::string client_data = webauthn::SerializeClientData(webauthn::kTypeCreate, Bytes(32, 9), kRp);
  fido2::Fido2EnrollRequest request;
  Enrolling() {
    request.rp_id = kRp;
    request.client_data_json.assign(client_data.begin(), client_data.end());
    request.user_handle = Bytes(32, 1);
    request.user_name = "alice";
    request.uv = false;
  }
  webauthn::Result<webauthn::VerifiedRegistration> Check(const fido2::Fido2Enrollment& made,
                                                         bool uv) {
    webauthn::RegistrationResponse response{
        {webauthn::Base64UrlEncode(made.credential_id), made.credential_id, "public-key"},
        request.client_data_json, made.attestation_object};
    webauthn::RegistrationExpectations expected;
    expected.challenge = Bytes(32, 9);
    expected.origins = {kRp};
    expected.rp_ids = {kRp};
    expected.require_user_verification = uv;
    return webauthn::VerifyRegistration(response, expected);
  }
};

BOOST_FIXTURE_TEST_CASE(an_enrolled_key_credential_verifies_and_then_logs_in, Enrolling) {
  FakeFido2Device& key = keys.Plug();
  auto made = fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request);
  BOOST_TEST_REQUIRE(made.ok(), (made.ok() ? "" : made.error().message));
  auto verified = Check(*made, false);
  BOOST_TEST_REQUIRE(verified.ok(), (verified.ok() ? "" : verified.error().message));
  BOOST_TEST(verified->fmt == "packed");
  BOOST_TEST((verified->attestation_type == webauthn::AttestationType::kSelf));
  BOOST_TEST(ui.events == std::vector<std::string>{"info:Touch your security key."});
  BOOST_TEST(key.touch_requests == 1u);
  // The new credential answers a login.
  auto a = Authenticator();
  Request r({made->credential_id});
  auto out = a.GetAssertion(r.options);
  BOOST_TEST_REQUIRE(out.ok());
  BOOST_TEST(Verify(r, *out, verified->public_key.encoded(), false).ok());
  // fmt "none" is what some keys send (and what privacy settings ask for).
  key.attestation = "none";
  auto bare = fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request);
  BOOST_TEST_REQUIRE(bare.ok());
  auto none = Check(*bare, false);
  BOOST_TEST_REQUIRE(none.ok(), (none.ok() ? "" : none.error().message));
  BOOST_TEST((none->attestation_type == webauthn::AttestationType::kNone));
}

BOOST_FIXTURE_TEST_CASE(a_key_with_a_pin_is_asked_for_it_and_the_credential_is_uv, Enrolling) {
  FakeFido2Device& key = keys.Plug();
  key.SetPin("123456");
  request.uv = true;
  auto made = fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request);
  BOOST_TEST_REQUIRE(made.ok(), (made.ok() ? "" : made.error().message));
  BOOST_TEST(ui.events.front() == "pin:PIN for your security key: ");
  BOOST_TEST(Check(*made, true).ok());
  // --uv none on a key with a PIN: still asked (CTAP 2.0 keys require it).
  request.uv = false;
  ui.events.clear();
  BOOST_TEST(fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request).ok());
  BOOST_TEST(ui.events.front() == "pin:PIN for your security key: ");
}

BOOST_FIXTURE_TEST_CASE(enrolling_twice_on_one_key_is_refused_by_the_exclude_list, Enrolling) {
  keys.Plug();
  auto first = fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request);
  BOOST_TEST_REQUIRE(first.ok());
  request.exclude = {first->credential_id};
  auto again = fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request);
  BOOST_TEST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().message.find("already holds") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(two_keys_and_no_device_named_is_refused_naming_them, Enrolling) {
  keys.Plug();
  keys.Plug();
  auto made = fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request);
  BOOST_TEST_REQUIRE(!made.ok());
  BOOST_TEST(made.error().message.find("2 security keys are plugged in (fake:") == 0u,
             made.error().message);
  BOOST_TEST(made.error().message.find("--device") != std::string::npos);
  auto paths = keys.List(16);
  request.device_path = paths->back();
  BOOST_TEST(fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request).ok());
}

BOOST_FIXTURE_TEST_CASE(a_u2f_only_key_is_not_enrolled_here, Enrolling) {
  keys.Plug().u2f_only = true;
  auto made = fido2::Enroll(keys, ui, fido2::Fido2Settings{}, request);
  BOOST_TEST_REQUIRE(!made.ok());
  BOOST_TEST(made.error().message.find("U2F-only") != std::string::npos);
  BOOST_TEST(made.error().message.find("pamu2fcfg") != std::string::npos);
}

// The relying party with a key: a login, the TPM handing over, a replay.
struct NullLog : pam::Logger {
  std::vector<std::string> lines;
  void Log(pam::LogLevel, const std::string& m) override { lines.push_back(m); }
};

struct Login : Fixture {
  testing::TempDir dir;
  NullLog log;
  config::Options options;
  FakeFido2Device& key = keys.Plug();
  const testing::FakeCredential& credential = key.AddCredential(kRp);
  bool tpm_locked_out = true;
  unsigned tpm_opened = 0;

  Login() {
    config::Credential c;
    c.user = "alice";
    c.id = credential.id;
    c.public_key = credential.cose_key;
    c.kind = config::AuthenticatorKind::kFido2;
    c.require_uv = false;
    c.rp_id = kRp;
    c.origin = kRp;
    c.created = "2026-12-04";
    config::Credential tpm = c;  // a TPM credential of alice's, its key "here"
    tpm.id = Bytes(32, 0x77);
    tpm.kind = config::AuthenticatorKind::kTpm;
    testing::WriteFile(dir / "credentials", config::FormatCredentialLine(tpm) + "\n" +
                                                config::FormatCredentialLine(c) + "\n");
    options.credentials = dir / "credentials";
    options.state = dir / "state";
    options.rp_id = kRp;
    options.origin = kRp;
    options.uv = config::UvPolicy::kDiscouraged;
  }

  pam::Decision Run() {
    pam::Environment env{
        ui, log,
        [&](webauthn::UserInterface&) -> pam::AuthenticatorResult {
          ++tpm_opened;
          return webauthn::AuthenticatorError{AuthenticatorErrorKind::kLockout,
                                              "TPM in lockout", std::nullopt, std::nullopt, {}, {}};
        },
        [](webauthn::ByteView id) { return id.size() == 32 && id[0] == 0x77; }, std::nullopt,
        nullptr,
        [&](webauthn::UserInterface& through) -> pam::AuthenticatorResult {
          return std::unique_ptr<webauthn::Authenticator>(
              std::make_unique<fido2::Fido2Authenticator>(keys, through, fido2::Fido2Settings{}));
        }};
    return pam::Authenticate(options, "alice", env);
  }
};

BOOST_FIXTURE_TEST_CASE(a_locked_out_tpm_hands_over_to_the_key_and_the_counter_is_kept, Login) {
  pam::Decision d = Run();
  BOOST_TEST_REQUIRE(static_cast<int>(d.outcome) == static_cast<int>(pam::Outcome::kSuccess),
                     d.reason);
  BOOST_TEST(tpm_opened == 1u);
  BOOST_TEST(ui.Saw("info:Using your security key instead."));
  BOOST_TEST(ui.Saw("info:Touch your security key."));
  auto stored = config::CounterStore(options.state).Load("alice", credential.id);
  BOOST_TEST_REQUIRE(stored.ok());
  BOOST_TEST(*stored == key.counter());
  BOOST_TEST(log.lines.front().find("cannot use this computer's TPM") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(the_key_first_when_preferred_and_the_tpm_not_at_all_when_left_out,
                        Login) {
  options.authenticators = {config::AuthenticatorKind::kFido2, config::AuthenticatorKind::kTpm};
  BOOST_TEST(static_cast<int>(Run().outcome) == static_cast<int>(pam::Outcome::kSuccess));
  BOOST_TEST(tpm_opened == 0u);
  options.authenticators = {config::AuthenticatorKind::kTpm};
  pam::Decision d = Run();
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(pam::Outcome::kUnavailable));
  BOOST_TEST(key.touch_requests == 1u);  // only the first login touched the key
}

BOOST_FIXTURE_TEST_CASE(a_counter_that_goes_back_is_refused, Login) {
  BOOST_TEST_REQUIRE(config::OpenTrustedDirectory(options.state, 0700).ok());
  auto set = config::CounterStore(options.state)
                 .Advance("alice", credential.id,
                          [](uint32_t) -> config::ConfigResult<uint32_t> { return 1000u; });
  BOOST_TEST_REQUIRE(set.ok());
  pam::Decision d = Run();
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(pam::Outcome::kAuthError));
  BOOST_TEST(d.reason.find("signCount") != std::string::npos, d.reason);
}

BOOST_FIXTURE_TEST_CASE(no_key_plugged_in_falls_through_as_unavailable, Login) {
  options.authenticators = {config::AuthenticatorKind::kFido2};
  FakeDeviceSource empty;
  pam::Environment env{
      ui, log, nullptr, [](webauthn::ByteView) { return false; }, std::nullopt, nullptr,
      [&](webauthn::UserInterface& through) -> pam::AuthenticatorResult {
        return std::unique_ptr<webauthn::Authenticator>(
            std::make_unique<fido2::Fido2Authenticator>(empty, through, fido2::Fido2Settings{}));
      }};
  pam::Decision d = pam::Authenticate(options, "alice", env);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(pam::Outcome::kUnavailable));
  BOOST_TEST(ui.Saw("error:No security key found."));
}

}  // namespace
}  // namespace tpmauthn
