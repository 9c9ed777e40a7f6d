// Key store files: strict parsing that never throws, round trips, refusals.
#define BOOST_TEST_MODULE key_store
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.h"
#include "tests/support/vectors.h"
#include "tpm/key_store.h"
#include "tpm/nv_counter.h"

using namespace tpmauthn;
using testing::ReadFile;
using testing::TestDataDir;

static std::string Fixture(const std::string& name) {
  return ReadFile(TestDataDir() + "/key-store/" + name);
}

BOOST_AUTO_TEST_CASE(valid_file_round_trips) {
  auto record = tpm::ParseKeyRecord(Fixture("valid.key"), "valid.key");
  BOOST_REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().message));
  BOOST_TEST(record->rp_id == "pam://host");
  BOOST_TEST(record->counter == 41u);
  BOOST_TEST(record->pcrs == (std::vector<uint32_t>{0, 7}));
  auto again = tpm::ParseKeyRecord(tpm::SerializeKeyRecord(*record), "again");
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(tpm::SerializeKeyRecord(*again) == tpm::SerializeKeyRecord(*record));
}

// Regression (key_store fuzzer): a non-string "format" made the parser throw.
BOOST_AUTO_TEST_CASE(mistyped_members_are_errors_not_exceptions) {
  auto crash = tpm::ParseKeyRecord(Fixture("format-is-a-number.key"), "f.key");
  BOOST_TEST(!crash.ok());
  nlohmann::json valid = nlohmann::json::parse(Fixture("valid.key"));
  for (const char* member : {"format", "version", "credentialId", "rpId", "uv", "pcrs", "counter",
                             "pinSalt"}) {
    for (const nlohmann::json& wrong : {nlohmann::json(1e300), nlohmann::json(-1),
                                        nlohmann::json::object(), nlohmann::json(nullptr)}) {
      nlohmann::json doc = valid;
      doc[member] = wrong;
      BOOST_TEST(!tpm::ParseKeyRecord(doc.dump(), "k.key").ok(), member);
    }
    nlohmann::json missing = valid;
    missing.erase(member);
    BOOST_TEST(!tpm::ParseKeyRecord(missing.dump(), "k.key").ok(), member);
  }
  nlohmann::json extra = valid;
  extra["pin"] = "1234";
  auto unknown = tpm::ParseKeyRecord(extra.dump(), "k.key");
  BOOST_TEST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.error().message.find("unknown member \"pin\"") != std::string::npos);
  BOOST_TEST(!tpm::ParseKeyRecord("", "k.key").ok());
  BOOST_TEST(!tpm::ParseKeyRecord("[1,2]", "k.key").ok());
}

// Version 2: a credential with its own PIN index; version 1 stays readable.
BOOST_AUTO_TEST_CASE(version_2_records_the_pin_index) {
  auto record = tpm::ParseKeyRecord(Fixture("valid-v2.key"), "valid-v2.key");
  BOOST_REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().message));
  BOOST_TEST(record->pin_index == 0x0137ee57u);
  BOOST_TEST(record->pin_index_name.size() == 34u);
  BOOST_TEST(record->pin_tries == 8u);
  auto again = tpm::ParseKeyRecord(tpm::SerializeKeyRecord(*record), "again");
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(tpm::SerializeKeyRecord(*again) == tpm::SerializeKeyRecord(*record));
  BOOST_TEST(tpm::ParseKeyRecord(Fixture("valid.key"), "v1")->pin_index == 0u);

  nlohmann::json valid = nlohmann::json::parse(Fixture("valid-v2.key"));
  auto refused = [](nlohmann::json doc, const std::string& why) {
    auto parsed = tpm::ParseKeyRecord(doc.dump(), "k");
    BOOST_TEST_CONTEXT(why) {
      BOOST_TEST_REQUIRE(!parsed.ok());
      BOOST_TEST(parsed.error().message.find(why) != std::string::npos, parsed.error().message);
    }
  };
  nlohmann::json doc = valid;
  doc["pinIndex"] = 0x01000000;  // outside tpmauthn's range
  refused(doc, "pinIndex");
  doc = valid;
  doc.erase("pinIndexName");
  refused(doc, "pinIndexName");
  doc = valid;
  doc["pinTries"] = 2;
  refused(doc, "pinTries");
  doc = valid;
  doc["uv"] = "none";
  refused(doc, "version 2 is for PIN credentials");
  doc = valid;
  doc["version"] = 1;  // a v1 file may not carry the v2 members
  refused(doc, "version 1");
}

BOOST_AUTO_TEST_CASE(the_tpm_counter_members_round_trip_and_are_checked) {
  for (const char* fixture : {"valid.key", "valid-v2.key"}) {
    nlohmann::json doc = nlohmann::json::parse(Fixture(fixture));
    doc["counterIndex"] = 0x01287a00;
    doc["counterOffset"] = 5000000000ull;  // above 32 bits: the TPM's counter is 64
    auto record = tpm::ParseKeyRecord(doc.dump(), fixture);
    BOOST_TEST_CONTEXT(fixture) {
      BOOST_REQUIRE_MESSAGE(record.ok(), (record.ok() ? std::string() : record.error().message));
      BOOST_TEST(record->counter_index == 0x01287a00u);
      BOOST_TEST(record->counter_offset == 5000000000ull);
      auto again = tpm::ParseKeyRecord(tpm::SerializeKeyRecord(*record), "again");
      BOOST_TEST_REQUIRE(again.ok());
      BOOST_TEST(again->counter_offset == 5000000000ull);
    }
    auto refused = [&](nlohmann::json bad, const std::string& why) {
      auto parsed = tpm::ParseKeyRecord(bad.dump(), "k");
      BOOST_TEST_CONTEXT(fixture << ": " << why) {
        BOOST_TEST_REQUIRE(!parsed.ok());
        BOOST_TEST(parsed.error().message.find(why) != std::string::npos, parsed.error().message);
      }
    };
    nlohmann::json bad = doc;
    bad.erase("counterOffset");
    refused(bad, "counterOffset");
    bad = doc;
    bad.erase("counterIndex");
    refused(bad, "counterIndex");
    bad = doc;
    bad["counterIndex"] = 0x81000001;  // a persistent object, not an owner NV index
    refused(bad, "counterIndex");
    bad = doc;
    bad["counterOffset"] = -1;
    refused(bad, "counterOffset");
  }
  // Without them the key file's own counter is the source.
  BOOST_TEST(tpm::ParseKeyRecord(Fixture("valid.key"), "v1")->counter_index == 0u);
  BOOST_TEST(tpm::SerializeKeyRecord(*tpm::ParseKeyRecord(Fixture("valid.key"), "v1"))
                 .find("counterIndex") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(sign_counts_from_the_tpm_counter) {
  BOOST_TEST(*tpm::SignCountFor(101, 100) == 1u);
  BOOST_TEST(*tpm::SignCountFor(100ull + UINT32_MAX, 100) == UINT32_MAX);
  BOOST_TEST(!tpm::SignCountFor(100, 100).ok());              // not above the start
  BOOST_TEST(!tpm::SignCountFor(101ull + UINT32_MAX, 100).ok());  // used up
  BOOST_TEST(tpm::SignCountFor(101ull + UINT32_MAX, 100).error().message.find("exhausted") !=
             std::string::npos);
}
