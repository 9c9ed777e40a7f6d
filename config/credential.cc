// The credential line grammar.
#include "config/credential.h"

#include <array>
#include <ctime>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "webauthn/base64url.h"

namespace tpmauthn::config {
namespace {

using webauthn::Base64UrlDecode;
using webauthn::Base64UrlEncode;
using webauthn::CoseAlgorithm;

constexpr std::array<bool, 256> MakeTable(std::string_view chars) {
  std::array<bool, 256> table{};
  for (char c : chars) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr auto kBase64UrlChars =
    MakeTable("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
constexpr auto kUserChars =
    MakeTable("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-@$");
// RP IDs and origins: printable ASCII without space, comma, '#' or quotes.
constexpr auto kAttrValueChars = MakeTable(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?[]@!$&()*+;=%");

// One table for every field's character set, so tokenizing and validating a
// field is a single pass over its bytes.
constexpr uint8_t kB64 = 1, kUser = 2, kAttr = 4, kSpace = 8;
constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> classes{};
  for (size_t c = 0; c < 256; ++c) {
    classes[c] = static_cast<uint8_t>((kBase64UrlChars[c] ? kB64 : 0) | (kUserChars[c] ? kUser : 0) |
                                      (kAttrValueChars[c] || c == ',' ? kAttr : 0) |
                                      (c == ' ' || c == '\t' ? kSpace : 0));
  }
  return classes;
}
constexpr auto kClasses = MakeClasses();

// Takes the next field off `rest`: skips blanks, then consumes characters of
// class `mask`. `clean` tells whether the field ended at a blank or the end of
// the line (false: it holds a character outside the class; the whole field is
// still consumed so the caller can report it).
#if defined(__SSE2__)
// Skips base64url characters 16 at a time (while 16 bytes remain): ids and
// keys are most of a credentials file's bytes, and the byte-at-a-time table
// walk over them was half of a 100,000-line lookup. Signed compares: bytes
// >= 0x80 are negative and fall in no range.
const char* SkipBase64Url(const char* p, const char* end) {
  auto in = [](__m128i v, char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i ok = _mm_or_si128(
        _mm_or_si128(in(v, 'A', 'Z'), in(v, 'a', 'z')),
        _mm_or_si128(in(v, '0', '9'), _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')),
                                                   _mm_cmpeq_epi8(v, _mm_set1_epi8('_')))));
    const unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(ok));
    if (bits != 0xffff) return p + __builtin_ctz(~bits);
    p += 16;
  }
  return p;
}
#endif

std::string_view TakeField(std::string_view& rest, uint8_t mask, bool& clean) {
  const char* p = rest.data();
  const char* end = p + rest.size();
  while (p < end && (kClasses[static_cast<unsigned char>(*p)] & kSpace)) ++p;
  const char* start = p;
#if defined(__SSE2__)
  if (mask == kB64) p = SkipBase64Url(p, end);  // the table walk below finishes the tail
#endif
  while (p < end && (kClasses[static_cast<unsigned char>(*p)] & mask)) ++p;
  clean = p == end || (kClasses[static_cast<unsigned char>(*p)] & kSpace);
  while (p < end && !(kClasses[static_cast<unsigned char>(*p)] & kSpace)) ++p;
  std::string_view field(start, static_cast<size_t>(p - start));
  rest.remove_prefix(static_cast<size_t>(p - rest.data()));
  return field;
}

bool AllOf(std::string_view text, const std::array<bool, 256>& table) {
  for (char c : text) {
    if (!table[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

// The shape of canonical base64url without decoding it: alphabet, a possible
// length, and zero bits below the last full byte.
// `text` must already be known to hold only base64url characters.
bool CanonicalBase64UrlShape(std::string_view text) {
  if (text.empty() || text.size() % 4 == 1) return false;
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t last = kAlphabet.find(text.back());
  switch (text.size() % 4) {
    case 2:
      return (last & 0x0f) == 0;
    case 3:
      return (last & 0x03) == 0;
    default:
      return true;
  }
}

// Valid UTF-8 (no overlongs, surrogates or values past U+10FFFF) without C0
// or C1 control characters.
bool ValidUtf8Text(std::string_view text) {
  static constexpr uint32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t extra = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3fu);
    }
    if (cp < kMinimum[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
        (cp >= 0x80 && cp < 0xa0)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool ValidDate(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (d[i] < '0' || d[i] > '9') return false;
  }
  int month = (d[5] - '0') * 10 + (d[6] - '0');
  int day = (d[8] - '0') * 10 + (d[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

std::optional<CoseAlgorithm> ParseAlg(std::string_view alg) {
  if (alg == "es256") return CoseAlgorithm::kES256;
  if (alg == "eddsa") return CoseAlgorithm::kEdDSA;
  if (alg == "rs256") return CoseAlgorithm::kRS256;
  return std::nullopt;
}

std::string_view AlgName(CoseAlgorithm alg) {
  switch (alg) {
    case CoseAlgorithm::kES256:
      return "es256";
    case CoseAlgorithm::kEdDSA:
      return "eddsa";
    case CoseAlgorithm::kRS256:
      return "rs256";
  }
  return "?";
}

std::optional<AuthenticatorKind> ParseKind(std::string_view kind) {
  if (kind == "tpm") return AuthenticatorKind::kTpm;
  if (kind == "fido2") return AuthenticatorKind::kFido2;
  if (kind == "remote") return AuthenticatorKind::kRemote;
  return std::nullopt;
}

// Attributes: comma-separated uv=pin|none (required), rp=VALUE, origin=VALUE.
ConfigResult<void> ParseAttributes(std::string_view text, Credential* out) {
  bool seen_uv = false, seen_rp = false, seen_origin = false;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view attr = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) {
      return ConfigFail("attributes end with a comma");
    }
    size_t eq = attr.find('=');
    if (eq == std::string_view::npos) {
      return ConfigFail("attribute \"" + std::string(attr) + "\" lacks '='");
    }
    std::string_view name = attr.substr(0, eq), value = attr.substr(eq + 1);
    if (name == "uv") {
      if (seen_uv) return ConfigFail("attribute uv given twice");
      seen_uv = true;
      if (value != "pin" && value != "none") return ConfigFail("uv must be pin or none");
      if (out) out->require_uv = value == "pin";
    } else if (name == "rp" || name == "origin") {
      bool& seen = name == "rp" ? seen_rp : seen_origin;
      if (seen) return ConfigFail("attribute " + std::string(name) + " given twice");
      seen = true;
      if (value.empty() || value.size() > 512 || !AllOf(value, kAttrValueChars)) {
        return ConfigFail("attribute " + std::string(name) + " has an invalid value");
      }
      if (out) (name == "rp" ? out->rp_id : out->origin) = std::string(value);
    } else {
      return ConfigFail("unknown attribute \"" + std::string(name) + "\"");
    }
  }
  if (!seen_uv) return ConfigFail("attributes lack uv=pin or uv=none");
  return {};
}

}  // namespace

std::string_view ToString(AuthenticatorKind kind) {
  switch (kind) {
    case AuthenticatorKind::kTpm:
      return "tpm";
    case AuthenticatorKind::kFido2:
      return "fido2";
    case AuthenticatorKind::kRemote:
      return "remote";
  }
  return "?";
}

ConfigResult<LineType> ScanLine(std::string_view line, LineFields& f) {
  if (line.size() > kMaxLineLength) {
    return ConfigFail("line longer than " + std::to_string(kMaxLineLength) + " bytes");
  }
  std::string_view rest = line;
  while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
  if (rest.empty()) return LineType::kBlank;
  if (rest.front() == '#') return LineType::kComment;
  // Every byte of a line belongs to a field whose character set excludes
  // control characters, so stray CR or NUL bytes fail below; CRLF files are
  // common enough to deserve their own message.
  if (line.back() == '\r') return ConfigFail("carriage return in line (CRLF file?)");

  bool user_ok, id_ok, alg_ok, key_ok, kind_ok, attributes_ok, created_ok;
  f.user = TakeField(rest, kUser, user_ok);
  f.id = TakeField(rest, kB64, id_ok);
  f.alg = TakeField(rest, kB64, alg_ok);
  f.key = TakeField(rest, kB64, key_ok);
  f.kind = TakeField(rest, kB64, kind_ok);
  f.attributes = TakeField(rest, kAttr, attributes_ok);
  f.created = TakeField(rest, kB64, created_ok);
  while (!rest.empty() && IsSpace(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && IsSpace(rest.back())) rest.remove_suffix(1);
  f.label = rest;

  if (f.created.empty()) return ConfigFail("too few fields (need at least 7)");
  if (!user_ok || f.user.size() > kMaxUserLength || f.user.front() == '-') {
    return ConfigFail("invalid user name");
  }
  if (f.id != "*") {
    if (!id_ok) return ConfigFail("credential id is not base64url");
    if (!CanonicalBase64UrlShape(f.id)) {
      return ConfigFail("credential id: base64url: non-zero trailing bits or bad length");
    }
    if (f.id.size() > 1364) return ConfigFail("credential id must be 1-1023 bytes");
  }
  if (!alg_ok || !ParseAlg(f.alg)) {
    return ConfigFail("unknown algorithm \"" + std::string(f.alg) + "\"");
  }
  if (!key_ok || !CanonicalBase64UrlShape(f.key)) return ConfigFail("public key is not base64url");
  if (!kind_ok || !ParseKind(f.kind)) {
    return ConfigFail("unknown authenticator kind \"" + std::string(f.kind) + "\"");
  }
  if (!attributes_ok) return ConfigFail("attributes hold an invalid character");
  if (auto ok = ParseAttributes(f.attributes, nullptr); !ok) return ok.error();
  if (!created_ok || !ValidDate(f.created)) return ConfigFail("creation date is not YYYY-MM-DD");
  if (f.label.size() > kMaxLabelLength) return ConfigFail("label longer than 256 bytes");
  if (!ValidUtf8Text(f.label)) return ConfigFail("label is not printable UTF-8");
  return LineType::kCredential;
}

ConfigResult<Credential> ParseFields(const LineFields& f) {
  Credential c;
  c.user = std::string(f.user);
  if (f.id != "*") {
    auto id = Base64UrlDecode(f.id);
    if (!id) return ConfigFail("credential id: " + id.error().message);
    if (id->empty() || id->size() > 1023) return ConfigFail("credential id must be 1-1023 bytes");
    c.id = std::move(*id);
  }
  c.algorithm = *ParseAlg(f.alg);
  auto key_bytes = Base64UrlDecode(f.key);
  if (!key_bytes) return ConfigFail("public key: " + key_bytes.error().message);
  auto key = webauthn::CoseKey::Parse(*key_bytes);
  if (!key) return ConfigFail("public key: " + key.error().message);
  if (key->algorithm() != c.algorithm) {
    return ConfigFail("public key is " + std::string(webauthn::ToString(key->algorithm())) +
                      " but the line says " + std::string(f.alg));
  }
  c.public_key = std::move(*key_bytes);
  c.kind = *ParseKind(f.kind);
  if (auto ok = ParseAttributes(f.attributes, &c); !ok) return ok.error();
  c.created = std::string(f.created);
  c.label = std::string(f.label);
  return c;
}

ConfigResult<Credential> ParseCredentialLine(std::string_view line) {
  LineFields fields;
  auto type = ScanLine(line, fields);
  if (!type) return type.error();
  if (*type != LineType::kCredential) return ConfigFail("not a credential line");
  return ParseFields(fields);
}

std::string FormatCredentialLine(const Credential& c) {
  std::string line = c.user;
  line += ' ';
  line += c.id.empty() ? "*" : Base64UrlEncode(c.id);
  line += ' ';
  line += AlgName(c.algorithm);
  line += ' ';
  line += Base64UrlEncode(c.public_key);
  line += ' ';
  line += ToString(c.kind);
  line += c.require_uv ? " uv=pin" : " uv=none";
  if (c.rp_id) line += ",rp=" + *c.rp_id;
  if (c.origin) line += ",origin=" + *c.origin;
  line += ' ';
  line += c.created;
  if (!c.label.empty()) {
    line += ' ';
    line += c.label;
  }
  return line;
}

std::string TodayUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[16];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d", &tm);
  return buffer;
}

}  // namespace tpmauthn::config
