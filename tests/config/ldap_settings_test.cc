// /etc/tpmauthn/ldap.conf, RFC 4515 escaping of the user in the filter, and
// directory values (our credential lines, SSSD's passkey values) as lines.
#define BOOST_TEST_MODULE ldap_settings
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <boost/test/unit_test.hpp>

#include "config/directory_entry.h"
#include "config/ldap_settings.h"
#include "config/ldif.h"
#include "webauthn/base64url.h"
#include "webauthn/cose_key.h"
#include "webauthn/openssl_ptr.h"

using namespace tpmauthn;
using namespace tpmauthn::config;

namespace {

const char kMinimal[] = "uri ldaps://ldap.example.com\nbase dc=example,dc=com\n";

std::string StandardBase64(const webauthn::Bytes& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// An SSSD passkey value for a fresh P-256 key; `key` gets its COSE form.
std::string SssdValue(const webauthn::Bytes& id, webauthn::Bytes& cose) {
  webauthn::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key.get(), &der);
  webauthn::Bytes spki(der, der + length);
  OPENSSL_free(der);
  cose = webauthn::CoseKey::FromEvpPkey(key.get())->encoded();
  return "passkey:" + StandardBase64(id) + "," + StandardBase64(spki);
}

}  // namespace

BOOST_AUTO_TEST_CASE(defaults_and_every_key) {
  auto s = ParseLdapSettings(kMinimal, "ldap.conf");
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  BOOST_TEST(s->uris == std::vector<std::string>{"ldaps://ldap.example.com"});
  BOOST_TEST(s->filter == "(&(objectClass=posixAccount)(uid=%u))");
  BOOST_TEST(s->credential_attribute == "tpmauthnCredential");
  BOOST_TEST(s->passkey_attribute == "passkey");
  BOOST_TEST(s->user_attribute == "uid");
  BOOST_TEST(!s->bind_dn.has_value());
  BOOST_TEST(!s->ca_file.has_value());  // the system's bundle
  BOOST_TEST(s->network_timeout_seconds == 3u);
  BOOST_TEST(s->search_timeout_seconds == 3u);
  BOOST_TEST(s->timeout_seconds == 4u);
  s = ParseLdapSettings(
      "# fleet\n"
      "uri ldap://a.example ldap://b.example\n"
      "base ou=people,dc=example,dc=com\n"
      "filter (uid=%u)\n"
      "credential_attribute myCredential\n"
      "passkey_attribute ipaPassKey\n"
      "passkey_rp_id ipa.example\n"
      "passkey_uv none\n"
      "starttls yes\n"
      "user_attribute sAMAccountName\n"
      "ca_file /etc/ssl/ldap-ca.pem\n"
      "bind_dn cn=reader,dc=example,dc=com\n"
      "bind_password_file /etc/tpmauthn/ldap.secret\n"
      "network_timeout 2\n"
      "search_timeout 9\n"
      "timeout 12\n",
      "ldap.conf");
  BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  BOOST_TEST(s->uris.size() == 2u);
  BOOST_TEST(s->filter == "(uid=%u)");
  BOOST_TEST(s->passkey_attribute == "ipaPassKey");
  BOOST_TEST(*s->passkey_rp_id == "ipa.example");
  BOOST_TEST(!s->passkey_uv);
  BOOST_TEST(s->user_attribute == "sAMAccountName");
  BOOST_TEST(*s->ca_file == "/etc/ssl/ldap-ca.pem");
  BOOST_TEST(*s->bind_dn == "cn=reader,dc=example,dc=com");
  BOOST_TEST(s->network_timeout_seconds == 2u);
  BOOST_TEST(s->search_timeout_seconds == 9u);
  BOOST_TEST(s->timeout_seconds == 12u);
}

BOOST_AUTO_TEST_CASE(mistakes_name_file_line_and_key) {
  struct Case {
    std::string text, message;
  };
  const Case cases[] = {
      {"base dc=x\n", "ldap.conf: \"uri\" is required"},
      {"uri ldap://x\n", "ldap.conf: \"base\" is required"},
      {std::string(kMinimal) + "uri http://x\n", "ldap.conf:3: uri: \"http://x\" is not an ldap:// or ldaps:// URI"},
      {std::string(kMinimal) + "filter (uid=alice)\n",
       "ldap.conf:3: filter: must be a parenthesized LDAP filter with %u for the user"},
      // Never in clear: no way to turn StartTLS off.
      {std::string(kMinimal) + "starttls no\n",
       "ldap.conf:3: starttls: ldap:// always uses StartTLS (the bind password and the credential "
       "lines must not travel in clear); use ldaps:// or remove this line"},
      {std::string(kMinimal) + "timeout 0\n",
       "ldap.conf:3: timeout: must be a number of seconds from 1 to 300"},
      {std::string(kMinimal) + "ca_file ca.pem\n", "ldap.conf:3: ca_file: must be an absolute path"},
      {std::string(kMinimal) + "search_timeout 0\n",
       "ldap.conf:3: search_timeout: must be a number of seconds from 1 to 300"},
      {std::string(kMinimal) + "binddn x\n", "ldap.conf:3: binddn: unknown setting"},
      {std::string(kMinimal) + "bind_dn cn=x\n",
       "ldap.conf: bind_dn and bind_password_file go together"},
  };
  for (const Case& c : cases) {
    auto s = ParseLdapSettings(c.text, "ldap.conf");
    BOOST_REQUIRE_MESSAGE(!s.ok(), c.text);
    BOOST_TEST(s.error().message == c.message);
  }
}

BOOST_AUTO_TEST_CASE(the_user_is_escaped_in_the_filter_per_rfc_4515) {
  BOOST_TEST(EscapeFilterValue("alice") == "alice");
  BOOST_TEST(EscapeFilterValue("*)(uid=*") == "\\2a\\29\\28uid=\\2a");
  BOOST_TEST(EscapeFilterValue(std::string("a\\b\0c", 5)) == "a\\5cb\\00c");
  BOOST_TEST(ExpandFilter("(&(objectClass=posixAccount)(uid=%u))", "*") ==
             "(&(objectClass=posixAccount)(uid=\\2a))");
  BOOST_TEST(ExpandFilter("(|(uid=%u)(mail=%u@x))", "bo(b") == "(|(uid=bo\\28b)(mail=bo\\28b@x))");
  BOOST_TEST(ExpandFilter("(cn=100%%)(uid=%u)", "a") == "(cn=100%)(uid=a)");
}

BOOST_AUTO_TEST_CASE(sssd_passkey_values_become_fido2_lines) {
  const webauthn::Bytes id(48, 0xfb);  // "+/v7..." in standard base64, "-_v7..." in base64url
  webauthn::Bytes cose;
  const std::string value = SssdValue(id, cose);
  PasskeyDefaults defaults{std::string("ipa.example"), true, "2026-12-04"};
  auto c = ParseSssdPasskey(value, "bob", defaults);
  BOOST_REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  BOOST_TEST(c->user == "bob");
  BOOST_TEST(c->id == id);
  BOOST_TEST(c->public_key == cose);
  BOOST_TEST((c->kind == AuthenticatorKind::kFido2));
  BOOST_TEST(*c->rp_id == "ipa.example");
  BOOST_TEST(c->require_uv);
  // Without passkey_rp_id, and malformed values: errors that say why.
  auto no_rp = ParseSssdPasskey(value, "bob", PasskeyDefaults{std::nullopt, true, "2026-12-04"});
  BOOST_REQUIRE(!no_rp.ok());
  BOOST_TEST(no_rp.error().message.find("passkey_rp_id") != std::string::npos);
  for (const std::string& bad :
       {std::string("passkey:"), std::string("passkey:AAAA"), value.substr(8),
        std::string("passkey:AAAA,AAAA"), value + ",x",
        "passkey:" + webauthn::Base64UrlEncode(id) + value.substr(value.find(','))}) {
    BOOST_TEST_MESSAGE(bad);
    BOOST_TEST(!ParseSssdPasskey(bad, "bob", defaults).ok());
  }
}

BOOST_AUTO_TEST_CASE(directory_lines_must_be_the_users_own) {
  Credential c;
  c.user = "alice";
  c.id = webauthn::Bytes(16, 7);
  webauthn::Bytes cose;
  (void)SssdValue(c.id, cose);
  c.public_key = cose;
  c.kind = AuthenticatorKind::kFido2;
  c.rp_id = "ssh.example";
  c.created = "2026-12-04";
  c.label = "YubiKey";
  DirectoryValues values;
  values.credential_lines = {FormatCredentialLine(c)};
  PasskeyDefaults defaults{std::nullopt, true, "2026-12-04"};
  auto mine = CredentialsFromDirectory(values, "alice", defaults);
  BOOST_REQUIRE_MESSAGE(mine.ok(), (mine.ok() ? "" : mine.error().message));
  BOOST_TEST(mine->size() == 1u);
  BOOST_TEST(mine->front().label == "YubiKey");
  auto other = CredentialsFromDirectory(values, "mallory", defaults);
  BOOST_REQUIRE(!other.ok());
  BOOST_TEST(other.error().message == "credential value 1 is for alice, not mallory");
  values.credential_lines = {"alice garbage"};
  auto bad = CredentialsFromDirectory(values, "alice", defaults);
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.error().message.rfind("credential value 1: ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(ldif_changes_for_ldapmodify) {
  BOOST_TEST(LdifModify("uid=alice,ou=people,dc=example,dc=com", true, "tpmauthnCredential",
                        "alice AAAA es256 KEY fido2 uv=pin 2026-12-04 YubiKey") ==
             "dn: uid=alice,ou=people,dc=example,dc=com\n"
             "changetype: modify\n"
             "add: tpmauthnCredential\n"
             "tpmauthnCredential: alice AAAA es256 KEY fido2 uv=pin 2026-12-04 YubiKey\n"
             "-\n\n");
  // A label that is not ASCII goes base64 (RFC 2849 SAFE-STRING).
  BOOST_TEST(LdifModify("uid=jo,dc=x", false, "tpmauthnCredential", "jo A es256 K fido2 - 2026-12-04 Jörg") ==
             "dn: uid=jo,dc=x\n"
             "changetype: modify\n"
             "delete: tpmauthnCredential\n"
             "tpmauthnCredential:: am8gQSBlczI1NiBLIGZpZG8yIC0gMjAyNi0xMi0wNCBKw7ZyZw==\n"
             "-\n\n");
}
