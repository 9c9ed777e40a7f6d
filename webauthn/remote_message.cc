// Remote-mode request and reply encodings.
#include "webauthn/remote_message.h"

#include <algorithm>

#include "webauthn/base64url.h"

namespace tpmauthn::webauthn {
namespace {

constexpr uint8_t kVersion = 1;

Error Bad(const std::string& what) { return Fail(Check::kResponse, "remote reply: " + what); }

class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  bool Byte(uint8_t& out) {
    if (pos_ >= data_.size()) return false;
    out = data_[pos_++];
    return true;
  }
  bool Take(size_t n, Bytes& out) {
    if (data_.size() - pos_ < n) return false;
    out.assign(data_.begin() + static_cast<ptrdiff_t>(pos_),
               data_.begin() + static_cast<ptrdiff_t>(pos_ + n));
    pos_ += n;
    return true;
  }
  bool Sized16(Bytes& out, size_t max) {
    uint8_t hi, lo;
    if (!Byte(hi) || !Byte(lo)) return false;
    size_t n = (size_t{hi} << 8) | lo;
    return n <= max && Take(n, out);
  }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  ByteView data_;
  size_t pos_ = 0;
};

// Appends a big-endian u16 length and `data`. Callers encode only their own
// data, far below the parser's limits; anything past 0xFFFF bytes would be
// cut (and the reply then refused by the server), never mis-framed. Written
// with one resize and explicit offsets so the compiler sees every bound (gcc
// 14 with -D_GLIBCXX_ASSERTIONS reported push_back + insert as an overflow).
void Put16(Bytes& out, ByteView data) {
  const size_t length = std::min<size_t>(data.size(), 0xFFFF);
  const size_t at = out.size();
  out.resize(at + 2 + length);
  out[at] = static_cast<uint8_t>(length >> 8);
  out[at + 1] = static_cast<uint8_t>(length & 0xFF);
  std::copy_n(data.begin(), length, out.begin() + static_cast<std::ptrdiff_t>(at + 2));
}

}  // namespace

std::array<uint8_t, 8> CredentialDigest(ByteView credential_id) {
  Bytes hash = Sha256(credential_id);
  std::array<uint8_t, 8> out{};
  std::copy_n(hash.begin(), 8, out.begin());
  return out;
}

std::string RemoteRequest::Encode() const {
  Bytes out = {kVersion, static_cast<uint8_t>(user_verification ? 1 : 0)};
  out.insert(out.end(), challenge.begin(), challenge.end());
  out.push_back(static_cast<uint8_t>(rp_id.size()));
  out.insert(out.end(), rp_id.begin(), rp_id.end());
  out.push_back(static_cast<uint8_t>(credential_digests.size()));
  for (const auto& d : credential_digests) out.insert(out.end(), d.begin(), d.end());
  return std::string(kRequestTag) + Base64UrlEncode(out);
}

Result<RemoteRequest> RemoteRequest::Parse(std::string_view prompt) {
  auto bad = [](const std::string& what) { return Fail(Check::kResponse, "remote request: " + what); };
  // OpenSSH shows keyboard-interactive prompts as "(user@host) PROMPT".
  std::string_view line = prompt.substr(0, prompt.find('\n'));
  size_t at = line.find(kRequestTag);
  if (at == std::string_view::npos || (at > 0 && line[at - 1] != ' ')) {
    return bad("not a tpmauthn request");
  }
  std::string_view encoded = line.substr(at + kRequestTag.size());
  while (!encoded.empty() && (encoded.back() == ' ' || encoded.back() == '\r')) encoded.remove_suffix(1);
  if (encoded.size() > 1024) return bad("too long");
  auto bytes = Base64UrlDecode(encoded);
  if (!bytes) return bad(bytes.error().message);
  Reader r(*bytes);
  uint8_t version = 0, flags = 0, rp_len = 0, count = 0;
  RemoteRequest out;
  Bytes rp;
  if (!r.Byte(version) || version != kVersion) return bad("unsupported version");
  if (!r.Byte(flags) || (flags & ~1u)) return bad("unknown flags");
  if (!r.Take(32, out.challenge)) return bad("truncated challenge");
  if (!r.Byte(rp_len) || rp_len == 0 || !r.Take(rp_len, rp)) return bad("bad RP ID");
  if (!r.Byte(count) || count == 0 || count > kMaxRemoteCredentials) {
    return bad("bad credential count");
  }
  for (uint8_t i = 0; i < count; ++i) {
    Bytes d;
    if (!r.Take(8, d)) return bad("truncated credential list");
    std::array<uint8_t, 8> digest{};
    std::copy(d.begin(), d.end(), digest.begin());
    out.credential_digests.push_back(digest);
  }
  if (!r.AtEnd()) return bad("trailing bytes");
  out.user_verification = flags & 1;
  out.rp_id.assign(rp.begin(), rp.end());
  for (char c : out.rp_id) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("bad RP ID");
  }
  return out;
}

std::string RemoteReply::Encode() const {
  Bytes out = {kVersion};
  Put16(out, credential_id);
  Put16(out, authenticator_data);
  Put16(out, signature);
  Put16(out, client_data_json);
  return std::string(kReplyTag) + Base64UrlEncode(out);
}

Result<RemoteReply> RemoteReply::Parse(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  if (line.substr(0, kReplyTag.size()) != kReplyTag) return Bad("not a tpmauthn reply");
  std::string_view encoded = line.substr(kReplyTag.size());
  if (encoded.size() > kMaxReplySize * 4 / 3 + 4) return Bad("too long");
  auto bytes = Base64UrlDecode(encoded);
  if (!bytes) return Bad(bytes.error().message);
  Reader r(*bytes);
  uint8_t version = 0;
  RemoteReply out;
  if (!r.Byte(version) || version != kVersion) return Bad("unsupported version");
  if (!r.Sized16(out.credential_id, 1023) || out.credential_id.empty()) {
    return Bad("bad credential id");
  }
  if (!r.Sized16(out.authenticator_data, 1024)) return Bad("bad authenticatorData");
  if (!r.Sized16(out.signature, 512)) return Bad("bad signature");
  if (!r.Sized16(out.client_data_json, 4096)) return Bad("bad clientDataJSON");
  if (!r.AtEnd()) return Bad("trailing bytes");
  return out;
}

}  // namespace tpmauthn::webauthn
