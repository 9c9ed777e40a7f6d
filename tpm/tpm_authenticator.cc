// makeCredential / getAssertion on TPM2-TSS ESAPI (TPM 2.0 Part 3: §12.1
// Create, §12.2 Load, §20.2 Sign, §23.7 PolicyPCR, §23.17 PolicyAuthValue).
#include "tpm/tpm_authenticator.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string_view>
#include <thread>

#include "config/credential.h"
#include "config/plural.h"
#include "tpm/pin.h"
#include "tpm/srk.h"
#include "webauthn/attestation_object.h"
#include "webauthn/authenticator_data.h"
#include "webauthn/cbor.h"
#include "webauthn/cose_key.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::tpm {
namespace {

using webauthn::Bytes;
namespace cbor = webauthn::cbor;

// Wipes an authValue when it goes out of scope.
struct AuthGuard {
  TPM2B_AUTH auth{};
  ~AuthGuard() { WipeAuth(auth); }
};

TPML_PCR_SELECTION PcrSelection(const std::vector<uint32_t>& pcrs) {
  TPML_PCR_SELECTION selection{};
  selection.count = 1;
  selection.pcrSelections[0].hash = TPM2_ALG_SHA256;
  selection.pcrSelections[0].sizeofSelect = 3;
  // Callers have checked every index is 0-23 (three select bytes).
  for (uint32_t pcr : pcrs) {
    selection.pcrSelections[0].pcrSelect[pcr / 8] |= static_cast<BYTE>(1u << (pcr % 8));
  }
  return selection;
}

// authenticatorData fields common to makeCredential and getAssertion (§6.1): rpIdHash, UP
// always (the PIN entry or the caller's presence check is the gesture), UV when a PIN guards
// the key.
webauthn::AuthenticatorData AuthDataHeader(std::string_view rp_id, bool user_verified) {
  webauthn::AuthenticatorData auth_data;
  Bytes rp_hash = webauthn::Sha256(webauthn::AsBytes(rp_id));
  std::copy(rp_hash.begin(), rp_hash.end(), auth_data.rp_id_hash.begin());
  auth_data.flags = webauthn::AuthenticatorData::kUserPresent |
                    (user_verified ? webauthn::AuthenticatorData::kUserVerified : 0);
  return auth_data;
}

// PolicyPCR (current values of `pcrs`) then PolicyAuthValue, on `session`.
TpmResult<void> ApplyPolicy(ESYS_CONTEXT* esys, ESYS_TR session, const std::vector<uint32_t>& pcrs) {
  TPM2B_DIGEST empty{};
  TPML_PCR_SELECTION selection = PcrSelection(pcrs);
  TSS2_RC rc = Esys_PolicyPCR(esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
                              &selection);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyPCR");
  rc = Esys_PolicyAuthValue(esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyAuthValue");
  return {};
}

TpmResult<TPM2B_DIGEST> TrialPolicyDigest(ESYS_CONTEXT* esys, const std::vector<uint32_t>& pcrs) {
  TPMT_SYM_DEF none{};
  none.algorithm = TPM2_ALG_NULL;
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, nullptr, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256,
                                     &raw);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_StartAuthSession(trial)");
  TransientHandle trial(esys, raw);
  if (auto ok = ApplyPolicy(esys, trial.get(), pcrs); !ok) return ok.error();
  TPM2B_DIGEST* digest = nullptr;
  rc = Esys_PolicyGetDigest(esys, trial.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest);
  EsysPtr<TPM2B_DIGEST> owned(digest);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyGetDigest");
  return *owned;
}

TPM2B_PUBLIC KeyTemplate(bool pin, const TPM2B_DIGEST* policy) {
  TPM2B_PUBLIC t{};
  t.publicArea.type = TPM2_ALG_ECC;
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
      TPMA_OBJECT_SIGN_ENCRYPT;
  if (!policy) t.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
  if (!pin) t.publicArea.objectAttributes |= TPMA_OBJECT_NODA;
  if (policy) t.publicArea.authPolicy = *policy;
  TPMS_ECC_PARMS& ecc = t.publicArea.parameters.eccDetail;
  ecc.symmetric.algorithm = TPM2_ALG_NULL;
  ecc.scheme.scheme = TPM2_ALG_ECDSA;
  ecc.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  ecc.curveID = TPM2_ECC_NIST_P256;
  ecc.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

TpmResult<Bytes> CoseFromTpmPublic(const TPM2B_PUBLIC& pub) {
  const TPMS_ECC_POINT& point = pub.publicArea.unique.ecc;
  if (pub.publicArea.type != TPM2_ALG_ECC || point.x.size > 32 || point.y.size > 32) {
    return TpmFail(TpmErrorKind::kRefused, "the TPM returned an unexpected public key");
  }
  Bytes x(32, 0), y(32, 0);
  std::copy(point.x.buffer, point.x.buffer + point.x.size, x.end() - point.x.size);
  std::copy(point.y.buffer, point.y.buffer + point.y.size, y.end() - point.y.size);
  auto map = cbor::NewMap(5);
  cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(2));
  cbor::MapAdd(map.get(), cbor::Int(3), cbor::Int(-7));
  cbor::MapAdd(map.get(), cbor::Int(-1), cbor::Int(1));
  cbor::MapAdd(map.get(), cbor::Int(-2), cbor::ByteString(x));
  cbor::MapAdd(map.get(), cbor::Int(-3), cbor::ByteString(y));
  Bytes encoded = cbor::Serialize(map.get());
  if (!webauthn::CoseKey::Parse(encoded)) {
    return TpmFail(TpmErrorKind::kRefused, "the TPM returned a public key that is not on P-256");
  }
  return encoded;
}

TpmResult<Bytes> DerFromTpmSignature(const TPMT_SIGNATURE& sig) {
  if (sig.sigAlg != TPM2_ALG_ECDSA) return TpmFail(TpmErrorKind::kRefused, "not an ECDSA signature");
  const TPM2B_ECC_PARAMETER& r = sig.signature.ecdsa.signatureR;
  const TPM2B_ECC_PARAMETER& s = sig.signature.ecdsa.signatureS;
  webauthn::EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  BIGNUM* bn_r = BN_bin2bn(r.buffer, r.size, nullptr);
  BIGNUM* bn_s = BN_bin2bn(s.buffer, s.size, nullptr);
  if (!ecdsa || !bn_r || !bn_s || ECDSA_SIG_set0(ecdsa.get(), bn_r, bn_s) != 1) {
    BN_free(bn_r);
    BN_free(bn_s);
    return TpmFail(TpmErrorKind::kRefused, "cannot encode the signature");
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(ecdsa.get(), &der);
  if (length <= 0) return TpmFail(TpmErrorKind::kRefused, "cannot encode the signature");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

template <typename T, TSS2_RC (*Marshal)(const T*, uint8_t*, size_t, size_t*)>
Bytes MarshalToBytes(const T& value) {
  Bytes out(sizeof(T) + 16);
  size_t offset = 0;
  if (Marshal(&value, out.data(), out.size(), &offset) != TSS2_RC_SUCCESS) return {};
  out.resize(offset);
  return out;
}

template <typename T, TSS2_RC (*Unmarshal)(const uint8_t*, size_t, size_t*, T*)>
TpmResult<T> UnmarshalFromBytes(const Bytes& bytes, const char* what) {
  T value{};
  size_t offset = 0;
  if (Unmarshal(bytes.data(), bytes.size(), &offset, &value) != TSS2_RC_SUCCESS ||
      offset != bytes.size()) {
    return TpmFail(TpmErrorKind::kStore, std::string("key file holds an invalid ") + what);
  }
  return value;
}

// Signs `digest` with `key` authorized by `session`.
TpmResult<Bytes> SignDigest(ESYS_CONTEXT* esys, ESYS_TR key, ESYS_TR session,
                            webauthn::ByteView digest) {
  TPM2B_DIGEST in{};
  in.size = static_cast<UINT16>(digest.size());
  std::copy(digest.begin(), digest.end(), in.buffer);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_ECDSA;
  scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  TPMT_TK_HASHCHECK null_ticket{};
  null_ticket.tag = TPM2_ST_HASHCHECK;
  null_ticket.hierarchy = TPM2_RH_NULL;
  TPMT_SIGNATURE* signature = nullptr;
  TSS2_RC rc = Esys_Sign(esys, key, session, ESYS_TR_NONE, ESYS_TR_NONE, &in, &scheme,
                         &null_ticket, &signature);
  EsysPtr<TPMT_SIGNATURE> owned(signature);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_Sign");
  return DerFromTpmSignature(*owned);
}

// Without a resource manager (swtpm, /dev/tpm0) the TPM has only a few
// object and session slots for every client together, so a busy TPM
// (TPM2_RC_OBJECT_MEMORY, _SESSION_MEMORY, _RETRY...) is normal under
// concurrent logins. `attempt` must release everything it took (its handles
// flush on return), so a retry never holds slots while it waits: it backs off
// 2-4 ms, doubling up to 256 ms, for at most kBusyDeadline in all.
constexpr auto kBusyDeadline = std::chrono::seconds(5);

template <typename Fn>
auto RetryWhileBusy(Fn&& attempt) -> decltype(attempt()) {
  const auto deadline = std::chrono::steady_clock::now() + kBusyDeadline;
  std::minstd_rand jitter(static_cast<uint32_t>(
      std::chrono::steady_clock::now().time_since_epoch().count() ^ ::getpid()));
  auto pause = std::chrono::milliseconds(2);
  for (;;) {
    auto result = attempt();
    if (result || result.error().kind != TpmErrorKind::kBusy) return result;
    if (std::chrono::steady_clock::now() + pause > deadline) {
      TpmError error = result.error();
      error.message += " (the TPM stayed busy for " + std::to_string(kBusyDeadline.count()) +
                       " s; another program may be holding its handles)";
      return error;
    }
    std::this_thread::sleep_for(pause + std::chrono::milliseconds(jitter() % pause.count()));
    pause = std::min(pause * 2, std::chrono::milliseconds(256));
  }
}

Bytes Concat(webauthn::ByteView a, webauthn::ByteView b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

}  // namespace

TpmResult<LockoutStatus> TpmAuthenticator::ReadLockoutStatus() {
  TPMS_CAPABILITY_DATA* data = nullptr;
  TPMI_YES_NO more = TPM2_NO;
  TSS2_RC rc = Esys_GetCapability(connection_.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_TPM_PROPERTIES, TPM2_PT_PERMANENT, 18, &more, &data);
  EsysPtr<TPMS_CAPABILITY_DATA> owned(data);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_GetCapability(lockout)");
  LockoutStatus status;
  const TPML_TAGGED_TPM_PROPERTY& props = owned->data.tpmProperties;
  for (UINT32 i = 0; i < props.count; ++i) {
    const TPMS_TAGGED_PROPERTY& p = props.tpmProperty[i];
    switch (p.property) {
      case TPM2_PT_PERMANENT:
        status.in_lockout = (p.value & TPMA_PERMANENT_INLOCKOUT) != 0;
        break;
      case TPM2_PT_LOCKOUT_COUNTER:
        status.failures = p.value;
        break;
      case TPM2_PT_MAX_AUTH_FAIL:
        status.max_failures = p.value;
        break;
      case TPM2_PT_LOCKOUT_INTERVAL:
        status.interval_seconds = p.value;
        break;
      case TPM2_PT_LOCKOUT_RECOVERY:
        status.recovery_seconds = p.value;
        break;
      default:
        break;
    }
  }
  return status;
}

TpmError TpmAuthenticator::Annotate(TpmError error) {
  if (error.kind != TpmErrorKind::kWrongPin && error.kind != TpmErrorKind::kLockout) return error;
  auto status = ReadLockoutStatus();
  if (!status) return error;
  if (error.kind == TpmErrorKind::kWrongPin) {
    // The PIN was checked and wrong; if that failure locked the TPM, say so,
    // but it stays a wrong PIN (the next try will meet the lockout).
    error.tries_left = status->tries_left();
    const std::string after =
        config::CountOf(status->interval_seconds, "second", "seconds");
    error.message = status->in_lockout
                        ? "wrong PIN; the TPM is now locked out and allows one more try after " +
                              after
                        : "wrong PIN (" + config::CountOf(status->tries_left(), "try", "tries") +
                              " left before the TPM locks out)";
  } else {
    error.recovery_seconds = status->interval_seconds;
    error.message = "the TPM is in dictionary-attack lockout; it allows one more try after " +
                    config::CountOf(status->interval_seconds, "second", "seconds") +
                    " (or clear it with tpm2_dictionarylockout -c)";
  }
  return error;
}

TpmResult<MadeCredential> TpmAuthenticator::MakeCredential(const MakeCredentialRequest& request,
                                                           const SecretBytes& pin) {
  for (uint32_t pcr : request.pcrs) {
    if (pcr > 23) return TpmFail(TpmErrorKind::kRefused, "PCR index out of range (0-23)");
  }
  if (request.pin && pin.empty()) return TpmFail(TpmErrorKind::kRefused, "a PIN is required");

  KeyRecord record;
  record.credential_id.resize(kCredentialIdSize);
  record.pin_salt.resize(kPinSaltSize);
  if (RAND_bytes(record.credential_id.data(), static_cast<int>(kCredentialIdSize)) != 1 ||
      RAND_bytes(record.pin_salt.data(), static_cast<int>(kPinSaltSize)) != 1) {
    return TpmFail(TpmErrorKind::kRefused, "the system random generator failed");
  }
  if (request.pin_salt_for_testing) record.pin_salt = *request.pin_salt_for_testing;
  record.rp_id = request.rp_id;
  record.user = request.user;
  record.user_handle = request.user_handle;
  record.label = request.label;
  record.created = config::TodayUtc();
  record.pin = request.pin;
  record.pcrs = request.pcrs;

  AuthGuard auth;
  if (request.pin) DeriveAuthValue(pin, record.pin_salt, auth.auth);
  auto made = RetryWhileBusy([&] { return CreateAndSelfAttest(request, auth.auth, record); });
  if (!made) return made.error();
  if (auto ok = store_.Create(record); !ok) return ok.error();
  return made;
}

TpmResult<MadeCredential> TpmAuthenticator::CreateAndSelfAttest(const MakeCredentialRequest& request,
                                                                const TPM2B_AUTH& auth,
                                                                KeyRecord& record) {
  ESYS_CONTEXT* esys = connection_.esys();
  auto srk = LoadSrk(esys, /*create=*/true);
  if (!srk) return srk.error();
  record.srk_name = srk->name;

  std::optional<TPM2B_DIGEST> policy;
  if (!request.pcrs.empty()) {
    auto digest = TrialPolicyDigest(esys, request.pcrs);
    if (!digest) return digest.error();
    policy = *digest;
  }

  auto session = StartSaltedSession(esys, *srk);
  if (!session) return session.error();
  // Encrypt Create's first parameter (inSensitive, holding the authValue).
  TSS2_RC rc = Esys_TRSess_SetAttributes(
      esys, session->get(), TPMA_SESSION_DECRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");

  TPM2B_SENSITIVE_CREATE sensitive{};
  sensitive.sensitive.userAuth = auth;
  TPM2B_PUBLIC in_public = KeyTemplate(request.pin, policy ? &*policy : nullptr);
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcr{};
  TPM2B_PRIVATE* out_private = nullptr;
  TPM2B_PUBLIC* out_public = nullptr;
  rc = Esys_Create(esys, srk->handle, session->get(), ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                   &in_public, &outside, &creation_pcr, &out_private, &out_public, nullptr,
                   nullptr, nullptr);
  WipeAuth(sensitive.sensitive.userAuth);
  EsysPtr<TPM2B_PRIVATE> priv(out_private);
  EsysPtr<TPM2B_PUBLIC> pub(out_public);
  if (rc != TSS2_RC_SUCCESS) return Annotate(FromRc(rc, "Esys_Create"));
  record.public_blob = MarshalToBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Marshal>(*pub);
  record.private_blob = MarshalToBytes<TPM2B_PRIVATE, Tss2_MU_TPM2B_PRIVATE_Marshal>(*priv);
  auto cose = CoseFromTpmPublic(*pub);
  if (!cose) return cose.error();

  // authenticatorData with attested credential data (WebAuthn L3 §6.5.1), counter 0.
  webauthn::AuthenticatorData auth_data = AuthDataHeader(request.rp_id, request.pin);
  auth_data.attested = webauthn::AttestedCredentialData{kAaguid, record.credential_id, *cose};
  Bytes auth_data_bytes = auth_data.Serialize();

  // Packed self attestation (§8.2): the new key signs authData ‖ clientDataHash.
  ESYS_TR loaded = ESYS_TR_NONE;
  rc = Esys_Load(esys, srk->handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv.get(),
                 pub.get(), &loaded);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_Load");
  TransientHandle key(esys, loaded);
  rc = Esys_TR_SetAuth(esys, key.get(), &auth);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_SetAuth");
  Bytes digest = webauthn::Sha256(Concat(auth_data_bytes, request.client_data_hash));
  TransientHandle policy_session;
  ESYS_TR sign_session = session->get();
  if (policy) {
    auto ps = StartSaltedSession(esys, *srk, TPM2_SE_POLICY);
    if (!ps) return ps.error();
    policy_session = std::move(*ps);
    if (auto ok = ApplyPolicy(esys, policy_session.get(), request.pcrs); !ok) return ok.error();
    sign_session = policy_session.get();
  }
  Esys_TRSess_SetAttributes(esys, sign_session, TPMA_SESSION_CONTINUESESSION, 0xff);
  auto signature = SignDigest(esys, key.get(), sign_session, digest);
  if (!signature) return Annotate(signature.error());
  return MadeCredential{
      record.credential_id, auth_data_bytes,
      webauthn::AttestationObject::EncodePackedSelf(auth_data_bytes,
                                                    webauthn::CoseAlgorithm::kES256, *signature),
      *cose};
}

TpmResult<MadeAssertion> TpmAuthenticator::GetAssertion(const AssertionRequest& request,
                                                        const SecretBytes* pin) {
  return store_.WithNextCounter(
      request.credential_id,
      [&](const KeyRecord& record, uint32_t counter) -> TpmResult<MadeAssertion> {
        if (record.rp_id != request.rp_id) {
          return TpmFail(TpmErrorKind::kRefused,
                         "this credential belongs to RP ID \"" + record.rp_id + "\"");
        }
        if (record.pin && (!pin || pin->empty())) {
          return TpmFail(TpmErrorKind::kRefused, "a PIN is required");
        }
        webauthn::AuthenticatorData auth_data = AuthDataHeader(request.rp_id, record.pin);
        auth_data.sign_count = counter;
        Bytes auth_data_bytes = auth_data.Serialize();
        Bytes digest = webauthn::Sha256(Concat(auth_data_bytes, request.client_data_hash));
        auto signature = RetryWhileBusy([&] { return SignWithKey(record, digest, pin); });
        if (!signature) return signature.error();
        return MadeAssertion{record.credential_id, auth_data_bytes, *signature,
                             record.user_handle, counter};
      });
}

TpmResult<Bytes> TpmAuthenticator::SignWithKey(const KeyRecord& record, webauthn::ByteView digest,
                                               const SecretBytes* pin) {
  ESYS_CONTEXT* esys = connection_.esys();
  auto pub = UnmarshalFromBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Unmarshal>(record.public_blob,
                                                                               "public area");
  if (!pub) return pub.error();
  auto priv = UnmarshalFromBytes<TPM2B_PRIVATE, Tss2_MU_TPM2B_PRIVATE_Unmarshal>(
      record.private_blob, "private area");
  if (!priv) return priv.error();

  // 1: ReadPublic(SRK) and the name check: the SRK must be the one the key
  // was made under.
  auto srk = LoadSrkChecked(esys, record.srk_name);
  if (!srk) return srk.error();
  // 2: the salted session (the PIN-derived authValue is only ever used
  // inside it); 3: Load (the SRK needs no secret).
  auto session =
      StartSaltedSession(esys, *srk, record.pcrs.empty() ? TPM2_SE_HMAC : TPM2_SE_POLICY);
  if (!session) return session.error();
  ESYS_TR loaded = ESYS_TR_NONE;
  TSS2_RC rc = Esys_Load(esys, srk->handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &*priv,
                         &*pub, &loaded);
  if (rc != TSS2_RC_SUCCESS) {
    TpmError error = FromRc(rc, "Esys_Load");
    if (error.kind == TpmErrorKind::kWrongTpm || error.kind == TpmErrorKind::kRefused) {
      error.kind = TpmErrorKind::kWrongTpm;
      error.message += " (the key was not made under this TPM's SRK)";
    }
    return error;
  }
  TransientHandle key(esys, loaded);
  AuthGuard auth;
  if (record.pin) DeriveAuthValue(*pin, record.pin_salt, auth.auth);
  rc = Esys_TR_SetAuth(esys, key.get(), &auth.auth);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_SetAuth");
  if (!record.pcrs.empty()) {
    if (auto ok = ApplyPolicy(esys, session->get(), record.pcrs); !ok) return ok.error();
  }
  // 4: Sign. Without continueSession the TPM closes the session itself: one
  // round trip fewer than a flush.
  rc = Esys_TRSess_SetAttributes(esys, session->get(), 0, TPMA_SESSION_CONTINUESESSION);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");
  auto signature = SignDigest(esys, key.get(), session->get(), digest);
  // On success the TPM flushed the session; on failure it did too when the
  // command got as far as the authorization check, so flushing it again would
  // only fail. TransientHandle tolerates both.
  // 5: FlushContext(key) when `key` goes out of scope.
  if (signature) session->Forget();
  if (!signature) {
    TpmError error = signature.error();
    if (error.kind == TpmErrorKind::kPolicy) {
      error.message = "the PCRs this credential is bound to have changed (firmware or "
                      "boot change?); re-enroll (" + error.message + ")";
    }
    return Annotate(std::move(error));
  }
  return signature;
}

}  // namespace tpmauthn::tpm
