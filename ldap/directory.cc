// libldap lookups for ldap-credentials (directory.h).
#include "ldap/directory.h"

#include <ldap.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

#include <cstdlib>
#include <memory>

namespace tpmauthn::ldap {
namespace {

struct LdapDeleter {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using Connection = std::unique_ptr<LDAP, LdapDeleter>;

struct MessageDeleter {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using Message = std::unique_ptr<LDAPMessage, MessageDeleter>;

bool Unreachable(int rc) {
  return rc == LDAP_SERVER_DOWN || rc == LDAP_TIMEOUT || rc == LDAP_CONNECT_ERROR ||
         rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

LookupFailure Failure(int rc, const std::string& what) {
  return LookupFailure{Unreachable(rc), what + ": " + ldap_err2string(rc)};
}

// Whether something accepts TCP connections at `uri`'s host and port within
// `timeout_ms`.
bool TcpReachable(const std::string& uri, int timeout_ms) {
  LDAPURLDesc* url = nullptr;
  if (ldap_url_parse(uri.c_str(), &url) != LDAP_URL_SUCCESS) return false;
  const std::string host = url->lud_host && *url->lud_host ? url->lud_host : "localhost";
  const int port = url->lud_port ? url->lud_port
                                 : (std::string(url->lud_scheme ? url->lud_scheme : "") == "ldaps"
                                        ? 636
                                        : 389);
  ldap_free_urldesc(url);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
    return false;
  }
  bool reached = false;
  for (addrinfo* a = found; a && !reached; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      reached = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof(error);
      reached = ::poll(&p, 1, timeout_ms) == 1 &&
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return reached;
}

// libldap says "Can't contact LDAP server" also when an ldaps:// handshake
// fails on the certificate. A server that accepts the connection but whose
// certificate we refuse is not "unreachable": the cache must not stand in for
// a spoofed or broken server.
LookupFailure ConnectFailure(int rc, const std::string& uri, const std::string& what,
                             int timeout_ms) {
  LookupFailure f = Failure(rc, uri + ": " + what);
  if (f.unreachable && uri.rfind("ldaps://", 0) == 0 && TcpReachable(uri, timeout_ms)) {
    f.unreachable = false;
    f.message += " (the server accepts connections: TLS failed; is ca_file right?)";
  }
  return f;
}

std::vector<std::string> Values(LDAP* ld, LDAPMessage* entry, const std::string& attribute) {
  std::vector<std::string> out;
  if (attribute.empty()) return out;
  berval** values = ldap_get_values_len(ld, entry, attribute.c_str());
  if (!values) return out;
  for (berval** v = values; *v; ++v) out.emplace_back((*v)->bv_val, (*v)->bv_len);
  ldap_value_free_len(values);
  return out;
}

// One URI: connect, TLS, bind.
webauthn::Result<Connection, LookupFailure> Connect(
    const config::LdapSettings& s, const std::string& uri,
    const std::optional<webauthn::SecretBytes>& password) {
  LDAP* raw = nullptr;
  if (int rc = ldap_initialize(&raw, uri.c_str()); rc != LDAP_SUCCESS) {
    return Failure(rc, uri);
  }
  Connection ld(raw);
  const int version = LDAP_VERSION3;
  timeval network{static_cast<time_t>(s.network_timeout_seconds), 0};
  timeval search{static_cast<time_t>(s.search_timeout_seconds), 0};
  const int hard = LDAP_OPT_X_TLS_HARD;
  ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &network);
  ldap_set_option(ld.get(), LDAP_OPT_TIMEOUT, &search);
  ldap_set_option(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
  ldap_set_option(ld.get(), LDAP_OPT_X_TLS_REQUIRE_CERT, &hard);
  if (s.ca_file) ldap_set_option(ld.get(), LDAP_OPT_X_TLS_CACERTFILE, s.ca_file->c_str());
  const int new_context = 0;
  ldap_set_option(ld.get(), LDAP_OPT_X_TLS_NEWCTX, &new_context);
  if (uri.rfind("ldap://", 0) == 0 && s.starttls) {
    if (int rc = ldap_start_tls_s(ld.get(), nullptr, nullptr); rc != LDAP_SUCCESS) {
      // A server that is up but whose certificate fails is not "unreachable".
      LookupFailure f = Failure(rc, uri + ": StartTLS");
      if (rc != LDAP_SERVER_DOWN && rc != LDAP_TIMEOUT) f.unreachable = false;
      return f;
    }
  }
  berval credential{0, nullptr};
  std::string dn;
  if (s.bind_dn && password) {
    dn = *s.bind_dn;
    credential.bv_val = reinterpret_cast<char*>(const_cast<uint8_t*>(password->bytes().data()));
    credential.bv_len = password->size();
  }
  if (int rc = ldap_sasl_bind_s(ld.get(), dn.empty() ? nullptr : dn.c_str(), LDAP_SASL_SIMPLE,
                                &credential, nullptr, nullptr, nullptr);
      rc != LDAP_SUCCESS) {
    return ConnectFailure(rc, uri, "bind" + (dn.empty() ? " (anonymous)" : " as " + dn),
                          static_cast<int>(s.network_timeout_seconds) * 1000);
  }
  return ld;
}

}  // namespace

webauthn::Result<config::DirectoryValues, LookupFailure> LookUpUser(
    const config::LdapSettings& s, const std::string& user,
    const std::optional<webauthn::SecretBytes>& password) {
  // libldap would otherwise read /etc/ldap/ldap.conf, ~/.ldaprc and LDAP*
  // variables: settings that are not ours.
  ::setenv("LDAPNOINIT", "1", 1);
  std::optional<Connection> ld;
  LookupFailure last{true, "no uri"};
  for (const std::string& uri : s.uris) {
    auto connected = Connect(s, uri, password);
    if (connected) {
      ld = std::move(*connected);
      break;
    }
    last = connected.error();
    if (!last.unreachable) return last;  // a server said no: do not ask the next
  }
  if (!ld) return last;

  const std::string filter = config::ExpandFilter(s.filter, user);
  std::vector<char*> attributes;
  std::string credential = s.credential_attribute, passkey = s.passkey_attribute;
  attributes.push_back(credential.data());
  if (!passkey.empty()) attributes.push_back(passkey.data());
  attributes.push_back(nullptr);
  timeval search{static_cast<time_t>(s.search_timeout_seconds), 0};
  LDAPMessage* raw = nullptr;
  int rc = ldap_search_ext_s(ld->get(), s.base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                             attributes.data(), 0, nullptr, nullptr, &search, 2, &raw);
  Message result(raw);
  if (rc == LDAP_SIZELIMIT_EXCEEDED || (rc == LDAP_SUCCESS && ldap_count_entries(ld->get(), raw) > 1)) {
    return LookupFailure{false, "the filter " + filter + " matches more than one entry"};
  }
  if (rc == LDAP_NO_SUCH_OBJECT) return LookupFailure{false, "base " + s.base + " does not exist"};
  if (rc != LDAP_SUCCESS) return Failure(rc, "search " + filter);
  config::DirectoryValues values;
  if (LDAPMessage* entry = ldap_first_entry(ld->get(), raw)) {
    values.credential_lines = Values(ld->get(), entry, s.credential_attribute);
    values.passkeys = Values(ld->get(), entry, s.passkey_attribute);
  }
  return values;
}

}  // namespace tpmauthn::ldap
