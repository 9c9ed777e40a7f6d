// Owner and strict accessors for libcbor items (RFC 8949), as WebAuthn uses CBOR.
#pragma once

#include <cbor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "webauthn/bytes.h"
#include "webauthn/result.h"

namespace tpmauthn::webauthn::cbor {

struct ItemDeleter {
  void operator()(cbor_item_t* item) const noexcept { cbor_decref(&item); }
};
using ItemPtr = std::unique_ptr<cbor_item_t, ItemDeleter>;

struct Decoded {
  ItemPtr item;
  size_t consumed = 0;  // bytes of the input that made up the item
};

// Decodes the first item of `data`; bytes after it are the caller's business.
// Indefinite-length strings, arrays and maps, duplicate map keys, tags and
// nesting deeper than 16 are rejected (CTAP2 canonical CBOR has none of them).
// `what` names the structure in error messages; errors carry `check`.
Result<Decoded> DecodePrefix(ByteView data, Check check, std::string_view what);

// Decodes `data` as exactly one item; trailing bytes are an error.
Result<ItemPtr> DecodeExact(ByteView data, Check check, std::string_view what);

// Map lookups by integer or text key; nullptr when absent.
cbor_item_t* Find(const cbor_item_t* map, int64_t key);
cbor_item_t* Find(const cbor_item_t* map, std::string_view key);

std::optional<int64_t> AsInt(const cbor_item_t* item);
std::optional<Bytes> AsBytes(const cbor_item_t* item);
std::optional<std::string> AsText(const cbor_item_t* item);

// Serializes an item built with libcbor's builders.
Bytes Serialize(const cbor_item_t* item);

// Builders that return owners (libcbor returns nullptr on allocation failure;
// these throw std::bad_alloc instead, and are only used by writers).
ItemPtr Int(int64_t value);
ItemPtr ByteString(ByteView data);
ItemPtr Text(std::string_view text);
ItemPtr NewMap(size_t size);
ItemPtr NewArray(size_t size);
void MapAdd(cbor_item_t* map, ItemPtr key, ItemPtr value);
void ArrayPush(cbor_item_t* array, ItemPtr value);

}  // namespace tpmauthn::webauthn::cbor
