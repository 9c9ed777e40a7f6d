// clientDataJSON parsing (strict) and §5.8.1.1 serialization.
#include "webauthn/client_data.h"

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

#include "webauthn/base64url.h"

namespace tpmauthn::webauthn {
namespace {

constexpr int kMaxDepth = 16;

Error ClientDataError(std::string message) {
  return Fail(Check::kClientData, "clientDataJSON: " + std::move(message));
}

void AppendUtf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  }
}

}  // namespace

std::string Utf8Decode(ByteView bytes) {
  constexpr uint32_t kReplacement = 0xfffd;
  if (bytes.size() >= 3 && bytes[0] == 0xef && bytes[1] == 0xbb && bytes[2] == 0xbf) {
    bytes = bytes.subspan(3);  // one BOM only: a second one is U+FEFF text
  }
  std::string out;
  out.reserve(bytes.size());
  uint32_t code_point = 0;
  int needed = 0, seen = 0;
  uint8_t lower = 0x80, upper = 0xbf;
  for (size_t i = 0; i < bytes.size(); ++i) {
    const uint8_t byte = bytes[i];
    if (needed == 0) {
      if (byte <= 0x7f) {
        out.push_back(static_cast<char>(byte));
      } else if (byte >= 0xc2 && byte <= 0xdf) {
        needed = 1;
        code_point = byte & 0x1f;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte == 0xe0) lower = 0xa0;
        if (byte == 0xed) upper = 0x9f;
        needed = 2;
        code_point = byte & 0x0f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte == 0xf0) lower = 0x90;
        if (byte == 0xf4) upper = 0x8f;
        needed = 3;
        code_point = byte & 0x07;
      } else {
        AppendUtf8(out, kReplacement);
      }
      continue;
    }
    if (byte < lower || byte > upper) {
      // The sequence so far becomes one U+FFFD; this byte starts afresh.
      code_point = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      AppendUtf8(out, kReplacement);
      --i;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    code_point = (code_point << 6) | (byte & 0x3f);
    if (++seen == needed) {
      AppendUtf8(out, code_point);
      code_point = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) AppendUtf8(out, kReplacement);
  return out;
}

Result<CollectedClientData> CollectedClientData::Parse(ByteView json) {
  if (json.size() > kMaxClientDataSize) return ClientDataError("larger than 16 KiB");
  // §7.1 step 5, §7.2 step 10: JSON-parse the result of UTF-8 decode.
  const std::string text = Utf8Decode(json);
  // A second BOM is now the text U+FEFF, which JSON does not allow before a
  // value (ECMAScript's JSON.parse refuses it); nlohmann would skip it.
  if (text.rfind("\xef\xbb\xbf", 0) == 0) {
    return ClientDataError("not valid JSON (U+FEFF first)");
  }
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  bool too_deep = false;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event,
                      nlohmann::json& parsed) -> bool {
    using Event = nlohmann::json::parse_event_t;
    if (depth > kMaxDepth) {
      too_deep = true;
      return false;
    }
    switch (event) {
      case Event::object_start:
        keys.emplace_back();
        break;
      case Event::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      case Event::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  } catch (const std::exception&) {
    return ClientDataError("not valid JSON");
  }
  if (too_deep) return ClientDataError("nested too deeply");
  if (doc.is_discarded()) return ClientDataError("not valid JSON");
  if (duplicate) return ClientDataError("duplicate member");
  if (!doc.is_object()) return ClientDataError("not a JSON object");

  CollectedClientData out;
  auto take_string = [&](const char* name, std::string& dest) -> bool {
    auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) return false;
    dest = it->get<std::string>();
    return true;
  };
  if (!take_string("type", out.type)) return ClientDataError("missing or non-string \"type\"");
  if (!take_string("challenge", out.challenge)) {
    return ClientDataError("missing or non-string \"challenge\"");
  }
  if (!take_string("origin", out.origin)) return ClientDataError("missing or non-string \"origin\"");
  if (auto it = doc.find("crossOrigin"); it != doc.end()) {
    if (!it->is_boolean()) return ClientDataError("\"crossOrigin\" is not a boolean");
    out.cross_origin = it->get<bool>();
  }
  if (auto it = doc.find("topOrigin"); it != doc.end()) {
    if (!it->is_string()) return ClientDataError("\"topOrigin\" is not a string");
    out.top_origin = it->get<std::string>();
  }
  return out;
}

std::string CcdToString(std::string_view utf8) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : utf8) {
    auto c = static_cast<unsigned char>(ch);
    if (c == 0x22) {
      out += "\\\"";
    } else if (c == 0x5c) {
      out += "\\\\";
    } else if (c < 0x20) {
      // §5.8.1.2: code points below 0x20 become \u followed by four lowercase hex digits.
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);  // 0x20-0x21, 0x23-0x5b, 0x5d-0x10ffff (UTF-8 bytes pass through)
    }
  }
  out += "\"";
  return out;
}

std::string SerializeClientData(std::string_view type, ByteView challenge,
                                std::string_view origin, bool cross_origin,
                                std::optional<std::string_view> top_origin) {
  std::string out = "{\"type\":";
  out += CcdToString(type);
  out += ",\"challenge\":";
  out += CcdToString(Base64UrlEncode(challenge));
  out += ",\"origin\":";
  out += CcdToString(origin);
  out += ",\"crossOrigin\":";
  out += cross_origin ? "true" : "false";
  if (top_origin) {
    out += ",\"topOrigin\":";
    out += CcdToString(*top_origin);
  }
  out += "}";
  return out;
}

}  // namespace tpmauthn::webauthn
