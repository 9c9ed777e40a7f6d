// X.509 pieces shared by the attestation formats (x509.h).
#include "webauthn/x509.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace tpmauthn::webauthn {
namespace {

using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;

void FreeCertStack(STACK_OF(X509) * stack) { sk_X509_free(stack); }  // the certs are borrowed
using CertStackPtr = std::unique_ptr<STACK_OF(X509), OpenSslDeleter<FreeCertStack>>;

}  // namespace

X509Ptr ParseCertificate(ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != der.data() + der.size()) return nullptr;  // trailing bytes
  return cert;
}

std::optional<std::vector<X509Ptr>> ParseChain(const std::vector<Bytes>& x5c) {
  std::vector<X509Ptr> chain;
  for (const Bytes& der : x5c) {
    X509Ptr cert = ParseCertificate(der);
    if (!cert) return std::nullopt;
    chain.push_back(std::move(cert));
  }
  return chain;
}

std::optional<std::string> AaguidExtensionProblem(X509* cert, const AuthenticatorData& auth_data) {
  static const int kAaguidNid = [] {
    int nid = OBJ_txt2nid("1.3.6.1.4.1.45724.1.1.4");
    return nid != NID_undef ? nid
                            : OBJ_create("1.3.6.1.4.1.45724.1.1.4", "id-fido-gen-ce-aaguid",
                                         "FIDO AAGUID");
  }();
  const int index = X509_get_ext_by_NID(cert, kAaguidNid, -1);
  if (index < 0) return std::nullopt;
  X509_EXTENSION* ext = X509_get_ext(cert, index);
  if (X509_EXTENSION_get_critical(ext)) return "id-fido-gen-ce-aaguid is marked critical";
  // extnValue wraps an OCTET STRING holding the 16-byte AAGUID.
  ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const unsigned char* p = ASN1_STRING_get0_data(value);
  const int len = ASN1_STRING_length(value);
  const bool match = len == 18 && p[0] == 0x04 && p[1] == 16 && auth_data.attested &&
                     std::memcmp(p + 2, auth_data.attested->aaguid.data(), 16) == 0;
  if (!match) return "id-fido-gen-ce-aaguid does not match the AAGUID";
  return std::nullopt;
}

std::optional<std::string> ChainSignatureProblem(const std::vector<X509Ptr>& chain) {
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    EVP_PKEY* issuer_key = X509_get0_pubkey(chain[i + 1].get());
    if (!issuer_key || X509_verify(chain[i].get(), issuer_key) != 1) {
      return "x5c certificate " + std::to_string(i) + " is not signed by the next";
    }
  }
  // The last certificate's issuer is not in the chain unless it is its own:
  // then its signature can and must be checked too.
  if (chain.empty()) return std::nullopt;
  X509* last = chain.back().get();
  if (X509_check_issued(last, last) == X509_V_OK) {
    EVP_PKEY* own_key = X509_get0_pubkey(last);
    if (!own_key || X509_verify(last, own_key) != 1) {
      return "x5c certificate " + std::to_string(chain.size() - 1) +
             " is self-signed, but its signature does not verify";
    }
  }
  return std::nullopt;
}

std::optional<std::string> ChainToAnchorProblem(const std::vector<X509Ptr>& chain,
                                                const std::vector<Bytes>& anchors,
                                                std::optional<std::time_t> at) {
  if (chain.empty()) return "no certificates";
  if (anchors.empty()) return "no trust anchors";
  X509StorePtr store(X509_STORE_new());
  CertStackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return "out of memory";
  for (const Bytes& der : anchors) {
    X509Ptr anchor = ParseCertificate(der);
    if (!anchor) return "a trust anchor is not a DER certificate";
    if (X509_STORE_add_cert(store.get(), anchor.get()) != 1) return "cannot add a trust anchor";
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (!sk_X509_push(untrusted.get(), chain[i].get())) return "out of memory";
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()) != 1) {
    return "cannot set up path validation";
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  // An anchor may be an intermediate the relying party trusts as such.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (at) X509_VERIFY_PARAM_set_time(param, *at);
  if (X509_verify_cert(ctx.get()) == 1) return std::nullopt;
  const int error = X509_STORE_CTX_get_error(ctx.get());
  return "the chain does not end at a trust anchor: " +
         std::string(X509_verify_cert_error_string(error)) + " (at certificate " +
         std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) + ")";
}

}  // namespace tpmauthn::webauthn
