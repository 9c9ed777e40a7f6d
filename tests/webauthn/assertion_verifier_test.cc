// §7.2 over the spec's vectors and a virtual authenticator's faults.
#define BOOST_TEST_MODULE assertion_verifier
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/support/vectors.h"
#include "tests/support/virtual_authenticator.h"
#include "webauthn/assertion_verifier.h"
#include "webauthn/attestation_object.h"
#include "webauthn/base64url.h"

using namespace tpmauthn::webauthn;
using tpmauthn::testing::LoadVector;
using tpmauthn::testing::Vector;
using tpmauthn::testing::VectorNames;
using tpmauthn::testing::VirtualAuthenticator;
namespace data = boost::unit_test::data;

static CredentialRecord RecordFor(const Vector& v) {
  auto object = AttestationObject::Parse(v.Hex("registration.attestationObject"));
  BOOST_TEST_REQUIRE(object.ok());
  auto key = CoseKey::Parse(object->auth_data.attested->public_key);
  BOOST_TEST_REQUIRE(key.ok());
  return CredentialRecord{v.Hex("credential_id"), std::move(*key), 0};
}

static AssertionResponse FromVector(const Vector& v) {
  Bytes id = v.Hex("credential_id");
  return AssertionResponse{CredentialEnvelope{Base64UrlEncode(id), id, "public-key"},
                           v.Hex("authentication.clientDataJSON"),
                           v.Hex("authentication.authenticatorData"),
                           v.Hex("authentication.signature"), std::nullopt};
}

static AssertionExpectations ExpectationsFor(const Vector& v) {
  AssertionExpectations e;
  e.challenge = v.Hex("authentication.challenge");
  e.origins = {v.Text("origin")};
  e.rp_ids = {v.Text("rp_id")};
  e.require_user_verification = false;
  e.allow_cross_origin = true;
  if (v.Has("top_origin")) e.top_origins = {v.Text("top_origin")};
  return e;
}

static void ExpectCheck(const Result<VerifiedAssertion>& r, Check check) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected a failure at " << ToString(check));
  BOOST_CHECK_MESSAGE(ToString(r.error().check) == ToString(check), r.error().message);
}

BOOST_DATA_TEST_CASE(spec_vectors_authenticate, data::make(VectorNames()), name) {
  Vector v = LoadVector(name);
  auto r = VerifyAssertion(FromVector(v), RecordFor(v), ExpectationsFor(v));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  BOOST_TEST(r->sign_count == 0u);  // 0 and 0: the authenticator keeps no counter
  BOOST_TEST(r->rp_id == "example.org");
}

BOOST_DATA_TEST_CASE(spec_vector_variants_are_rejected, data::make(VectorNames()), name) {
  Vector v = LoadVector(name);
  const AssertionResponse good = FromVector(v);
  const CredentialRecord record = RecordFor(v);
  const AssertionExpectations expected = ExpectationsFor(v);

  auto bad = good;
  bad.signature[bad.signature.size() / 2] ^= 0x01;
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kSignature);
  bad = good;
  bad.signature.pop_back();
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kSignature);
  bad = good;
  bad.authenticator_data[0] ^= 0x01;  // rpIdHash
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kRpIdHash);
  bad = good;
  bad.authenticator_data[36] ^= 0x01;  // signCount: signed, so the signature fails
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kSignature);
  bad = good;
  bad.authenticator_data.pop_back();
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kAuthenticatorData);
  bad = good;
  bad.authenticator_data.push_back(0);
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kAuthenticatorData);
  bad = good;
  bad.authenticator_data[32] &= static_cast<uint8_t>(~AuthenticatorData::kUserPresent);
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kUserPresent);
  bad = good;
  bad.authenticator_data[32] = (bad.authenticator_data[32] | AuthenticatorData::kBackupState) &
                               static_cast<uint8_t>(~AuthenticatorData::kBackupEligible);
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kBackupState);
  bad = good;
  bad.client_data_json = v.Hex("registration.clientDataJSON");
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kType);
  bad = good;
  bad.client_data_json.pop_back();
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kClientData);
  bad = good;
  // Same members, one more space: only the signature can tell.
  bad.client_data_json.insert(bad.client_data_json.end() - 1, ' ');
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kSignature);
  bad = good;
  bad.envelope.raw_id[0] ^= 1;
  bad.envelope.id = Base64UrlEncode(bad.envelope.raw_id);
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kCredentialId);
  bad = good;
  bad.envelope.type = "otp";
  ExpectCheck(VerifyAssertion(bad, record, expected), Check::kResponse);

  auto e = expected;
  e.challenge[31] ^= 1;
  ExpectCheck(VerifyAssertion(good, record, e), Check::kChallenge);
  e = expected;
  e.origins = {"https://example.org:443"};
  ExpectCheck(VerifyAssertion(good, record, e), Check::kOrigin);
  e = expected;
  e.rp_ids = {"example.com", "org"};
  ExpectCheck(VerifyAssertion(good, record, e), Check::kRpIdHash);

  // Stored counter 1, new counter 0: a regression (clone signal).
  CredentialRecord counted{record.id, record.public_key, 1};
  ExpectCheck(VerifyAssertion(good, counted, expected), Check::kSignCount);

  // A key of another credential.
  Vector other = LoadVector(name == "none-es256" ? "packed-self-es256" : "none-es256");
  CredentialRecord foreign{record.id, RecordFor(other).public_key, 0};
  ExpectCheck(VerifyAssertion(good, foreign, expected), Check::kSignature);
}

BOOST_AUTO_TEST_CASE(uv_required_rejects_vectors_without_uv) {
  Vector v = LoadVector("packed-es256");  // assertion flags 0x0d: UP UV BE
  auto e = ExpectationsFor(v);
  e.require_user_verification = true;
  BOOST_TEST(VerifyAssertion(FromVector(v), RecordFor(v), e).ok());
  Vector no_uv = LoadVector("packed-self-es256");  // 0x09: UP BE
  e = ExpectationsFor(no_uv);
  e.require_user_verification = true;
  ExpectCheck(VerifyAssertion(FromVector(no_uv), RecordFor(no_uv), e), Check::kUserVerified);
}

BOOST_AUTO_TEST_CASE(virtual_authenticator_counter_and_faults) {
  VirtualAuthenticator a;
  CredentialRecord record = a.Record();
  AssertionExpectations e;
  e.origins = {"pam://host"};
  e.rp_ids = {"pam://host"};
  e.challenge = Bytes(32, 7);
  e.user_handle = Bytes{'u', '1'};

  for (int i = 0; i < 5; ++i) {
    auto r = VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge, e.user_handle),
                             record, e);
    BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
    BOOST_TEST(r->sign_count == record.sign_count + 1);
    BOOST_TEST(r->user_verified);
    record.sign_count = r->sign_count;
  }
  // Replaying an earlier response fails on the counter.
  a.faults.counter = record.sign_count;
  ExpectCheck(VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge), record, e),
              Check::kSignCount);
  a.faults = {};
  ExpectCheck(VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge,
                                             Bytes{'u', '2'}),
                              record, e),
              Check::kUserHandle);
  a.faults.raw_signature = true;
  ExpectCheck(VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge), record, e),
              Check::kSignature);
  a.faults = {};
  a.faults.clear_user_verified = true;
  ExpectCheck(VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge), record, e),
              Check::kUserVerified);
  e.require_user_verification = false;
  BOOST_TEST(
      VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge), record, e).ok());
  a.faults = {};
  a.faults.wrong_rp_id_hash = true;
  ExpectCheck(VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge), record, e),
              Check::kRpIdHash);
  a.faults = {};
  a.faults.bad_signature = true;
  ExpectCheck(VerifyAssertion(a.GetAssertion("pam://host", "pam://host", e.challenge), record, e),
              Check::kSignature);
  a.faults = {};
  ExpectCheck(VerifyAssertion(a.GetAssertion("pam://host", "ssh://evil", e.challenge), record, e),
              Check::kOrigin);
}

BOOST_AUTO_TEST_CASE(client_data_with_a_byte_order_mark_verifies) {
  // The signature covers the bytes as sent; §7.2 step 10 decodes them first.
  VirtualAuthenticator device;
  Bytes challenge(32, 0x42);
  AssertionExpectations e;
  e.challenge = challenge;
  e.origins = {"https://example.org"};
  e.rp_ids = {"example.org"};
  device.faults.client_data_prefix = "\xef\xbb\xbf";
  auto r = VerifyAssertion(device.GetAssertion("example.org", "https://example.org", challenge),
                           device.Record(), e);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  device.faults.client_data_prefix = "\xef\xbb\xbf\xef\xbb\xbf";
  ExpectCheck(VerifyAssertion(device.GetAssertion("example.org", "https://example.org", challenge),
                              device.Record(), e),
              Check::kClientData);
}
