// Tss2_MU marshalling to and from byte strings (key-store blobs).
#pragma once

#include <tss2/tss2_mu.h>

#include <string>

#include "tpm/tpm_error.h"
#include "webauthn/bytes.h"

namespace tpmauthn::tpm {

// `value` marshalled by `Marshal`; empty if it does not fit (cannot happen
// for a value ESAPI produced).
template <typename T, TSS2_RC (*Marshal)(const T*, uint8_t*, size_t, size_t*)>
inline webauthn::Bytes MarshalToBytes(const T& value) {
  webauthn::Bytes out(sizeof(T) + 16);
  size_t offset = 0;
  if (Marshal(&value, out.data(), out.size(), &offset) != TSS2_RC_SUCCESS) return {};
  out.resize(offset);
  return out;
}

// `bytes` unmarshalled by `Unmarshal`, which must use all of them; else
// kStore naming `what`.
template <typename T, TSS2_RC (*Unmarshal)(const uint8_t*, size_t, size_t*, T*)>
TpmResult<T> UnmarshalFromBytes(const webauthn::Bytes& bytes, const char* what) {
  T value{};
  size_t offset = 0;
  if (Unmarshal(bytes.data(), bytes.size(), &offset, &value) != TSS2_RC_SUCCESS ||
      offset != bytes.size()) {
    return TpmFail(TpmErrorKind::kStore, std::string("key file holds an invalid ") + what);
  }
  return value;
}

}  // namespace tpmauthn::tpm
