// libcbor wrappers: strict decoding and owning builders.
#include "webauthn/cbor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace tpmauthn::webauthn::cbor {
namespace {

constexpr int kMaxDepth = 16;

bool ItemEquals(const cbor_item_t* a, const cbor_item_t* b) {
  if (cbor_typeof(a) != cbor_typeof(b)) return false;
  switch (cbor_typeof(a)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
      return cbor_get_int(a) == cbor_get_int(b);
    case CBOR_TYPE_BYTESTRING:
    case CBOR_TYPE_STRING: {
      size_t n = cbor_typeof(a) == CBOR_TYPE_STRING ? cbor_string_length(a)
                                                    : cbor_bytestring_length(a);
      size_t m = cbor_typeof(b) == CBOR_TYPE_STRING ? cbor_string_length(b)
                                                    : cbor_bytestring_length(b);
      const unsigned char* pa = cbor_typeof(a) == CBOR_TYPE_STRING ? cbor_string_handle(a)
                                                                   : cbor_bytestring_handle(a);
      const unsigned char* pb = cbor_typeof(b) == CBOR_TYPE_STRING ? cbor_string_handle(b)
                                                                   : cbor_bytestring_handle(b);
      return n == m && (n == 0 || std::memcmp(pa, pb, n) == 0);
    }
    default:
      return false;  // keys of other types are rejected before comparison
  }
}

// Walks the decoded tree and enforces the strictness rules; returns a reason.
const char* Validate(const cbor_item_t* item, int depth) {
  if (depth > kMaxDepth) return "nested too deeply";
  switch (cbor_typeof(item)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
      return nullptr;
    case CBOR_TYPE_BYTESTRING:
      return cbor_bytestring_is_definite(item) ? nullptr : "indefinite-length byte string";
    case CBOR_TYPE_STRING:
      return cbor_string_is_definite(item) ? nullptr : "indefinite-length text string";
    case CBOR_TYPE_ARRAY: {
      if (!cbor_array_is_definite(item)) return "indefinite-length array";
      cbor_item_t** items = cbor_array_handle(item);
      for (size_t i = 0; i < cbor_array_size(item); ++i) {
        if (const char* why = Validate(items[i], depth + 1)) return why;
      }
      return nullptr;
    }
    case CBOR_TYPE_MAP: {
      if (!cbor_map_is_definite(item)) return "indefinite-length map";
      cbor_pair* pairs = cbor_map_handle(item);
      size_t n = cbor_map_size(item);
      for (size_t i = 0; i < n; ++i) {
        cbor_type kt = cbor_typeof(pairs[i].key);
        if (kt != CBOR_TYPE_UINT && kt != CBOR_TYPE_NEGINT && kt != CBOR_TYPE_STRING &&
            kt != CBOR_TYPE_BYTESTRING) {
          return "map key of unsupported type";
        }
        if (const char* why = Validate(pairs[i].key, depth + 1)) return why;
        if (const char* why = Validate(pairs[i].value, depth + 1)) return why;
        for (size_t j = 0; j < i; ++j) {
          if (ItemEquals(pairs[i].key, pairs[j].key)) return "duplicate map key";
        }
      }
      return nullptr;
    }
    case CBOR_TYPE_FLOAT_CTRL:
      return nullptr;  // true/false/null; floats are rejected by the accessors
    case CBOR_TYPE_TAG:
      return "tagged item";
  }
  return "unknown item";
}

// Walks the item headers at data[pos] without allocating and returns where the
// item ends. libcbor preallocates arrays, maps and strings from their declared
// lengths, so an unchecked 9-byte header could demand gigabytes; here every
// declared length must fit in the bytes actually present (each array or map
// member needs at least one byte), which bounds libcbor's allocations by the
// input size. Rejects indefinite lengths, tags, reserved encodings and nesting
// deeper than kMaxDepth.
std::optional<size_t> Skim(ByteView data, size_t pos, int depth, const char** why) {
  if (depth > kMaxDepth) {
    *why = "nested too deeply";
    return std::nullopt;
  }
  if (pos >= data.size()) {
    *why = "truncated CBOR";
    return std::nullopt;
  }
  const uint8_t initial = data[pos++];
  const int major = initial >> 5;
  const int info = initial & 0x1f;
  uint64_t value = 0;
  if (info < 24) {
    value = static_cast<uint64_t>(info);
  } else if (info <= 27) {
    size_t width = size_t{1} << (info - 24);
    if (data.size() - pos < width) {
      *why = "truncated CBOR";
      return std::nullopt;
    }
    for (size_t i = 0; i < width; ++i) value = (value << 8) | data[pos + i];
    pos += width;
  } else if (info == 31) {
    *why = major == 2 ? "indefinite-length byte string"
           : major == 3 ? "indefinite-length text string"
           : major == 4 ? "indefinite-length array"
           : major == 5 ? "indefinite-length map"
                        : "malformed CBOR";
    return std::nullopt;
  } else {
    *why = "malformed CBOR";
    return std::nullopt;
  }
  const uint64_t remaining = data.size() - pos;
  switch (major) {
    case 0:
    case 1:
      return pos;
    case 2:
    case 3:
      if (value > remaining) {
        *why = "truncated CBOR";
        return std::nullopt;
      }
      return pos + static_cast<size_t>(value);
    case 4:
    case 5: {
      uint64_t members = major == 5 ? value * 2 : value;
      if (value > remaining || members > remaining) {
        *why = "truncated CBOR";
        return std::nullopt;
      }
      for (uint64_t i = 0; i < members; ++i) {
        auto next = Skim(data, pos, depth + 1, why);
        if (!next) return std::nullopt;
        pos = *next;
      }
      return pos;
    }
    case 6:
      *why = "tagged item";
      return std::nullopt;
    default:  // 7: simple values and floats; the break code was handled above
      return pos;
  }
}

}  // namespace

Result<Decoded> DecodePrefix(ByteView data, Check check, std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  if (data.empty()) return Fail(check, prefix + "empty");
  const char* why = "malformed CBOR";
  auto end = Skim(data, 0, 0, &why);
  if (!end) return Fail(check, prefix + why);
  cbor_load_result result{};
  cbor_item_t* raw = cbor_load(data.data(), *end, &result);
  ItemPtr item(raw);
  if (!item || result.error.code != CBOR_ERR_NONE || result.read != *end) {
    switch (result.error.code) {
      case CBOR_ERR_NOTENOUGHDATA:
        return Fail(check, prefix + "truncated CBOR");
      case CBOR_ERR_MEMERROR:
        return Fail(check, prefix + "out of memory decoding CBOR");
      default:
        return Fail(check, prefix + "malformed CBOR");
    }
  }
  if (const char* invalid = Validate(item.get(), 0)) return Fail(check, prefix + invalid);
  return Decoded{std::move(item), result.read};
}

Result<ItemPtr> DecodeExact(ByteView data, Check check, std::string_view what) {
  auto decoded = DecodePrefix(data, check, what);
  if (!decoded) return decoded.error();
  if (decoded->consumed != data.size()) {
    return Fail(check, std::string(what) + ": " +
                           std::to_string(data.size() - decoded->consumed) + " trailing bytes");
  }
  return std::move(decoded->item);
}

cbor_item_t* Find(const cbor_item_t* map, int64_t key) {
  if (!map || !cbor_isa_map(map)) return nullptr;
  cbor_pair* pairs = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); ++i) {
    auto k = AsInt(pairs[i].key);
    if (k && *k == key) return pairs[i].value;
  }
  return nullptr;
}

cbor_item_t* Find(const cbor_item_t* map, std::string_view key) {
  if (!map || !cbor_isa_map(map)) return nullptr;
  cbor_pair* pairs = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); ++i) {
    auto k = AsText(pairs[i].key);
    if (k && *k == key) return pairs[i].value;
  }
  return nullptr;
}

std::optional<int64_t> AsInt(const cbor_item_t* item) {
  if (!item) return std::nullopt;
  if (cbor_isa_uint(item)) {
    uint64_t v = cbor_get_int(item);
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (cbor_isa_negint(item)) {
    uint64_t v = cbor_get_int(item);
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return -1 - static_cast<int64_t>(v);
  }
  return std::nullopt;
}

std::optional<Bytes> AsBytes(const cbor_item_t* item) {
  if (!item || !cbor_isa_bytestring(item) || !cbor_bytestring_is_definite(item)) {
    return std::nullopt;
  }
  const unsigned char* p = cbor_bytestring_handle(item);
  return Bytes(p, p + cbor_bytestring_length(item));
}

std::optional<std::string> AsText(const cbor_item_t* item) {
  if (!item || !cbor_isa_string(item) || !cbor_string_is_definite(item)) return std::nullopt;
  const unsigned char* p = cbor_string_handle(item);
  return std::string(reinterpret_cast<const char*>(p), cbor_string_length(item));
}

Bytes Serialize(const cbor_item_t* item) {
  unsigned char* buffer = nullptr;
  size_t buffer_size = 0;
  size_t length = cbor_serialize_alloc(item, &buffer, &buffer_size);
  if (length == 0) {
    std::free(buffer);
    throw std::bad_alloc();
  }
  Bytes out(buffer, buffer + length);
  std::free(buffer);
  return out;
}

static ItemPtr Owned(cbor_item_t* item) {
  if (!item) throw std::bad_alloc();
  return ItemPtr(item);
}

ItemPtr Int(int64_t value) {
  if (value >= 0) {
    auto v = static_cast<uint64_t>(value);
    if (v <= 0xff) return Owned(cbor_build_uint8(static_cast<uint8_t>(v)));
    if (v <= 0xffff) return Owned(cbor_build_uint16(static_cast<uint16_t>(v)));
    if (v <= 0xffffffff) return Owned(cbor_build_uint32(static_cast<uint32_t>(v)));
    return Owned(cbor_build_uint64(v));
  }
  auto v = static_cast<uint64_t>(-1 - value);
  if (v <= 0xff) return Owned(cbor_build_negint8(static_cast<uint8_t>(v)));
  if (v <= 0xffff) return Owned(cbor_build_negint16(static_cast<uint16_t>(v)));
  if (v <= 0xffffffff) return Owned(cbor_build_negint32(static_cast<uint32_t>(v)));
  return Owned(cbor_build_negint64(v));
}

ItemPtr ByteString(ByteView data) {
  return Owned(cbor_build_bytestring(data.data(), data.size()));
}

ItemPtr Text(std::string_view text) {
  return Owned(cbor_build_stringn(text.data(), text.size()));
}

ItemPtr NewMap(size_t size) { return Owned(cbor_new_definite_map(size)); }
ItemPtr NewArray(size_t size) { return Owned(cbor_new_definite_array(size)); }

void MapAdd(cbor_item_t* map, ItemPtr key, ItemPtr value) {
  // cbor_map_add takes its own references.
  if (!cbor_map_add(map, cbor_pair{key.get(), value.get()})) throw std::bad_alloc();
}

void ArrayPush(cbor_item_t* array, ItemPtr value) {
  if (!cbor_array_push(array, value.get())) throw std::bad_alloc();
}

}  // namespace tpmauthn::webauthn::cbor
