// Directory values as credential lines (directory_entry.h).
#include "config/directory_entry.h"

#include <openssl/x509.h>

#include "webauthn/base64url.h"
#include "webauthn/cose_key.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::config {

ConfigResult<Credential> ParseSssdPasskey(std::string_view value, const std::string& user,
                                          const PasskeyDefaults& passkeys) {
  constexpr std::string_view kPrefix = "passkey:";
  if (value.substr(0, kPrefix.size()) != kPrefix) {
    return ConfigFail("not of the form passkey:<credential id>,<public key>");
  }
  value.remove_prefix(kPrefix.size());
  const size_t comma = value.find(',');
  if (comma == std::string_view::npos || value.find(',', comma + 1) != std::string_view::npos) {
    return ConfigFail("not of the form passkey:<credential id>,<public key>");
  }
  auto id = webauthn::Base64Decode(value.substr(0, comma));
  if (!id || id->empty() || id->size() > 1023) return ConfigFail("the credential id is not base64");
  auto der = webauthn::Base64Decode(value.substr(comma + 1));
  if (!der) return ConfigFail("the public key is not base64");
  const unsigned char* p = der->data();
  webauthn::EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size())));
  if (!key || p != der->data() + der->size()) {
    return ConfigFail("the public key is not a DER SubjectPublicKeyInfo");
  }
  auto cose = webauthn::CoseKey::FromEvpPkey(key.get());
  if (!cose) return ConfigFail("the public key: " + cose.error().message);
  if (!passkeys.rp_id) {
    return ConfigFail("SSSD passkey values carry no RP ID: set passkey_rp_id in ldap.conf");
  }
  Credential c;
  c.user = user;
  c.id = std::move(*id);
  c.algorithm = cose->algorithm();
  c.public_key = cose->encoded();
  c.kind = AuthenticatorKind::kFido2;
  c.require_uv = passkeys.require_uv;
  c.rp_id = *passkeys.rp_id;
  c.created = passkeys.created;
  c.label = "SSSD passkey";
  // Through the line grammar, so the same limits and checks apply.
  return ParseCredentialLine(FormatCredentialLine(c));
}

ConfigResult<std::vector<Credential>> CredentialsFromDirectory(const DirectoryValues& values,
                                                               const std::string& user,
                                                               const PasskeyDefaults& passkeys) {
  std::vector<Credential> out;
  size_t n = 0;
  for (const std::string& line : values.credential_lines) {
    ++n;
    auto c = ParseCredentialLine(line);
    if (!c) {
      return ConfigFail("credential value " + std::to_string(n) + ": " + c.error().message);
    }
    if (c->user != user) {
      return ConfigFail("credential value " + std::to_string(n) + " is for " + c->user +
                        ", not " + user);
    }
    out.push_back(std::move(*c));
  }
  n = 0;
  for (const std::string& value : values.passkeys) {
    ++n;
    auto c = ParseSssdPasskey(value, user, passkeys);
    if (!c) return ConfigFail("passkey value " + std::to_string(n) + ": " + c.error().message);
    out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace tpmauthn::config
