// Self-wiping secret bytes.
#include "webauthn/secret.h"

#include <openssl/crypto.h>

namespace tpmauthn::webauthn {

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

void SecretBytes::Append(uint8_t byte) {
  if (bytes_.size() == bytes_.capacity()) {
    std::vector<uint8_t> bigger;
    bigger.reserve(bytes_.capacity() < 64 ? 64 : bytes_.capacity() * 2);
    bigger.assign(bytes_.begin(), bytes_.end());
    Wipe();
    bytes_ = std::move(bigger);
  }
  bytes_.push_back(byte);
}

void SecretBytes::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  return bytes_.size() == other.bytes_.size() &&
         (bytes_.empty() || CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), bytes_.size()) == 0);
}

}  // namespace tpmauthn::webauthn
