// PIN to authValue derivation.
#include "tpm/pin.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <cstring>

namespace tpmauthn::tpm {

void DeriveAuthValue(const SecretBytes& pin, std::span<const uint8_t> salt, TPM2B_AUTH& out) {
  static constexpr char kLabel[] = "tpmauthn PIN v1";
  SecretBytes message(std::string_view(kLabel, sizeof(kLabel) - 1));
  for (uint8_t b : pin.bytes()) message.Append(b);
  unsigned int length = 0;
  WipeAuth(out);
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()), message.bytes().data(),
       message.size(), out.buffer, &length);
  while (length > 0 && out.buffer[length - 1] == 0) --length;
  out.size = static_cast<UINT16>(length);
}

void WipeAuth(TPM2B_AUTH& auth) {
  OPENSSL_cleanse(auth.buffer, sizeof(auth.buffer));
  auth.size = 0;
}

}  // namespace tpmauthn::tpm
