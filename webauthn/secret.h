// Bytes that must not outlive their use (PINs, authValues): wiped with
// OPENSSL_cleanse on destruction, never copied, compared in constant time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tpmauthn::webauthn {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  explicit SecretBytes(std::string_view text)
      : bytes_(reinterpret_cast<const uint8_t*>(text.data()),
               reinterpret_cast<const uint8_t*>(text.data()) + text.size()) {}
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { Wipe(); }

  // Appends without leaving unwiped copies behind on reallocation.
  void Append(uint8_t byte);
  void Wipe();

  std::span<const uint8_t> bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  bool Equals(const SecretBytes& other) const;

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace tpmauthn::webauthn
