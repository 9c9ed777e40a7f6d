// authenticatorData: exact layout; truncation, extension and flag handling.
#define BOOST_TEST_MODULE authenticator_data
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/support/vectors.h"
#include "webauthn/attestation_object.h"
#include "webauthn/authenticator_data.h"
#include "webauthn/cbor.h"

using namespace tpmauthn::webauthn;
using tpmauthn::testing::LoadVector;
using tpmauthn::testing::VectorNames;
namespace data = boost::unit_test::data;

static Bytes RegistrationAuthData(const std::string& name) {
  auto object = AttestationObject::Parse(LoadVector(name).Hex("registration.attestationObject"));
  BOOST_TEST_REQUIRE(object.ok());
  return object->auth_data_bytes;
}

BOOST_DATA_TEST_CASE(vector_auth_data_round_trips, data::make(VectorNames()), name) {
  auto v = LoadVector(name);
  for (const Bytes& bytes : {v.Hex("authentication.authenticatorData"), RegistrationAuthData(name)}) {
    auto parsed = AuthenticatorData::Parse(bytes);
    BOOST_TEST_REQUIRE(parsed.ok());
    BOOST_TEST(parsed->Serialize() == bytes);
    BOOST_TEST(ToHex(parsed->rp_id_hash) == ToHex(Sha256(AsBytes("example.org"))));
  }
  auto reg = AuthenticatorData::Parse(RegistrationAuthData(name));
  BOOST_TEST_REQUIRE(reg->attested.has_value());
  BOOST_TEST(ToHex(reg->attested->credential_id) == v.Text("credential_id"));
  BOOST_TEST(ToHex(reg->attested->aaguid) == v.Text("aaguid"));
  BOOST_TEST(reg->sign_count == 0u);
}

BOOST_AUTO_TEST_CASE(flags_and_counter_are_read) {
  Bytes bytes = LoadVector("packed-es256").Hex("authentication.authenticatorData");
  bytes[32] = 0x1d;  // UP UV BE BS
  bytes[33] = 0x01;
  bytes[36] = 0x02;
  auto parsed = AuthenticatorData::Parse(bytes);
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->user_present());
  BOOST_TEST(parsed->user_verified());
  BOOST_TEST(parsed->backup_eligible());
  BOOST_TEST(parsed->backup_state());
  BOOST_TEST(parsed->sign_count == 0x01000002u);
}

static void ExpectError(const Bytes& bytes, const std::string& fragment) {
  auto parsed = AuthenticatorData::Parse(bytes);
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST((parsed.error().check == Check::kAuthenticatorData));
  BOOST_CHECK_MESSAGE(parsed.error().message.find(fragment) != std::string::npos, parsed.error().message);
}

BOOST_AUTO_TEST_CASE(truncated_and_extended_are_errors) {
  Bytes assertion = LoadVector("none-es256").Hex("authentication.authenticatorData");
  ExpectError(Bytes(assertion.begin(), assertion.end() - 1), "truncated");
  Bytes longer = assertion;
  longer.insert(longer.end(), {0, 0, 0});
  ExpectError(longer, "3 trailing bytes");

  Bytes reg = RegistrationAuthData("none-es256");
  ExpectError(Bytes(reg.begin(), reg.end() - 1), "credentialPublicKey");
  ExpectError(Bytes(reg.begin(), reg.begin() + 60), "credentialId truncated");
  ExpectError(Bytes(reg.begin(), reg.begin() + 45), "attested credential data truncated");
  reg.push_back(0xa0);
  ExpectError(reg, "1 trailing bytes");
}

BOOST_AUTO_TEST_CASE(attested_flag_without_data_is_an_error) {
  Bytes assertion = LoadVector("none-es256").Hex("authentication.authenticatorData");
  assertion[32] |= AuthenticatorData::kAttestedData;
  ExpectError(assertion, "attested credential data truncated");
}

BOOST_AUTO_TEST_CASE(extensions_must_be_a_map) {
  Bytes assertion = LoadVector("none-es256").Hex("authentication.authenticatorData");
  assertion[32] |= AuthenticatorData::kExtensionData;
  ExpectError(assertion, "extensions: empty");
  Bytes with_int = assertion;
  with_int.push_back(0x01);
  ExpectError(with_int, "extensions are not a CBOR map");
  Bytes with_map = assertion;
  with_map.insert(with_map.end(), {0xa1, 0x61, 'x', 0xf5});  // {"x": true}
  auto parsed = AuthenticatorData::Parse(with_map);
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->extensions->size() == 4u);
  BOOST_TEST(parsed->Serialize() == with_map);
}

BOOST_AUTO_TEST_CASE(credential_id_longer_than_1023_is_an_error) {
  Bytes reg = RegistrationAuthData("none-es256");
  reg[53] = 0x04;  // credentialIdLength = 0x0400 + 0x20
  ExpectError(reg, "exceeds 1023");
}

// Regression (found by the authenticator_data and cose_key fuzzers): CBOR
// headers declaring huge lengths made libcbor try to allocate gigabytes before
// noticing the data was not there. They must fail fast as truncated input.
BOOST_AUTO_TEST_CASE(huge_declared_cbor_lengths_fail_without_allocating) {
  Bytes assertion = LoadVector("none-es256").Hex("authentication.authenticatorData");
  assertion[32] |= AuthenticatorData::kExtensionData;
  const Bytes headers[] = {
      {0xbb, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00},  // map, 2^32 pairs
      {0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},  // array, 2^63-1 items
      {0x5a, 0xba, 0xba, 0xba, 0xba},                          // byte string, 3 GiB
      {0xa1, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},  // text key, 2^64-1
  };
  for (const Bytes& header : headers) {
    Bytes input = assertion;
    input.insert(input.end(), header.begin(), header.end());
    ExpectError(input, "truncated");
  }
  Bytes tagged = assertion;
  tagged.insert(tagged.end(), {0xc1, 0xa0});
  ExpectError(tagged, "tagged item");
  Bytes deep = assertion;
  deep.insert(deep.end(), 40, 0x81);  // [[[[...]]]]
  deep.push_back(0xa0);
  ExpectError(deep, "nested too deeply");
}
