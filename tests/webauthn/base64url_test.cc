// base64url: round trips and every strictness rule.
#define BOOST_TEST_MODULE base64url
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "webauthn/base64url.h"

using namespace tpmauthn::webauthn;
namespace data = boost::unit_test::data;

BOOST_AUTO_TEST_CASE(round_trips_every_length) {
  for (size_t n = 0; n < 70; ++n) {
    Bytes in(n);
    for (size_t i = 0; i < n; ++i) in[i] = static_cast<uint8_t>(i * 37 + n);
    std::string text = Base64UrlEncode(in);
    BOOST_TEST(text.find('=') == std::string::npos);
    auto out = Base64UrlDecode(text);
    BOOST_TEST_REQUIRE(out.ok());
    BOOST_TEST(*out == in);
  }
}

BOOST_AUTO_TEST_CASE(uses_the_url_alphabet) {
  Bytes in = {0xfb, 0xff, 0xbf};
  BOOST_TEST(Base64UrlEncode(in) == "-_-_");
}

BOOST_AUTO_TEST_CASE(known_value) {
  // The §16.2 registration challenge as printed in its clientDataJSON.
  Bytes expected;
  BOOST_TEST_REQUIRE(
      FromHex("00c30fb78531c464d2b6771dab8d7b603c01162f2fa486bea70f283ae556e130", expected));
  auto out = Base64UrlDecode("AMMPt4UxxGTStncdq417YDwBFi8vpIa-pw8oOuVW4TA");
  BOOST_TEST_REQUIRE(out.ok());
  BOOST_TEST(*out == expected);
}

static const char* kRejected[] = {
    "AAA=",      // padding
    "AA==",      // padding
    "ab+c",      // standard alphabet
    "ab/c",      // standard alphabet
    "ab c",      // whitespace
    "abc\n",     // newline
    "A",         // impossible length 4n+1
    "AB",        // non-zero trailing bits (canonical is "AA")
    "AAB",       // non-zero trailing bits (canonical is "AAA")
    "ab*d",      // other character
};

BOOST_DATA_TEST_CASE(rejects_non_canonical_or_foreign_input, data::make(kRejected), text) {
  auto out = Base64UrlDecode(text);
  BOOST_TEST(!out.ok());
  if (!out.ok()) BOOST_TEST((out.error().check == Check::kEncoding));
}

BOOST_AUTO_TEST_CASE(empty_is_empty) {
  auto out = Base64UrlDecode("");
  BOOST_TEST_REQUIRE(out.ok());
  BOOST_TEST(out->empty());
}
