// ldap-credentials and remove --ldif (ldap_commands.h).
#include "cli/ldap_commands.h"

#include <sys/prctl.h>
#include <sys/stat.h>

#include <iostream>

#include "cli/command_util.h"
#include "cli/exit_codes.h"
#include "config/credentials_command.h"
#include "config/directory_entry.h"
#include "config/ldap_settings.h"
#include "config/ldif.h"
#include "config/safe_file.h"
#include "ldap/directory.h"
#include "webauthn/base64url.h"

namespace tpmauthn::cli {
namespace {

namespace wa = tpmauthn::webauthn;

struct Loaded {
  config::LdapSettings settings;
  std::optional<wa::SecretBytes> password;
};

// ldap.conf (root's, not writable by others) and the bind password file
// (root's, not readable by everyone: give the command user's group read).
config::ConfigResult<Loaded> Load(const std::string& path) {
  auto opened = config::OpenChecked(path, config::FileRules{{0}, false});
  if (!opened) return opened.error();
  if (opened->status == config::OpenStatus::kMissing) {
    return config::ConfigFail(path + ": missing (see docs/fleet.md)");
  }
  auto text = config::ReadAll(opened->fd.get(), path, 64 * 1024);
  if (!text) return text.error();
  auto settings = config::ParseLdapSettings(*text, path);
  if (!settings) return settings.error();
  Loaded out{std::move(*settings), std::nullopt};
  if (out.settings.bind_password_file) {
    const std::string& secret = *out.settings.bind_password_file;
    auto file = config::OpenChecked(secret, config::FileRules{{0}, false});
    if (!file) return file.error();
    if (file->status == config::OpenStatus::kMissing) return config::ConfigFail(secret + ": missing");
    struct stat st {};
    if (::fstat(file->fd.get(), &st) != 0 || (st.st_mode & S_IROTH)) {
      return config::ConfigFail(secret + ": readable by everyone (chmod 0640, group of "
                                         "credentials_command_user)");
    }
    auto password = config::ReadAll(file->fd.get(), secret, 4096);
    if (!password) return password.error();
    std::string_view p = *password;
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.remove_suffix(1);
    if (p.empty()) {
      // A simple bind with a DN and no password is an anonymous bind (RFC
      // 4513 §5.1.2): a truncated file must not quietly become one.
      return config::ConfigFail(secret + ": empty (the bind password is its first line)");
    }
    out.password = wa::SecretBytes(p);
    std::fill(password->begin(), password->end(), '\0');
  }
  return out;
}

}  // namespace

int RunLdapCredentials(const std::string& config_path, const std::string& user,
                       std::ostream& out, std::ostream& err) {
  const char* kCommand = "ldap-credentials";
  // It runs as credentials_command_user, which other daemons may share
  // (nobody): they must not read its memory (the bind password) or steer it.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  auto loaded = Load(config_path);
  if (!loaded) return Usage(err, kCommand, loaded.error().message);
  auto values = ldap::LookUpUser(loaded->settings, user, loaded->password);
  if (!values) {
    err << "tpmauthn: " << kCommand << ": " << values.error().message << "\n";
    return values.error().unreachable ? config::kExitDirectoryUnreachable : kExitRejected;
  }
  if (values->not_this_user) {
    err << "tpmauthn: " << kCommand << ": the entry the filter found has no "
        << loaded->settings.user_attribute << " that is exactly \"" << user
        << "\": no credentials for " << user << "\n";
  }
  config::PasskeyDefaults passkeys{loaded->settings.passkey_rp_id, loaded->settings.passkey_uv,
                                   config::TodayUtc()};
  auto credentials = config::CredentialsFromDirectory(*values, user, passkeys);
  if (!credentials) {
    err << "tpmauthn: " << kCommand << ": " << user << "'s entry: " << credentials.error().message
        << "\n";
    return kExitRejected;
  }
  for (const config::Credential& c : *credentials) out << config::FormatCredentialLine(c) << "\n";
  return kExitOk;
}

int RunRemoveLdif(const std::string& config_path, const std::string& user,
                  const std::string& credential_id, const std::string& dn, std::ostream& out,
                  std::ostream& err) {
  const char* kCommand = "remove";
  auto loaded = Load(config_path);
  if (!loaded) return Usage(err, kCommand, loaded.error().message);
  auto id = wa::Base64UrlDecode(credential_id);
  if (!id) return Usage(err, kCommand, "CREDENTIAL-ID is not base64url");
  auto values = ldap::LookUpUser(loaded->settings, user, loaded->password);
  if (!values) {
    err << "tpmauthn: " << kCommand << ": " << values.error().message << "\n";
    return values.error().unreachable ? config::kExitDirectoryUnreachable : kExitRejected;
  }
  // The value exactly as the directory holds it: LDAP deletes by value.
  for (const std::string& line : values->credential_lines) {
    if (auto c = config::ParseCredentialLine(line); c && c->id == *id) {
      out << config::LdifModify(dn, false, loaded->settings.credential_attribute, line);
      return kExitOk;
    }
  }
  config::PasskeyDefaults passkeys{std::string("-"), true, config::TodayUtc()};
  for (const std::string& value : values->passkeys) {
    if (auto c = config::ParseSssdPasskey(value, user, passkeys); c && c->id == *id) {
      out << config::LdifModify(dn, false, loaded->settings.passkey_attribute, value);
      return kExitOk;
    }
  }
  err << "tpmauthn: " << kCommand << ": the directory holds no credential " << credential_id
      << " for " << user << "\n";
  return kExitRejected;
}

Verb RegisterLdapCredentials(CLI::App& app) {
  struct Args {
    std::string user;
    std::string config = config::kDefaultLdapConfig;
  };
  auto args = std::make_shared<Args>();
  CLI::App* c = app.add_subcommand(
      "ldap-credentials",
      "Print USER's credential lines from the LDAP directory (for credentials_command=)");
  c->add_option("USER", args->user)->required();
  c->add_option("--config", args->config, "settings file")->capture_default_str();
  return {c, [args](const GlobalArgs&) {
            return RunLdapCredentials(args->config, args->user, std::cout, std::cerr);
          }};
}

}  // namespace tpmauthn::cli
