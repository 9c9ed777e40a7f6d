// LDIF change records (RFC 2849) for publishing credentials to a directory:
// `tpmauthn add ... --ldif` and `tpmauthn remove ... --ldif` print one, for
// ldapmodify(1). Values that are not SAFE-STRINGs (non-ASCII labels, a
// leading space, ':' or '<') are written base64 ("attr:: ...").
#pragma once

#include <string>
#include <string_view>

namespace tpmauthn::config {

// "dn: DN\nchangetype: modify\nadd|delete: ATTRIBUTE\nATTRIBUTE: VALUE\n-\n\n"
std::string LdifModify(std::string_view dn, bool add, std::string_view attribute,
                       std::string_view value);

}  // namespace tpmauthn::config
