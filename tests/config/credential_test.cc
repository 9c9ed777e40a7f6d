// The credentials-file grammar: valid forms, every rejection, duplicates,
// round trips and the no-truncation rule.
#define BOOST_TEST_MODULE credential
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "config/credential.h"
#include "config/credential_file.h"
#include "webauthn/base64url.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vectors.h"

using namespace tpmauthn::config;
using tpmauthn::testing::ReadFile;
using tpmauthn::testing::TempDir;
using tpmauthn::testing::LoadTabFixture;
using tpmauthn::testing::TestDataDir;
using tpmauthn::testing::WriteFile;
namespace data = boost::unit_test::data;

static std::string Fixture(const std::string& name) {
  return ReadFile(TestDataDir() + "/credentials/" + name);
}

BOOST_AUTO_TEST_CASE(valid_fixture_parses) {
  auto all = ParseCredentials(Fixture("valid.credentials"), "valid.credentials", std::nullopt);
  BOOST_REQUIRE_MESSAGE(all.ok(), (all.ok() ? std::string() : all.error().message));
  BOOST_TEST_REQUIRE(all->size() == 4u);
  const Credential& a = (*all)[0];
  BOOST_TEST(a.user == "alice");
  BOOST_TEST(a.label == "Alice's laptop (TPM)");
  BOOST_TEST(a.require_uv);
  BOOST_TEST((a.kind == AuthenticatorKind::kTpm));
  const Credential& b = (*all)[1];
  BOOST_TEST(!b.require_uv);
  BOOST_TEST(*b.rp_id == "pam://host");
  BOOST_TEST(b.label == "YubiKey 5 \u00abNFC\u00bb");
  BOOST_TEST((b.algorithm == tpmauthn::webauthn::CoseAlgorithm::kEdDSA));
  BOOST_TEST((*all)[2].user == "bob");
  BOOST_TEST(*(*all)[2].origin == "ssh://server.example");
  const Credential& d = (*all)[3];
  BOOST_TEST(d.user == "carol@example.org");
  BOOST_TEST(d.id.empty());  // discoverable
  BOOST_TEST(d.label == "trailing spaces are trimmed");

  auto alice = ParseCredentials(Fixture("valid.credentials"), "f", std::string("alice"));
  BOOST_TEST_REQUIRE(alice.ok());
  BOOST_TEST(alice->size() == 2u);
  auto nobody = ParseCredentials(Fixture("valid.credentials"), "f", std::string("mallory"));
  BOOST_TEST_REQUIRE(nobody.ok());
  BOOST_TEST(nobody->empty());
}

BOOST_AUTO_TEST_CASE(format_round_trips) {
  auto all = ParseCredentials(Fixture("valid.credentials"), "f", std::nullopt);
  BOOST_TEST_REQUIRE(all.ok());
  for (const Credential& c : *all) {
    std::string line = FormatCredentialLine(c);
    auto again = ParseCredentialLine(line);
    BOOST_REQUIRE_MESSAGE(again.ok(), line);
    BOOST_TEST(FormatCredentialLine(*again) == line);
  }
}

BOOST_DATA_TEST_CASE(invalid_lines_are_rejected_with_file_and_line,
                     data::make(LoadTabFixture("credentials/invalid-lines.txt")), bad) {
  // Alone, and as line 5 of a file whose other lines are fine.
  auto alone = ParseCredentialLine(bad.input);
  BOOST_TEST_REQUIRE(!alone.ok());
  BOOST_CHECK_MESSAGE(alone.error().message.find(bad.expected) != std::string::npos,
                      alone.error().message);
  std::string file = "# header\n\n" + Fixture("good-line.txt") + "# comment\n" + bad.input + "\n";
  auto parsed = ParseCredentials(file, "/etc/tpmauthn/credentials", std::nullopt);
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_CHECK_MESSAGE(parsed.error().message.rfind("/etc/tpmauthn/credentials:5: ", 0) == 0,
                      parsed.error().message);
  // Looking up another user still refuses the file unless only the key's
  // contents are wrong (those are checked for the selected user's lines).
  auto other = ParseCredentials(file, "/etc/tpmauthn/credentials", std::string("nobody"));
  bool key_contents_only = bad.expected.rfind("public key: COSE_Key", 0) == 0 ||
                           bad.expected.find("but the line says") != std::string::npos;
  BOOST_TEST(other.ok() == key_contents_only);
}

BOOST_AUTO_TEST_CASE(duplicate_credential_ids_are_errors) {
  std::string good = Fixture("good-line.txt");
  std::string other_user = good;
  other_user.replace(0, 4, "erin");
  auto parsed = ParseCredentials(good + "\n# x\n" + other_user, "creds", std::nullopt);
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST(parsed.error().message.find("creds:4: duplicate credential id (also on line 1)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_foreign_byte_anywhere_in_the_id_or_key_is_refused) {
  // Ids and keys are scanned 16 bytes at a time: a byte outside base64url at
  // every position (in a 16-byte block, at a block edge, in the tail) and of
  // every kind (ASCII punctuation, a byte >= 0x80, NUL) must be caught.
  std::string good = Fixture("good-line.txt");
  good.pop_back();
  BOOST_TEST_REQUIRE(ParseCredentialLine(good).ok());
  std::istringstream fields(good);
  std::string user, id, alg, key;
  fields >> user >> id >> alg >> key;
  for (const std::string* field : {&id, &key}) {
    const size_t at = good.find(*field);
    for (size_t i = 0; i < field->size(); ++i) {
      for (char bad : {'+', '/', '=', '.', '\x80', '\xff', '\0'}) {
        std::string line = good;
        line[at + i] = bad;
        BOOST_TEST_CONTEXT((field == &id ? "id" : "key") << " byte " << i << " = " << int(bad)) {
          BOOST_TEST(!ParseCredentialLine(line).ok());
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_long_line_is_an_error_not_a_cut) {
  // A line that would be valid up to the cut (uv=none) but continues — a
  // reader with a fixed buffer would see a different credential (the +pin
  // truncation class of bug).
  std::string good = Fixture("good-line.txt");
  good.pop_back();
  std::string huge = good + " " + std::string(1024 * 1024, 'x');
  TempDir dir;
  WriteFile(dir / "creds", huge + "\n");
  int fd = ::open((dir / "creds").c_str(), O_RDONLY);
  auto parsed = ReadCredentials(fd, "creds", std::nullopt);
  ::close(fd);
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST(parsed.error().message.find("creds:1: line longer than 16384 bytes") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(reading_from_a_file_matches_reading_from_memory) {
  TempDir dir;
  std::string text = Fixture("valid.credentials");
  // Many lines so the reader refills its buffer in the middle of lines.
  std::string good = Fixture("good-line.txt");
  size_t first = good.find(' '), second = good.find(' ', first + 1);
  for (int i = 0; i < 3000; ++i) {
    std::string id = tpmauthn::webauthn::Base64UrlEncode(
        tpmauthn::webauthn::AsBytes("credential-" + std::to_string(i)));
    text += good.substr(0, first + 1) + id + good.substr(second);
  }
  WriteFile(dir / "creds", text);
  int fd = ::open((dir / "creds").c_str(), O_RDONLY);
  auto from_file = ReadCredentials(fd, "creds", std::string("dave"));
  ::close(fd);
  auto from_memory = ParseCredentials(text, "creds", std::string("dave"));
  BOOST_REQUIRE_MESSAGE(from_file.ok(), (from_file.ok() ? "" : from_file.error().message));
  BOOST_TEST_REQUIRE(from_memory.ok());
  BOOST_TEST(from_file->size() == 3000u);
  BOOST_TEST(from_memory->size() == 3000u);
}
