// The TPM authenticator against swtpm (suite "tpm"): our verifier and libfido2
// accept its responses; wrong PINs count and lock out; blobs are useless on
// another TPM; PCR binding; authValues ending in 0x00; no transient handle
// ever left behind; counters strictly increase; at most 5 TPM commands per
// assertion.
#define BOOST_TEST_MODULE tpm_authenticator
#include <boost/test/unit_test.hpp>

#include <fido.h>
#include <fido/es256.h>
#include <fido/rs256.h>
#include <openssl/hmac.h>
#include <tss2/tss2_mu.h>

#include <fstream>
#include <tuple>

#include "tests/support/swtpm.h"
#include "tests/support/temp_dir.h"
#include "tpm/connection.h"
#include "tpm/pin.h"
#include "tpm/pin_index.h"
#include "tpm/srk.h"
#include "tpm/tpm_authenticator.h"
#include "webauthn/assertion_verifier.h"
#include "webauthn/base64url.h"
#include "webauthn/client_data.h"
#include "webauthn/registration_verifier.h"

using namespace tpmauthn;
using webauthn::SecretBytes;
using tpm::TpmErrorKind;
using webauthn::Bytes;

namespace {

constexpr const char* kRp = "pam://test-host";

struct Rig {
  testing::Swtpm swtpm;
  testing::TempDir dir;
  tpm::KeyStore store{dir / "keys"};
  std::unique_ptr<tpm::Connection> connection = Connect();
  std::unique_ptr<tpm::TpmAuthenticator> authenticator =
      std::make_unique<tpm::TpmAuthenticator>(*connection, store);

  std::unique_ptr<tpm::Connection> Connect(bool count = false) {
    ::setenv("TSS2_LOG", "all+NONE", 1);
    auto c = tpm::Connection::Open(swtpm.tcti(), count);
    if (!c) throw std::runtime_error(c.error().message);
    return std::move(*c);
  }
  // Reconnect, as a new process would (swtpm serves one client at a time).
  void Reconnect(bool count = false) {
    authenticator.reset();
    connection.reset();
    connection = Connect(count);
    authenticator = std::make_unique<tpm::TpmAuthenticator>(*connection, store);
  }

  // Transient objects and loaded sessions currently in the TPM.
  size_t LeftoverHandles() {
    size_t total = 0;
    for (TPM2_HANDLE first : {TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST}) {
      TPMS_CAPABILITY_DATA* data = nullptr;
      TPMI_YES_NO more = TPM2_NO;
      TSS2_RC rc = Esys_GetCapability(connection->esys(), ESYS_TR_NONE, ESYS_TR_NONE,
                                      ESYS_TR_NONE, TPM2_CAP_HANDLES, first, TPM2_MAX_CAP_HANDLES,
                                      &more, &data);
      if (rc != TSS2_RC_SUCCESS) throw std::runtime_error("GetCapability(handles) failed");
      for (UINT32 i = 0; i < data->data.handles.count; ++i) {
        TPM2_HANDLE h = data->data.handles.handle[i];
        if ((h >> 24) == (first >> 24)) ++total;
      }
      Esys_Free(data);
    }
    return total;
  }

  struct Enrolled {
    tpm::MadeCredential made;
    std::string client_data;
    Bytes challenge;
  };
  using Scheme = tpm::MakeCredentialRequest::PinScheme;
  using Counter = tpm::MakeCredentialRequest::Counter;
  Counter counter = Counter::kFile;  // the next Enroll's sign counter
  using Algorithm = tpm::MakeCredentialRequest::Algorithm;
  Algorithm algorithm = Algorithm::kEs256;  // the next Enroll's key
  Enrolled Enroll(const std::string& pin, std::vector<uint32_t> pcrs = {},
                  std::optional<Bytes> salt = std::nullopt, Scheme scheme = Scheme::kPinIndex,
                  const std::string& user = "alice", uint32_t tries = tpm::kPinTriesDefault) {
    Bytes challenge(32, 0x11);
    std::string client_data = webauthn::SerializeClientData(webauthn::kTypeCreate, challenge, kRp);
    tpm::MakeCredentialRequest request;
    request.rp_id = kRp;
    request.client_data_hash = webauthn::Sha256(webauthn::AsBytes(client_data));
    request.user = user;
    request.user_handle = Bytes(user.begin(), user.end());
    request.scheme = scheme;
    request.pin_tries = tries;
    request.label = "test";
    request.pin = !pin.empty();
    request.pcrs = std::move(pcrs);
    request.pin_salt_for_testing = std::move(salt);
    request.counter = counter;
    request.algorithm = algorithm;
    auto made = authenticator->MakeCredential(request, SecretBytes(std::string_view(pin)));
    if (!made) throw std::runtime_error("enroll: " + made.error().message);
    BOOST_TEST(LeftoverHandles() == 0u);
    return {std::move(*made), client_data, challenge};
  }

  struct Asserted {
    tpm::TpmResult<tpm::MadeAssertion> result;
    std::string client_data;
    Bytes challenge;
  };
  Asserted Assert(const Bytes& credential_id, const std::string& pin) {
    Bytes challenge(32);
    for (size_t i = 0; i < challenge.size(); ++i) challenge[i] = static_cast<uint8_t>(rand());
    std::string client_data = webauthn::SerializeClientData(webauthn::kTypeGet, challenge, kRp);
    SecretBytes secret{std::string_view(pin)};
    auto result = authenticator->GetAssertion(
        {kRp, webauthn::Sha256(webauthn::AsBytes(client_data)), credential_id},
        pin.empty() ? nullptr : &secret);
    BOOST_TEST(LeftoverHandles() == 0u);  // on success and on every failure
    return {std::move(result), client_data, challenge};
  }
};

webauthn::Result<webauthn::VerifiedAssertion> Verify(const Rig::Enrolled& e,
                                                     const Rig::Asserted& a,
                                                     uint32_t stored_counter, bool require_uv) {
  auto key = webauthn::CoseKey::Parse(e.made.public_key);
  webauthn::CredentialRecord record{e.made.credential_id, std::move(*key), stored_counter};
  webauthn::AssertionExpectations expected;
  expected.challenge = a.challenge;
  expected.origins = {kRp};
  expected.rp_ids = {kRp};
  expected.require_user_verification = require_uv;
  webauthn::AssertionResponse response{
      {webauthn::Base64UrlEncode(a.result->credential_id), a.result->credential_id, "public-key"},
      Bytes(a.client_data.begin(), a.client_data.end()),
      a.result->authenticator_data,
      a.result->signature,
      a.result->user_handle};
  return webauthn::VerifyAssertion(response, record, expected);
}

// Our §7.1 verifier on an enrollment's registration.
webauthn::Result<webauthn::VerifiedRegistration> VerifyEnrolled(const Rig::Enrolled& e,
                                                                bool require_uv) {
  webauthn::RegistrationExpectations reg;
  reg.challenge = e.challenge;
  reg.origins = {kRp};
  reg.rp_ids = {kRp};
  reg.require_user_verification = require_uv;
  return webauthn::VerifyRegistration(
      {{webauthn::Base64UrlEncode(e.made.credential_id), e.made.credential_id, "public-key"},
       Bytes(e.client_data.begin(), e.client_data.end()),
       e.made.attestation_object},
      reg);
}

}  // namespace

BOOST_AUTO_TEST_CASE(enroll_assert_and_both_verifiers_accept) {
  Rig rig;
  // Every case here then runs its salted sessions through tpm/host_crypto.h
  // where tpm2-tss has the hook (≥ 4.0), through ESAPI's own code where not.
#ifdef TPMAUTHN_HAVE_ESYS_CRYPTO_CALLBACKS
  BOOST_TEST(rig.connection->host_crypto());
#else
  BOOST_TEST(!rig.connection->host_crypto());
#endif
  auto e = rig.Enroll("1234");
  // Our §7.1 verifier accepts the registration (packed self attestation).
  auto registered = VerifyEnrolled(e, true);
  BOOST_REQUIRE_MESSAGE(registered.ok(),
                        (registered.ok() ? std::string() : registered.error().message));
  BOOST_TEST((registered->attestation_type == webauthn::AttestationType::kSelf));
  BOOST_TEST(webauthn::ToHex(registered->aaguid) == webauthn::ToHex(tpm::kAaguid));

  auto a = rig.Assert(e.made.credential_id, "1234");
  BOOST_REQUIRE_MESSAGE(a.result.ok(), (a.result.ok() ? std::string() : a.result.error().message));
  auto verified = Verify(e, a, 0, true);
  BOOST_REQUIRE_MESSAGE(verified.ok(), (verified.ok() ? std::string() : verified.error().message));
  BOOST_TEST(verified->sign_count == 1u);
  BOOST_TEST(verified->user_verified);
  BOOST_TEST(a.result->user_handle == (Bytes{'a', 'l', 'i', 'c', 'e'}));

  // libfido2, an independent implementation, verifies the same assertion.
  fido_init(0);
  fido_assert_t* assert = fido_assert_new();
  es256_pk_t* pk = es256_pk_new();
  auto key = webauthn::CoseKey::Parse(e.made.public_key);
  BOOST_TEST_REQUIRE(es256_pk_from_EVP_PKEY(pk, key->pkey()) == FIDO_OK);
  BOOST_TEST(fido_assert_set_clientdata(assert,
                                        reinterpret_cast<const unsigned char*>(a.client_data.data()),
                                        a.client_data.size()) == FIDO_OK);
  BOOST_TEST(fido_assert_set_rp(assert, kRp) == FIDO_OK);
  BOOST_TEST(fido_assert_set_count(assert, 1) == FIDO_OK);
  BOOST_TEST(fido_assert_set_authdata_raw(assert, 0, a.result->authenticator_data.data(),
                                          a.result->authenticator_data.size()) == FIDO_OK);
  BOOST_TEST(fido_assert_set_sig(assert, 0, a.result->signature.data(),
                                 a.result->signature.size()) == FIDO_OK);
  BOOST_TEST(fido_assert_set_up(assert, FIDO_OPT_TRUE) == FIDO_OK);
  BOOST_TEST(fido_assert_set_uv(assert, FIDO_OPT_TRUE) == FIDO_OK);
  BOOST_TEST(fido_assert_verify(assert, 0, COSE_ES256, pk) == FIDO_OK);
  es256_pk_free(&pk);
  fido_assert_free(&assert);
}

// RS256 credential keys (RSA 2048 in the TPM), with each way a PIN can guard
// them: the self attestation and every assertion verify with our verifier
// and with libfido2's, and a wrong PIN is refused.
BOOST_AUTO_TEST_CASE(rs256_keys_sign_under_every_pin_scheme) {
  Rig rig;
  rig.algorithm = Rig::Algorithm::kRs256;
  struct Case {
    const char* name;
    std::string pin;
    Rig::Scheme scheme;
    std::vector<uint32_t> pcrs;
  };
  const Case cases[] = {{"per-credential PIN", "1234", Rig::Scheme::kPinIndex, {}},
                        {"per-credential PIN and PCR 7", "1234", Rig::Scheme::kPinIndex, {7}},
                        {"legacy PIN", "1234", Rig::Scheme::kLegacyDa, {}},
                        {"no PIN", "", Rig::Scheme::kPinIndex, {}}};
  fido_init(0);
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto e = rig.Enroll(c.pin, c.pcrs, std::nullopt, c.scheme);
      auto key = webauthn::CoseKey::Parse(e.made.public_key);
      BOOST_TEST_REQUIRE(key.ok());
      BOOST_TEST((key->algorithm() == webauthn::CoseAlgorithm::kRS256));
      BOOST_TEST(EVP_PKEY_get_bits(key->pkey()) == 2048);
      auto pub = rig.store.Load(e.made.credential_id)->public_blob;
      TPM2B_PUBLIC area{};
      BOOST_TEST_REQUIRE(Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub.data(), pub.size(), nullptr, &area) ==
                         TSS2_RC_SUCCESS);
      BOOST_TEST(area.publicArea.type == TPM2_ALG_RSA);
      const TPMA_OBJECT kFixed = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                 TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_SIGN_ENCRYPT;
      BOOST_TEST((area.publicArea.objectAttributes & kFixed) == kFixed);
      BOOST_TEST((area.publicArea.objectAttributes & TPMA_OBJECT_DECRYPT) == 0u);

      auto registered = VerifyEnrolled(e, !c.pin.empty());
      BOOST_REQUIRE_MESSAGE(registered.ok(),
                            (registered.ok() ? std::string() : registered.error().message));
      BOOST_TEST((registered->attestation_type == webauthn::AttestationType::kSelf));

      for (uint32_t n = 1; n <= 2; ++n) {
        auto a = rig.Assert(e.made.credential_id, c.pin);
        BOOST_REQUIRE_MESSAGE(a.result.ok(),
                              (a.result.ok() ? std::string() : a.result.error().message));
        BOOST_TEST(a.result->signature.size() == 256u);
        auto verified = Verify(e, a, n - 1, !c.pin.empty());
        BOOST_REQUIRE_MESSAGE(verified.ok(),
                              (verified.ok() ? std::string() : verified.error().message));
        BOOST_TEST(verified->sign_count == n);

        fido_assert_t* assert = fido_assert_new();
        rs256_pk_t* pk = rs256_pk_new();
        BOOST_TEST_REQUIRE(rs256_pk_from_EVP_PKEY(pk, key->pkey()) == FIDO_OK);
        fido_assert_set_clientdata(assert,
                                   reinterpret_cast<const unsigned char*>(a.client_data.data()),
                                   a.client_data.size());
        fido_assert_set_rp(assert, kRp);
        fido_assert_set_count(assert, 1);
        fido_assert_set_authdata_raw(assert, 0, a.result->authenticator_data.data(),
                                     a.result->authenticator_data.size());
        fido_assert_set_sig(assert, 0, a.result->signature.data(), a.result->signature.size());
        fido_assert_set_up(assert, FIDO_OPT_TRUE);
        fido_assert_set_uv(assert, c.pin.empty() ? FIDO_OPT_OMIT : FIDO_OPT_TRUE);
        BOOST_TEST(fido_assert_verify(assert, 0, COSE_RS256, pk) == FIDO_OK);
        rs256_pk_free(&pk);
        fido_assert_free(&assert);
      }
      if (!c.pin.empty()) {
        auto wrong = rig.Assert(e.made.credential_id, "9999");
        BOOST_TEST_REQUIRE(!wrong.result.ok());
        BOOST_TEST((wrong.result.error().kind == TpmErrorKind::kWrongPin));
      }
    }
  }
}

// A credential made before per-credential PINs (legacy-da): still signs, and
// its wrong PINs still count against the TPM's lockout.
BOOST_AUTO_TEST_CASE(legacy_wrong_pins_count_then_lock_out) {
  Rig rig;
  auto e = rig.Enroll("1234", {}, std::nullopt, Rig::Scheme::kLegacyDa);
  BOOST_TEST(rig.store.Load(e.made.credential_id)->pin_index == 0u);
  BOOST_TEST(rig.Assert(e.made.credential_id, "1234").result.ok());
  auto status = rig.authenticator->ReadLockoutStatus();
  BOOST_TEST_REQUIRE(status.ok());
  const uint32_t max = status->max_failures;
  BOOST_TEST_REQUIRE(max >= 1u);
  for (uint32_t i = 1; i <= max; ++i) {
    auto a = rig.Assert(e.made.credential_id, "0000");
    BOOST_TEST_REQUIRE(!a.result.ok());
    if (i < max) {
      BOOST_TEST((a.result.error().kind == TpmErrorKind::kWrongPin));
      BOOST_TEST(*a.result.error().tries_left == max - i);
    } else {
      // The failure that reaches the limit already reports the lockout.
      BOOST_TEST((a.result.error().kind == TpmErrorKind::kLockout ||
                  a.result.error().kind == TpmErrorKind::kWrongPin));
    }
  }
  auto locked = rig.Assert(e.made.credential_id, "1234");
  BOOST_TEST_REQUIRE(!locked.result.ok());
  BOOST_TEST((locked.result.error().kind == TpmErrorKind::kLockout));
  BOOST_TEST(*locked.result.error().recovery_seconds == status->interval_seconds);
  BOOST_TEST(rig.authenticator->ReadLockoutStatus()->in_lockout);
}

BOOST_AUTO_TEST_CASE(a_blob_is_useless_on_another_tpm) {
  Rig rig;
  auto e = rig.Enroll("1234");
  testing::Swtpm other;
  auto connection = tpm::Connection::Open(other.tcti());
  BOOST_TEST_REQUIRE(connection.ok());
  tpm::TpmAuthenticator elsewhere(**connection, rig.store);
  SecretBytes pin{std::string_view("1234")};
  // The other TPM has no SRK yet.
  auto a = elsewhere.GetAssertion({kRp, Bytes(32, 1), e.made.credential_id}, &pin);
  BOOST_TEST_REQUIRE(!a.ok());
  BOOST_TEST((a.error().kind == TpmErrorKind::kWrongTpm));
  // With its own SRK, the names differ.
  auto srk = tpm::LoadSrk((*connection)->esys(), true);
  BOOST_TEST_REQUIRE(srk.ok());
  a = elsewhere.GetAssertion({kRp, Bytes(32, 1), e.made.credential_id}, &pin);
  BOOST_TEST_REQUIRE(!a.ok());
  BOOST_TEST((a.error().kind == TpmErrorKind::kWrongTpm));
  // Even skipping the name check, the other TPM refuses to load the blob.
  auto record = rig.store.Load(e.made.credential_id);
  TPM2B_PUBLIC pub{};
  TPM2B_PRIVATE priv{};
  size_t offset = 0;
  BOOST_TEST_REQUIRE(Tss2_MU_TPM2B_PUBLIC_Unmarshal(record->public_blob.data(),
                                                    record->public_blob.size(), &offset,
                                                    &pub) == TSS2_RC_SUCCESS);
  offset = 0;
  BOOST_TEST_REQUIRE(Tss2_MU_TPM2B_PRIVATE_Unmarshal(record->private_blob.data(),
                                                     record->private_blob.size(), &offset,
                                                     &priv) == TSS2_RC_SUCCESS);
  ESYS_TR loaded = ESYS_TR_NONE;
  TSS2_RC rc = Esys_Load((*connection)->esys(), srk->handle, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, &priv, &pub, &loaded);
  BOOST_TEST(rc != TSS2_RC_SUCCESS);
}

BOOST_AUTO_TEST_CASE(pcr_binding) {
  Rig rig;
  auto bound = rig.Enroll("1234", {23});
  auto unbound = rig.Enroll("5678");
  BOOST_TEST(rig.Assert(bound.made.credential_id, "1234").result.ok());
  auto wrong = rig.Assert(bound.made.credential_id, "1111");
  BOOST_TEST_REQUIRE(!wrong.result.ok());
  BOOST_TEST((wrong.result.error().kind == TpmErrorKind::kWrongPin));
  // Extend PCR 23, as a changed boot component would.
  TPML_DIGEST_VALUES digests{};
  digests.count = 1;
  digests.digests[0].hashAlg = TPM2_ALG_SHA256;
  digests.digests[0].digest.sha256[0] = 0x42;
  BOOST_TEST_REQUIRE(Esys_PCR_Extend(rig.connection->esys(), ESYS_TR_PCR23, ESYS_TR_PASSWORD,
                                     ESYS_TR_NONE, ESYS_TR_NONE, &digests) == TSS2_RC_SUCCESS);
  auto after = rig.Assert(bound.made.credential_id, "1234");
  BOOST_TEST_REQUIRE(!after.result.ok());
  BOOST_TEST((after.result.error().kind == TpmErrorKind::kPolicy));
  BOOST_TEST(rig.Assert(unbound.made.credential_id, "5678").result.ok());
}

BOOST_AUTO_TEST_CASE(an_auth_value_ending_in_zero_works) {
  Rig rig;
  const Bytes salt(tpm::kPinSaltSize, 0x5a);
  // Find a PIN whose untrimmed HMAC ends in 0x00 (about 1 in 256).
  std::string pin;
  for (int candidate = 1000; candidate < 100000 && pin.empty(); ++candidate) {
    std::string text = std::to_string(candidate);
    const std::string message = "tpmauthn PIN v1" + text;
    unsigned char mac[32];
    unsigned int length = 0;
    HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length);
    if (mac[31] == 0) pin = text;
  }
  BOOST_TEST_REQUIRE(!pin.empty());
  TPM2B_AUTH auth{};
  tpm::DeriveAuthValue(SecretBytes(std::string_view(pin)), salt, auth);
  BOOST_TEST(auth.size < 32u);  // trimmed
  BOOST_TEST_MESSAGE("PIN " << pin << " gives a " << auth.size << "-byte authValue");
  auto e = rig.Enroll(pin, {}, salt);
  auto a = rig.Assert(e.made.credential_id, pin);
  BOOST_REQUIRE_MESSAGE(a.result.ok(), (a.result.ok() ? std::string() : a.result.error().message));
  BOOST_TEST(Verify(e, a, 0, true).ok());
  BOOST_TEST(!rig.Assert(e.made.credential_id, pin + "0").result.ok());
}

BOOST_AUTO_TEST_CASE(counters_increase_across_100_assertions_and_reconnects) {
  Rig rig;
  auto e = rig.Enroll("1234");
  uint32_t stored = 0;
  for (int i = 0; i < 100; ++i) {
    if (i == 50) rig.Reconnect();  // a new client, as after a process restart
    auto a = rig.Assert(e.made.credential_id, "1234");
    BOOST_TEST_REQUIRE(a.result.ok());
    auto verified = Verify(e, a, stored, true);
    BOOST_REQUIRE_MESSAGE(verified.ok(), (verified.ok() ? std::string() : verified.error().message));
    BOOST_TEST_REQUIRE(verified->sign_count > stored);
    stored = verified->sign_count;
  }
  BOOST_TEST(stored == 100u);
  BOOST_TEST(rig.store.Load(e.made.credential_id)->counter == 100u);
}

BOOST_AUTO_TEST_CASE(no_pin_credential_has_no_uv) {
  Rig rig;
  auto e = rig.Enroll("");
  auto a = rig.Assert(e.made.credential_id, "");
  BOOST_TEST_REQUIRE(a.result.ok());
  BOOST_TEST(Verify(e, a, 0, false).ok());
  auto strict = Verify(e, a, 0, true);
  BOOST_TEST_REQUIRE(!strict.ok());
  BOOST_TEST((strict.error().check == webauthn::Check::kUserVerified));
}

// Legacy: ReadPublic(SRK), StartAuthSession, Load, Sign, FlushContext.
// Per-credential PIN: ReadPublic(SRK), Load, NV_ReadPublic, two
// StartAuthSession, PolicySecret, Sign, FlushContext.
// The TPM sign counter adds NV_ReadPublic twice (ESYS_TR, attributes),
// NV_Increment and NV_Read.
BOOST_AUTO_TEST_CASE(tpm_commands_per_assertion) {
  for (auto [scheme, counter, budget] :
       {std::tuple{Rig::Scheme::kLegacyDa, Rig::Counter::kFile, 5u},
        std::tuple{Rig::Scheme::kPinIndex, Rig::Counter::kFile, 8u},
        std::tuple{Rig::Scheme::kPinIndex, Rig::Counter::kTpm, 12u}}) {
    Rig rig;
    rig.counter = counter;
    auto e = rig.Enroll("1234", {}, std::nullopt, scheme);
    rig.Reconnect(/*count=*/true);
    const uint64_t before = rig.connection->commands_sent();
    BOOST_TEST(rig.Assert(e.made.credential_id, "1234").result.ok());
    // LeftoverHandles() itself sent 2 commands after the assertion.
    const uint64_t used = rig.connection->commands_sent() - before - 2;
    BOOST_TEST_MESSAGE("TPM commands for one assertion: " << used);
    BOOST_TEST(used <= budget);
  }
}

BOOST_AUTO_TEST_CASE(the_wrong_rp_and_unknown_credentials_are_refused) {
  Rig rig;
  auto e = rig.Enroll("1234");
  SecretBytes pin{std::string_view("1234")};
  auto other_rp = rig.authenticator->GetAssertion({"pam://other", Bytes(32), e.made.credential_id},
                                                  &pin);
  BOOST_TEST(!other_rp.ok());
  auto unknown = rig.authenticator->GetAssertion({kRp, Bytes(32), Bytes(32, 9)}, &pin);
  BOOST_TEST_REQUIRE(!unknown.ok());
  BOOST_TEST((unknown.error().kind == TpmErrorKind::kStore));
  BOOST_TEST(rig.LeftoverHandles() == 0u);
}

// ---- Per-credential PINs (TPM_NT_PIN_FAIL indexes, tpm/pin_index.h) ----

namespace {

std::vector<TPM2_HANDLE> NvIndexes(Rig& rig) {
  TPMS_CAPABILITY_DATA* data = nullptr;
  TPMI_YES_NO more = TPM2_NO;
  TSS2_RC rc = Esys_GetCapability(rig.connection->esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_HANDLES, TPM2_NV_INDEX_FIRST, TPM2_MAX_CAP_HANDLES,
                                  &more, &data);
  if (rc != TSS2_RC_SUCCESS) throw std::runtime_error("GetCapability(NV) failed");
  std::vector<TPM2_HANDLE> out(data->data.handles.handle,
                               data->data.handles.handle + data->data.handles.count);
  Esys_Free(data);
  return out;
}

tpm::PinCounter Counter(Rig& rig, const Bytes& id) {
  auto record = rig.store.Load(id);
  if (!record) throw std::runtime_error(record.error().message);
  auto status = rig.authenticator->ReadPinStatus(*record);
  if (!status || !status->per_credential || !status->counter) {
    throw std::runtime_error("no PIN counter");
  }
  return *status->counter;
}

uint32_t LockoutFailures(Rig& rig) { return rig.authenticator->ReadLockoutStatus()->failures; }

// TPM2_NV_Write of `data` at offset 0, authorized by `auth_handle` with a
// password session (the TPM judges the attributes before any HMAC).
TSS2_RC TryNvWrite(Rig& rig, ESYS_TR auth_handle, ESYS_TR index) {
  TPM2B_MAX_NV_BUFFER zero{};
  zero.size = 8;  // pinCount 0, pinLimit 0
  return Esys_NV_Write(rig.connection->esys(), auth_handle, index, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                       ESYS_TR_NONE, &zero, 0);
}

}  // namespace

// The attack: alice runs her own credential's tries down; bob is
// unaffected, the TPM's lockout counter never moves, and alice's credential
// is blocked at her limit even for the right PIN.
BOOST_AUTO_TEST_CASE(one_credentials_wrong_pins_touch_no_other_and_not_the_tpm_lockout) {
  Rig rig;
  auto alice = rig.Enroll("246813");
  auto bob = rig.Enroll("975318", {}, std::nullopt, Rig::Scheme::kPinIndex, "bob");
  const uint32_t tpm_max = rig.authenticator->ReadLockoutStatus()->max_failures;
  BOOST_TEST_REQUIRE(tpm::kPinTriesDefault > tpm_max);  // more than the TPM would allow
  for (uint32_t i = 1; i <= tpm::kPinTriesDefault; ++i) {
    auto a = rig.Assert(alice.made.credential_id, "000000");
    BOOST_TEST_REQUIRE(!a.result.ok());
    BOOST_TEST((a.result.error().kind == TpmErrorKind::kWrongPin));
    BOOST_TEST(a.result.error().per_credential_pin);
    BOOST_TEST(*a.result.error().tries_left == tpm::kPinTriesDefault - i);
    if (i == tpm::kPinTriesDefault) {
      BOOST_TEST(a.result.error().message.find("now blocked") != std::string::npos);
    }
    BOOST_TEST(LockoutFailures(rig) == 0u);
  }
  auto blocked = rig.Assert(alice.made.credential_id, "246813");
  BOOST_TEST_REQUIRE(!blocked.result.ok());
  BOOST_TEST((blocked.result.error().kind == TpmErrorKind::kPinBlocked));
  BOOST_TEST(Counter(rig, alice.made.credential_id).count == tpm::kPinTriesDefault);

  auto b = rig.Assert(bob.made.credential_id, "975318");
  BOOST_TEST_REQUIRE(b.result.ok());
  BOOST_TEST(Verify(bob, b, 0, true).ok());
  BOOST_TEST(Counter(rig, bob.made.credential_id).count == 0u);
  BOOST_TEST(LockoutFailures(rig) == 0u);
  BOOST_TEST(!rig.authenticator->ReadLockoutStatus()->in_lockout);
}

BOOST_AUTO_TEST_CASE(a_right_pin_resets_the_count) {
  Rig rig;
  auto e = rig.Enroll("246813", {}, std::nullopt, Rig::Scheme::kPinIndex, "alice", 3);
  BOOST_TEST(!rig.Assert(e.made.credential_id, "111111").result.ok());
  BOOST_TEST(!rig.Assert(e.made.credential_id, "111111").result.ok());
  BOOST_TEST(Counter(rig, e.made.credential_id).count == 2u);
  BOOST_TEST(Counter(rig, e.made.credential_id).limit == 3u);
  BOOST_TEST(rig.Assert(e.made.credential_id, "246813").result.ok());
  BOOST_TEST(Counter(rig, e.made.credential_id).count == 0u);
}

// reset-pin: same handle, same Name, so the same key and public key; the
// counter goes on; the old PIN is gone.
BOOST_AUTO_TEST_CASE(reset_pin_brings_a_blocked_credential_back) {
  Rig rig;
  auto e = rig.Enroll("246813", {}, std::nullopt, Rig::Scheme::kPinIndex, "alice", 3);
  auto first = rig.Assert(e.made.credential_id, "246813");
  BOOST_TEST_REQUIRE(first.result.ok());
  const auto before = NvIndexes(rig);
  const tpm::KeyRecord record = *rig.store.Load(e.made.credential_id);
  for (int i = 0; i < 3; ++i) BOOST_TEST(!rig.Assert(e.made.credential_id, "111111").result.ok());
  BOOST_TEST((rig.Assert(e.made.credential_id, "246813").result.error().kind ==
              TpmErrorKind::kPinBlocked));

  auto reset = rig.authenticator->ResetPin(e.made.credential_id, SecretBytes(std::string_view("802468")));
  BOOST_TEST_REQUIRE(reset.ok(), (reset.ok() ? "" : reset.error().message));
  BOOST_TEST(NvIndexes(rig) == before);
  BOOST_TEST(rig.store.Load(e.made.credential_id)->pin_index_name == record.pin_index_name);
  BOOST_TEST(Counter(rig, e.made.credential_id).count == 0u);
  BOOST_TEST(Counter(rig, e.made.credential_id).limit == 3u);

  auto old_pin = rig.Assert(e.made.credential_id, "246813");
  BOOST_TEST_REQUIRE(!old_pin.result.ok());
  BOOST_TEST((old_pin.result.error().kind == TpmErrorKind::kWrongPin));
  auto again = rig.Assert(e.made.credential_id, "802468");
  BOOST_TEST_REQUIRE(again.result.ok());
  BOOST_TEST(again.result->counter == first.result->counter + 1);
  // Against the public key stored at enrollment, and the counter stored then.
  BOOST_TEST(Verify(e, again, first.result->counter, true).ok());
}

BOOST_AUTO_TEST_CASE(change_pin_needs_the_current_one) {
  Rig rig;
  auto e = rig.Enroll("246813");
  auto wrong = rig.authenticator->ChangePin(e.made.credential_id, SecretBytes(std::string_view("111111")),
                                            SecretBytes(std::string_view("802468")));
  BOOST_TEST_REQUIRE(!wrong.ok());
  BOOST_TEST((wrong.error().kind == TpmErrorKind::kWrongPin));
  BOOST_TEST(*wrong.error().tries_left == tpm::kPinTriesDefault - 1);
  BOOST_TEST(Counter(rig, e.made.credential_id).count == 1u);
  BOOST_TEST(!rig.Assert(e.made.credential_id, "802468").result.ok());  // nothing changed
  BOOST_TEST(rig.Assert(e.made.credential_id, "246813").result.ok());

  auto changed = rig.authenticator->ChangePin(e.made.credential_id,
                                              SecretBytes(std::string_view("246813")),
                                              SecretBytes(std::string_view("802468")));
  BOOST_TEST_REQUIRE(changed.ok(), (changed.ok() ? "" : changed.error().message));
  BOOST_TEST(!rig.Assert(e.made.credential_id, "246813").result.ok());
  BOOST_TEST(rig.Assert(e.made.credential_id, "802468").result.ok());
}

// Nothing lowers a count but the right PIN: the index refuses every write
// after its first — by the owner, by its own auth (even the right PIN), and
// through its write policy.
BOOST_AUTO_TEST_CASE(nobody_can_write_a_pin_index_after_enrollment) {
  Rig rig;
  auto e = rig.Enroll("246813");
  BOOST_TEST(!rig.Assert(e.made.credential_id, "111111").result.ok());
  BOOST_TEST(!rig.Assert(e.made.credential_id, "111111").result.ok());
  const tpm::KeyRecord record = *rig.store.Load(e.made.credential_id);
  ESYS_CONTEXT* esys = rig.connection->esys();
  auto index = tpm::OpenPinIndex(esys, record.pin_index, record.pin_index_name);
  BOOST_TEST_REQUIRE(index.ok());
  tpm::NvCloser closer{esys, *index};

  BOOST_TEST(TryNvWrite(rig, ESYS_TR_RH_OWNER, *index) != TSS2_RC_SUCCESS);
  TPM2B_AUTH auth{};
  tpm::DeriveAuthValue(SecretBytes(std::string_view("246813")), record.pin_salt, auth);
  BOOST_TEST_REQUIRE(Esys_TR_SetAuth(esys, *index, &auth) == TSS2_RC_SUCCESS);
  BOOST_TEST(TryNvWrite(rig, *index, *index) != TSS2_RC_SUCCESS);
  tpm::WipeAuth(auth);

  auto policy = tpm::StartPolicySession(esys);
  BOOST_TEST_REQUIRE(policy.ok());
  BOOST_TEST(Esys_PolicyCommandCode(esys, policy->get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CC_NV_Write) == TSS2_RC_SUCCESS);
  // PolicyNvWritten(NO) is recorded in the session and checked by NV_Write.
  BOOST_TEST(Esys_PolicyNvWritten(esys, policy->get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_NO) == TSS2_RC_SUCCESS);
  TPM2B_MAX_NV_BUFFER zero{};
  zero.size = 8;
  BOOST_TEST(Esys_NV_Write(esys, *index, *index, policy->get(), ESYS_TR_NONE, ESYS_TR_NONE, &zero,
                           0) != TSS2_RC_SUCCESS);
  BOOST_TEST(Counter(rig, e.made.credential_id).count == 2u);
}

BOOST_AUTO_TEST_CASE(remove_leaves_no_nv_index_behind) {
  Rig rig;
  const auto before = NvIndexes(rig);
  auto e = rig.Enroll("246813");
  BOOST_TEST(NvIndexes(rig).size() == before.size() + 1);
  auto removed = rig.authenticator->RemoveCredential(e.made.credential_id);
  BOOST_TEST_REQUIRE(removed.ok());
  BOOST_TEST(NvIndexes(rig) == before);
  BOOST_TEST(!rig.store.Load(e.made.credential_id).ok());
}

// A handle someone else holds is skipped, and their index left as it was.
BOOST_AUTO_TEST_CASE(a_taken_handle_is_skipped_and_left_alone) {
  Rig rig;
  ESYS_CONTEXT* esys = rig.connection->esys();
  TPM2B_NV_PUBLIC foreign{};
  foreign.nvPublic.nvIndex = tpm::kPinIndexFirst;
  foreign.nvPublic.nameAlg = TPM2_ALG_SHA256;
  foreign.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD;
  foreign.nvPublic.dataSize = 4;
  TPM2B_AUTH empty{};
  ESYS_TR foreign_tr = ESYS_TR_NONE;
  BOOST_TEST_REQUIRE(Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &empty, &foreign,
                                         &foreign_tr) == TSS2_RC_SUCCESS);
  TPM2B_MAX_NV_BUFFER data{};
  data.size = 4;
  std::memcpy(data.buffer, "mine", 4);
  BOOST_TEST_REQUIRE(Esys_NV_Write(esys, ESYS_TR_RH_OWNER, foreign_tr, ESYS_TR_PASSWORD,
                                   ESYS_TR_NONE, ESYS_TR_NONE, &data, 0) == TSS2_RC_SUCCESS);
  auto srk = tpm::LoadSrk(esys, true);
  BOOST_TEST_REQUIRE(srk.ok());
  TPM2B_AUTH auth{};
  auth.size = 4;
  std::memcpy(auth.buffer, "abcd", 4);
  auto defined = tpm::DefinePinIndexFrom(esys, *srk, auth, 5, tpm::kPinIndexFirst);
  BOOST_TEST_REQUIRE(defined.ok(), (defined.ok() ? "" : defined.error().message));
  BOOST_TEST(defined->handle == tpm::kPinIndexFirst + 1);
  TPM2B_MAX_NV_BUFFER* read = nullptr;
  BOOST_TEST_REQUIRE(Esys_NV_Read(esys, ESYS_TR_RH_OWNER, foreign_tr, ESYS_TR_PASSWORD,
                                  ESYS_TR_NONE, ESYS_TR_NONE, 4, 0, &read) == TSS2_RC_SUCCESS);
  BOOST_TEST(std::memcmp(read->buffer, "mine", 4) == 0);
  Esys_Free(read);
}

BOOST_AUTO_TEST_CASE(pin_status_says_which_scheme) {
  Rig rig;
  auto modern = rig.Enroll("246813");
  auto legacy = rig.Enroll("246813", {}, std::nullopt, Rig::Scheme::kLegacyDa);
  auto m = rig.authenticator->ReadPinStatus(*rig.store.Load(modern.made.credential_id));
  auto l = rig.authenticator->ReadPinStatus(*rig.store.Load(legacy.made.credential_id));
  BOOST_TEST_REQUIRE((m.ok() && l.ok()));
  BOOST_TEST(m->per_credential);
  BOOST_TEST(m->counter->limit == tpm::kPinTriesDefault);
  BOOST_TEST(!l->per_credential);
  // A legacy credential's PIN cannot be reset: it is the key's own authValue.
  auto reset = rig.authenticator->ResetPin(legacy.made.credential_id,
                                           SecretBytes(std::string_view("802468")));
  BOOST_TEST_REQUIRE(!reset.ok());
  BOOST_TEST(reset.error().message.find("predates") != std::string::npos);
}

// A TPM whose NV is full: enroll says so and leaves no key behind.
BOOST_AUTO_TEST_CASE(a_full_tpm_refuses_enrollment_cleanly) {
  Rig rig;
  ESYS_CONTEXT* esys = rig.connection->esys();
  TSS2_RC rc = TSS2_RC_SUCCESS;
  int defined = 0;
  // Large indexes first, then ever smaller ones, until not even 8 bytes fit.
  for (UINT16 size : {UINT16{1024}, UINT16{64}, UINT16{8}}) {
    for (int i = 0; i < 4000; ++i) {
      TPM2B_NV_PUBLIC filler{};
      filler.nvPublic.nvIndex = 0x01500000 + static_cast<TPM2_HANDLE>(defined);
      filler.nvPublic.nameAlg = TPM2_ALG_SHA256;
      filler.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD;
      filler.nvPublic.dataSize = size;
      TPM2B_AUTH empty{};
      ESYS_TR handle = ESYS_TR_NONE;
      rc = Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &empty, &filler, &handle);
      if (rc != TSS2_RC_SUCCESS) break;
      Esys_TR_Close(esys, &handle);
      ++defined;
    }
  }
  BOOST_TEST_MESSAGE("NV indexes defined until the TPM was full: " << defined);
  BOOST_TEST_REQUIRE(tpm::BaseRc(rc) == TPM2_RC_NV_SPACE);
  const auto before = NvIndexes(rig);
  try {
    rig.Enroll("246813");
    BOOST_FAIL("enrolled on a full TPM");
  } catch (const std::runtime_error& e) {
    BOOST_TEST(std::string(e.what()).find("no NV space left for another PIN index") !=
               std::string::npos, e.what());
  }
  auto records = rig.store.List();
  BOOST_TEST((!records.ok() || records->empty()));
  BOOST_TEST(NvIndexes(rig) == before);
}

namespace {

// Verifies one assertion as a relying party that stored `stored` would.
webauthn::Result<webauthn::VerifiedAssertion> AssertAndVerify(Rig& rig, const Rig::Enrolled& e,
                                                              uint32_t stored) {
  auto a = rig.Assert(e.made.credential_id, "246813");
  if (!a.result) {
    return webauthn::Fail(webauthn::Check::kSignature, "assertion: " + a.result.error().message);
  }
  return Verify(e, a, stored, true);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

// Issue #15: a key store restored from a backup keeps working with the TPM's
// counter; with the key file's own counter the relying party sees a clone.
BOOST_AUTO_TEST_CASE(a_tpm_counter_survives_a_key_store_restore) {
  for (auto counter : {Rig::Counter::kTpm, Rig::Counter::kFile}) {
    Rig rig;
    rig.counter = counter;
    auto e = rig.Enroll("246813");
    BOOST_TEST(e.made.tpm_counter == (counter == Rig::Counter::kTpm));
    const std::string key_file = rig.store.PathFor(e.made.credential_id);
    const std::string backup = ReadFile(key_file);
    uint32_t stored = 0;  // the relying party's
    for (int i = 0; i < 3; ++i) {
      auto verified = AssertAndVerify(rig, e, stored);
      BOOST_REQUIRE_MESSAGE(verified.ok(), (verified ? "" : verified.error().message));
      stored = verified->sign_count;
    }
    BOOST_TEST(stored == 3u);
    WriteFile(key_file, backup);
    rig.Reconnect();
    auto after = AssertAndVerify(rig, e, stored);
    if (counter == Rig::Counter::kTpm) {
      BOOST_TEST_REQUIRE(after.ok(), (after ? "" : after.error().message));
      BOOST_TEST(after->sign_count == 4u);
    } else {
      BOOST_TEST_REQUIRE(!after.ok());
      BOOST_TEST((after.error().check == webauthn::Check::kSignCount));
    }
  }
}

// One counter for the machine: each credential starts at 1 and only ever goes
// up, whoever else signs in between; its key file keeps the last value.
BOOST_AUTO_TEST_CASE(credentials_share_the_tpm_counter_and_each_starts_at_one) {
  Rig rig;
  rig.counter = Rig::Counter::kTpm;
  auto alice = rig.Enroll("246813");
  auto bob = rig.Enroll("246813", {}, std::nullopt, Rig::Scheme::kPinIndex, "bob");
  auto a1 = AssertAndVerify(rig, alice, 0);
  BOOST_TEST_REQUIRE(a1.ok());
  BOOST_TEST(a1->sign_count == 1u);
  auto b1 = AssertAndVerify(rig, bob, 0);
  BOOST_TEST_REQUIRE(b1.ok());
  BOOST_TEST(b1->sign_count == 2u);
  auto a2 = AssertAndVerify(rig, alice, a1->sign_count);
  BOOST_TEST_REQUIRE(a2.ok());
  BOOST_TEST(a2->sign_count == 3u);
  BOOST_TEST(rig.store.Load(alice.made.credential_id)->counter == 3u);
  auto carol = rig.Enroll("246813", {}, std::nullopt, Rig::Scheme::kPinIndex, "carol");
  auto c1 = AssertAndVerify(rig, carol, 0);
  BOOST_TEST_REQUIRE(c1.ok());
  BOOST_TEST(c1->sign_count == 1u);
}

// A deleted or replaced counter index fails the assertion (never a fall back
// to the key file's counter); enrollment falls back only when asked to.
BOOST_AUTO_TEST_CASE(a_missing_or_foreign_counter_is_reported) {
  Rig rig;
  rig.counter = Rig::Counter::kTpm;
  auto e = rig.Enroll("246813");
  ESYS_CONTEXT* esys = rig.connection->esys();
  ESYS_TR index = ESYS_TR_NONE;
  BOOST_TEST_REQUIRE(Esys_TR_FromTPMPublic(esys, tpm::kSignCounterIndex, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, &index) == TSS2_RC_SUCCESS);
  BOOST_TEST_REQUIRE(Esys_NV_UndefineSpace(esys, ESYS_TR_RH_OWNER, index, ESYS_TR_PASSWORD,
                                           ESYS_TR_NONE, ESYS_TR_NONE) == TSS2_RC_SUCCESS);
  auto gone = rig.Assert(e.made.credential_id, "246813");
  BOOST_TEST_REQUIRE(!gone.result.ok());
  BOOST_TEST((gone.result.error().kind == TpmErrorKind::kUnavailable));
  BOOST_TEST(gone.result.error().message.find("is not defined") != std::string::npos,
             gone.result.error().message);
  BOOST_TEST(rig.store.Load(e.made.credential_id)->counter == 0u);

  // Something else at the handle: an ordinary index anyone could write.
  TPM2B_NV_PUBLIC foreign{};
  foreign.nvPublic.nvIndex = tpm::kSignCounterIndex;
  foreign.nvPublic.nameAlg = TPM2_ALG_SHA256;
  foreign.nvPublic.attributes = TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;
  foreign.nvPublic.dataSize = 8;
  TPM2B_AUTH empty{};
  ESYS_TR foreign_tr = ESYS_TR_NONE;
  BOOST_TEST_REQUIRE(Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                         ESYS_TR_NONE, &empty, &foreign, &foreign_tr) ==
                     TSS2_RC_SUCCESS);
  Esys_TR_Close(esys, &foreign_tr);
  auto replaced = rig.Assert(e.made.credential_id, "246813");
  BOOST_TEST_REQUIRE(!replaced.result.ok());
  BOOST_TEST((replaced.result.error().kind == TpmErrorKind::kUnavailable));
  BOOST_TEST(replaced.result.error().message.find("not a counter") != std::string::npos,
             replaced.result.error().message);

  // Enrollment: --counter tpm is refused, the default falls back and says why.
  auto strict = [&] {
    try {
      rig.Enroll("246813");
      return std::string();
    } catch (const std::runtime_error& error) {
      return std::string(error.what());
    }
  }();
  BOOST_TEST(strict.find("not a counter") != std::string::npos, strict);
  rig.counter = Rig::Counter::kTpmOrFile;
  auto fallback = rig.Enroll("246813");
  BOOST_TEST(!fallback.made.tpm_counter);
  BOOST_TEST(fallback.made.counter_note.find("not a counter") != std::string::npos,
             fallback.made.counter_note);
  auto works = AssertAndVerify(rig, fallback, 0);
  BOOST_TEST_REQUIRE(works.ok());
  BOOST_TEST(works->sign_count == 1u);
}
