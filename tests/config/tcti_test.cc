// TCTI configuration strings: who may name what (config/tcti.h).
#define BOOST_TEST_MODULE tcti
#include <boost/test/unit_test.hpp>

#include "config/tcti.h"

using namespace tpmauthn::config;

namespace {

bool Accepted(std::string_view text, TctiSource source) { return ParseTcti(text, source).ok(); }

}  // namespace

BOOST_AUTO_TEST_CASE(built_in_tctis_from_anywhere) {
  for (TctiSource source :
       {TctiSource::kModule, TctiSource::kCommandLine, TctiSource::kEnvironment}) {
    auto device = ParseTcti("device:/dev/tpmrm0", source);
    BOOST_TEST_REQUIRE(device.ok());
    BOOST_TEST((device->kind == TctiKind::kDevice));
    BOOST_TEST(device->conf == "/dev/tpmrm0");
    auto swtpm = ParseTcti("swtpm:path=/tmp/s/sock", source);
    BOOST_TEST_REQUIRE(swtpm.ok());
    BOOST_TEST((swtpm->kind == TctiKind::kSwtpm));
    BOOST_TEST(swtpm->conf == "path=/tmp/s/sock");
    BOOST_TEST(Accepted("mssim:host=127.0.0.1,port=2321", source));
    BOOST_TEST(Accepted("swtpm", source));
  }
}

BOOST_AUTO_TEST_CASE(never_the_default_search) {
  for (TctiSource source :
       {TctiSource::kModule, TctiSource::kCommandLine, TctiSource::kEnvironment}) {
    for (const char* text : {"", ":", ":/dev/tpmrm0"}) {
      auto parsed = ParseTcti(text, source);
      BOOST_TEST_REQUIRE(!parsed.ok());
      BOOST_TEST(parsed.error().message.find("default search") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_library_by_path_only_on_root_s_or_the_user_s_explicit_word) {
  const char* library = "/home/me/evil.so:whatever";
  BOOST_TEST(Accepted(library, TctiSource::kModule));
  BOOST_TEST(Accepted(library, TctiSource::kCommandLine));
  auto from_environment = ParseTcti(library, TctiSource::kEnvironment);
  BOOST_TEST_REQUIRE(!from_environment.ok());
  BOOST_TEST(from_environment.error().message.find("TPMAUTHN_TCTI") != std::string::npos);
  BOOST_TEST(!Accepted("./evil.so", TctiSource::kCommandLine));
  BOOST_TEST(!Accepted("evil/x.so", TctiSource::kModule));
}

BOOST_AUTO_TEST_CASE(the_module_loads_nothing_by_name) {
  for (const char* name : {"tabrmd", "pcap:device:/dev/tpmrm0", "cmd:tpm2_send", "libtpms", "evil"}) {
    BOOST_TEST(!Accepted(name, TctiSource::kModule), name);
    BOOST_TEST(Accepted(name, TctiSource::kCommandLine), name);
  }
}

BOOST_AUTO_TEST_CASE(no_spaces_or_control_characters) {
  BOOST_TEST(!Accepted("device:/dev/tpm rm0", TctiSource::kCommandLine));
  BOOST_TEST(!Accepted("device:/dev/tpmrm0\n", TctiSource::kModule));
}
