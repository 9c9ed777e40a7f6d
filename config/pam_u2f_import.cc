// pam-u2f authfile → tpmauthn credentials.
#include "config/pam_u2f_import.h"

#include "config/lines.h"

#include <openssl/evp.h>

#include "webauthn/base64url.h"
#include "webauthn/cbor.h"

namespace tpmauthn::config {
namespace {

using webauthn::Bytes;
using webauthn::CoseAlgorithm;
namespace cbor = webauthn::cbor;

// Standard base64 with optional padding (pam-u2f writes padding).
std::optional<Bytes> DecodeStandardBase64(std::string_view text) {
  std::string_view bare = text;
  while (!bare.empty() && bare.back() == '=') bare.remove_suffix(1);
  if (text.size() - bare.size() > 2) return std::nullopt;
  if (text.size() != bare.size() && text.size() % 4 != 0) return std::nullopt;
  std::string url(bare);
  for (char& c : url) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    } else if (c == '-' || c == '_') {
      return std::nullopt;  // not the standard alphabet
    }
  }
  auto decoded = webauthn::Base64UrlDecode(url);
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
  if (fields.size() != 4) return ConfigFail("a device needs 4 comma-separated fields (or 2)");
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
  std::string_view attributes = fields[3];
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

ConfigResult<std::vector<Credential>> ParsePamU2fAuthfile(std::string_view text,
                                                          const std::string& name,
                                                          const ImportSettings& settings) {
  std::vector<Credential> out;
  size_t number = 0;
  for (std::string_view line; NextLine(text, line);) {
    ++number;
    auto where = [&] { return name + ":" + std::to_string(number) + ": "; };
    if (line.size() > kMaxLineLength * 16) return ConfigFail(where() + "line too long");
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos || line.front() == '#') continue;
    auto parts = Split(line, ':');
    if (parts.size() < 2 || parts[0].empty()) {
      return ConfigFail(where() + "expected user:keyhandle,publickey,...");
    }
    for (size_t i = 1; i < parts.size(); ++i) {
      auto credential = ParseDevice(parts[0], parts[i], settings);
      if (!credential) {
        return ConfigFail(where() + "device " + std::to_string(i) + ": " +
                          credential.error().message);
      }
      // The result must be a valid tpmauthn line (user name rules, etc.).
      if (auto check = ParseCredentialLine(FormatCredentialLine(*credential)); !check) {
        return ConfigFail(where() + check.error().message);
      }
      out.push_back(std::move(*credential));
    }
  }
  return out;
}

}  // namespace tpmauthn::config
