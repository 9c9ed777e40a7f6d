// Request and response files of the attestation CA (see messages.h).
#include "attestation_ca/messages.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "webauthn/base64url.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::attestation_ca {
namespace {

using nlohmann::json;
using webauthn::Bytes;

constexpr size_t kIvSize = 12, kTagSize = 16;

// The members of `j`: exactly `names`, each a string; base64url ones decoded.
class Members {
 public:
  Members(std::string_view text, const char* format, std::set<std::string> names)
      : names_(std::move(names)) {
    j_ = json::parse(text, nullptr, false);
    if (j_.is_discarded() || !j_.is_object()) {
      error_ = "not a JSON object";
      return;
    }
    auto f = j_.find("format");
    auto v = j_.find("version");
    if (f == j_.end() || !f->is_string() || f->get_ref<const std::string&>() != format) {
      error_ = std::string("not a ") + format + " file";
    } else if (v == j_.end() || !v->is_number_unsigned() || v->get<uint64_t>() != 1) {
      error_ = "unsupported version";
    }
    for (const auto& [key, value] : j_.items()) {
      if (key != "format" && key != "version" && !names_.count(key)) {
        error_ = "unknown member \"" + key + "\"";
      }
    }
  }
  bool Text(const char* key, std::string& out) {
    auto it = j_.find(key);
    if (it == j_.end() || !it->is_string()) {
      if (error_.empty()) error_ = std::string("\"") + key + "\" missing or not a string";
      return false;
    }
    out = it->get<std::string>();
    return true;
  }
  bool Binary(const char* key, Bytes& out) {
    std::string text;
    if (!Text(key, text)) return false;
    auto decoded = webauthn::Base64UrlDecode(text);
    if (!decoded || decoded->empty()) {
      if (error_.empty()) error_ = std::string("\"") + key + "\" is not base64url";
      return false;
    }
    out = std::move(*decoded);
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  std::set<std::string> names_;
  json j_;
  std::string error_;
};

CaResult<Bytes> CertificateKey(const webauthn::SecretBytes& credential) {
  std::unique_ptr<EVP_KDF, webauthn::OpenSslDeleter<EVP_KDF_free>> kdf(
      EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  std::unique_ptr<EVP_KDF_CTX, webauthn::OpenSslDeleter<EVP_KDF_CTX_free>> ctx(
      kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return CaFail("HKDF unavailable");
  std::string digest = "SHA256", info = "tpmauthn AIK certificate";
  Bytes secret(credential.bytes().begin(), credential.bytes().end());
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret.data(), secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  Bytes key(32);
  const bool ok = EVP_KDF_derive(ctx.get(), key.data(), key.size(), params) == 1;
  OPENSSL_cleanse(secret.data(), secret.size());
  if (!ok) return CaFail("HKDF failed");
  return key;
}

using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, webauthn::OpenSslDeleter<EVP_CIPHER_CTX_free>>;

}  // namespace

std::string SerializeRequest(const AttestationRequest& r) {
  nlohmann::ordered_json j = {
      {"format", "tpmauthn-attestation-request"},
      {"version", 1},
      {"ekCertificate", webauthn::Base64UrlEncode(r.ek_certificate)},
      {"ekPublic", webauthn::Base64UrlEncode(r.ek_public)},
      {"akPublic", webauthn::Base64UrlEncode(r.ak_public)},
      {"manufacturer", r.manufacturer},
      {"model", r.model},
      {"firmwareVersion", r.firmware_version},
  };
  return j.dump(1) + "\n";
}

CaResult<AttestationRequest> ParseRequest(std::string_view text) {
  Members m(text, "tpmauthn-attestation-request",
            {"ekCertificate", "ekPublic", "akPublic", "manufacturer", "model",
             "firmwareVersion"});
  AttestationRequest r;
  if (m.error().empty()) {
    m.Binary("ekCertificate", r.ek_certificate) && m.Binary("ekPublic", r.ek_public) &&
        m.Binary("akPublic", r.ak_public) && m.Text("manufacturer", r.manufacturer) &&
        m.Text("model", r.model) && m.Text("firmwareVersion", r.firmware_version);
  }
  if (!m.error().empty()) return CaFail("request: " + m.error());
  return r;
}

std::string SerializeResponse(const AttestationResponse& r) {
  nlohmann::ordered_json j = {
      {"format", "tpmauthn-attestation-response"},
      {"version", 1},
      {"akName", webauthn::Base64UrlEncode(r.ak_name)},
      {"idObject", webauthn::Base64UrlEncode(r.id_object)},
      {"encryptedSecret", webauthn::Base64UrlEncode(r.encrypted_secret)},
      {"iv", webauthn::Base64UrlEncode(r.iv)},
      {"encryptedCertificate", webauthn::Base64UrlEncode(r.encrypted_certificate)},
  };
  return j.dump(1) + "\n";
}

CaResult<AttestationResponse> ParseResponse(std::string_view text) {
  Members m(text, "tpmauthn-attestation-response",
            {"akName", "idObject", "encryptedSecret", "iv", "encryptedCertificate"});
  AttestationResponse r;
  if (m.error().empty()) {
    m.Binary("akName", r.ak_name) && m.Binary("idObject", r.id_object) &&
        m.Binary("encryptedSecret", r.encrypted_secret) && m.Binary("iv", r.iv) &&
        m.Binary("encryptedCertificate", r.encrypted_certificate);
  }
  if (!m.error().empty()) return CaFail("response: " + m.error());
  if (r.iv.size() != kIvSize || r.encrypted_certificate.size() <= kTagSize) {
    return CaFail("response: iv or encryptedCertificate has the wrong size");
  }
  return r;
}

CaResult<Bytes> SealCertificate(const webauthn::SecretBytes& credential,
                                webauthn::ByteView certificate, webauthn::ByteView iv) {
  if (iv.size() != kIvSize) return CaFail("the IV must be 12 bytes");
  auto key = CertificateKey(credential);
  if (!key) return key.error();
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(certificate.size() + kTagSize);
  int n = 0, tail = 0;
  const bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->data(), iv.data()) == 1 &&
      EVP_EncryptUpdate(ctx.get(), out.data(), &n, certificate.data(),
                        static_cast<int>(certificate.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &tail) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          out.data() + certificate.size()) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!ok) return CaFail("AES-GCM failed");
  return out;
}

CaResult<Bytes> OpenCertificate(const webauthn::SecretBytes& credential,
                                const AttestationResponse& response) {
  auto key = CertificateKey(credential);
  if (!key) return key.error();
  const Bytes& sealed = response.encrypted_certificate;
  const size_t size = sealed.size() - kTagSize;
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(size + kTagSize);
  int n = 0, tail = 0;
  Bytes tag(sealed.end() - kTagSize, sealed.end());
  const bool ok =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->data(),
                         response.iv.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out.data(), &n, sealed.data(), static_cast<int>(size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &tail) == 1;
  OPENSSL_cleanse(key->data(), key->size());
  if (!ok) return CaFail("the certificate does not decrypt (not for this TPM, or altered)");
  out.resize(static_cast<size_t>(n + tail));
  return out;
}

}  // namespace tpmauthn::attestation_ca
