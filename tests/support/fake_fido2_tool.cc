// Test-only: makes the key files fake_fido2_preload.so plugs in.
//   fake_fido2_tool new FILE [PIN]    an empty key (with a PIN if given)
//   fake_fido2_tool new-u2f FILE      an empty U2F-only (CTAP1) key
//   fake_fido2_tool add FILE RP_ID [eddsa]   a credential for RP_ID (ES256, or
//       Ed25519 with "eddsa"); prints JSON
//       {"id": base64url, "cose": base64url COSE_Key, "pam_u2f": "KH,PK,es256"}
//       (pam_u2f: the credential as a pam-u2f authfile writes it)
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/fake_fido2_device.h"
#include "webauthn/base64url.h"

namespace {

std::string StandardBase64(const tpmauthn::webauthn::Bytes& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using tpmauthn::testing::FakeFido2Device;
  const std::string command = argc > 2 ? argv[1] : "";
  if ((command == "new" && (argc == 3 || argc == 4)) || (command == "new-u2f" && argc == 3)) {
    FakeFido2Device device;
    device.u2f_only = command == "new-u2f";
    if (argc == 4) device.SetPin(argv[3]);
    std::ofstream(argv[2], std::ios::trunc) << device.Save();
    return 0;
  }
  const bool eddsa = argc == 5 && std::string(argv[4]) == "eddsa";
  if (command == "add" && (argc == 4 || eddsa)) {
    std::stringstream text;
    text << std::ifstream(argv[2]).rdbuf();
    auto device = FakeFido2Device::Load(text.str());
    const auto& c = device->AddCredential(argv[3], eddsa);
    // pam-u2f's public key field: x||y for es256, the 32-byte key for eddsa.
    tpmauthn::webauthn::Bytes raw(65);
    size_t length = raw.size();
    if (eddsa) {
      EVP_PKEY_get_raw_public_key(c.key.get(), raw.data(), &length);
      raw.resize(length);
    } else {
      EVP_PKEY_get_octet_string_param(c.key.get(), OSSL_PKEY_PARAM_PUB_KEY, raw.data(),
                                      raw.size(), &length);
      raw.erase(raw.begin());
    }
    // pam-u2f's old U2F format: websafe base64 key handle, hex 04||x||y.
    std::string hex_point = "04";
    for (uint8_t b : raw) {
      static const char* kHex = "0123456789abcdef";
      hex_point += kHex[b >> 4];
      hex_point += kHex[b & 15];
    }
    nlohmann::json out = {{"id", tpmauthn::webauthn::Base64UrlEncode(c.id)},
                          {"pam_u2f_old", tpmauthn::webauthn::Base64UrlEncode(c.id) + "," + hex_point},
                          {"cose", tpmauthn::webauthn::Base64UrlEncode(c.cose_key)},
                          {"pam_u2f", StandardBase64(c.id) + "," + StandardBase64(raw) + "," +
                                          (eddsa ? "eddsa" : "es256")}};
    std::ofstream(argv[2], std::ios::trunc) << device->Save();
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cerr << "usage: fake_fido2_tool new FILE [PIN] | new-u2f FILE | add FILE RP_ID [eddsa]\n";
  return 2;
}
