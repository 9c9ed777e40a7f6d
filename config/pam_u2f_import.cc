// pam-u2f authfile → tpmauthn credentials.
#include "config/pam_u2f_import.h"

#include "config/lines.h"

#include <openssl/evp.h>

#include <algorithm>

#include "webauthn/base64url.h"
#include "webauthn/cbor.h"

namespace tpmauthn::config {
namespace {

using webauthn::Bytes;
using webauthn::CoseAlgorithm;
namespace cbor = webauthn::cbor;

// Standard base64 with optional padding (pam-u2f writes padding).
std::optional<Bytes> DecodeStandardBase64(std::string_view text) {
  auto decoded = webauthn::Base64Decode(text);
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
}

std::optional<Bytes> DecodeWebsafeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  auto decoded = webauthn::Base64UrlDecode(text);
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
}

ConfigResult<Bytes> CoseFromRaw(CoseAlgorithm alg, const Bytes& raw) {
  auto map = cbor::NewMap(alg == CoseAlgorithm::kES256 ? 5 : 4);
  switch (alg) {
    case CoseAlgorithm::kES256: {
      size_t offset = raw.size() == 65 && raw[0] == 0x04 ? 1 : 0;
      if (raw.size() - offset != 64) return ConfigFail("es256 key is not 64 bytes (x||y)");
      cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(2));
      cbor::MapAdd(map.get(), cbor::Int(3), cbor::Int(-7));
      cbor::MapAdd(map.get(), cbor::Int(-1), cbor::Int(1));
      cbor::MapAdd(map.get(), cbor::Int(-2), cbor::ByteString({raw.data() + offset, 32}));
      cbor::MapAdd(map.get(), cbor::Int(-3), cbor::ByteString({raw.data() + offset + 32, 32}));
      break;
    }
    case CoseAlgorithm::kEdDSA:
      if (raw.size() != 32) return ConfigFail("eddsa key is not 32 bytes");
      cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(1));
      cbor::MapAdd(map.get(), cbor::Int(3), cbor::Int(-8));
      cbor::MapAdd(map.get(), cbor::Int(-1), cbor::Int(6));
      cbor::MapAdd(map.get(), cbor::Int(-2), cbor::ByteString(raw));
      break;
    case CoseAlgorithm::kRS256: {
      if (raw.size() != 259) return ConfigFail("rs256 key is not 259 bytes (n || e)");
      Bytes n(raw.begin(), raw.begin() + 256), e(raw.begin() + 256, raw.end());
      while (e.size() > 1 && e.front() == 0) e.erase(e.begin());
      cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(3));
      cbor::MapAdd(map.get(), cbor::Int(3), cbor::Int(-257));
      cbor::MapAdd(map.get(), cbor::Int(-1), cbor::ByteString(n));
      cbor::MapAdd(map.get(), cbor::Int(-2), cbor::ByteString(e));
      break;
    }
  }
  Bytes encoded = cbor::Serialize(map.get());
  auto key = webauthn::CoseKey::Parse(encoded);
  if (!key) return ConfigFail(key.error().message);
  return encoded;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

ConfigResult<Credential> ParseDevice(std::string_view user, std::string_view device,
                                     const ImportSettings& settings) {
  auto fields = Split(device, ',');
  Credential c;
  c.user = std::string(user);
  c.kind = AuthenticatorKind::kFido2;
  c.rp_id = settings.rp_id;
  c.origin = settings.origin;
  c.created = settings.created;
  c.label = "imported from pam-u2f";
  if (fields.size() == 2) {  // old U2F format
    auto id = DecodeWebsafeBase64(fields[0]);
    if (!id || id->empty()) return ConfigFail("key handle is not websafe base64");
    Bytes point;
    if (!webauthn::FromHex(fields[1], point) || point.size() != 65 || point[0] != 0x04) {
      return ConfigFail("old-format public key is not 130 hex digits of an uncompressed point");
    }
    auto key = CoseFromRaw(CoseAlgorithm::kES256, point);
    if (!key) return key.error();
    c.id = std::move(*id);
    c.algorithm = CoseAlgorithm::kES256;
    c.public_key = std::move(*key);
    c.require_uv = false;
    return c;
  }
  // Three fields: no attributes (pam-u2f: "Empty attributes").
  if (fields.size() != 3 && fields.size() != 4) {
    return ConfigFail("a device needs 4 comma-separated fields (or 3, or 2)");
  }
  if (fields[0] != "*") {
    auto id = DecodeStandardBase64(fields[0]);
    if (!id || id->empty() || id->size() > 1023) return ConfigFail("key handle is not base64");
    c.id = std::move(*id);
  }
  if (fields[2] == "es256") {
    c.algorithm = CoseAlgorithm::kES256;
  } else if (fields[2] == "eddsa") {
    c.algorithm = CoseAlgorithm::kEdDSA;
  } else if (fields[2] == "rs256") {
    c.algorithm = CoseAlgorithm::kRS256;
  } else {
    return ConfigFail("unknown COSE type \"" + std::string(fields[2]) + "\"");
  }
  auto raw = DecodeStandardBase64(fields[1]);
  if (!raw) return ConfigFail("public key is not base64");
  auto key = CoseFromRaw(c.algorithm, *raw);
  if (!key) return key.error();
  c.public_key = std::move(*key);
  std::string_view attributes = fields.size() == 4 ? fields[3] : std::string_view();
  bool uv = false;
  while (!attributes.empty()) {
    if (attributes.front() != '+') return ConfigFail("attributes must look like +presence+pin");
    attributes.remove_prefix(1);
    size_t next = attributes.find('+');
    std::string_view attribute = attributes.substr(0, next);
    attributes = next == std::string_view::npos ? std::string_view() : attributes.substr(next);
    if (attribute == "verification" || attribute == "pin") {
      uv = true;
    } else if (attribute != "presence") {
      return ConfigFail("unknown attribute +" + std::string(attribute));
    }
  }
  c.require_uv = uv;
  return c;
}

}  // namespace

ConfigResult<U2fImport> ParsePamU2fAuthfile(std::string_view text, const std::string& name,
                                            const ImportSettings& settings) {
  // A user's last line so far: its number, its credentials, how many it had
  // beyond pam-u2f's max_devices.
  struct UserLine {
    size_t number = 0;
    std::vector<Credential> credentials;
    size_t dropped = 0;
  };
  std::vector<std::pair<std::string, UserLine>> last;  // in order of first appearance
  U2fImport out;
  size_t number = 0;
  auto at = [&](size_t line) { return name + ":" + std::to_string(line) + ": "; };
  for (std::string_view line; NextLine(text, line);) {
    ++number;
    if (line.size() > kMaxLineLength * 16) return ConfigFail(at(number) + "line too long");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos || line.front() == '#') continue;
    auto parts = Split(line, ':');
    if (parts.size() < 2 || parts[0].empty()) {
      return ConfigFail(at(number) + "expected user:keyhandle,publickey,...");
    }
    UserLine parsed{number, {}, 0};
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i].empty()) continue;  // pam-u2f skips empty entries ("alice:" has none)
      if (parsed.credentials.size() == kPamU2fMaxDevices) {
        ++parsed.dropped;
        continue;
      }
      auto credential = ParseDevice(parts[0], parts[i], settings);
      if (!credential) {
        return ConfigFail(at(number) + "device " + std::to_string(i) + ": " +
                          credential.error().message);
      }
      // The result must be a valid tpmauthn line (user name rules, etc.).
      if (auto check = ParseCredentialLine(FormatCredentialLine(*credential)); !check) {
        return ConfigFail(at(number) + check.error().message);
      }
      parsed.credentials.push_back(std::move(*credential));
    }
    const std::string user(parts[0]);
    auto found = std::find_if(last.begin(), last.end(),
                              [&](const auto& entry) { return entry.first == user; });
    if (found == last.end()) {
      last.emplace_back(user, std::move(parsed));
      continue;
    }
    out.notes.push_back(at(found->second.number) + user +
                        ": skipped; pam-u2f uses only a user's last line (line " +
                        std::to_string(number) + ")");
    found->second = std::move(parsed);
  }
  std::vector<std::pair<std::string, UserLine>*> kept;
  for (auto& entry : last) kept.push_back(&entry);
  std::sort(kept.begin(), kept.end(),
            [](const auto* a, const auto* b) { return a->second.number < b->second.number; });
  for (auto* entry : kept) {
    UserLine& line = entry->second;
    if (line.credentials.empty()) {
      out.notes.push_back(at(line.number) + entry->first +
                          ": no credentials (pam-u2f gives this user none); nothing to import");
    }
    if (line.dropped > 0) {
      out.notes.push_back(at(line.number) + entry->first + ": " +
                          std::to_string(line.dropped) + " credential(s) after the first " +
                          std::to_string(kPamU2fMaxDevices) +
                          " skipped (pam-u2f's default max_devices ignores them)");
    }
    for (Credential& c : line.credentials) out.credentials.push_back(std::move(c));
  }
  return out;
}

namespace {

constexpr std::string_view kSshHeader = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kSshTrailer = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kSshMagic{"openssh-key-v1\0", 15};
constexpr uint8_t kSshUserVerificationRequired = 0x04;

// The openssh-key-v1 encoding (OpenSSH PROTOCOL.key): big-endian uint32s and
// uint32-length-prefixed strings, every read bounds-checked.
class SshReader {
 public:
  explicit SshReader(webauthn::ByteView bytes) : rest_(bytes) {}
  std::optional<uint32_t> U32() {
    if (rest_.size() < 4) return std::nullopt;
    uint32_t v = (uint32_t{rest_[0]} << 24) | (uint32_t{rest_[1]} << 16) |
                 (uint32_t{rest_[2]} << 8) | rest_[3];
    rest_ = rest_.subspan(4);
    return v;
  }
  std::optional<uint8_t> Byte() {
    if (rest_.empty()) return std::nullopt;
    uint8_t v = rest_[0];
    rest_ = rest_.subspan(1);
    return v;
  }
  std::optional<webauthn::ByteView> String() {
    auto length = U32();
    if (!length || *length > rest_.size()) return std::nullopt;
    webauthn::ByteView v = rest_.first(*length);
    rest_ = rest_.subspan(*length);
    return v;
  }
  std::optional<webauthn::ByteView> Fixed(size_t n) {
    if (n > rest_.size()) return std::nullopt;
    webauthn::ByteView v = rest_.first(n);
    rest_ = rest_.subspan(n);
    return v;
  }
  webauthn::ByteView rest() const { return rest_; }

 private:
  webauthn::ByteView rest_;
};

bool Is(std::optional<webauthn::ByteView> field, std::string_view text) {
  return field && webauthn::AsString(*field) == text;
}

}  // namespace

bool IsSshFormatAuthfile(std::string_view text) { return text.rfind(kSshHeader, 0) == 0; }

ConfigResult<U2fImport> ParsePamU2fSshKey(std::string_view text, const std::string& name,
                                          const std::string& user,
                                          const ImportSettings& settings) {
  auto fail = [&](const std::string& why) { return ConfigFail(name + ": " + why); };
  if (!IsSshFormatAuthfile(text)) return fail("not an OpenSSH private key file");
  const size_t end = text.find(kSshTrailer, kSshHeader.size());
  if (end == std::string_view::npos) return fail("no \"" + std::string(kSshTrailer) + "\" line");
  std::string body;
  for (char c : text.substr(kSshHeader.size(), end - kSshHeader.size())) {
    if (c != '\n' && c != '\r') body.push_back(c);
  }
  auto decoded = DecodeStandardBase64(body);
  if (!decoded) return fail("the key is not base64");
  SshReader key(*decoded);
  if (!Is(key.Fixed(kSshMagic.size()), kSshMagic)) return fail("not an openssh-key-v1 key");
  auto cipher = key.String();
  if (!cipher) return fail("truncated key");
  if (webauthn::AsString(*cipher) != "none") {
    return fail("the key is encrypted (cipher " + std::string(webauthn::AsString(*cipher)) +
                "); pam-u2f cannot use passphrase-protected keys either");
  }
  if (!key.String() || !key.String()) return fail("truncated key");  // kdf name, options
  auto count = key.U32();
  if (count != 1u) return fail("the file must hold exactly one key");
  if (!key.String()) return fail("truncated key");  // the public key, repeated below
  auto private_section = key.String();
  if (!private_section) return fail("truncated key");
  SshReader secret(*private_section);
  auto check1 = secret.U32(), check2 = secret.U32();
  if (!check1 || check1 != check2) return fail("the key's check values differ");
  Credential c;
  c.user = user;
  c.kind = AuthenticatorKind::kFido2;
  c.rp_id = settings.rp_id;
  c.origin = settings.origin;
  c.created = settings.created;
  c.label = "imported from pam-u2f (SSH format)";
  auto type = secret.String();
  std::optional<webauthn::ByteView> point;
  if (Is(type, "sk-ecdsa-sha2-nistp256@openssh.com")) {
    if (!Is(secret.String(), "nistp256")) return fail("the ecdsa-sk key is not on nistp256");
    point = secret.String();
    if (!point || point->size() != 65 || (*point)[0] != 0x04) {
      return fail("the ecdsa-sk public key is not a 65-byte uncompressed point");
    }
    c.algorithm = CoseAlgorithm::kES256;
  } else if (Is(type, "sk-ssh-ed25519@openssh.com")) {
    point = secret.String();
    if (!point || point->size() != 32) return fail("the ed25519-sk public key is not 32 bytes");
    c.algorithm = CoseAlgorithm::kEdDSA;
  } else {
    return fail("not a FIDO (sk-ecdsa-sha2-nistp256 or sk-ssh-ed25519) key");
  }
  auto cose = CoseFromRaw(c.algorithm, Bytes(point->begin(), point->end()));
  if (!cose) return fail(cose.error().message);
  c.public_key = std::move(*cose);
  auto application = secret.String();
  auto flags = secret.Byte();
  auto handle = secret.String();
  if (!application || !flags || !handle) return fail("truncated key");
  if (handle->empty() || handle->size() > 1023) return fail("the key handle is empty or too long");
  c.id.assign(handle->begin(), handle->end());
  c.require_uv = (*flags & kSshUserVerificationRequired) != 0;
  if (!secret.String() || !secret.String()) return fail("truncated key");  // reserved, comment
  webauthn::ByteView padding = secret.rest();
  for (size_t i = 0; i < padding.size(); ++i) {
    if (padding[i] != static_cast<uint8_t>(i + 1)) return fail("the key's padding is wrong");
  }
  if (auto check = ParseCredentialLine(FormatCredentialLine(c)); !check) {
    return fail(check.error().message);
  }
  U2fImport out;
  out.credentials.push_back(std::move(c));
  return out;
}

}  // namespace tpmauthn::config
