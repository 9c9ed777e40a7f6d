// LDIF change records (ldif.h).
#include "config/ldif.h"

#include <openssl/evp.h>

#include <vector>

namespace tpmauthn::config {
namespace {

// RFC 2849 SAFE-STRING: no NUL, LF or CR, all ASCII, and not starting with
// a space, ':' or '<'; nor ending with a space (stripped by some readers).
bool Safe(std::string_view v) {
  if (v.empty()) return true;
  if (v.front() == ' ' || v.front() == ':' || v.front() == '<' || v.back() == ' ') return false;
  for (char c : v) {
    const auto b = static_cast<unsigned char>(c);
    if (b == 0 || b == '\n' || b == '\r' || b > 0x7f) return false;
  }
  return true;
}

std::string Base64(std::string_view v) {
  std::vector<unsigned char> out(4 * ((v.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), reinterpret_cast<const unsigned char*>(v.data()),
                                static_cast<int>(v.size()));
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
}

std::string Line(std::string_view attribute, std::string_view value) {
  return Safe(value) ? std::string(attribute) + ": " + std::string(value) + "\n"
                     : std::string(attribute) + ":: " + Base64(value) + "\n";
}

}  // namespace

std::string LdifModify(std::string_view dn, bool add, std::string_view attribute,
                       std::string_view value) {
  return Line("dn", dn) + "changetype: modify\n" + (add ? "add: " : "delete: ") +
         std::string(attribute) + "\n" + Line(attribute, value) + "-\n\n";
}

}  // namespace tpmauthn::config
