// `tpmauthn verify [FILE|-]`: checks a WebAuthn response against a verification
// document and prints a one-line JSON verdict.
#pragma once

#include <iosfwd>
#include <string>

namespace tpmauthn::cli {

// Reads the document from `path` ("-" = stdin), writes the verdict line to `out`
// and returns 0 verified, 1 rejected, 2 malformed document. Errors about the
// document also go to `err` as "tpmauthn: verify: <why>".
int RunVerify(const std::string& path, std::ostream& out, std::ostream& err);

// The same on a document already in memory.
int VerifyDocument(const std::string& text, std::ostream& out, std::ostream& err);

}  // namespace tpmauthn::cli
