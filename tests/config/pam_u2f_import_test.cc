// pam-u2f authfiles: both formats, every attribute, every rejection.
#define BOOST_TEST_MODULE pam_u2f_import
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <sstream>

#include "config/pam_u2f_import.h"
#include "webauthn/base64url.h"
#include "webauthn/cose_key.h"
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
  BOOST_TEST_REQUIRE(creds->credentials.size() == 4u);
  BOOST_TEST(creds->notes.empty());
  const auto& c = creds->credentials;
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
  const auto& c = creds->credentials;
  BOOST_TEST_REQUIRE(c.size() == 2u);
  BOOST_TEST(c[0].user == "dave");
  BOOST_TEST(c[0].id.size() == 64u);
  BOOST_TEST(c[1].id.size() == 48u);
  BOOST_TEST((c[0].algorithm == CoseAlgorithm::kES256));
  BOOST_TEST(!c[0].require_uv);
}

BOOST_DATA_TEST_CASE(invalid_lines, data::make(LoadTabFixture("pam-u2f/invalid-lines.txt")), bad) {
  auto creds = ParsePamU2fAuthfile("\n" + bad.input + "\n", "authfile", kSettings);
  BOOST_TEST_REQUIRE(!creds.ok());
  BOOST_CHECK_MESSAGE(creds.error().message.find(bad.expected) != std::string::npos,
                      creds.error().message);
  BOOST_TEST(creds.error().message.rfind("authfile:2: ", 0) == 0u);
}

// pam-u2f's own fixtures (tests/data/pam-u2f/upstream/README.md): each imports
// what pam-u2f's tests say get_devices_from_authfile() returns.
namespace {

struct Expected {
  std::string file;
  size_t count = 0;
  size_t index = 0;
  std::string key_handle, public_key, cose_type, attributes;
};

std::vector<Expected> LoadExpected() {
  std::vector<Expected> out;
  std::istringstream in(ReadFile(TestDataDir() + "/pam-u2f/upstream/expected.tsv"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    for (size_t start = 0;;) {
      size_t tab = line.find('\t', start);
      f.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    Expected e;
    e.file = f.at(0);
    e.count = std::stoul(f.at(1));
    if (e.count > 0) {
      e.index = std::stoul(f.at(2));
      e.key_handle = f.at(3);
      e.public_key = f.at(4);
      e.cose_type = f.at(5);
      e.attributes = f.size() > 6 ? f.at(6) : "";
    }
    out.push_back(e);
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Expected& e) {
  return os << e.file << "[" << e.index << "]";
}

tpmauthn::webauthn::Bytes StandardBase64(const std::string& text) {
  std::string url;
  for (char c : text) {
    if (c == '=') continue;
    url.push_back(c == '+' ? '-' : c == '/' ? '_' : c);
  }
  return *tpmauthn::webauthn::Base64UrlDecode(url);
}

// The raw public key of a COSE key: 04||x||y for P-256, 32 bytes for Ed25519.
tpmauthn::webauthn::Bytes RawPublicKey(const tpmauthn::webauthn::Bytes& cose) {
  auto key = tpmauthn::webauthn::CoseKey::Parse(cose);
  BOOST_REQUIRE(key.ok());
  size_t length = 0;
  if (key->algorithm() == CoseAlgorithm::kEdDSA) {
    EVP_PKEY_get_raw_public_key(key->pkey(), nullptr, &length);
    tpmauthn::webauthn::Bytes out(length);
    EVP_PKEY_get_raw_public_key(key->pkey(), out.data(), &length);
    return out;
  }
  EVP_PKEY_get_octet_string_param(key->pkey(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0,
                                  &length);
  tpmauthn::webauthn::Bytes out(length);
  EVP_PKEY_get_octet_string_param(key->pkey(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                  out.size(), &length);
  return out;
}

}  // namespace

BOOST_DATA_TEST_CASE(pam_u2f_fixtures_import_as_pam_u2f_reads_them, data::make(LoadExpected()),
                     e) {
  std::string text = ReadFile(TestDataDir() + "/pam-u2f/upstream/" + e.file);
  for (size_t at; (at = text.find("@USERNAME@")) != std::string::npos;) text.replace(at, 10, "alice");
  const bool ssh = IsSshFormatAuthfile(text);
  BOOST_TEST(ssh == (e.file == "ssh_credential.cred.in"));
  ImportSettings settings = kSettings;
  if (ssh) settings.origin = settings.rp_id = kPamU2fSshOrigin;
  auto parsed = ssh ? ParsePamU2fSshKey(text, e.file, "alice", settings)
                    : ParsePamU2fAuthfile(text, e.file, settings);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().message));
  // pam-u2f's default max_devices is 24; its limited-count test lowers it.
  BOOST_TEST_REQUIRE(parsed->credentials.size() == e.count);
  if (e.count == 0) {
    BOOST_TEST_REQUIRE(parsed->notes.size() == 1u);
    BOOST_TEST(parsed->notes[0].find("alice: no credentials") != std::string::npos,
               parsed->notes[0]);
    return;
  }
  const Credential& c = parsed->credentials.at(e.index);
  BOOST_TEST(c.user == "alice");
  BOOST_TEST((c.kind == AuthenticatorKind::kFido2));
  if (e.key_handle == "*") {
    BOOST_TEST(c.id.empty());
  } else {
    BOOST_TEST(c.id == StandardBase64(e.key_handle));
  }
  tpmauthn::webauthn::Bytes expected_key;
  if (e.public_key.size() == 130) {  // the old format's hex point
    BOOST_REQUIRE(tpmauthn::webauthn::FromHex(e.public_key, expected_key));
  } else {
    expected_key = StandardBase64(e.public_key);
    if (e.cose_type == "es256") expected_key.insert(expected_key.begin(), 0x04);
  }
  BOOST_TEST(RawPublicKey(c.public_key) == expected_key);
  BOOST_TEST((c.algorithm ==
              (e.cose_type == "eddsa" ? CoseAlgorithm::kEdDSA : CoseAlgorithm::kES256)));
  const bool uv = e.attributes.find("+verification") != std::string::npos ||
                  e.attributes.find("+pin") != std::string::npos;
  BOOST_TEST(c.require_uv == uv);
  if (ssh) BOOST_TEST(*c.origin == "ssh:");
}

BOOST_AUTO_TEST_CASE(a_users_last_line_wins_and_earlier_ones_are_reported) {
  const std::string current = Fixture("current.authfile");
  // current.authfile's first line is alice's (two credentials); a later
  // alice line with only the eddsa credential replaces it.
  const std::string first = current.substr(0, current.find('\n'));
  auto creds = ParsePamU2fAuthfile(current, "authfile", kSettings);
  BOOST_REQUIRE(creds.ok());
  const std::string second_device = first.substr(first.rfind(':') + 1);
  auto parsed = ParsePamU2fAuthfile(current + "alice:" + second_device + "\n", "authfile",
                                    kSettings);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().message));
  std::vector<const Credential*> alice;
  for (const Credential& c : parsed->credentials) {
    if (c.user == "alice") alice.push_back(&c);
  }
  BOOST_TEST_REQUIRE(alice.size() == 1u);
  BOOST_TEST((alice[0]->algorithm == CoseAlgorithm::kEdDSA));
  BOOST_TEST(parsed->credentials.size() == creds->credentials.size() - 1);
  BOOST_TEST_REQUIRE(parsed->notes.size() == 1u);
  BOOST_TEST(parsed->notes[0].rfind("authfile:", 0) == 0u);
  BOOST_TEST(parsed->notes[0].find("alice: skipped; pam-u2f uses only a user's last line") !=
             std::string::npos, parsed->notes[0]);
  // A final "alice:" leaves alice nothing, and the others keep theirs.
  auto emptied = ParsePamU2fAuthfile(current + "alice:\n", "authfile", kSettings);
  BOOST_REQUIRE(emptied.ok());
  for (const Credential& c : emptied->credentials) BOOST_TEST(c.user != "alice");
  BOOST_TEST(emptied->credentials.size() == creds->credentials.size() - 2);
  BOOST_TEST(emptied->notes.size() == 2u);
}

BOOST_AUTO_TEST_CASE(three_fields_mean_no_attributes_and_empty_entries_are_skipped) {
  const std::string current = Fixture("current.authfile");
  const std::string first = current.substr(0, current.find('\n'));
  // alice's first credential without its attribute field, with empty entries around it.
  std::string device = first.substr(first.find(':') + 1);
  device = device.substr(0, device.find(':'));
  const std::string three = device.substr(0, device.rfind(','));
  auto parsed = ParsePamU2fAuthfile("erin::" + three + ":\n", "authfile", kSettings);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().message));
  BOOST_TEST_REQUIRE(parsed->credentials.size() == 1u);
  BOOST_TEST(!parsed->credentials[0].require_uv);
  BOOST_TEST(parsed->notes.empty());
}

BOOST_AUTO_TEST_CASE(ssh_format_refusals) {
  std::string key = ReadFile(TestDataDir() + "/pam-u2f/upstream/ssh_credential.cred.in");
  BOOST_TEST(ParsePamU2fSshKey(key, "k", "alice", kSettings).ok());
  std::string cut = key.substr(0, key.find("-----END"));
  BOOST_TEST(ParsePamU2fSshKey(cut, "k", "alice", kSettings).error().message.find("no \"-----END") !=
             std::string::npos);
  std::string damaged = key;
  damaged[40] = damaged[40] == 'A' ? 'B' : 'A';  // inside the magic / cipher name
  BOOST_TEST(!ParsePamU2fSshKey(damaged, "k", "alice", kSettings).ok());
  BOOST_TEST(!IsSshFormatAuthfile(Fixture("current.authfile")));
}

BOOST_AUTO_TEST_CASE(at_most_24_credentials_of_a_line_count_as_in_pam_u2f) {
  const std::string current = Fixture("current.authfile");
  std::string device = current.substr(current.find(':') + 1);
  device = device.substr(0, device.find_first_of(":\n"));
  std::string line = "frank";
  for (int i = 0; i < 25; ++i) line += ":" + device;
  auto parsed = ParsePamU2fAuthfile(line + "\n", "authfile", kSettings);
  BOOST_REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().message));
  BOOST_TEST(parsed->credentials.size() == kPamU2fMaxDevices);
  BOOST_TEST_REQUIRE(parsed->notes.size() == 1u);
  BOOST_TEST(parsed->notes[0].find("frank: 1 credential(s) after the first 24 skipped") !=
             std::string::npos, parsed->notes[0]);
}
