// base64url codec over OpenSSL's base64 core, with the strictness WebAuthn needs.
#include "webauthn/base64url.h"

#include <openssl/evp.h>

#include <limits>

namespace tpmauthn::webauthn {

std::string Base64UrlEncode(ByteView data) {
  if (data.empty()) return {};
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

Result<Bytes> Base64UrlDecode(std::string_view text) {
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max() / 2)) {
    return Fail(Check::kEncoding, "base64url: input too long");
  }
  if (text.size() % 4 == 1) return Fail(Check::kEncoding, "base64url: impossible length");
  std::string std_alphabet;
  std_alphabet.reserve(text.size() + 3);
  for (char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      std_alphabet.push_back(c);
    } else if (c == '-') {
      std_alphabet.push_back('+');
    } else if (c == '_') {
      std_alphabet.push_back('/');
    } else if (c == '=') {
      return Fail(Check::kEncoding, "base64url: padding is not allowed");
    } else if (c == '+' || c == '/') {
      return Fail(Check::kEncoding, "base64url: '+' or '/' (standard base64, not base64url)");
    } else {
      return Fail(Check::kEncoding, "base64url: invalid character");
    }
  }
  size_t pad = (4 - std_alphabet.size() % 4) % 4;
  std_alphabet.append(pad, '=');
  if (std_alphabet.empty()) return Bytes{};
  Bytes out(std_alphabet.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(std_alphabet.data()),
                          static_cast<int>(std_alphabet.size()));
  if (n < 0 || static_cast<size_t>(n) < pad) return Fail(Check::kEncoding, "base64url: invalid");
  out.resize(static_cast<size_t>(n) - pad);
  // Canonical form only: the bits below the last full byte must be zero.
  char last = text.back();
  size_t rem = text.size() % 4;
  if (rem != 0) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t v = kAlphabet.find(last);
    size_t unused_mask = rem == 2 ? 0x0f : 0x03;
    if ((v & unused_mask) != 0) {
      return Fail(Check::kEncoding, "base64url: non-zero trailing bits (non-canonical)");
    }
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  std::string_view bare = text;
  while (!bare.empty() && bare.back() == '=') bare.remove_suffix(1);
  const size_t padding = text.size() - bare.size();
  if (padding > 2 || (padding != 0 && text.size() % 4 != 0)) {
    return Error{Check::kEncoding, "base64: bad padding"};
  }
  std::string url(bare);
  for (char& c : url) {
    if (c == '+') {
      c = '-';
    } else if (c == '/') {
      c = '_';
    } else if (c == '-' || c == '_') {
      return Error{Check::kEncoding, "base64: '-' or '_' is not in the standard alphabet"};
    }
  }
  return Base64UrlDecode(url);
}

}  // namespace tpmauthn::webauthn
