// Assertion verification cost: tpmauthn's full §7.2 verifier vs. a bare OpenSSL
// ECDSA-P256 verify of the same signature vs. libfido2's fido_assert_verify,
// all on one ES256 assertion. Prints µs per verification and the ratios.
#include <fido.h>
#include <fido/es256.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <vector>

#include "tests/support/virtual_authenticator.h"
#include "webauthn/assertion_verifier.h"

using namespace tpmauthn::webauthn;
using Clock = std::chrono::steady_clock;

namespace {

// Median over batches of the per-call time in microseconds.
double MicrosPerCall(const std::function<bool()>& call, int batches = 9, int per_batch = 400) {
  for (int i = 0; i < 50; ++i) {
    if (!call()) {
      std::fprintf(stderr, "verification failed during warm-up\n");
      std::exit(1);
    }
  }
  std::vector<double> samples;
  for (int b = 0; b < batches; ++b) {
    auto start = Clock::now();
    for (int i = 0; i < per_batch; ++i) {
      if (!call()) {
        std::fprintf(stderr, "verification failed\n");
        std::exit(1);
      }
    }
    std::chrono::duration<double, std::micro> elapsed = Clock::now() - start;
    samples.push_back(elapsed.count() / per_batch);
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main() {
  const std::string rp_id = "pam://bench-host";
  tpmauthn::testing::VirtualAuthenticator authenticator;
  const Bytes challenge(32, 0x5a);
  const AssertionResponse response = authenticator.GetAssertion(rp_id, rp_id, challenge);
  const CredentialRecord record = authenticator.Record();
  AssertionExpectations expected;
  expected.challenge = challenge;
  expected.origins = {rp_id};
  expected.rp_ids = {rp_id};

  // (a) tpmauthn: the whole §7.2 procedure from the response bytes.
  double ours = MicrosPerCall([&] { return VerifyAssertion(response, record, expected).ok(); });

  // (b) OpenSSL alone: EVP_DigestVerify of the signature over the signed bytes,
  // which are prepared once outside the loop.
  Bytes signed_data = response.authenticator_data;
  Bytes client_hash = Sha256(response.client_data_json);
  signed_data.insert(signed_data.end(), client_hash.begin(), client_hash.end());
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_PKEY* pkey = record.public_key.pkey();
  double raw = MicrosPerCall([&] {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    return EVP_DigestVerifyInit(ctx.get(), nullptr, sha256, nullptr, pkey) == 1 &&
           EVP_DigestVerify(ctx.get(), response.signature.data(), response.signature.size(),
                            signed_data.data(), signed_data.size()) == 1;
  });

  // (c) libfido2: load the assertion into a fido_assert_t and verify it, as a
  // pam-u2f-style relying party does for each login.
  fido_init(0);
  es256_pk_t* fido_key = es256_pk_new();
  if (!fido_key || es256_pk_from_EVP_PKEY(fido_key, pkey) != FIDO_OK) {
    std::fprintf(stderr, "libfido2 could not load the key\n");
    return 1;
  }
  double fido = MicrosPerCall([&] {
    fido_assert_t* assert = fido_assert_new();
    bool ok = fido_assert_set_clientdata(assert, response.client_data_json.data(),
                                         response.client_data_json.size()) == FIDO_OK &&
              fido_assert_set_rp(assert, rp_id.c_str()) == FIDO_OK &&
              fido_assert_set_count(assert, 1) == FIDO_OK &&
              fido_assert_set_authdata_raw(assert, 0, response.authenticator_data.data(),
                                           response.authenticator_data.size()) == FIDO_OK &&
              fido_assert_set_sig(assert, 0, response.signature.data(),
                                  response.signature.size()) == FIDO_OK &&
              fido_assert_set_up(assert, FIDO_OPT_TRUE) == FIDO_OK &&
              fido_assert_set_uv(assert, FIDO_OPT_TRUE) == FIDO_OK &&
              fido_assert_verify(assert, 0, COSE_ES256, fido_key) == FIDO_OK;
    fido_assert_free(&assert);
    return ok;
  });
  es256_pk_free(&fido_key);
  EVP_MD_free(sha256);

  std::printf("ES256 assertion verification, median of 9 batches x 400 calls\n");
  std::printf("  tpmauthn VerifyAssertion (full §7.2)   %8.2f us\n", ours);
  std::printf("  OpenSSL EVP_DigestVerify (signature)   %8.2f us\n", raw);
  std::printf("  libfido2 fido_assert_verify            %8.2f us\n", fido);
  std::printf("  ratio tpmauthn / OpenSSL   %.3f  (goal <= 1.15)\n", ours / raw);
  std::printf("  ratio tpmauthn / libfido2  %.3f  (goal <= 1.00)\n", ours / fido);
  return 0;
}
