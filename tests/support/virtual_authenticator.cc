// Test-only software authenticator with fault injection.
#include "tests/support/virtual_authenticator.h"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "webauthn/attestation_object.h"
#include "webauthn/base64url.h"
#include "webauthn/client_data.h"

namespace tpmauthn::testing {

using namespace tpmauthn::webauthn;

VirtualAuthenticator::VirtualAuthenticator(CoseAlgorithm alg) : alg_(alg) {
  EVP_PKEY* raw = nullptr;
  switch (alg) {
    case CoseAlgorithm::kES256:
      raw = EVP_EC_gen("P-256");
      break;
    case CoseAlgorithm::kEdDSA:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case CoseAlgorithm::kRS256:
      raw = EVP_RSA_gen(2048);
      break;
  }
  if (!raw) throw std::runtime_error("key generation failed");
  key_.reset(raw);
  credential_id_.resize(32);
  if (RAND_bytes(credential_id_.data(), 32) != 1) throw std::runtime_error("RAND_bytes");
  auto cose = CoseKey::FromEvpPkey(key_.get());
  if (!cose) throw std::runtime_error(cose.error().message);
  cose_key_ = cose->encoded();
}

void VirtualAuthenticator::UseBatchAttestation() {
  batch_key_.reset(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  if (!batch_key_ || !cert) throw std::runtime_error("batch key");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (auto [field, value] : {std::pair{"C", "US"}, {"O", "tpmauthn tests"},
                              {"OU", "Authenticator Attestation"}, {"CN", "virtual batch"}}) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(value), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), batch_key_.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:FALSE");
  if (!ext || !X509_add_ext(cert.get(), ext, -1)) throw std::runtime_error("basic constraints");
  X509_EXTENSION_free(ext);
  if (X509_sign(cert.get(), batch_key_.get(), EVP_sha256()) <= 0) {
    throw std::runtime_error("X509_sign");
  }
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) throw std::runtime_error("i2d_X509");
  batch_certificate_.assign(der, der + length);
  OPENSSL_free(der);
}

Bytes SignWith(EVP_PKEY* key, CoseAlgorithm alg, ByteView data) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = alg == CoseAlgorithm::kEdDSA ? nullptr : EVP_sha256();
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
    throw std::runtime_error("sign init failed");
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1) {
    throw std::runtime_error("sign failed");
  }
  sig.resize(len);
  return sig;
}

Bytes VirtualAuthenticator::Sign(ByteView message) const {
  Bytes data(message.begin(), message.end());
  if (faults.bad_signature) data[0] ^= 0x01;
  Bytes sig = SignWith(key_.get(), alg_, data);
  if (faults.raw_signature && alg_ == CoseAlgorithm::kES256) {
    const unsigned char* p = sig.data();
    EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    Bytes raw(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(parsed.get()), raw.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(parsed.get()), raw.data() + 32, 32);
    return raw;
  }
  return sig;
}

AuthenticatorData VirtualAuthenticator::BaseAuthData(std::string_view rp_id) const {
  AuthenticatorData ad;
  Bytes hash = Sha256(AsBytes(faults.wrong_rp_id_hash ? "evil.example" : rp_id));
  std::copy(hash.begin(), hash.end(), ad.rp_id_hash.begin());
  ad.flags = AuthenticatorData::kUserPresent | AuthenticatorData::kUserVerified;
  if (faults.clear_user_present) ad.flags &= static_cast<uint8_t>(~AuthenticatorData::kUserPresent);
  if (faults.clear_user_verified) {
    ad.flags &= static_cast<uint8_t>(~AuthenticatorData::kUserVerified);
  }
  if (faults.backup_state_without_eligible) ad.flags |= AuthenticatorData::kBackupState;
  return ad;
}

RegistrationResponse VirtualAuthenticator::MakeCredential(std::string_view rp_id,
                                                          std::string_view origin,
                                                          ByteView challenge) {
  std::string client_data = SerializeClientData(kTypeCreate, challenge, origin);
  AuthenticatorData ad = BaseAuthData(rp_id);
  ad.sign_count = faults.counter.value_or(counter_);
  ad.attested = AttestedCredentialData{{}, credential_id_, cose_key_};
  Bytes auth_data = ad.Serialize();
  Bytes signed_data = auth_data;
  Bytes hash = Sha256(AsBytes(client_data));
  signed_data.insert(signed_data.end(), hash.begin(), hash.end());
  Bytes object;
  if (batch_key_) {
    Bytes certificate = batch_certificate_;
    // The last bytes of a DER certificate are its signature.
    if (faults.corrupt_batch_certificate && !certificate.empty()) certificate.back() ^= 0x01;
    object = AttestationObject::EncodePacked(auth_data, CoseAlgorithm::kES256,
                                             SignWith(batch_key_.get(), CoseAlgorithm::kES256,
                                                      signed_data),
                                             {certificate});
  } else {
    object = AttestationObject::EncodePackedSelf(auth_data, alg_, Sign(signed_data));
  }
  return RegistrationResponse{
      CredentialEnvelope{Base64UrlEncode(credential_id_), credential_id_, "public-key"},
      Bytes(client_data.begin(), client_data.end()), std::move(object)};
}

AssertionResponse VirtualAuthenticator::GetAssertion(std::string_view rp_id,
                                                     std::string_view origin, ByteView challenge,
                                                     std::optional<Bytes> user_handle) {
  std::string client_data =
      faults.client_data_prefix + SerializeClientData(kTypeGet, challenge, origin);
  AuthenticatorData ad = BaseAuthData(rp_id);
  ad.sign_count = faults.counter.value_or(++counter_);
  Bytes auth_data = ad.Serialize();
  Bytes signed_data = auth_data;
  Bytes hash = Sha256(AsBytes(client_data));
  signed_data.insert(signed_data.end(), hash.begin(), hash.end());
  return AssertionResponse{
      CredentialEnvelope{Base64UrlEncode(credential_id_), credential_id_, "public-key"},
      Bytes(client_data.begin(), client_data.end()), std::move(auth_data), Sign(signed_data),
      std::move(user_handle)};
}

CredentialRecord VirtualAuthenticator::Record() const {
  auto key = CoseKey::Parse(cose_key_);
  if (!key) throw std::runtime_error(key.error().message);
  return CredentialRecord{credential_id_, std::move(*key), 0};
}

}  // namespace tpmauthn::testing
