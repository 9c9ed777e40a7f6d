// clientDataJSON: §5.8.1.1 serialization is byte-exact; parsing is strict.
#define BOOST_TEST_MODULE client_data
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "tests/support/vectors.h"
#include "webauthn/client_data.h"

using namespace tpmauthn::webauthn;
using tpmauthn::testing::LoadVector;
namespace data = boost::unit_test::data;

BOOST_AUTO_TEST_CASE(serialization_reproduces_the_spec_vectors) {
  // §16.2's assertion clientDataJSON has no extraData, so a client following
  // §5.8.1.1 must produce exactly these bytes.
  auto v = LoadVector("none-es256");
  std::string produced =
      SerializeClientData(kTypeGet, v.Hex("authentication.challenge"), "https://example.org");
  Bytes expected = v.Hex("authentication.clientDataJSON");
  BOOST_TEST(produced == std::string(expected.begin(), expected.end()));

  auto top = LoadVector("none-es256-top-origin");
  produced = SerializeClientData(kTypeCreate, top.Hex("registration.challenge"),
                                 "https://example.org", true, "https://example.com");
  expected = top.Hex("registration.clientDataJSON");
  BOOST_TEST(produced == std::string(expected.begin(), expected.end()));
}

BOOST_AUTO_TEST_CASE(ccd_to_string_escapes_as_the_spec_says) {
  BOOST_TEST(CcdToString("a\"b\\c") == "\"a\\\"b\\\\c\"");
  BOOST_TEST(CcdToString(std::string("\x01\x1f", 2)) == "\"\\u0001\\u001f\"");
  BOOST_TEST(CcdToString("/\x7f\xc3\xa9") == "\"/\x7f\xc3\xa9\"");  // no escaping
}

BOOST_AUTO_TEST_CASE(parses_the_vectors_with_extra_members) {
  for (const char* name : {"none-es256", "none-es256-top-origin", "packed-es256"}) {
    auto v = LoadVector(name);
    auto c = CollectedClientData::Parse(v.Hex("registration.clientDataJSON"));
    BOOST_REQUIRE_MESSAGE(c.ok(), name);
    BOOST_TEST(c->type == "webauthn.create");
    BOOST_TEST(c->origin == "https://example.org");
  }
}

static const char* kBad[] = {
    "",                                                                // empty
    "[]",                                                              // not an object
    "{\"type\":\"webauthn.get\",\"challenge\":\"AA\"}",                // no origin
    "{\"type\":1,\"challenge\":\"AA\",\"origin\":\"o\"}",              // non-string type
    "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\",\"origin\":\"p\"}",  // duplicate
    "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\",\"x\":{\"a\":1,\"a\":2}}",  // nested dup
    "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\",\"crossOrigin\":\"no\"}",
    "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\",\"topOrigin\":5}",
    "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\"} x",        // trailing garbage
    "\xef\xbb\xbf\xef\xbb\xbf{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\"}",  // 2 BOMs
    "{\"type\":\"t\",\xff\"challenge\":\"AA\",\"origin\":\"o\"}",  // invalid UTF-8 outside strings
};

BOOST_DATA_TEST_CASE(rejects_malformed_client_data, data::make(kBad), text) {
  std::string s(text);
  auto c = CollectedClientData::Parse(AsBytes(s));
  BOOST_TEST(!c.ok());
  if (!c.ok()) BOOST_TEST((c.error().check == Check::kClientData));
}

BOOST_AUTO_TEST_CASE(rejects_oversized_and_deep_input) {
  std::string big = "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\",\"pad\":\"" +
                    std::string(kMaxClientDataSize, 'a') + "\"}";
  BOOST_TEST(!CollectedClientData::Parse(AsBytes(big)).ok());
  std::string deep = "{\"type\":\"t\",\"challenge\":\"AA\",\"origin\":\"o\",\"d\":" +
                     std::string(100, '[') + std::string(100, ']') + "}";
  BOOST_TEST(!CollectedClientData::Parse(AsBytes(deep)).ok());
}

// §7.1 step 5 / §7.2 step 10 run WHATWG "UTF-8 decode" before parsing JSON.
BOOST_AUTO_TEST_CASE(a_leading_byte_order_mark_is_removed) {
  std::string s = "\xef\xbb\xbf{\"type\":\"webauthn.get\",\"challenge\":\"AA\",\"origin\":\"o\"}";
  auto c = CollectedClientData::Parse(AsBytes(s));
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().message));
  BOOST_TEST(c->type == "webauthn.get");
  BOOST_TEST(c->origin == "o");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_inside_a_string_becomes_u_fffd) {
  std::string s = "{\"type\":\"webauthn.get\",\"challenge\":\"AA\",\"origin\":\"o\xff\"}";
  auto c = CollectedClientData::Parse(AsBytes(s));
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error().message));
  BOOST_TEST(c->origin == "o\xef\xbf\xbd");  // so it matches no expected origin
}

struct Decoded {
  const char* in;
  const char* out;
};
static std::ostream& operator<<(std::ostream& os, const Decoded& d) { return os << d.in; }
static const Decoded kDecoded[] = {
    {"abc", "abc"},
    {"\xef\xbb\xbf" "abc", "abc"},                               // one BOM removed
    {"\xef\xbb\xbf\xef\xbb\xbf", "\xef\xbb\xbf"},                // the second stays (U+FEFF)
    {"\xc3\xa9", "\xc3\xa9"},                                    // é
    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},                    // U+1F600
    {"\xff", "\xef\xbf\xbd"},                                    // never valid
    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                      // overlong
    {"\xe0\x80", "\xef\xbf\xbd\xef\xbf\xbd"},                      // overlong, 3 bytes
    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},        // a surrogate
    {"\xf0\x9f\x98", "\xef\xbf\xbd"},                            // cut short: one U+FFFD
    {"\xf0\x9f\x98x", "\xef\xbf\xbdx"},                          // ... then the byte itself
    {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},  // > U+10FFFF
};

BOOST_DATA_TEST_CASE(utf8_decode_follows_the_whatwg_algorithm, data::make(kDecoded), d) {
  BOOST_TEST(Utf8Decode(AsBytes(std::string_view(d.in))) == std::string(d.out));
}
