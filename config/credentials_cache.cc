// The credentials_command cache (credentials_cache.h).
#include "config/credentials_cache.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "config/credentials_command.h"
#include "config/safe_file.h"
#include "webauthn/base64url.h"
#include "webauthn/bytes.h"

namespace tpmauthn::config {
namespace {

constexpr std::string_view kMagic = "tpmauthn-directory-cache 1 ";

std::string Directory(const std::string& state_dir) { return state_dir + "/directory"; }

std::string PathFor(const std::string& state_dir, const std::string& user) {
  const std::string key = "tpmauthn directory cache v1\n" + user;
  return Directory(state_dir) + "/" +
         webauthn::Base64UrlEncode(webauthn::Sha256(webauthn::AsBytes(key))) + ".lines";
}

}  // namespace

ConfigResult<void> StoreDirectoryAnswer(const std::string& state_dir, const std::string& user,
                                        std::string_view lines, int64_t now) {
  // The state directory too: the first lookup comes before anything else
  // made it.
  if (auto state = OpenTrustedDirectory(state_dir, 0700); !state) return state.error();
  if (auto dir = OpenTrustedDirectory(Directory(state_dir), 0700); !dir) return dir.error();
  const std::string path = PathFor(state_dir, user);
  auto lock = FileLock::Acquire(path + ".lock");
  if (!lock) return lock.error();
  std::string contents = std::string(kMagic) + std::to_string(now) + "\n";
  contents.append(lines);
  return AtomicReplace(path, contents, 0600);
}

ConfigResult<void> ForgetDirectoryAnswer(const std::string& state_dir, const std::string& user) {
  const std::string path = PathFor(state_dir, user);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return ConfigFail(path + ": " + ErrnoMessage(errno));
  }
  return {};
}

ConfigResult<std::optional<CachedAnswer>> LoadDirectoryAnswer(const std::string& state_dir,
                                                              const std::string& user,
                                                              int64_t now) {
  const std::string path = PathFor(state_dir, user);
  auto opened = OpenChecked(path, FileRules{{::geteuid()}, false});
  if (!opened) return opened.error();
  if (opened->status == OpenStatus::kMissing) return std::optional<CachedAnswer>();
  auto text = ReadAll(opened->fd.get(), path, kCommandOutputLimit + 64);
  if (!text) return text.error();
  const size_t newline = text->find('\n');
  int64_t stored = 0;
  const char* first = text->data() + kMagic.size();
  const char* last = text->data() + (newline == std::string::npos ? 0 : newline);
  if (newline == std::string::npos || text->compare(0, kMagic.size(), kMagic) != 0 ||
      std::from_chars(first, last, stored).ptr != last) {
    return ConfigFail(path + ": the directory cache is corrupt");
  }
  if (stored > now) {
    return ConfigFail(path + ": the directory cache is dated in the future (the clock went back?)");
  }
  return std::optional<CachedAnswer>(CachedAnswer{text->substr(newline + 1), now - stored});
}

}  // namespace tpmauthn::config
