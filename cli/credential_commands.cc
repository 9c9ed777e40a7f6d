// Credentials-file commands over config/.
#include "cli/credential_commands.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/command_util.h"
#include "cli/exit_codes.h"
#include "cli/ldap_commands.h"
#include "config/attestation_policy.h"
#include "config/ldap_settings.h"
#include "config/ldif.h"
#include "cli/tpm_commands.h"
#include "cli/verb.h"
#include "config/credential_file.h"
#include "config/credential_writer.h"
#include "config/options.h"
#include "config/pam_u2f_import.h"
#include "config/plural.h"
#include "config/safe_file.h"
#include "webauthn/base64url.h"
#include "webauthn/registration_verifier.h"
#include "webauthn/response_json.h"

namespace tpmauthn::cli {
namespace {

namespace wa = tpmauthn::webauthn;
using config::Credential;

config::FileRules Rules() {
  // Root's files, or the invoking user's own (for --credentials in a home dir).
  return config::FileRules{{0, ::geteuid()}, false};
}

int Fail(std::ostream& err, const std::string& what, const std::string& why, int code) {
  err << "tpmauthn: " << what << ": " << why << "\n";
  return code;
}

}  // namespace

int RunList(const CredentialFileArgs& file, const std::optional<std::string>& user, bool json,
            std::ostream& out, std::ostream& err) {
  auto opened = config::OpenChecked(file.path, Rules());
  if (!opened) return Fail(err, "list", opened.error().message, kExitUsage);
  std::vector<Credential> credentials;
  if (opened->status == config::OpenStatus::kOpened) {
    auto read = config::ReadCredentials(opened->fd.get(), file.path, user);
    if (!read) return Fail(err, "list", read.error().message, kExitUsage);
    credentials = std::move(*read);
  }
  if (json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const Credential& c : credentials) {
      list.push_back({{"user", c.user},
                      {"credentialId", c.id.empty() ? "*" : wa::Base64UrlEncode(c.id)},
                      {"algorithm", wa::ToString(c.algorithm)},
                      {"kind", config::ToString(c.kind)},
                      {"uv", c.require_uv ? "pin" : "none"},
                      {"rpId", c.rp_id ? nlohmann::ordered_json(*c.rp_id) : nullptr},
                      {"origin", c.origin ? nlohmann::ordered_json(*c.origin) : nullptr},
                      {"created", c.created},
                      {"label", c.label}});
    }
    out << list.dump() << "\n";
    return kExitOk;
  }
  for (const Credential& c : credentials) {
    out << c.user << "  " << (c.id.empty() ? "*" : wa::Base64UrlEncode(c.id)) << "  "
        << wa::ToString(c.algorithm) << "  " << config::ToString(c.kind) << "  "
        << (c.require_uv ? "uv=pin" : "uv=none") << "  " << c.created;
    if (!c.label.empty()) out << "  " << c.label;
    out << "\n";
  }
  return kExitOk;
}

int RunRemove(const CredentialFileArgs& file, const std::string& user,
              const std::string& credential_id, std::ostream& out, std::ostream& err) {
  auto removed = config::RemoveCredential(file.path, user, credential_id, Rules());
  if (!removed) return Fail(err, "remove", removed.error().message, kExitRejected);
  out << "removed " << config::CountOf(*removed, "credential", "credentials") << " of " << user
      << " from " << file.path << "\n";
  return kExitOk;
}

namespace {

// "attca: TPM id:49424D00 swtpm, chain trusted", "self", "basic, not checked
// against any trust anchor".
std::string AttestationSummary(const wa::VerifiedRegistration& v) {
  std::string out(wa::ToString(v.attestation_type));
  if (v.tpm_device) out += ": TPM " + v.tpm_device->manufacturer + " " + v.tpm_device->model;
  if (v.attestation_type == wa::AttestationType::kBasic ||
      v.attestation_type == wa::AttestationType::kAttCa) {
    out += v.attestation_trusted                     ? ", chain trusted"
           : v.attestation_untrusted_because.empty() ? ", not checked against any trust anchor"
                                                     : ", chain NOT trusted";
  }
  return out;
}

}  // namespace

int RunAdd(const CredentialFileArgs& file, const AddArgs& args, std::ostream& out,
           std::ostream& err) {
  if (args.kind != "tpm" && args.kind != "fido2" && args.kind != "remote") {
    return Fail(err, "add", "--kind must be tpm, fido2 or remote", kExitUsage);
  }
  if (args.uv != "pin" && args.uv != "none") {
    return Fail(err, "add", "--uv must be pin or none", kExitUsage);
  }
  if (args.ldif && args.dn.empty()) {
    return Fail(err, "add", "--ldif needs --dn (the user's entry)", kExitUsage);
  }
  const auto requirement = config::ParseAttestationRequirement(args.require_attestation);
  if (!requirement) {
    return Fail(err, "add", "--require-attestation must be none, self or tpm", kExitUsage);
  }
  if (*requirement == config::AttestationRequirement::kTpm && !args.trust_anchors) {
    return Fail(err, "add",
                "--require-attestation tpm needs --trust-anchors DIR (the attestation CA's root)",
                kExitUsage);
  }
  std::vector<wa::Bytes> anchors;
  if (args.trust_anchors) {
    auto loaded = config::LoadTrustAnchors(*args.trust_anchors);
    if (!loaded) return Fail(err, "add", "--trust-anchors: " + loaded.error().message, kExitUsage);
    anchors = std::move(*loaded);
  }
  std::string error;
  auto text = ReadInput(args.response_path, error);
  if (!text) return Fail(err, "add", error, kExitUsage);
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded()) return Fail(err, "add", "registration is not valid JSON", kExitUsage);
  auto response = wa::ParseRegistrationResponseJson(json);
  if (!response) return Fail(err, "add", response.error().message, kExitRejected);

  wa::RegistrationExpectations expected;
  const std::string origin = args.origin.value_or(config::DefaultOrigin());
  const std::string rp_id = args.rp_id.value_or(origin);
  expected.origins = {origin};
  expected.rp_ids = {rp_id};
  expected.require_user_verification = args.uv == "pin";
  expected.attestation_trust.anchors = std::move(anchors);
  if (args.challenge) {
    auto challenge = wa::Base64UrlDecode(*args.challenge);
    if (!challenge) return Fail(err, "add", "--challenge: " + challenge.error().message, kExitUsage);
    expected.challenge = std::move(*challenge);
  } else {
    // This host did not issue the challenge, so freshness cannot be checked;
    // everything else in §7.1 is.
    auto client_data = wa::CollectedClientData::Parse(response->client_data_json);
    if (!client_data) return Fail(err, "add", client_data.error().message, kExitRejected);
    auto challenge = wa::Base64UrlDecode(client_data->challenge);
    if (!challenge) return Fail(err, "add", "challenge is not base64url", kExitRejected);
    expected.challenge = std::move(*challenge);
  }
  auto verified = wa::VerifyRegistration(*response, expected);
  if (!verified) {
    return Fail(err, "add",
                "registration rejected (" + std::string(wa::ToString(verified.error().check)) +
                    "): " + verified.error().message,
                kExitRejected);
  }
  if (auto shortfall = config::AttestationShortfall(*verified, *requirement)) {
    return Fail(err, "add",
                "registration rejected (attestation, --require-attestation " +
                    args.require_attestation + "): " + *shortfall,
                kExitRejected);
  }
  Credential c;
  c.user = args.user;
  c.id = verified->credential_id;
  c.algorithm = verified->public_key.algorithm();
  c.public_key = verified->public_key.encoded();
  c.kind = args.kind == "tpm"     ? config::AuthenticatorKind::kTpm
           : args.kind == "fido2" ? config::AuthenticatorKind::kFido2
                                  : config::AuthenticatorKind::kRemote;
  c.require_uv = args.uv == "pin";
  c.rp_id = rp_id;
  c.origin = origin;
  c.created = config::TodayUtc();
  c.label = args.label;
  if (args.ldif) {
    out << config::LdifModify(args.dn, true, args.attribute, config::FormatCredentialLine(c));
    return kExitOk;
  }
  if (auto ok = config::AppendCredentials(file.path, {c}, Rules()); !ok) {
    return Fail(err, "add", ok.error().message, kExitRejected);
  }
  out << "added credential " << wa::Base64UrlEncode(c.id) << " for " << c.user << " to "
      << file.path << " (attestation: " << AttestationSummary(*verified) << ")\n";
  return kExitOk;
}

namespace {

// The authfile's text and, for a file, its owner's user name (nullopt: root,
// or standard input).
struct Authfile {
  std::string text;
  std::optional<std::string> owner;
  bool from_stdin = false;
};

webauthn::Result<Authfile, std::string> ReadAuthfile(const std::string& path) {
  Authfile file;
  std::string error;
  if (path == "-") {
    auto text = ReadInput(path, error);
    if (!text) return error;
    file.text = std::move(*text);
    file.from_stdin = true;
    return file;
  }
  config::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    return errno == ELOOP ? path + ": is a symbolic link (refused)"
                          : path + ": cannot open: " + config::ErrnoMessage(errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return path + ": not a regular file";
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return path + ": group- or world-writable (anyone in them could have written its lines)";
  }
  if (st.st_uid != 0) {
    struct passwd* pw = ::getpwuid(st.st_uid);
    if (!pw) return path + ": owned by uid " + std::to_string(st.st_uid) + ", who has no passwd entry";
    file.owner = pw->pw_name;
  }
  auto text = config::ReadAll(fd.get(), path, 16 * 1024 * 1024);
  if (!text) return text.error().message;
  file.text = std::move(*text);
  return file;
}

}  // namespace

int RunImportU2f(const CredentialFileArgs& file, const ImportArgs& args, std::ostream& out,
                 std::ostream& err) {
  auto authfile = ReadAuthfile(args.authfile);
  if (!authfile) return Fail(err, "import-u2f", authfile.error(), kExitUsage);
  if (authfile->from_stdin && !args.user) {
    return Fail(err, "import-u2f",
                "from standard input, say whose lines to import with --user USER", kExitUsage);
  }
  if (authfile->owner && args.user && *args.user != *authfile->owner) {
    return Fail(err, "import-u2f",
                args.authfile + " is " + *authfile->owner + "'s; it cannot enroll " + *args.user,
                kExitRejected);
  }
  const std::optional<std::string> only = args.user ? args.user : authfile->owner;
  const bool ssh_format = config::IsSshFormatAuthfile(authfile->text);
  if (ssh_format && !args.user) {
    return Fail(err, "import-u2f",
                args.authfile + " is an SSH-format authfile, which names no user: say whose it "
                                "is with --user USER",
                kExitUsage);
  }
  config::ImportSettings settings;
  // pam-u2f's default origin: pam://HOSTNAME, or "ssh:" with sshformat.
  settings.origin = args.origin.value_or(ssh_format ? config::kPamU2fSshOrigin
                                                    : config::DefaultOrigin());
  settings.rp_id = args.rp_id.value_or(settings.origin);
  settings.created = config::TodayUtc();
  auto parsed = ssh_format
                    ? config::ParsePamU2fSshKey(authfile->text, args.authfile, *args.user, settings)
                    : config::ParsePamU2fAuthfile(authfile->text, args.authfile, settings);
  if (!parsed) return Fail(err, "import-u2f", parsed.error().message, kExitUsage);
  std::vector<Credential>* credentials = &parsed->credentials;
  if (only) {
    std::vector<std::string> others;
    std::vector<Credential> kept;
    for (Credential& c : *credentials) {
      if (c.user == *only) {
        kept.push_back(std::move(c));
      } else if (std::find(others.begin(), others.end(), c.user) == others.end()) {
        others.push_back(c.user);
      }
    }
    if (authfile->owner && !others.empty()) {
      std::string names;
      for (const std::string& name : others) names += (names.empty() ? "" : ", ") + name;
      return Fail(err, "import-u2f",
                  args.authfile + " belongs to " + *authfile->owner +
                      " but has lines for " + names + "; refused, nothing written",
                  kExitRejected);
    }
    *credentials = std::move(kept);
  }
  // What pam-u2f would not use, and users with nothing to import.
  for (const std::string& note : parsed->notes) err << "tpmauthn: import-u2f: " << note << "\n";
  if (args.dry_run) {
    for (const Credential& c : *credentials) out << config::FormatCredentialLine(c) << "\n";
    return kExitOk;
  }
  if (auto ok = config::AppendCredentials(file.path, *credentials, Rules()); !ok) {
    return Fail(err, "import-u2f", ok.error().message, kExitRejected);
  }
  out << "imported " << config::CountOf(credentials->size(), "credential", "credentials")
      << " into " << file.path << "\n";
  return kExitOk;
}

Verb RegisterList(CLI::App& app) {
  auto user = std::make_shared<std::optional<std::string>>();
  auto json = std::make_shared<bool>(false);
  CLI::App* c = app.add_subcommand("list", "List enrolled credentials");
  c->add_option("USER", *user, "only this user's credentials");
  c->add_flag("--json", *json, "print a JSON array");
  return {c, [user, json](const GlobalArgs& g) {
            return RunList(g.file, *user, *json, std::cout, std::cerr);
          }};
}

Verb RegisterRemove(CLI::App& app) {
  struct Args {
    std::string user, id, dn;
    bool ldif = false;
    std::string ldap_config = config::kDefaultLdapConfig;
  };
  auto args = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand("remove", "Remove a user's credential");
  c->add_option("USER", args->user)->required();
  c->add_option("CREDENTIAL-ID", args->id, "base64url credential id")->required();
  c->add_flag("--ldif", args->ldif,
              "print the LDIF that deletes it from the user's directory entry instead");
  c->add_option("--dn", args->dn, "with --ldif: the user's entry");
  c->add_option("--ldap-config", args->ldap_config, "with --ldif: the directory settings")
      ->capture_default_str();
  return {c, [args](const GlobalArgs& g) {
            if (args->ldif) {
              if (args->dn.empty()) {
                return Fail(std::cerr, "remove", "--ldif needs --dn (the user's entry)",
                            kExitUsage);
              }
              return RunRemoveLdif(args->ldap_config, args->user, args->id, args->dn, std::cout,
                                   std::cerr);
            }
            return RunRemoveWithKey(g.tpm, g.file, args->user, args->id, std::cout, std::cerr);
          }};
}

Verb RegisterAdd(CLI::App& app) {
  auto args = std::make_shared<AddArgs>();
  CLI::App* c = app.add_subcommand(
      "add", "Verify a RegistrationResponseJSON made elsewhere and add its credential");
  c->add_option("USER", args->user)->required();
  c->add_option("FILE", args->response_path, "RegistrationResponseJSON, or -")->required();
  c->add_option("--rp-id", args->rp_id, "RP ID (default: the origin)");
  c->add_option("--origin", args->origin, "expected origin (default: pam://<hostname>)");
  c->add_option("--challenge", args->challenge, "base64url challenge this host issued");
  c->add_option("--kind", args->kind, "tpm, fido2 or remote")->capture_default_str();
  c->add_option("--uv", args->uv, "pin (UV required) or none")->capture_default_str();
  c->add_option("--label", args->label, "free-text label");
  c->add_flag("--ldif", args->ldif, "print the LDIF that adds it to the user's entry instead");
  c->add_option("--dn", args->dn, "with --ldif: the user's entry");
  c->add_option("--require-attestation", args->require_attestation,
                 "none, self, or tpm (a TPM-bound key, chain to --trust-anchors)")
      ->capture_default_str();
  c->add_option("--trust-anchors", args->trust_anchors,
                "directory of attestation root certificates (*.pem, *.crt, *.der)");
  c->add_option("--attribute", args->attribute, "with --ldif: the attribute")
      ->capture_default_str();
  return {c, [args](const GlobalArgs& g) { return RunAdd(g.file, *args, std::cout, std::cerr); }};
}

Verb RegisterImportU2f(CLI::App& app) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* c = app.add_subcommand(
      "import-u2f", "Append a pam-u2f authfile's credentials as tpmauthn lines");
  c->add_option("FILE", args->authfile, "pam-u2f authfile, or -")->required();
  c->add_option("--rp-id", args->rp_id, "RP ID they were made for (default: origin)");
  c->add_option("--origin", args->origin, "origin (default: pam://<hostname>)");
  c->add_option("--user", args->user,
                "only this user's lines (required from stdin; a user's own file "
                "yields only theirs)");
  c->add_flag("--dry-run", args->dry_run, "print the lines instead of adding them");
  return {c, [args](const GlobalArgs& g) {
            return RunImportU2f(g.file, *args, std::cout, std::cerr);
          }};
}

}  // namespace tpmauthn::cli
