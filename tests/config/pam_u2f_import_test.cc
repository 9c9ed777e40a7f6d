// pam-u2f authfiles: both formats, every attribute, every rejection.
#define BOOST_TEST_MODULE pam_u2f_import
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "config/pam_u2f_import.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vectors.h"

using namespace tpmauthn::config;
using tpmauthn::testing::ReadFile;
using tpmauthn::testing::LoadTabFixture;
using tpmauthn::testing::TestDataDir;
namespace data = boost::unit_test::data;
using tpmauthn::webauthn::CoseAlgorithm;

static const ImportSettings kSettings{"pam://host", "pam://host", "2026-11-29"};

static std::string Fixture(const std::string& name) {
  return ReadFile(TestDataDir() + "/pam-u2f/" + name);
}

BOOST_AUTO_TEST_CASE(current_format) {
  auto creds = ParsePamU2fAuthfile(Fixture("current.authfile"), "authfile", kSettings);
  BOOST_REQUIRE_MESSAGE(creds.ok(), (creds.ok() ? std::string() : creds.error().message));
  BOOST_TEST_REQUIRE(creds->size() == 4u);
  const auto& c = *creds;
  BOOST_TEST(c[0].user == "alice");
  BOOST_TEST(c[0].id.size() == 64u);
  BOOST_TEST((c[0].algorithm == CoseAlgorithm::kES256));
  BOOST_TEST(!c[0].require_uv);  // +presence only
  BOOST_TEST((c[0].kind == AuthenticatorKind::kFido2));
  BOOST_TEST(*c[0].rp_id == "pam://host");
  BOOST_TEST(*c[0].origin == "pam://host");
  BOOST_TEST(c[1].user == "alice");
  BOOST_TEST((c[1].algorithm == CoseAlgorithm::kEdDSA));
  BOOST_TEST(c[1].require_uv);  // +pin
  BOOST_TEST(c[2].user == "bob");
  BOOST_TEST((c[2].algorithm == CoseAlgorithm::kRS256));
  BOOST_TEST(c[2].require_uv);  // +verification
  BOOST_TEST(c[3].user == "carol");
  BOOST_TEST(c[3].id.empty());  // "*": discoverable
  BOOST_TEST(!c[3].require_uv);
  // The §16.2 key, reached through x||y and through 04||x||y, is the same key.
  BOOST_TEST(c[0].public_key == c[3].public_key);
  for (const Credential& credential : c) {
    BOOST_TEST(ParseCredentialLine(FormatCredentialLine(credential)).ok());
  }
}

BOOST_AUTO_TEST_CASE(old_format) {
  auto creds = ParsePamU2fAuthfile(Fixture("old.authfile"), "authfile", kSettings);
  BOOST_REQUIRE_MESSAGE(creds.ok(), (creds.ok() ? std::string() : creds.error().message));
  BOOST_TEST_REQUIRE(creds->size() == 2u);
  BOOST_TEST((*creds)[0].user == "dave");
  BOOST_TEST((*creds)[0].id.size() == 64u);
  BOOST_TEST((*creds)[1].id.size() == 48u);
  BOOST_TEST(((*creds)[0].algorithm == CoseAlgorithm::kES256));
  BOOST_TEST(!(*creds)[0].require_uv);
}

BOOST_DATA_TEST_CASE(invalid_lines, data::make(LoadTabFixture("pam-u2f/invalid-lines.txt")), bad) {
  auto creds = ParsePamU2fAuthfile("\n" + bad.input + "\n", "authfile", kSettings);
  BOOST_TEST_REQUIRE(!creds.ok());
  BOOST_CHECK_MESSAGE(creds.error().message.find(bad.expected) != std::string::npos,
                      creds.error().message);
  BOOST_TEST(creds.error().message.rfind("authfile:2: ", 0) == 0u);
}
