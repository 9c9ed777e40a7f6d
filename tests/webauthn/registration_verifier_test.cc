// §7.1 over the spec's vectors and a virtual authenticator's faults.
#define BOOST_TEST_MODULE registration_verifier
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/support/vectors.h"
#include "tests/support/virtual_authenticator.h"
#include "webauthn/base64url.h"
#include "webauthn/registration_verifier.h"

using namespace tpmauthn::webauthn;
using tpmauthn::testing::LoadVector;
using tpmauthn::testing::Vector;
using tpmauthn::testing::VectorNames;
using tpmauthn::testing::VirtualAuthenticator;
namespace data = boost::unit_test::data;

static RegistrationResponse FromVector(const Vector& v) {
  Bytes id = v.Hex("credential_id");
  return RegistrationResponse{CredentialEnvelope{Base64UrlEncode(id), id, "public-key"},
                              v.Hex("registration.clientDataJSON"),
                              v.Hex("registration.attestationObject")};
}

static RegistrationExpectations ExpectationsFor(const Vector& v) {
  RegistrationExpectations e;
  e.challenge = v.Hex("registration.challenge");
  e.origins = {v.Text("origin")};
  e.rp_ids = {v.Text("rp_id")};
  e.require_user_verification = false;  // the vectors set UV pseudo-randomly
  e.allow_cross_origin = true;
  if (v.Has("top_origin")) e.top_origins = {v.Text("top_origin")};
  return e;
}

static void ExpectCheck(const Result<VerifiedRegistration>& r, Check check) {
  BOOST_REQUIRE_MESSAGE(!r.ok(), "expected a failure at " << ToString(check));
  BOOST_CHECK_MESSAGE(ToString(r.error().check) == ToString(check), r.error().message);
}

BOOST_DATA_TEST_CASE(spec_vectors_register, data::make(VectorNames()), name) {
  Vector v = LoadVector(name);
  auto r = VerifyRegistration(FromVector(v), ExpectationsFor(v));
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  BOOST_TEST(ToHex(r->credential_id) == v.Text("credential_id"));
  BOOST_TEST(ToHex(r->aaguid) == v.Text("aaguid"));
  BOOST_TEST(r->rp_id == "example.org");
  BOOST_TEST(r->origin == "https://example.org");
  BOOST_TEST(!r->attestation_trusted);  // no trust anchors were given
}

BOOST_DATA_TEST_CASE(spec_vector_variants_are_rejected, data::make(VectorNames()), name) {
  Vector v = LoadVector(name);
  const RegistrationResponse good = FromVector(v);
  const RegistrationExpectations expected = ExpectationsFor(v);

  auto e = expected;
  e.challenge[0] ^= 1;
  ExpectCheck(VerifyRegistration(good, e), Check::kChallenge);
  e = expected;
  e.origins = {"https://example.com"};
  ExpectCheck(VerifyRegistration(good, e), Check::kOrigin);
  e = expected;
  e.rp_ids = {"example.com"};
  ExpectCheck(VerifyRegistration(good, e), Check::kRpIdHash);
  e = expected;
  e.allowed_algorithms = {};
  ExpectCheck(VerifyRegistration(good, e), Check::kAlgorithm);

  auto bad = good;
  bad.envelope.type = "password";
  ExpectCheck(VerifyRegistration(bad, expected), Check::kResponse);
  bad = good;
  bad.envelope.raw_id[0] ^= 1;
  bad.envelope.id = Base64UrlEncode(bad.envelope.raw_id);
  ExpectCheck(VerifyRegistration(bad, expected), Check::kCredentialId);
  bad = good;
  bad.envelope.id += "A";
  ExpectCheck(VerifyRegistration(bad, expected), Check::kCredentialId);
  bad = good;
  bad.client_data_json.pop_back();  // truncated JSON
  ExpectCheck(VerifyRegistration(bad, expected), Check::kClientData);
  bad = good;
  bad.attestation_object.pop_back();
  ExpectCheck(VerifyRegistration(bad, expected), Check::kAttestationObject);
  bad = good;
  bad.attestation_object.push_back(0);
  ExpectCheck(VerifyRegistration(bad, expected), Check::kAttestationObject);

  // The same members re-serialized with one more space: signed formats catch it
  // through the signature; for "none" nothing is signed and it still verifies.
  bad = good;
  bad.client_data_json.insert(bad.client_data_json.end() - 1, ' ');
  auto flipped = VerifyRegistration(bad, expected);
  auto object = AttestationObject::Parse(good.attestation_object);
  if (object->fmt == "none") {
    BOOST_TEST(flipped.ok());
  } else {
    ExpectCheck(flipped, Check::kAttestationStatement);
  }

  // The type must be webauthn.create: swap in the assertion's client data.
  bad = good;
  bad.client_data_json = v.Hex("authentication.clientDataJSON");
  ExpectCheck(VerifyRegistration(bad, expected), Check::kType);
}

BOOST_AUTO_TEST_CASE(uv_policy_applies_to_registration) {
  Vector v = LoadVector("none-es256");  // flags 0x59: UP BE BS AT, no UV
  auto e = ExpectationsFor(v);
  e.require_user_verification = true;
  ExpectCheck(VerifyRegistration(FromVector(v), e), Check::kUserVerified);
}

BOOST_AUTO_TEST_CASE(cross_origin_needs_permission) {
  Vector v = LoadVector("none-es256-cross-origin");
  auto e = ExpectationsFor(v);
  e.allow_cross_origin = false;
  ExpectCheck(VerifyRegistration(FromVector(v), e), Check::kCrossOrigin);
  Vector top = LoadVector("none-es256-top-origin");
  e = ExpectationsFor(top);
  e.top_origins = {"https://elsewhere.example"};
  ExpectCheck(VerifyRegistration(FromVector(top), e), Check::kTopOrigin);
}

BOOST_AUTO_TEST_CASE(virtual_authenticator_faults) {
  const Bytes challenge(32, 0x42);
  RegistrationExpectations e;
  e.challenge = challenge;
  e.origins = {"pam://host"};
  e.rp_ids = {"pam://host"};

  for (auto alg : {CoseAlgorithm::kES256, CoseAlgorithm::kEdDSA, CoseAlgorithm::kRS256}) {
    VirtualAuthenticator good(alg);
    auto r = VerifyRegistration(good.MakeCredential("pam://host", "pam://host", challenge), e);
    BOOST_CHECK_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
    if (r.ok()) BOOST_TEST((r->attestation_type == AttestationType::kSelf));
  }

  VirtualAuthenticator a;
  a.faults.clear_user_present = true;
  ExpectCheck(VerifyRegistration(a.MakeCredential("pam://host", "pam://host", challenge), e),
              Check::kUserPresent);
  a.faults = {};
  a.faults.clear_user_verified = true;
  ExpectCheck(VerifyRegistration(a.MakeCredential("pam://host", "pam://host", challenge), e),
              Check::kUserVerified);
  a.faults = {};
  a.faults.backup_state_without_eligible = true;
  ExpectCheck(VerifyRegistration(a.MakeCredential("pam://host", "pam://host", challenge), e),
              Check::kBackupState);
  a.faults = {};
  a.faults.bad_signature = true;
  ExpectCheck(VerifyRegistration(a.MakeCredential("pam://host", "pam://host", challenge), e),
              Check::kAttestationStatement);
  a.faults = {};
  a.faults.wrong_rp_id_hash = true;
  ExpectCheck(VerifyRegistration(a.MakeCredential("pam://host", "pam://host", challenge), e),
              Check::kRpIdHash);
}

BOOST_AUTO_TEST_CASE(a_batch_chain_is_basic_untrusted_and_every_signature_in_it_is_checked) {
  const Bytes challenge(32, 0x42);
  RegistrationExpectations e;
  e.challenge = challenge;
  e.origins = {"pam://host"};
  e.rp_ids = {"pam://host"};
  VirtualAuthenticator a;
  a.UseBatchAttestation();
  auto r = VerifyRegistration(a.MakeCredential("pam://host", "pam://host", challenge), e);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  BOOST_TEST((r->attestation_type == AttestationType::kBasic));
  BOOST_TEST(!r->attestation_trusted);
  // A self-signed batch certificate whose own signature is broken is refused.
  a.faults.corrupt_batch_certificate = true;
  auto broken = VerifyRegistration(a.MakeCredential("pam://host", "pam://host", challenge), e);
  ExpectCheck(broken, Check::kAttestationStatement);
  if (!broken.ok()) BOOST_TEST(broken.error().message.find("self-signed") != std::string::npos);
}
