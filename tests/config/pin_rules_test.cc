// PIN quality rules (config/pin_rules.h): the examples and their
// neighbours, data-driven from tests/data/pin-rules/cases.tsv.
#define BOOST_TEST_MODULE pin_rules
#include <boost/test/unit_test.hpp>

#include "config/options.h"
#include "config/pin_rules.h"
#include "tests/support/vectors.h"

using namespace tpmauthn;

BOOST_AUTO_TEST_CASE(cases_from_the_table) {
  const config::PinRules defaults;
  const auto cases = testing::LoadTabFixture("pin-rules/cases.tsv");
  BOOST_TEST_REQUIRE(cases.size() >= 10u);
  for (const auto& c : cases) {
    auto why = config::PinRuleViolation(webauthn::SecretBytes(std::string_view(c.input)), defaults);
    BOOST_TEST_CONTEXT("PIN " << c.input) {
      if (c.expected == "ok") {
        BOOST_TEST(!why.has_value());
      } else {
        BOOST_TEST_REQUIRE(why.has_value());
        BOOST_TEST(why->find(c.expected) != std::string::npos, *why);
        if (!c.input.empty()) BOOST_TEST(why->find(c.input) == std::string::npos);  // no echo
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(settings_relax_and_tighten_the_rules) {
  config::PinRules rules{8, false};
  BOOST_TEST(config::PinRuleViolation(webauthn::SecretBytes(std::string_view("2580741")), rules)
                 .has_value());
  rules = {6, true};
  BOOST_TEST(!config::PinRuleViolation(webauthn::SecretBytes(std::string_view("123456")), rules)
                  .has_value());
  BOOST_TEST(config::PinRuleViolation(webauthn::SecretBytes(std::string_view("12345")), rules)
                 .has_value());
  // Counted in characters, not bytes: "ü1ü2ü" is 5 characters (7 bytes).
  BOOST_TEST(config::PinRuleViolation(webauthn::SecretBytes(std::string_view("ü1ü2ü")),
                                      config::PinRules{6, false})
                 .has_value());
}

BOOST_AUTO_TEST_CASE(options_carry_them) {
  auto options = config::ResolveOptions("pin_min_length=8\npin_allow_simple\n", "conf", {});
  BOOST_TEST_REQUIRE(options.ok());
  BOOST_TEST(options->pin_min_length == 8u);
  BOOST_TEST(options->pin_allow_simple);
  BOOST_TEST(!config::ResolveOptions("pin_min_length=3\n", "conf", {}).ok());
  BOOST_TEST(!config::ResolveOptions("pin_min_length=65\n", "conf", {}).ok());
}
