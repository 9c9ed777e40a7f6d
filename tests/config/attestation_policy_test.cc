// --require-attestation none|self|tpm and the trust anchors directory.
#define BOOST_TEST_MODULE attestation_policy
#include <boost/test/unit_test.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <fstream>

#include "config/attestation_policy.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tpm_attestation_builder.h"
#include "tests/support/virtual_authenticator.h"

using namespace tpmauthn;
using config::AttestationRequirement;
using config::AttestationShortfall;
using testing::TpmAttestationBuilder;
using testing::TpmBreaks;

namespace {

const webauthn::Bytes kChallenge(32, 7);

webauthn::VerifiedRegistration Verified(const webauthn::RegistrationResponse& response,
                                        std::vector<webauthn::Bytes> anchors) {
  webauthn::RegistrationExpectations e;
  e.rp_ids = {"ssh.example.com"};
  e.origins = {"ssh://web1.example.com"};
  e.challenge = kChallenge;
  e.require_user_verification = false;
  e.attestation_trust.anchors = std::move(anchors);
  auto v = webauthn::VerifyRegistration(response, e);
  BOOST_REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error().message));
  return std::move(*v);
}

std::string Pem(const webauthn::Bytes& der) {
  const unsigned char* p = der.data();
  webauthn::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert.get());
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(length));
  BIO_free(bio);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(requirements) {
  BOOST_TEST((config::ParseAttestationRequirement("tpm") == AttestationRequirement::kTpm));
  BOOST_TEST(!config::ParseAttestationRequirement("basic").has_value());

  TpmAttestationBuilder tpm;
  const auto origin = "ssh://web1.example.com";
  auto good = Verified(tpm.Make("ssh.example.com", origin, kChallenge), {tpm.root_der()});
  for (auto r : {AttestationRequirement::kNone, AttestationRequirement::kSelf,
                 AttestationRequirement::kTpm}) {
    BOOST_TEST(!AttestationShortfall(good, r).has_value());
  }
  // The same statement without (the right) anchors: not enough for tpm.
  auto stranger = Verified(tpm.Make("ssh.example.com", origin, kChallenge), {tpm.stranger_der()});
  auto why = AttestationShortfall(stranger, AttestationRequirement::kTpm);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->find("does not end at a trust anchor") != std::string::npos, *why);
  BOOST_TEST(!AttestationShortfall(stranger, AttestationRequirement::kSelf).has_value());
  // A key the TPM may have imported or may let go.
  TpmBreaks movable;
  movable.fixed_tpm = false;
  auto loose = Verified(tpm.Make("ssh.example.com", origin, kChallenge, movable), {tpm.root_der()});
  why = AttestationShortfall(loose, AttestationRequirement::kTpm);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->find("fixedTPM") != std::string::npos, *why);

  // A self-attested (packed) registration: self yes, tpm no.
  testing::VirtualAuthenticator software;
  auto self = Verified(software.MakeCredential("ssh.example.com", origin, kChallenge), {});
  BOOST_TEST(!AttestationShortfall(self, AttestationRequirement::kSelf).has_value());
  why = AttestationShortfall(self, AttestationRequirement::kTpm);
  BOOST_REQUIRE(why.has_value());
  BOOST_TEST(why->find("not \"tpm\"") != std::string::npos, *why);
}

BOOST_AUTO_TEST_CASE(trust_anchor_directories) {
  TpmAttestationBuilder tpm;
  testing::TempDir dir;
  const std::string anchors = dir.path() + "/anchors";
  BOOST_REQUIRE(::mkdir(anchors.c_str(), 0755) == 0);
  auto missing = config::LoadTrustAnchors(dir.path() + "/nowhere");
  BOOST_TEST(!missing.ok());
  auto empty = config::LoadTrustAnchors(anchors);
  BOOST_REQUIRE(!empty.ok());
  BOOST_TEST(empty.error().message.find("no certificates") != std::string::npos);

  std::ofstream(anchors + "/roots.pem") << Pem(tpm.root_der()) << Pem(tpm.stranger_der());
  std::ofstream(anchors + "/ca.der", std::ios::binary)
      .write(reinterpret_cast<const char*>(tpm.intermediate_der().data()),
             static_cast<std::streamsize>(tpm.intermediate_der().size()));
  std::ofstream(anchors + "/README") << "not read";
  auto loaded = config::LoadTrustAnchors(anchors);
  BOOST_REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? "" : loaded.error().message));
  BOOST_TEST(loaded->size() == 3u);  // two PEM, one DER; README skipped

  std::ofstream(anchors + "/broken.crt") << "-----BEGIN CERTIFICATE-----\nAAAA\n";
  auto broken = config::LoadTrustAnchors(anchors);
  BOOST_REQUIRE(!broken.ok());
  BOOST_TEST(broken.error().message.find("broken.crt") != std::string::npos);
  ::unlink((anchors + "/broken.crt").c_str());

  // Anchors others could change are not anchors.
  BOOST_REQUIRE(::chmod(anchors.c_str(), 0777) == 0);
  BOOST_TEST(!config::LoadTrustAnchors(anchors).ok());
}
