// libldap lookups for ldap-credentials (directory.h).
#include "ldap/directory.h"

#include <ldap.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
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

// The whole lookup's time: every server tried, each step bounded by what is
// left, so that the module's credentials_command_timeout is never what ends
// it (then the cache could not stand in).
class Budget {
 public:
  explicit Budget(unsigned seconds)
      : end_(std::chrono::steady_clock::now() + std::chrono::seconds(seconds)) {}
  // What is left, at most `cap_seconds`, in milliseconds (0: spent).
  int LeftMs(unsigned cap_seconds) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end_ - std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, int64_t{cap_seconds} * 1000));
  }

 private:
  std::chrono::steady_clock::time_point end_;
};

timeval Timeval(int ms) { return timeval{ms / 1000, static_cast<suseconds_t>(ms % 1000) * 1000}; }

// One URI: connect, TLS, bind.
webauthn::Result<Connection, LookupFailure> Connect(
    const config::LdapSettings& s, const std::string& uri,
    const std::optional<webauthn::SecretBytes>& password, const Budget& budget) {
  LDAP* raw = nullptr;
  if (int rc = ldap_initialize(&raw, uri.c_str()); rc != LDAP_SUCCESS) {
    return Failure(rc, uri);
  }
  Connection ld(raw);
  const int version = LDAP_VERSION3;
  timeval network = Timeval(budget.LeftMs(s.network_timeout_seconds));
  timeval search = Timeval(budget.LeftMs(s.search_timeout_seconds));
  const int hard = LDAP_OPT_X_TLS_HARD;
  const std::string ca_file = s.ca_file.value_or(config::kSystemCaBundle);
  const int new_context = 0;
  // Every option must take: a TLS setting that silently failed would leave
  // libldap's defaults (another trust store, or none) in charge.
  const struct {
    int option;
    const void* value;
    const char* name;
  } options[] = {
      {LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version 3"},
      {LDAP_OPT_NETWORK_TIMEOUT, &network, "network_timeout"},
      {LDAP_OPT_TIMEOUT, &search, "search_timeout"},
      {LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "no referrals"},
      {LDAP_OPT_X_TLS_REQUIRE_CERT, &hard, "TLS certificate checking"},
      {LDAP_OPT_X_TLS_CACERTFILE, ca_file.c_str(), "ca_file"},
      {LDAP_OPT_X_TLS_NEWCTX, &new_context, "TLS context (is ca_file readable?)"},
  };
  for (const auto& o : options) {
    if (int rc = ldap_set_option(ld.get(), o.option, o.value); rc != LDAP_OPT_SUCCESS) {
      return LookupFailure{false, uri + ": cannot set " + o.name + " (" + ca_file + ")"};
    }
  }
  if (uri.rfind("ldap://", 0) == 0) {
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
                          budget.LeftMs(s.network_timeout_seconds));
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
  const Budget budget(s.timeout_seconds);
  std::optional<Connection> ld;
  LookupFailure last{true, "no uri"};
  for (const std::string& uri : s.uris) {
    if (budget.LeftMs(1) == 0) {
      last.message += "; no time left for " + uri + " (timeout " +
                      std::to_string(s.timeout_seconds) + " s)";
      break;
    }
    auto connected = Connect(s, uri, password, budget);
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
  std::string credential = s.credential_attribute, passkey = s.passkey_attribute,
              naming = s.user_attribute;
  attributes.push_back(credential.data());
  if (!passkey.empty()) attributes.push_back(passkey.data());
  attributes.push_back(naming.data());
  attributes.push_back(nullptr);
  const int search_ms = budget.LeftMs(s.search_timeout_seconds);
  if (search_ms == 0) {
    return LookupFailure{true, "no time left for the search (timeout " +
                                   std::to_string(s.timeout_seconds) + " s)"};
  }
  timeval search = Timeval(search_ms);
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
  LDAPMessage* entry = ldap_first_entry(ld->get(), raw);
  if (!entry) return values;
  // The filter matched, but LDAP compares uid without regard to case (and an
  // admin's filter may match more loosely still): the entry is this user's
  // only if it names the user exactly. SSSD's passkey values carry no name.
  const std::vector<std::string> names = Values(ld->get(), entry, s.user_attribute);
  if (std::find(names.begin(), names.end(), user) == names.end()) {
    values.not_this_user = true;
    return values;
  }
  values.credential_lines = Values(ld->get(), entry, s.credential_attribute);
  values.passkeys = Values(ld->get(), entry, s.passkey_attribute);
  return values;
}

}  // namespace tpmauthn::ldap
