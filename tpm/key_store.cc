// Key store files: strict JSON, atomic writes, per-credential locks.
#include "tpm/key_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "config/safe_file.h"
#include "tpm/pin_index.h"
#include "webauthn/base64url.h"

namespace tpmauthn::tpm {
namespace {

using nlohmann::json;
using webauthn::Base64UrlDecode;
using webauthn::Base64UrlEncode;

constexpr size_t kMaxKeyFileSize = 64 * 1024;

TpmError StoreError(std::string message) { return TpmFail(TpmErrorKind::kStore, std::move(message)); }

TpmResult<void> EnsureDirectory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return StoreError(dir + ": " + config::ErrnoMessage(errno));
    // Create missing parents 0755 (like /var/lib/tpmauthn), the store itself 0700.
    for (size_t slash = dir.find('/', 1); slash != std::string::npos;
         slash = dir.find('/', slash + 1)) {
      std::string parent = dir.substr(0, slash);
      if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
        return StoreError(parent + ": cannot create: " + config::ErrnoMessage(errno));
      }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return StoreError(dir + ": cannot create: " + config::ErrnoMessage(errno));
    }
    return {};
  }
  if (!S_ISDIR(st.st_mode)) return StoreError(dir + ": not a directory");
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return StoreError(dir + ": group- or world-writable key store (want 0700)");
  }
  return {};
}

}  // namespace

std::string KeyStore::PathFor(webauthn::ByteView credential_id) const {
  return dir_ + "/" + Base64UrlEncode(credential_id) + ".key";
}

std::string SerializeKeyRecord(const KeyRecord& r) {
  nlohmann::ordered_json j = {
      {"format", "tpmauthn-key"},
      {"version", 1},
      {"credentialId", Base64UrlEncode(r.credential_id)},
      {"rpId", r.rp_id},
      {"user", r.user},
      {"userHandle", Base64UrlEncode(r.user_handle)},
      {"label", r.label},
      {"created", r.created},
      {"srkName", Base64UrlEncode(r.srk_name)},
      {"public", Base64UrlEncode(r.public_blob)},
      {"private", Base64UrlEncode(r.private_blob)},
      {"uv", r.pin ? "pin" : "none"},
      {"pinSalt", Base64UrlEncode(r.pin_salt)},
      {"pcrs", r.pcrs},
      {"counter", r.counter},
  };
  if (r.pin_index) {
    j["version"] = 2;
    j["pinIndex"] = r.pin_index;
    j["pinIndexName"] = Base64UrlEncode(r.pin_index_name);
    j["pinTries"] = r.pin_tries;
  }
  if (r.counter_index) {
    j["counterIndex"] = r.counter_index;
    j["counterOffset"] = r.counter_offset;
  }
  return j.dump(1) + "\n";
}

TpmResult<KeyRecord> ParseKeyRecord(std::string_view text, const std::string& name) {
  auto bad = [&](const std::string& why) { return StoreError(name + ": " + why); };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object (corrupt key file?)");
  static const std::set<std::string> kMembers = {
      "format", "version", "credentialId", "rpId",    "user", "userHandle", "label", "created",
      "srkName", "public", "private",      "uv",      "pinSalt", "pcrs",    "counter",
      "pinIndex", "pinIndexName", "pinTries", "counterIndex", "counterOffset"};
  for (const auto& [key, value] : j.items()) {
    if (!kMembers.count(key)) return bad("unknown member \"" + key + "\"");
  }
  // find + type checks only: nlohmann's value() throws on a type mismatch
  // (found by the key_store fuzzer).
  // Compare through the stored values: json == "text" builds a temporary
  // json inside a noexcept operator, so an allocation failure there would
  // terminate the process (found by allocation-failure injection).
  auto format = j.find("format");
  if (format == j.end() || !format->is_string() ||
      format->get_ref<const std::string&>() != "tpmauthn-key") {
    return bad("not a tpmauthn key file");
  }
  auto version = j.find("version");
  if (version == j.end() || !version->is_number_unsigned() ||
      (version->get<uint64_t>() != 1 && version->get<uint64_t>() != 2)) {
    return bad("unsupported key file version");
  }
  const bool per_credential_pin = version->get<uint64_t>() == 2;
  KeyRecord r;
  auto text_member = [&](const char* key, std::string& out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto bytes_member = [&](const char* key, webauthn::Bytes& out) -> bool {
    std::string encoded;
    if (!text_member(key, encoded)) return false;
    auto decoded = Base64UrlDecode(encoded);
    if (!decoded) return false;
    out = std::move(*decoded);
    return true;
  };
  std::string uv;
  if (!bytes_member("credentialId", r.credential_id) || !text_member("rpId", r.rp_id) ||
      !text_member("user", r.user) || !bytes_member("userHandle", r.user_handle) ||
      !text_member("label", r.label) || !text_member("created", r.created) ||
      !bytes_member("srkName", r.srk_name) || !bytes_member("public", r.public_blob) ||
      !bytes_member("private", r.private_blob) || !text_member("uv", uv) ||
      !bytes_member("pinSalt", r.pin_salt)) {
    return bad("a member is missing or mistyped");
  }
  if (uv != "pin" && uv != "none") return bad("uv must be pin or none");
  r.pin = uv == "pin";
  if (r.credential_id.size() != kCredentialIdSize) return bad("credential id is not 32 bytes");
  auto pcrs = j.find("pcrs");
  if (pcrs == j.end() || !pcrs->is_array()) return bad("pcrs missing");
  for (const json& p : *pcrs) {
    if (!p.is_number_unsigned() || p.get<uint64_t>() > 23) return bad("pcr index out of range");
    r.pcrs.push_back(p.get<uint32_t>());
  }
  auto counter = j.find("counter");
  if (counter == j.end() || !counter->is_number_unsigned() ||
      counter->get<uint64_t>() > UINT32_MAX) {
    return bad("counter missing or out of range");
  }
  r.counter = counter->get<uint32_t>();
  auto counter_index = j.find("counterIndex");
  auto counter_offset = j.find("counterOffset");
  if (counter_index != j.end() || counter_offset != j.end()) {
    // Owner-range NV handles (TCG registry 0x01000000-0x013FFFFF).
    if (counter_index == j.end() || !counter_index->is_number_unsigned() ||
        counter_index->get<uint64_t>() < 0x01000000 ||
        counter_index->get<uint64_t>() > 0x013fffff) {
      return bad("counterIndex missing or not an owner NV handle");
    }
    if (counter_offset == j.end() || !counter_offset->is_number_unsigned()) {
      return bad("counterOffset missing or mistyped");
    }
    r.counter_index = counter_index->get<uint32_t>();
    r.counter_offset = counter_offset->get<uint64_t>();
  }
  // Version 1: the PIN is the key's authValue (legacy-da). Version 2: a PIN
  // credential's PIN lives in its own NV index (tpm/pin_index.h).
  auto index = j.find("pinIndex");
  if (!per_credential_pin) {
    if (index != j.end() || j.contains("pinIndexName") || j.contains("pinTries")) {
      return bad("pinIndex in a version 1 file");
    }
    return r;
  }
  if (!r.pin) return bad("version 2 is for PIN credentials");
  if (index == j.end() || !index->is_number_unsigned() ||
      index->get<uint64_t>() < kPinIndexFirst ||
      index->get<uint64_t>() >= uint64_t{kPinIndexFirst} + kPinIndexSpan) {
    return bad("pinIndex missing or outside the PIN index range");
  }
  r.pin_index = index->get<uint32_t>();
  if (!bytes_member("pinIndexName", r.pin_index_name) || r.pin_index_name.size() != 34) {
    return bad("pinIndexName missing or not a SHA-256 name");
  }
  auto tries = j.find("pinTries");
  if (tries == j.end() || !tries->is_number_unsigned() || tries->get<uint64_t>() < kPinTriesMin ||
      tries->get<uint64_t>() > kPinTriesMax) {
    return bad("pinTries missing or out of range");
  }
  r.pin_tries = tries->get<uint32_t>();
  return r;
}

TpmResult<void> KeyStore::Write(const KeyRecord& record) const {
  auto ok = config::AtomicReplace(PathFor(record.credential_id), SerializeKeyRecord(record), 0600);
  if (!ok) return StoreError(ok.error().message);
  return {};
}

TpmResult<void> KeyStore::Create(const KeyRecord& record) const {
  if (auto ok = EnsureDirectory(dir_); !ok) return ok;
  auto ok = config::AtomicCreate(PathFor(record.credential_id), SerializeKeyRecord(record), 0600);
  if (!ok) return StoreError(ok.error().message);
  return {};
}

TpmResult<KeyRecord> KeyStore::Load(webauthn::ByteView credential_id) const {
  const std::string path = PathFor(credential_id);
  auto opened = config::OpenChecked(path, config::FileRules{{::geteuid()}, false});
  if (!opened) return StoreError(opened.error().message);
  if (opened->status == config::OpenStatus::kMissing) {
    return StoreError("no key for this credential in " + dir_ + " (enrolled on another machine?)");
  }
  struct stat st {};
  if (::fstat(opened->fd.get(), &st) == 0 && (st.st_mode & 077)) {
    return StoreError(path + ": readable by others (want 0600)");
  }
  auto text = config::ReadAll(opened->fd.get(), path, kMaxKeyFileSize);
  if (!text) return StoreError(text.error().message);
  auto record = ParseKeyRecord(*text, path);
  if (record && !webauthn::ConstantTimeEquals(record->credential_id, credential_id)) {
    return StoreError(path + ": holds another credential");
  }
  return record;
}

TpmResult<std::optional<std::string>> KeyStore::ReadStoreFile(const std::string& name) const {
  const std::string path = dir_ + "/" + name;
  auto opened = config::OpenChecked(path, config::FileRules{{::geteuid()}, false});
  if (!opened) return StoreError(opened.error().message);
  if (opened->status == config::OpenStatus::kMissing) return std::optional<std::string>();
  struct stat st {};
  if (::fstat(opened->fd.get(), &st) == 0 && (st.st_mode & 077)) {
    return StoreError(path + ": readable by others (want 0600)");
  }
  auto text = config::ReadAll(opened->fd.get(), path, kMaxKeyFileSize);
  if (!text) return StoreError(text.error().message);
  return std::optional<std::string>(std::move(*text));
}

TpmResult<void> KeyStore::WriteStoreFile(const std::string& name, std::string_view contents) const {
  if (auto ok = EnsureDirectory(dir_); !ok) return ok;
  auto ok = config::AtomicReplace(dir_ + "/" + name, contents, 0600);
  if (!ok) return StoreError(ok.error().message);
  return {};
}

TpmResult<std::vector<KeyRecord>> KeyStore::List() const {
  std::vector<KeyRecord> out;
  DIR* dir = ::opendir(dir_.c_str());
  if (!dir) {
    if (errno == ENOENT) return out;
    return StoreError(dir_ + ": " + config::ErrnoMessage(errno));
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".key") == 0 && name[0] != '.') {
      names.push_back(name.substr(0, name.size() - 4));
    }
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    auto id = Base64UrlDecode(name);
    if (!id) return StoreError(dir_ + "/" + name + ".key: file name is not a credential id");
    auto record = Load(*id);
    if (!record) return record.error();
    out.push_back(std::move(*record));
  }
  return out;
}

TpmResult<void> KeyStore::Remove(webauthn::ByteView credential_id) const {
  const std::string path = PathFor(credential_id);
  if (::unlink(path.c_str()) != 0) {
    return StoreError(path + ": cannot remove: " + config::ErrnoMessage(errno));
  }
  ::unlink((path + ".lock").c_str());
  return {};
}

TpmResult<int> KeyStore::Lock(webauthn::ByteView credential_id) const {
  const std::string path = PathFor(credential_id) + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return StoreError(path + ": " + config::ErrnoMessage(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      return StoreError(path + ": cannot lock: " + config::ErrnoMessage(errno));
    }
  }
  return fd;
}

void UnlockFd(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace tpmauthn::tpm
