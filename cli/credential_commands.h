// tpmauthn list / remove / add / import-u2f: the credentials-file commands.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace tpmauthn::cli {

struct CredentialFileArgs {
  std::string path;  // --credentials (default /etc/tpmauthn/credentials)
};

int RunList(const CredentialFileArgs& file, const std::optional<std::string>& user, bool json,
            std::ostream& out, std::ostream& err);

int RunRemove(const CredentialFileArgs& file, const std::string& user,
              const std::string& credential_id, std::ostream& out, std::ostream& err);

struct AddArgs {
  std::string user;
  std::string response_path;            // RegistrationResponseJSON file or "-"
  std::optional<std::string> rp_id;     // default: the origin
  std::optional<std::string> origin;    // default: pam://<hostname>
  std::optional<std::string> challenge; // base64url, if this host issued it
  std::string kind = "remote";          // tpm | fido2 | remote
  std::string uv = "pin";               // pin | none
  std::string label;
  bool ldif = false;  // print the LDIF change for DN instead of adding the line
  std::string dn;
  std::string attribute = "tpmauthnCredential";
  std::string require_attestation = "none";  // none | self | tpm
  std::optional<std::string> trust_anchors;  // DIR of attestation roots (tpm: required)
};
int RunAdd(const CredentialFileArgs& file, const AddArgs& args, std::ostream& out,
           std::ostream& err);

struct ImportArgs {
  std::string authfile;
  std::optional<std::string> rp_id;
  std::optional<std::string> origin;
  std::optional<std::string> user;  // --user: only this user's lines
  bool dry_run = false;
};
// A pam-u2f authfile owned by root may hold anyone's lines; one owned by a
// user (pam-u2f's ~/.config/Yubico/u2f_keys, read by pam-u2f only for its
// owner) yields only that user's: a line for anyone else is refused by name
// and nothing is written. Symlinks and group- or world-writable files are
// refused; from standard input, --user is required.
int RunImportU2f(const CredentialFileArgs& file, const ImportArgs& args, std::ostream& out,
                 std::ostream& err);

}  // namespace tpmauthn::cli
