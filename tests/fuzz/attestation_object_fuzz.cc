// libFuzzer harness: attestationObject parsing and its statement verification.
#include <cstddef>
#include <cstdint>

#include "webauthn/attestation_object.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::webauthn;
  auto object = AttestationObject::Parse({data, size});
  if (object && object->auth_data.attested) {
    auto key = CoseKey::Parse(object->auth_data.attested->public_key);
    if (key) {
      Bytes hash(32, 0);
      (void)VerifyAttestationStatement(*object, hash, *key);
    }
  }
  return 0;
}
