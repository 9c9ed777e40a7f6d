// Module options and tpmauthn.conf: every key, every refusal names the key,
// arguments win over the file.
#define BOOST_TEST_MODULE options
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "config/options.h"
#include "config/plural.h"

using namespace tpmauthn::config;
namespace data = boost::unit_test::data;

static ConfigResult<Options> Resolve(std::optional<std::string_view> conf,
                                     std::vector<std::string_view> args) {
  return ResolveOptions(conf, "/etc/tpmauthn/tpmauthn.conf", args);
}

BOOST_AUTO_TEST_CASE(defaults) {
  auto o = Resolve(std::nullopt, {});
  BOOST_TEST_REQUIRE(o.ok());
  BOOST_TEST(o->credentials == "/etc/tpmauthn/credentials");
  BOOST_TEST(o->store == "/var/lib/tpmauthn/keys");
  BOOST_TEST(o->state == "/var/lib/tpmauthn/state");
  BOOST_TEST((o->uv == UvPolicy::kRequired));
  BOOST_TEST(o->max_tries == 3u);
  BOOST_TEST(!o->nouserok);
  BOOST_TEST(DefaultOrigin().rfind("pam://", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(every_key) {
  auto o = Resolve(std::nullopt,
                   {"credentials=/tmp/c", "user_credentials", "store=/tmp/k", "state=/tmp/s",
                    "tcti=swtpm:path=/tmp/sock", "rp_id=example.org", "origin=pam://h",
                    "uv=discouraged", "mode=remote", "nouserok", "timeout=30", "max_tries=5",
                    "cue", "prompt=PIN for %s:", "debug"});
  BOOST_REQUIRE_MESSAGE(o.ok(), (o.ok() ? std::string() : o.error().message));
  BOOST_TEST(o->credentials == "/tmp/c");
  BOOST_TEST(o->user_credentials);
  BOOST_TEST(o->tcti.text == "swtpm:path=/tmp/sock");
  BOOST_TEST(*o->rp_id == "example.org");
  BOOST_TEST((o->uv == UvPolicy::kDiscouraged));
  BOOST_TEST((o->mode == Mode::kRemote));
  BOOST_TEST(o->nouserok);
  BOOST_TEST(o->timeout_seconds == 30u);
  BOOST_TEST(o->max_tries == 5u);
  BOOST_TEST(o->cue);
  BOOST_TEST(*o->prompt == "PIN for %s:");
  BOOST_TEST(o->debug);
}

BOOST_AUTO_TEST_CASE(arguments_win_over_the_file) {
  auto o = Resolve("# comment\n\nmax_tries=7\n  uv=discouraged  \nprompt=Your PIN please\n",
                   {"max_tries=2"});
  BOOST_REQUIRE_MESSAGE(o.ok(), (o.ok() ? std::string() : o.error().message));
  BOOST_TEST(o->max_tries == 2u);
  BOOST_TEST((o->uv == UvPolicy::kDiscouraged));
  BOOST_TEST(*o->prompt == "Your PIN please");
}

struct Bad {
  const char* token;
  const char* fragment;
};
static std::ostream& operator<<(std::ostream& os, const Bad& b) { return os << b.token; }
static const Bad kBad[] = {
    {"nouserok=1", "\"nouserok\": takes no value"},
    {"nosuchoption", "\"nosuchoption\": unknown option"},
    {"credentials=relative/path", "\"credentials\": must be an absolute path"},
    {"credentials=", "\"credentials\": needs a value"},
    {"uv=maybe", "\"uv\": must be required or discouraged"},
    {"mode=ssh", "\"mode\": must be local, remote or auto"},
    {"timeout=0", "\"timeout\": must be a number of seconds"},
    {"timeout=10s", "\"timeout\""},
    {"max_tries=-1", "\"max_tries\""},
    {"max_tries=1000", "\"max_tries\""},
    {"rp_id=a b", "\"rp_id\": contains spaces"},
    {"tcti", "\"tcti\": needs a value"},
    {"tcti=:/dev/tpmrm0", "names no TCTI"},
    {"tcti=tabrmd", "loads no TCTI by name"},
    {"tcti=pcap:device:/dev/tpmrm0", "loads no TCTI by name"},
    {"tcti=cmd:tpm2_send", "loads no TCTI by name"},
    {"tcti=lib/libtss2-tcti-x.so", "absolute path"},
    {"debug=yes", "\"debug\": takes no value"},
};

BOOST_DATA_TEST_CASE(bad_arguments_name_the_key, data::make(kBad), bad) {
  auto o = Resolve(std::nullopt, {bad.token});
  BOOST_TEST_REQUIRE(!o.ok());
  BOOST_CHECK_MESSAGE(o.error().message.find(bad.fragment) != std::string::npos,
                      o.error().message);
  BOOST_TEST(o.error().message.rfind("module argument: option", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(the_tpm_is_the_kernel_resource_manager_unless_configured) {
  auto o = Resolve(std::nullopt, {});
  BOOST_TEST_REQUIRE(o.ok());
  BOOST_TEST(o->tcti.text == "device:/dev/tpmrm0");
  BOOST_TEST((o->tcti.kind == TctiKind::kDevice));
  // Root's own files may name a TCTI library by path.
  o = Resolve("tcti=/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0:/dev/tpm0\n", {});
  BOOST_TEST_REQUIRE(o.ok());
  BOOST_TEST((o->tcti.kind == TctiKind::kLoader));
  BOOST_TEST(o->tcti.name == "/usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so.0");
  BOOST_TEST(o->tcti.conf == "/dev/tpm0");
}

BOOST_AUTO_TEST_CASE(an_rp_id_must_fit_the_remote_requests_length_byte) {
  const std::string longest = "rp_id=" + std::string(255, 'a');
  const std::string too_long = "rp_id=" + std::string(256, 'a');
  BOOST_TEST(Resolve(std::nullopt, {longest}).ok());
  auto o = Resolve(std::nullopt, {too_long});
  BOOST_TEST_REQUIRE(!o.ok());
  BOOST_TEST(o.error().message.find("longer than 255 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_file_lines_name_file_and_line) {
  auto o = Resolve("debug\n\nfrobnicate=yes\n", {});
  BOOST_TEST_REQUIRE(!o.ok());
  BOOST_TEST(o.error().message ==
             "/etc/tpmauthn/tpmauthn.conf:3: option \"frobnicate\": unknown option");
}

BOOST_AUTO_TEST_CASE(counts_are_said_in_the_right_number) {
  BOOST_TEST(CountOf(0, "try", "tries") == "0 tries");
  BOOST_TEST(CountOf(1, "try", "tries") == "1 try");
  BOOST_TEST(CountOf(2, "try", "tries") == "2 tries");
  BOOST_TEST(CountOf(1, "credential", "credentials") == "1 credential");
}

BOOST_AUTO_TEST_CASE(helper_and_first_pass_options) {
  auto o = Resolve(std::nullopt, {});
  BOOST_TEST_REQUIRE(o.ok());
  BOOST_TEST(!o->helper.has_value());
  BOOST_TEST(!o->try_first_pass);
  BOOST_TEST(!o->use_first_pass);
  o = Resolve("helper=/usr/libexec/x/helper\n", {"try_first_pass", "use_first_pass"});
  BOOST_REQUIRE_MESSAGE(o.ok(), (o.ok() ? std::string() : o.error().message));
  BOOST_TEST(*o->helper == "/usr/libexec/x/helper");
  BOOST_TEST(o->try_first_pass);
  BOOST_TEST(o->use_first_pass);
  auto relative = Resolve(std::nullopt, {"helper=tpmauthn-helper"});
  BOOST_REQUIRE(!relative.ok());
  BOOST_TEST(relative.error().message ==
             "module argument: option \"helper\": must be an absolute path");
  BOOST_TEST(!Resolve(std::nullopt, {"try_first_pass=yes"}).ok());
}

BOOST_AUTO_TEST_CASE(authenticators_in_order_of_preference) {
  using K = AuthenticatorKind;
  auto o = Resolve(std::nullopt, {});
  BOOST_TEST_REQUIRE(o.ok());
  BOOST_TEST((o->authenticators == std::vector<K>{K::kTpm, K::kFido2}));
  o = Resolve("authenticators=tpm\n", {"authenticators=fido2,tpm"});
  BOOST_REQUIRE_MESSAGE(o.ok(), (o.ok() ? std::string() : o.error().message));
  BOOST_TEST((o->authenticators == std::vector<K>{K::kFido2, K::kTpm}));
  o = Resolve(std::nullopt, {"authenticators=fido2"});
  BOOST_TEST_REQUIRE(o.ok());
  BOOST_TEST((o->authenticators == std::vector<K>{K::kFido2}));
  for (std::string_view bad : {"authenticators=", "authenticators=tpm,,fido2", "authenticators=tpm,",
                               "authenticators=remote", "authenticators=TPM"}) {
    auto refused = Resolve(std::nullopt, {bad});
    BOOST_REQUIRE_MESSAGE(!refused.ok(), bad);
    BOOST_TEST(refused.error().message.find("option \"authenticators\"") != std::string::npos);
  }
  auto twice = Resolve(std::nullopt, {"authenticators=tpm,fido2,tpm"});
  BOOST_REQUIRE(!twice.ok());
  BOOST_TEST(twice.error().message ==
             "module argument: option \"authenticators\": names tpm twice");
}

BOOST_AUTO_TEST_CASE(credentials_command_and_its_cache) {
  auto o = Resolve(std::nullopt, {});
  BOOST_TEST_REQUIRE(o.ok());
  BOOST_TEST(o->credentials_command.empty());
  BOOST_TEST(o->credentials_command_user == "nobody");
  BOOST_TEST(o->cache_max_age_seconds == 86400u);
  BOOST_TEST(o->credentials_command_timeout_seconds == 5u);
  // In the file the value runs to the end of the line; a module argument
  // with spaces is one argv element (PAM's [...] syntax).
  o = Resolve("credentials_command=/usr/bin/tpmauthn ldap-credentials  --config /etc/x\n"
              "cache_max_age=0\n",
              {"credentials_command_user=tpmauthn-ldap", "credentials_command_timeout=60"});
  BOOST_REQUIRE_MESSAGE(o.ok(), (o.ok() ? std::string() : o.error().message));
  BOOST_TEST((o->credentials_command ==
              std::vector<std::string>{"/usr/bin/tpmauthn", "ldap-credentials", "--config",
                                       "/etc/x"}));
  BOOST_TEST(o->credentials_command_user == "tpmauthn-ldap");
  BOOST_TEST(o->cache_max_age_seconds == 0u);
  BOOST_TEST(o->credentials_command_timeout_seconds == 60u);
  for (auto [text, seconds] : {std::pair{"cache_max_age=90", 90u}, {"cache_max_age=90s", 90u},
                               {"cache_max_age=15m", 900u}, {"cache_max_age=12h", 43200u},
                               {"cache_max_age=7d", 604800u}, {"cache_max_age=366d", 31622400u}}) {
    auto parsed = Resolve(std::nullopt, {text});
    BOOST_REQUIRE_MESSAGE(parsed.ok(), text);
    BOOST_TEST(parsed->cache_max_age_seconds == seconds);
  }
  for (std::string_view bad : {"credentials_command=tpmauthn ldap-credentials",
                               "credentials_command=", "cache_max_age=367d", "cache_max_age=1w",
                               "cache_max_age=-1", "cache_max_age=d", "credentials_command_user=",
                               "credentials_command_timeout=0", "credentials_command_timeout=61",
                               "credentials_command_timeout=",
                               "credentials_command=/a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"}) {
    auto refused = Resolve(std::nullopt, {bad});
    BOOST_REQUIRE_MESSAGE(!refused.ok(), bad);
    BOOST_TEST(refused.error().message.find("option \"") != std::string::npos);
  }
}
