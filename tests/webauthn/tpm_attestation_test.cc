// The "tpm" attestation format (WebAuthn L3 §8.3): a good statement verifies
// as AttCA, and each rule of §8.3 and §8.3.1 has a statement that breaks only
// it and is refused with that rule's name.
#define BOOST_TEST_MODULE tpm_attestation
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>

#include <tss2/tss2_tpm2_types.h>

#include "tests/support/tpm_attestation_builder.h"
#include "webauthn/registration_verifier.h"

using namespace tpmauthn::webauthn;
using tpmauthn::testing::TpmAttestationBuilder;
using tpmauthn::testing::TpmBreaks;

namespace {

const Bytes kChallenge(32, 0x42);

RegistrationExpectations Expect(std::vector<Bytes> anchors = {}) {
  RegistrationExpectations e;
  e.rp_ids = {"ssh.example.com"};
  e.origins = {"ssh://web1.example.com"};
  e.challenge = kChallenge;
  e.attestation_trust.anchors = std::move(anchors);
  return e;
}

Result<VerifiedRegistration> Verify(const TpmAttestationBuilder& builder, const TpmBreaks& breaks,
                                    std::vector<Bytes> anchors = {}) {
  return VerifyRegistration(
      builder.Make("ssh.example.com", "ssh://web1.example.com", kChallenge, breaks),
      Expect(std::move(anchors)));
}

const TpmAttestationBuilder& Es256() {
  static const TpmAttestationBuilder builder(false);
  return builder;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_good_statement_is_attca_and_trusted_only_with_its_root) {
  for (bool rsa : {false, true}) {
    TpmAttestationBuilder builder(rsa);
    auto plain = Verify(builder, {});
    BOOST_REQUIRE_MESSAGE(plain.ok(), (plain.ok() ? "" : plain.error().message));
    BOOST_TEST(plain->fmt == "tpm");
    BOOST_TEST((plain->attestation_type == AttestationType::kAttCa));
    BOOST_TEST(!plain->attestation_trusted);  // no anchors given
    BOOST_REQUIRE(plain->tpm_device.has_value());
    BOOST_TEST(plain->tpm_device->manufacturer == "id:49424D00");
    BOOST_TEST(plain->tpm_device->model == "swtpm");
    BOOST_TEST(plain->key_fixed_to_tpm);

    auto rooted = Verify(builder, {}, {builder.root_der()});
    BOOST_REQUIRE(rooted.ok());
    BOOST_TEST(rooted->attestation_trusted);
    auto at_intermediate = Verify(builder, {}, {builder.intermediate_der()});
    BOOST_REQUIRE(at_intermediate.ok());
    BOOST_TEST(at_intermediate->attestation_trusted);  // an anchor may be an intermediate
    auto stranger = Verify(builder, {}, {builder.stranger_der()});
    BOOST_REQUIRE(stranger.ok());  // not an error here: policy decides
    BOOST_TEST(!stranger->attestation_trusted);
    BOOST_TEST(stranger->attestation_untrusted_because.find("trust-anchor") == 0);
  }
}

BOOST_AUTO_TEST_CASE(a_key_that_could_leave_the_tpm_is_reported) {
  TpmBreaks b;
  b.fixed_tpm = false;
  auto r = Verify(Es256(), b);
  BOOST_REQUIRE(r.ok());  // §8.3 does not look at objectAttributes
  BOOST_TEST(!r->key_fixed_to_tpm);
}

BOOST_AUTO_TEST_CASE(each_rule_refuses_the_statement_that_breaks_it) {
  struct Case {
    const char* rule;
    std::function<void(TpmBreaks&)> breaks;
  };
  std::array<uint8_t, 16> other_aaguid{};
  other_aaguid.fill(0x11);
  const Case cases[] = {
      {"ver", [](TpmBreaks& b) { b.ver = "1.0"; }},
      {"alg", [](TpmBreaks& b) { b.alg = -65535; }},  // RS1: SHA-1
      {"pubArea", [](TpmBreaks& b) { b.truncate_pub_area = true; }},
      {"pubArea-key", [](TpmBreaks& b) { b.pub_area_other_key = true; }},
      {"certInfo", [](TpmBreaks& b) { b.truncate_cert_info = true; }},
      {"magic", [](TpmBreaks& b) { b.magic = 0xff544348; }},
      {"type", [](TpmBreaks& b) { b.attest_type = TPM2_ST_ATTEST_CREATION; }},
      {"extraData", [](TpmBreaks& b) { b.extra_data_of_other_data = true; }},
      {"attested-name", [](TpmBreaks& b) { b.name_of_other_pub_area = true; }},
      {"attested-name", [](TpmBreaks& b) { b.name_alg_unknown = true; }},
      {"sig", [](TpmBreaks& b) { b.bad_sig = true; }},
      {"aik-version", [](TpmBreaks& b) { b.cert_version = 1; }},
      {"aik-subject", [](TpmBreaks& b) { b.cert_subject = true; }},
      {"aik-san", [](TpmBreaks& b) { b.san_missing = true; }},
      {"aik-san", [](TpmBreaks& b) { b.san_not_critical = true; }},
      {"aik-san", [](TpmBreaks& b) { b.san_without_model = true; }},
      {"aik-san", [](TpmBreaks& b) { b.manufacturer = "Infineon"; }},
      {"aik-eku", [](TpmBreaks& b) { b.eku_missing = true; }},
      {"aik-ca", [](TpmBreaks& b) { b.basic_constraints_missing = true; }},
      {"aik-ca", [](TpmBreaks& b) { b.ca_true = true; }},
      {"aik-aaguid", [other_aaguid](TpmBreaks& b) { b.aaguid_extension = other_aaguid; }},
      {"chain", [](TpmBreaks& b) { b.corrupt_intermediate = true; }},
  };
  for (const Case& c : cases) {
    TpmBreaks b;
    c.breaks(b);
    auto r = Verify(Es256(), b);
    BOOST_TEST_CONTEXT(c.rule) {
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST((r.error().check == Check::kAttestationStatement));
      BOOST_TEST(r.error().message.find(std::string("attStmt: tpm ") + c.rule + ":") == 0,
                 r.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_aaguid_extension_may_be_there_when_it_matches_and_is_not_critical) {
  TpmBreaks b;
  b.aaguid_extension = std::array<uint8_t, 16>{0x08, 0x98, 0x70, 0x58, 0xca, 0xdc, 0x4b, 0x81,
                                               0xb6, 0xe1, 0x30, 0xde, 0x50, 0xdc, 0xbe, 0x96};
  BOOST_TEST(Verify(Es256(), b).ok());
  b.aaguid_extension_critical = true;
  auto critical = Verify(Es256(), b);
  BOOST_REQUIRE(!critical.ok());
  BOOST_TEST(critical.error().message.find("tpm aik-aaguid:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_statement_has_exactly_its_members) {
  // ecdaaKeyId (removed in L3) and unknown members are parse errors.
  auto response = Es256().Make("ssh.example.com", "ssh://web1.example.com", kChallenge);
  auto object = AttestationObject::Parse(response.attestation_object);
  BOOST_REQUIRE(object.ok());
  BOOST_TEST(object->fmt == "tpm");
  BOOST_TEST(object->tpm.ver == "2.0");
  BOOST_TEST(object->x5c.size() == 2u);  // the AIK and its CA; the root left out
  Bytes renamed = response.attestation_object;
  const Bytes needle = {0x63, 's', 'i', 'g'};
  auto at = std::search(renamed.begin(), renamed.end(), needle.begin(), needle.end());
  BOOST_REQUIRE((at != renamed.end()));
  at[1] = 'x';  // "xig"
  auto refused = AttestationObject::Parse(renamed);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.error().check == Check::kAttestationObject));
}
