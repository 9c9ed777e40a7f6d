// ldap.conf for ldap-credentials (ldap_settings.h).
#include "config/ldap_settings.h"

#include <charconv>

#include "config/lines.h"

namespace tpmauthn::config {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string EscapeFilterValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : value) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
      out += '\\';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string ExpandFilter(std::string_view filter, std::string_view user) {
  std::string out;
  for (size_t i = 0; i < filter.size(); ++i) {
    if (filter[i] == '%' && i + 1 < filter.size() && filter[i + 1] == 'u') {
      out += EscapeFilterValue(user);
      ++i;
    } else if (filter[i] == '%' && i + 1 < filter.size() && filter[i + 1] == '%') {
      out += '%';
      ++i;
    } else {
      out += filter[i];
    }
  }
  return out;
}

ConfigResult<LdapSettings> ParseLdapSettings(std::string_view text, const std::string& name) {
  LdapSettings s;
  size_t number = 0;
  bool have_uri = false, have_base = false;
  for (std::string_view line; NextLine(text, line);) {
    ++number;
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = name + ":" + std::to_string(number);
    size_t gap = 0;
    while (gap < line.size() && !IsSpace(line[gap])) ++gap;
    const std::string_view key = line.substr(0, gap);
    const std::string value(Trim(line.substr(gap)));
    auto fail = [&](const std::string& why) {
      return ConfigFail(where + ": " + std::string(key) + ": " + why);
    };
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return fail("control characters");
    }
    auto number_of = [&](unsigned& target) -> ConfigResult<void> {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 300) {
        return fail("must be a number of seconds from 1 to 300");
      }
      target = n;
      return {};
    };
    auto absolute = [&](std::optional<std::string>& target) -> ConfigResult<void> {
      if (value.empty() || value.front() != '/') return fail("must be an absolute path");
      target = value;
      return {};
    };
    if (key == "uri") {
      s.uris.clear();
      for (std::string_view rest = value; !(rest = Trim(rest)).empty();) {
        size_t end = 0;
        while (end < rest.size() && !IsSpace(rest[end])) ++end;
        const std::string uri(rest.substr(0, end));
        if (uri.rfind("ldap://", 0) != 0 && uri.rfind("ldaps://", 0) != 0) {
          return fail("\"" + uri + "\" is not an ldap:// or ldaps:// URI");
        }
        s.uris.push_back(uri);
        rest.remove_prefix(end);
      }
      if (s.uris.empty()) return fail("needs a value");
      have_uri = true;
    } else if (key == "base") {
      if (value.empty()) return fail("needs a value");
      s.base = value;
      have_base = true;
    } else if (key == "filter") {
      if (value.size() < 2 || value.front() != '(' || value.back() != ')' ||
          value.find("%u") == std::string::npos) {
        return fail("must be a parenthesized LDAP filter with %u for the user");
      }
      s.filter = value;
    } else if (key == "user_attribute") {
      if (value.empty()) return fail("needs a value");
      s.user_attribute = value;
    } else if (key == "credential_attribute") {
      if (value.empty()) return fail("needs a value");
      s.credential_attribute = value;
    } else if (key == "passkey_attribute") {
      s.passkey_attribute = value;  // empty: SSSD's values are not read
    } else if (key == "passkey_rp_id") {
      if (value.empty()) return fail("needs a value");
      s.passkey_rp_id = value;
    } else if (key == "passkey_uv") {
      if (value != "pin" && value != "none") return fail("must be pin or none");
      s.passkey_uv = value == "pin";
    } else if (key == "starttls") {
      // Only "yes" (the old default) is kept for files that say so.
      if (value != "yes") {
        return fail("ldap:// always uses StartTLS (the bind password and the credential lines "
                    "must not travel in clear); use ldaps:// or remove this line");
      }
    } else if (key == "ca_file") {
      if (auto ok = absolute(s.ca_file); !ok) return ok.error();
    } else if (key == "bind_dn") {
      if (value.empty()) return fail("needs a value");
      s.bind_dn = value;
    } else if (key == "bind_password_file") {
      if (auto ok = absolute(s.bind_password_file); !ok) return ok.error();
    } else if (key == "network_timeout") {
      if (auto ok = number_of(s.network_timeout_seconds); !ok) return ok.error();
    } else if (key == "search_timeout") {
      if (auto ok = number_of(s.search_timeout_seconds); !ok) return ok.error();
    } else if (key == "timeout") {
      if (auto ok = number_of(s.timeout_seconds); !ok) return ok.error();
    } else {
      return fail("unknown setting");
    }
  }
  if (!have_uri) return ConfigFail(name + ": \"uri\" is required");
  if (!have_base) return ConfigFail(name + ": \"base\" is required");
  if (s.bind_dn.has_value() != s.bind_password_file.has_value()) {
    return ConfigFail(name + ": bind_dn and bind_password_file go together");
  }
  return s;
}

}  // namespace tpmauthn::config
