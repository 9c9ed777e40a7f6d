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

}  // namespace

Result<CollectedClientData> CollectedClientData::Parse(ByteView json) {
  if (json.size() > kMaxClientDataSize) return ClientDataError("larger than 16 KiB");
  if (json.size() >= 3 && json[0] == 0xef && json[1] == 0xbb && json[2] == 0xbf) {
    return ClientDataError("byte order mark");
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
    doc = nlohmann::json::parse(json.begin(), json.end(), callback, /*allow_exceptions=*/false);
  } catch (const std::exception&) {
    return ClientDataError("not valid JSON");
  }
  if (too_deep) return ClientDataError("nested too deeply");
  if (doc.is_discarded()) return ClientDataError("not valid UTF-8 JSON");
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
