// libFuzzer harness: /etc/tpmauthn/ldap.conf text, the filter expansion, and
// directory values (credential lines, SSSD passkey values), split on newlines.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/directory_entry.h"
#include "config/ldap_settings.h"
#include "config/ldif.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::config;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto settings = ParseLdapSettings(text, "fuzz.conf")) {
    (void)ExpandFilter(settings->filter, text);
  }
  DirectoryValues values;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string value = text.substr(pos, end - pos);
    (value.rfind("passkey:", 0) == 0 ? values.passkeys : values.credential_lines).push_back(value);
    (void)LdifModify(value, true, "tpmauthnCredential", value);
    pos = end + 1;
  }
  (void)CredentialsFromDirectory(values, "alice", PasskeyDefaults{std::string("ipa.test"), true,
                                                                  "2026-12-04"});
  return 0;
}
