// Durable, serialized, corruption-detecting sign-counter files.
#include "config/counter_store.h"

#include <unistd.h>

#include <charconv>

#include "config/safe_file.h"
#include "webauthn/base64url.h"

namespace tpmauthn::config {
namespace {

constexpr std::string_view kMagic = "tpmauthn-counter 1 ";

// "tpmauthn-counter 1 <count> <first 16 hex of SHA-256 of the preceding text>\n"
std::string Encode(uint32_t count) {
  std::string body = std::string(kMagic) + std::to_string(count);
  std::string digest = webauthn::ToHex(webauthn::Sha256(webauthn::AsBytes(body))).substr(0, 16);
  return body + " " + digest + "\n";
}

}  // namespace

std::string CounterStore::PathFor(std::string_view user, webauthn::ByteView credential_id) const {
  // A hash keeps file names short and free of '/' whatever the name and id
  // hold; the length prefix keeps ("ab", "c…") and ("a", "bc…") apart.
  webauthn::Bytes key;
  const std::string_view domain = "tpmauthn counter v2";
  key.insert(key.end(), domain.begin(), domain.end());
  for (int shift = 24; shift >= 0; shift -= 8) {
    key.push_back(static_cast<uint8_t>(user.size() >> shift));
  }
  key.insert(key.end(), user.begin(), user.end());
  key.insert(key.end(), credential_id.begin(), credential_id.end());
  return dir_ + "/" + webauthn::Base64UrlEncode(webauthn::Sha256(key)) + ".counter";
}

std::string CounterStore::LegacyPathFor(webauthn::ByteView credential_id) const {
  return dir_ + "/" + webauthn::Base64UrlEncode(webauthn::Sha256(credential_id)) + ".counter";
}

ConfigResult<uint32_t> CounterStore::ReadLocked(const std::string& path) const {
  auto opened = OpenChecked(path, FileRules{{::geteuid()}, false});
  if (!opened) return opened.error();
  if (opened->status == OpenStatus::kMissing) return 0u;
  auto text = ReadAll(opened->fd.get(), path, 256);
  if (!text) return text.error();
  auto corrupt = [&] {
    return ConfigFail(path + ": counter state is corrupt (refusing to reset it; restore it from "
                             "a backup or remove it deliberately)");
  };
  std::string_view t = *text;
  if (t.size() < kMagic.size() + 19 || t.substr(0, kMagic.size()) != kMagic || t.back() != '\n') {
    return corrupt();
  }
  size_t space = t.rfind(' ');
  std::string_view body = t.substr(0, space);
  std::string_view digest = t.substr(space + 1, t.size() - space - 2);
  std::string expected =
      webauthn::ToHex(webauthn::Sha256(webauthn::AsBytes(body))).substr(0, 16);
  if (digest != expected) return corrupt();
  std::string_view number = body.substr(kMagic.size());
  uint32_t count = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (ec != std::errc() || end != number.data() + number.size()) return corrupt();
  return count;
}

ConfigResult<uint32_t> CounterStore::ReadWithLegacy(std::string_view user,
                                                    webauthn::ByteView credential_id) const {
  const std::string path = PathFor(user, credential_id);
  auto opened = OpenChecked(path, FileRules{{::geteuid()}, false});
  if (!opened) return opened.error();
  return ReadLocked(opened->status == OpenStatus::kOpened ? path : LegacyPathFor(credential_id));
}

ConfigResult<uint32_t> CounterStore::Load(std::string_view user,
                                          webauthn::ByteView credential_id) const {
  return ReadWithLegacy(user, credential_id);
}

ConfigResult<uint32_t> CounterStore::Advance(std::string_view user,
                                             webauthn::ByteView credential_id,
                                             const NextFn& next) const {
  std::string path = PathFor(user, credential_id);
  auto lock = FileLock::Acquire(path + ".lock");
  if (!lock) return lock.error();
  auto stored = ReadWithLegacy(user, credential_id);
  if (!stored) return stored.error();
  auto proposed = next(*stored);
  if (!proposed) return proposed.error();
  // An authenticator without a counter reports 0 every time (WebAuthn §6.1.1).
  if (*proposed == 0 && *stored == 0) return 0u;
  if (*proposed <= *stored) {
    return ConfigFail(path + ": new counter " + std::to_string(*proposed) +
                      " is not greater than the stored " + std::to_string(*stored));
  }
  if (auto ok = AtomicReplace(path, Encode(*proposed), 0600); !ok) return ok.error();
  return *proposed;
}

}  // namespace tpmauthn::config
