// Locked, atomic edits of credentials files.
#include "config/credential_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include "config/credential_file.h"

namespace tpmauthn::config {
namespace {

constexpr size_t kMaxFileSize = 256 * 1024 * 1024;

struct Existing {
  std::string text;
  mode_t mode = 0644;
  std::optional<std::pair<uid_t, gid_t>> owner;
};

ConfigResult<Existing> Load(const std::string& path, const FileRules& rules) {
  auto opened = OpenChecked(path, rules);
  if (!opened) return opened.error();
  Existing out;
  if (opened->status == OpenStatus::kMissing) return out;
  struct stat st {};
  if (::fstat(opened->fd.get(), &st) != 0) {
    return ConfigFail(path + ": cannot stat: " + ErrnoMessage(errno));
  }
  out.mode = st.st_mode & 07777;
  out.owner = std::make_pair(st.st_uid, st.st_gid);
  auto text = ReadAll(opened->fd.get(), path, kMaxFileSize);
  if (!text) return text.error();
  out.text = std::move(*text);
  return out;
}

}  // namespace

ConfigResult<void> AppendCredentials(const std::string& path,
                                     const std::vector<Credential>& credentials,
                                     const FileRules& rules) {
  auto lock = FileLock::Acquire(path + ".lock");
  if (!lock) return lock.error();
  auto existing = Load(path, rules);
  if (!existing) return existing.error();
  std::string text = std::move(existing->text);
  if (!text.empty() && text.back() != '\n') text += '\n';
  for (const Credential& credential : credentials) {
    std::string line = FormatCredentialLine(credential);
    if (auto check = ParseCredentialLine(line); !check) {
      return ConfigFail("cannot add a credential for " + credential.user + ": " +
                        check.error().message);
    }
    text += line;
    text += '\n';
  }
  // Validate the file as it would be: existing errors and duplicate ids abort.
  if (auto check = CheckCredentials(text, path); !check) {
    return ConfigFail("not changed: " + check.error().message);
  }
  return AtomicReplace(path, text, existing->mode, existing->owner);
}

ConfigResult<size_t> RemoveCredential(const std::string& path, std::string_view user,
                                      std::string_view id_base64url, const FileRules& rules) {
  auto lock = FileLock::Acquire(path + ".lock");
  if (!lock) return lock.error();
  auto existing = Load(path, rules);
  if (!existing) return existing.error();
  if (auto check = CheckCredentials(existing->text, path); !check) {
    return ConfigFail("not changed: " + check.error().message);
  }
  std::string kept;
  size_t removed = 0;
  std::string_view rest = existing->text;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl + 1);
    rest.remove_prefix(line.size());
    std::string_view bare = line;
    if (!bare.empty() && bare.back() == '\n') bare.remove_suffix(1);
    LineFields fields;
    auto type = ScanLine(bare, fields);
    if (type && *type == LineType::kCredential && fields.user == user && fields.id == id_base64url) {
      ++removed;
      continue;
    }
    kept += line;
  }
  if (removed == 0) {
    return ConfigFail(path + ": no credential " + std::string(id_base64url) + " for user " +
                      std::string(user));
  }
  if (auto ok = AtomicReplace(path, kept, existing->mode, existing->owner); !ok) return ok.error();
  return removed;
}

}  // namespace tpmauthn::config
