// makeCredential / getAssertion on TPM2-TSS ESAPI (TPM 2.0 Part 3: §12.1
// Create, §12.2 Load, §20.2 Sign, §23.4 PolicySecret, §23.7 PolicyPCR,
// §23.17 PolicyAuthValue), and the PIN lifecycle of per-credential PINs.
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
#include "tpm/marshal.h"
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

// PolicyPCR with the current values of `pcrs`, on `session`.
TpmResult<void> ApplyPcrPolicy(ESYS_CONTEXT* esys, ESYS_TR session,
                               const std::vector<uint32_t>& pcrs) {
  TPM2B_DIGEST empty{};
  TPML_PCR_SELECTION selection = PcrSelection(pcrs);
  TSS2_RC rc = Esys_PolicyPCR(esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty,
                              &selection);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyPCR");
  return {};
}

// A legacy PCR key's policy: PolicyPCR then PolicyAuthValue.
TpmResult<void> ApplyPolicy(ESYS_CONTEXT* esys, ESYS_TR session, const std::vector<uint32_t>& pcrs) {
  if (auto ok = ApplyPcrPolicy(esys, session, pcrs); !ok) return ok;
  TSS2_RC rc = Esys_PolicyAuthValue(esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyAuthValue");
  return {};
}

// The digest of PolicyPCR(pcrs) [∧ PolicyAuthValue], from a trial session.
TpmResult<TPM2B_DIGEST> TrialPolicyDigest(ESYS_CONTEXT* esys, const std::vector<uint32_t>& pcrs,
                                          bool auth_value) {
  TPMT_SYM_DEF none{};
  none.algorithm = TPM2_ALG_NULL;
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, nullptr, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256,
                                     &raw);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_StartAuthSession(trial)");
  TransientHandle trial(esys, raw);
  auto applied = auth_value ? ApplyPolicy(esys, trial.get(), pcrs)
                            : ApplyPcrPolicy(esys, trial.get(), pcrs);
  if (!applied) return applied.error();
  TPM2B_DIGEST* digest = nullptr;
  rc = Esys_PolicyGetDigest(esys, trial.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest);
  EsysPtr<TPM2B_DIGEST> owned(digest);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_PolicyGetDigest");
  return *owned;
}

// Deletes a PIN index defined for a credential that did not come to be,
// unless released.
struct IndexRollback {
  ESYS_CONTEXT* esys = nullptr;
  std::optional<PinIndex> index;
  ~IndexRollback() {
    if (!index) return;
    auto opened = OpenPinIndex(esys, index->handle, index->name);
    if (!opened) return;
    NvCloser closer{esys, *opened};
    if (UndefinePinIndex(esys, *opened)) closer.handle = ESYS_TR_NONE;
  }
};

// `pin_under_da`: a legacy PIN key, whose authValue failures the TPM's
// dictionary-attack logic counts. Every other key is noDA: without a PIN
// there is nothing to guess, and a per-credential PIN is counted by its index.
// `any_scheme`: the key's scheme is TPM_ALG_NULL (TPM2_Sign names
// ECDSA-SHA-256 or RSASSA-SHA-256 itself) instead of a fixed one. For
// "tpm"-attested keys only, whose pubArea relying parties parse:
// SimpleWebAuthn (9 and 13) and python-fido2 read TPMS_ECC_PARMS and
// TPMS_RSA_PARMS as if the scheme had no hashAlg — as in the keys Windows
// Hello makes — and misread every field after it otherwise.
TPM2B_PUBLIC KeyTemplate(MakeCredentialRequest::Algorithm algorithm, bool pin_under_da,
                         const TPM2B_DIGEST* policy, bool any_scheme) {
  TPM2B_PUBLIC t{};
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes =
      TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
      TPMA_OBJECT_SIGN_ENCRYPT;
  if (!policy) t.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
  if (!pin_under_da) t.publicArea.objectAttributes |= TPMA_OBJECT_NODA;
  if (policy) t.publicArea.authPolicy = *policy;
  if (algorithm == MakeCredentialRequest::Algorithm::kRs256) {
    t.publicArea.type = TPM2_ALG_RSA;
    TPMS_RSA_PARMS& rsa = t.publicArea.parameters.rsaDetail;
    rsa.symmetric.algorithm = TPM2_ALG_NULL;
    rsa.scheme.scheme = any_scheme ? TPM2_ALG_NULL : TPM2_ALG_RSASSA;
    if (!any_scheme) rsa.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    rsa.keyBits = 2048;
    rsa.exponent = 0;  // 2^16 + 1
    return t;
  }
  t.publicArea.type = TPM2_ALG_ECC;
  TPMS_ECC_PARMS& ecc = t.publicArea.parameters.eccDetail;
  ecc.symmetric.algorithm = TPM2_ALG_NULL;
  ecc.scheme.scheme = any_scheme ? TPM2_ALG_NULL : TPM2_ALG_ECDSA;
  if (!any_scheme) ecc.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  ecc.curveID = TPM2_ECC_NIST_P256;
  ecc.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

// The COSE_Key (ES256 or RS256) of a key the TPM made from KeyTemplate.
TpmResult<Bytes> CoseFromTpmPublic(const TPM2B_PUBLIC& pub) {
  const TPMT_PUBLIC& area = pub.publicArea;
  cbor::ItemPtr map;
  if (area.type == TPM2_ALG_ECC && area.unique.ecc.x.size <= 32 && area.unique.ecc.y.size <= 32) {
    const TPMS_ECC_POINT& point = area.unique.ecc;
    Bytes x(32, 0), y(32, 0);
    std::copy(point.x.buffer, point.x.buffer + point.x.size, x.end() - point.x.size);
    std::copy(point.y.buffer, point.y.buffer + point.y.size, y.end() - point.y.size);
    map = cbor::NewMap(5);
    cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(2));  // kty: EC2
    cbor::MapAdd(map.get(), cbor::Int(3),
                 cbor::Int(static_cast<int64_t>(webauthn::CoseAlgorithm::kES256)));
    cbor::MapAdd(map.get(), cbor::Int(-1), cbor::Int(1));  // crv: P-256
    cbor::MapAdd(map.get(), cbor::Int(-2), cbor::ByteString(x));
    cbor::MapAdd(map.get(), cbor::Int(-3), cbor::ByteString(y));
  } else if (area.type == TPM2_ALG_RSA && area.parameters.rsaDetail.keyBits == 2048 &&
             area.unique.rsa.size == 256) {
    const uint32_t given = area.parameters.rsaDetail.exponent;
    const uint32_t exponent = given ? given : 65537u;  // 0 means 2^16 + 1
    Bytes e;
    for (int shift = 24; shift >= 0; shift -= 8) {
      if (!e.empty() || (exponent >> shift) & 0xff) e.push_back((exponent >> shift) & 0xff);
    }
    map = cbor::NewMap(4);
    cbor::MapAdd(map.get(), cbor::Int(1), cbor::Int(3));  // kty: RSA
    cbor::MapAdd(map.get(), cbor::Int(3),
                 cbor::Int(static_cast<int64_t>(webauthn::CoseAlgorithm::kRS256)));
    cbor::MapAdd(map.get(), cbor::Int(-1),
                 cbor::ByteString({area.unique.rsa.buffer, area.unique.rsa.size}));  // n
    cbor::MapAdd(map.get(), cbor::Int(-2), cbor::ByteString(e));
  } else {
    return TpmFail(TpmErrorKind::kRefused, "the TPM returned an unexpected public key");
  }
  Bytes encoded = cbor::Serialize(map.get());
  if (!webauthn::CoseKey::Parse(encoded)) {
    return TpmFail(TpmErrorKind::kRefused, "the TPM returned a public key that does not parse");
  }
  return encoded;
}

// A TPMT_SIGNATURE as WebAuthn carries it: DER ECDSA-Sig-Value, or the bare
// RSASSA-PKCS1-v1_5 signature.
TpmResult<Bytes> WebAuthnSignature(const TPMT_SIGNATURE& sig) {
  if (sig.sigAlg == TPM2_ALG_RSASSA) {
    const TPM2B_PUBLIC_KEY_RSA& rsa = sig.signature.rsassa.sig;
    return Bytes(rsa.buffer, rsa.buffer + rsa.size);
  }
  if (sig.sigAlg != TPM2_ALG_ECDSA) {
    return TpmFail(TpmErrorKind::kRefused, "the TPM returned an unexpected signature algorithm");
  }
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

// Signs `digest` with `key` (of `key_type`, TPM_ALG_ECC or TPM_ALG_RSA)
// authorized by `session`: ECDSA or RSASSA, with SHA-256.
TpmResult<Bytes> SignDigest(ESYS_CONTEXT* esys, ESYS_TR key, TPMI_ALG_PUBLIC key_type,
                            ESYS_TR session, webauthn::ByteView digest) {
  TPM2B_DIGEST in{};
  in.size = static_cast<UINT16>(digest.size());
  std::copy(digest.begin(), digest.end(), in.buffer);
  TPMT_SIG_SCHEME scheme{};
  if (key_type == TPM2_ALG_RSA) {
    scheme.scheme = TPM2_ALG_RSASSA;
    scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  } else {
    scheme.scheme = TPM2_ALG_ECDSA;
    scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  }
  TPMT_TK_HASHCHECK null_ticket{};
  null_ticket.tag = TPM2_ST_HASHCHECK;
  null_ticket.hierarchy = TPM2_RH_NULL;
  TPMT_SIGNATURE* signature = nullptr;
  TSS2_RC rc = Esys_Sign(esys, key, session, ESYS_TR_NONE, ESYS_TR_NONE, &in, &scheme,
                         &null_ticket, &signature);
  EsysPtr<TPMT_SIGNATURE> owned(signature);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_Sign");
  return WebAuthnSignature(*owned);
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

// A policy failure on a PCR-bound key says what most likely happened.
TpmError PcrsChanged(TpmError error) {
  if (error.kind == TpmErrorKind::kPolicy) {
    error.message = "the PCRs this credential is bound to have changed (firmware or boot "
                    "change?); re-enroll (" + error.message + ")";
  }
  return error;
}

TpmResult<void> PerCredentialPin(const KeyRecord& record) {
  if (!record.pin) return TpmFail(TpmErrorKind::kRefused, "this credential has no PIN");
  if (!record.pin_index) {
    return TpmFail(TpmErrorKind::kRefused,
                   "this credential predates per-credential PINs: its PIN is its key's own "
                   "authValue and cannot be replaced; enroll a new credential and remove this one");
  }
  return {};
}

// After PolicySecret or NV_Read with a PIN failed: the index's own count.
TpmError AnnotatePin(ESYS_CONTEXT* esys, ESYS_TR index, TpmError error) {
  error.per_credential_pin = true;
  if (error.kind == TpmErrorKind::kPinBlocked) {
    error.tries_left = 0;
    error.message = "this credential's PIN is blocked after too many wrong PINs; an "
                    "administrator can set a new one (tpmauthn reset-pin)";
    return error;
  }
  if (error.kind != TpmErrorKind::kWrongPin) return error;
  auto counter = ReadPinCounter(esys, index);
  if (!counter) {
    error.message = "wrong PIN";
    return error;
  }
  error.tries_left = counter->tries_left();
  error.message = counter->tries_left() == 0
                      ? "wrong PIN; this credential's PIN is now blocked after " +
                            config::CountOf(counter->limit, "wrong PIN", "wrong PINs") +
                            "; an administrator can set a new one (tpmauthn reset-pin)"
                      : "wrong PIN (" + config::CountOf(counter->tries_left(), "try", "tries") +
                            " left for this credential)";
  return error;
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
        status.lockout_auth_set = (p.value & TPMA_PERMANENT_LOCKOUTAUTHSET) != 0;
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
  const bool per_credential = request.pin && request.scheme == MakeCredentialRequest::PinScheme::kPinIndex;
  if (per_credential && (request.pin_tries < kPinTriesMin || request.pin_tries > kPinTriesMax)) {
    return TpmFail(TpmErrorKind::kRefused, "PIN tries must be " + std::to_string(kPinTriesMin) +
                                               "-" + std::to_string(kPinTriesMax));
  }

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
  std::string counter_note;
  if (request.counter != MakeCredentialRequest::Counter::kFile) {
    auto start = RetryWhileBusy([&] {
      return PrepareSignCounter(connection_.esys(), request.counter_index);
    });
    if (start) {
      record.counter_index = request.counter_index;
      record.counter_offset = *start;
    } else if (request.counter == MakeCredentialRequest::Counter::kTpmOrFile &&
               start.error().kind == TpmErrorKind::kRefused) {
      counter_note = start.error().message;
    } else {
      return start.error();
    }
  }

  std::optional<AttestationKeyRecord> ak;
  if (request.attestation == MakeCredentialRequest::Attestation::kTpm) {
    if (request.pin && !per_credential) {
      return TpmFail(TpmErrorKind::kRefused, "tpm attestation needs a per-credential PIN");
    }
    auto loaded = LoadAttestationKeyRecord(store_);
    if (!loaded) return loaded.error();
    if (!*loaded || (*loaded)->chain.empty()) {
      return TpmFail(TpmErrorKind::kRefused,
                     "no AIK certificate installed: run tpmauthn attestation-key request, have "
                     "the attestation CA issue it, then tpmauthn attestation-key install");
    }
    ak = std::move(*loaded);
  }

  AuthGuard auth;
  if (request.pin) DeriveAuthValue(pin, record.pin_salt, auth.auth);
  auto made = RetryWhileBusy([&] {
    return CreateAndSelfAttest(request, auth.auth, record, ak ? &*ak : nullptr);
  });
  if (!made) return made.error();
  IndexRollback rollback{connection_.esys(), std::nullopt};
  if (record.pin_index) rollback.index = PinIndex{record.pin_index, record.pin_index_name};
  if (auto ok = store_.Create(record); !ok) return ok.error();
  rollback.index.reset();
  made->tpm_counter = record.counter_index != 0;
  made->counter_note = std::move(counter_note);
  return made;
}

TpmResult<MadeCredential> TpmAuthenticator::CreateAndSelfAttest(const MakeCredentialRequest& request,
                                                                const TPM2B_AUTH& auth,
                                                                KeyRecord& record,
                                                                const AttestationKeyRecord* ak) {
  ESYS_CONTEXT* esys = connection_.esys();
  auto srk = LoadSrk(esys, /*create=*/true);
  if (!srk) return srk.error();
  record.srk_name = srk->name;
  record.pin_index = 0;
  record.pin_index_name.clear();
  record.pin_tries = 0;
  const bool per_credential =
      request.pin && request.scheme == MakeCredentialRequest::PinScheme::kPinIndex;

  // A per-credential PIN: the index first, since the key's policy names it.
  IndexRollback rollback{esys, std::nullopt};
  std::optional<TPM2B_DIGEST> policy;
  if (per_credential) {
    auto index = DefinePinIndex(esys, *srk, auth, request.pin_tries);
    if (!index) return index.error();
    rollback.index = *index;
    TPM2B_DIGEST start{};
    start.size = 32;  // all zero: an empty policy
    if (!request.pcrs.empty()) {
      auto digest = TrialPolicyDigest(esys, request.pcrs, /*auth_value=*/false);
      if (!digest) return digest.error();
      start = *digest;
    }
    policy = PolicySecretDigest(start, index->name);
  } else if (!request.pcrs.empty()) {
    auto digest = TrialPolicyDigest(esys, request.pcrs, /*auth_value=*/true);
    if (!digest) return digest.error();
    policy = *digest;
  }

  auto session = StartSaltedSession(esys, *srk);
  if (!session) return session.error();
  // Encrypt Create's first parameter (inSensitive, holding a legacy key's authValue).
  TSS2_RC rc = Esys_TRSess_SetAttributes(
      esys, session->get(), TPMA_SESSION_DECRYPT | TPMA_SESSION_CONTINUESESSION, 0xff);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");

  TPM2B_SENSITIVE_CREATE sensitive{};
  if (!per_credential) sensitive.sensitive.userAuth = auth;
  TPM2B_PUBLIC in_public =
      KeyTemplate(request.algorithm, request.pin && !per_credential, policy ? &*policy : nullptr,
                  ak != nullptr);
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
  Bytes digest = webauthn::Sha256(Concat(auth_data_bytes, request.client_data_hash));
  TpmResult<Bytes> signature = TpmFail(TpmErrorKind::kRefused, "not signed");
  if (per_credential) {
    record.pin_index = rollback.index->handle;
    record.pin_index_name = rollback.index->name;
    record.pin_tries = request.pin_tries;
    session->Reset();  // swtpm holds three sessions; signing needs two
    signature = SignWithPinIndex(*srk, key.get(), pub->publicArea.type, record, auth,
                                 [&]() -> TpmResult<Bytes> { return digest; });
  } else {
    rc = Esys_TR_SetAuth(esys, key.get(), &auth);
    if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_SetAuth");
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
    signature = SignDigest(esys, key.get(), pub->publicArea.type, sign_session, digest);
    if (!signature) return Annotate(signature.error());
  }
  if (!signature) return signature.error();
  Bytes attestation_object;
  if (ak) {
    // "tpm" attestation (§8.3): the AK certifies the new key, with
    // extraData = SHA-256(authData ‖ clientDataHash). The key's ADMIN role
    // takes its (empty) authValue: adminWithPolicy is clear.
    auto loaded_ak = LoadAttestationKey(esys, ak->blob);
    if (!loaded_ak) return loaded_ak.error();
    auto certified = Certify(esys, loaded_ak->get(), key.get(), ESYS_TR_PASSWORD, digest);
    if (!certified) return certified.error();
    Bytes pub_area(sizeof(TPMT_PUBLIC));
    size_t offset = 0;
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, pub_area.data(), pub_area.size(),
                                    &offset) != TSS2_RC_SUCCESS) {
      return TpmFail(TpmErrorKind::kRefused, "cannot marshal the key's public area");
    }
    pub_area.resize(offset);
    attestation_object = webauthn::AttestationObject::EncodeTpm(
        auth_data_bytes, webauthn::CoseAlgorithm::kRS256, certified->signature, ak->chain,
        certified->cert_info, pub_area);
  } else {
    attestation_object = webauthn::AttestationObject::EncodePackedSelf(
        auth_data_bytes,
        request.algorithm == MakeCredentialRequest::Algorithm::kRs256
            ? webauthn::CoseAlgorithm::kRS256
            : webauthn::CoseAlgorithm::kES256,
        *signature);
  }
  rollback.index.reset();  // MakeCredential owns it now
  return MadeCredential{record.credential_id, auth_data_bytes, std::move(attestation_object),
                        *cose, false, {}};
}

TpmResult<MadeAssertion> TpmAuthenticator::GetAssertion(const AssertionRequest& request,
                                                        const SecretBytes* pin) {
  auto next = [&](const KeyRecord& record) -> TpmResult<uint32_t> {
    if (!record.counter_index) return NextFileCounter(record);
    // No retry here: a busy TPM (TPM_RC_NV_RATE) fails this try of
    // SignWithKey, which lets go of its handles before RetryWhileBusy
    // tries again.
    auto value = IncrementSignCounter(connection_.esys(), record.counter_index);
    if (!value) return value.error();
    return SignCountFor(*value, record.counter_offset);
  };
  return store_.WithNextCounter(
      request.credential_id, next,
      [&](const KeyRecord& record, const CounterTaker& take) -> TpmResult<MadeAssertion> {
        if (record.rp_id != request.rp_id) {
          return TpmFail(TpmErrorKind::kRefused,
                         "this credential belongs to RP ID \"" + record.rp_id + "\"");
        }
        if (record.pin && (!pin || pin->empty())) {
          return TpmFail(TpmErrorKind::kRefused, "a PIN is required");
        }
        uint32_t counter = 0;
        Bytes auth_data_bytes;
        // Called once the TPM has accepted the PIN: a wrong one takes no
        // counter value (and costs the TPM's counter no NV write).
        auto digest = [&]() -> TpmResult<Bytes> {
          auto taken = take();
          if (!taken) return taken.error();
          counter = *taken;
          webauthn::AuthenticatorData auth_data = AuthDataHeader(request.rp_id, record.pin);
          auth_data.sign_count = counter;
          auth_data_bytes = auth_data.Serialize();
          return webauthn::Sha256(Concat(auth_data_bytes, request.client_data_hash));
        };
        auto signature = RetryWhileBusy([&] { return SignWithKey(record, digest, pin); });
        if (!signature) return signature.error();
        return MadeAssertion{record.credential_id, auth_data_bytes, *signature,
                             record.user_handle, counter};
      });
}

TpmResult<Bytes> TpmAuthenticator::SignWithKey(const KeyRecord& record,
                                               const DigestSource& digest,
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
  AuthGuard auth;
  if (record.pin) DeriveAuthValue(*pin, record.pin_salt, auth.auth);
  auto load = [&]() -> TpmResult<TransientHandle> {
    ESYS_TR loaded = ESYS_TR_NONE;
    TSS2_RC rc = Esys_Load(esys, srk->handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &*priv, &*pub, &loaded);
    if (rc != TSS2_RC_SUCCESS) {
      TpmError error = FromRc(rc, "Esys_Load");
      if (error.kind == TpmErrorKind::kWrongTpm || error.kind == TpmErrorKind::kRefused) {
        error.kind = TpmErrorKind::kWrongTpm;
        error.message += " (the key was not made under this TPM's SRK)";
      }
      return error;
    }
    return TransientHandle(esys, loaded);
  };
  if (record.pin_index) {
    // 2: Load; 3-7: NV_ReadPublic, two sessions, PolicySecret, Sign;
    // 8: FlushContext(key).
    auto key = load();
    if (!key) return key.error();
    return SignWithPinIndex(*srk, key->get(), pub->publicArea.type, record, auth.auth, digest);
  }
  // 2: the salted session (the PIN-derived authValue is only ever used
  // inside it); 3: Load (the SRK needs no secret).
  auto session =
      StartSaltedSession(esys, *srk, record.pcrs.empty() ? TPM2_SE_HMAC : TPM2_SE_POLICY);
  if (!session) return session.error();
  auto key = load();
  if (!key) return key.error();
  TSS2_RC rc = Esys_TR_SetAuth(esys, key->get(), &auth.auth);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TR_SetAuth");
  if (!record.pcrs.empty()) {
    if (auto ok = ApplyPolicy(esys, session->get(), record.pcrs); !ok) return ok.error();
  }
  // 4: Sign. Without continueSession the TPM closes the session itself: one
  // round trip fewer than a flush.
  rc = Esys_TRSess_SetAttributes(esys, session->get(), 0, TPMA_SESSION_CONTINUESESSION);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");
  auto to_sign = digest();
  if (!to_sign) return to_sign.error();
  auto signature = SignDigest(esys, key->get(), pub->publicArea.type, session->get(), *to_sign);
  // On success the TPM flushed the session; on failure it did too when the
  // command got as far as the authorization check, so flushing it again would
  // only fail. TransientHandle tolerates both.
  // 5: FlushContext(key) when `key` goes out of scope.
  if (signature) session->Forget();
  if (!signature) return Annotate(PcrsChanged(signature.error()));
  return signature;
}

TpmResult<Bytes> TpmAuthenticator::SignWithPinIndex(const Srk& srk, ESYS_TR key,
                                                    TPMI_ALG_PUBLIC key_type,
                                                    const KeyRecord& record, const TPM2B_AUTH& auth,
                                                    const DigestSource& digest) {
  ESYS_CONTEXT* esys = connection_.esys();
  auto index = OpenPinIndex(esys, record.pin_index, record.pin_index_name);
  if (!index) return index.error();
  NvCloser closer{esys, *index};
  auto policy = StartPolicySession(esys);
  if (!policy) return policy.error();
  if (!record.pcrs.empty()) {
    if (auto ok = ApplyPcrPolicy(esys, policy->get(), record.pcrs); !ok) {
      return PcrsChanged(ok.error());
    }
  }
  if (auto proven = PolicySecretWithPin(esys, srk, *index, auth, policy->get()); !proven) {
    return AnnotatePin(esys, *index, proven.error());
  }
  TSS2_RC rc = Esys_TRSess_SetAttributes(esys, policy->get(), 0, TPMA_SESSION_CONTINUESESSION);
  if (rc != TSS2_RC_SUCCESS) return FromRc(rc, "Esys_TRSess_SetAttributes");
  auto to_sign = digest();
  if (!to_sign) return to_sign.error();
  auto signature = SignDigest(esys, key, key_type, policy->get(), *to_sign);
  if (!signature) return PcrsChanged(signature.error());
  policy->Forget();
  return signature;
}

TpmResult<PinStatus> TpmAuthenticator::ReadPinStatus(const KeyRecord& record) {
  if (!record.pin_index) return PinStatus{false, std::nullopt};
  ESYS_CONTEXT* esys = connection_.esys();
  auto index = OpenPinIndex(esys, record.pin_index, record.pin_index_name);
  if (!index) return index.error();
  NvCloser closer{esys, *index};
  auto counter = ReadPinCounter(esys, *index);
  return PinStatus{true, counter ? std::optional<PinCounter>(*counter) : std::nullopt};
}

TpmResult<void> TpmAuthenticator::RedefinePinIndex(const KeyRecord& record, const Srk& srk,
                                                   ESYS_TR* index, const SecretBytes& new_pin) {
  ESYS_CONTEXT* esys = connection_.esys();
  if (new_pin.empty()) return TpmFail(TpmErrorKind::kRefused, "a PIN is required");
  if (*index != ESYS_TR_NONE) {
    if (auto gone = UndefinePinIndex(esys, *index); !gone) return gone.error();
    *index = ESYS_TR_NONE;  // ESAPI dropped the object with the index
  }
  AuthGuard auth;
  DeriveAuthValue(new_pin, record.pin_salt, auth.auth);
  auto defined = DefinePinIndex(esys, srk, auth.auth, record.pin_tries, record.pin_index);
  if (!defined) {
    TpmError error = defined.error();
    error.message = "the old PIN is gone, but the new one could not be set (" + error.message +
                    "); run reset-pin again";
    return error;
  }
  if (defined->name != record.pin_index_name) {
    // Cannot happen with the same template; if it did, the key would never
    // sign again, so say it loudly rather than leave a silent dead credential.
    return TpmFail(TpmErrorKind::kRefused,
                   "the PIN index came back with another Name; the credential cannot be used");
  }
  return {};
}

TpmResult<void> TpmAuthenticator::ResetPin(webauthn::ByteView credential_id,
                                           const SecretBytes& new_pin) {
  // Under the credential's lock: no login signs, and no other reset or
  // change runs, while the index is gone.
  return store_.WithLock(credential_id, [&] { return ResetPinLocked(credential_id, new_pin); });
}

TpmResult<void> TpmAuthenticator::ResetPinLocked(webauthn::ByteView credential_id,
                                                 const SecretBytes& new_pin) {
  auto record = store_.Load(credential_id);
  if (!record) return record.error();
  if (auto ok = PerCredentialPin(*record); !ok) return ok;
  ESYS_CONTEXT* esys = connection_.esys();
  auto srk = LoadSrkChecked(esys, record->srk_name);
  if (!srk) return srk.error();
  NvCloser closer{esys, ESYS_TR_NONE};
  auto index = OpenPinIndex(esys, record->pin_index, record->pin_index_name);
  if (index) {
    closer.handle = *index;
  } else if (BaseRc(index.error().rc) != TPM2_RC_HANDLE) {
    return index.error();
  }  // else: gone half-way through an earlier reset; define it again
  return RedefinePinIndex(*record, *srk, &closer.handle, new_pin);
}

TpmResult<void> TpmAuthenticator::ChangePin(webauthn::ByteView credential_id,
                                            const SecretBytes& current, const SecretBytes& new_pin) {
  return store_.WithLock(credential_id,
                         [&] { return ChangePinLocked(credential_id, current, new_pin); });
}

TpmResult<void> TpmAuthenticator::ChangePinLocked(webauthn::ByteView credential_id,
                                                  const SecretBytes& current,
                                                  const SecretBytes& new_pin) {
  auto record = store_.Load(credential_id);
  if (!record) return record.error();
  if (auto ok = PerCredentialPin(*record); !ok) return ok;
  if (current.empty()) return TpmFail(TpmErrorKind::kRefused, "the current PIN is required");
  ESYS_CONTEXT* esys = connection_.esys();
  auto srk = LoadSrkChecked(esys, record->srk_name);
  if (!srk) return srk.error();
  auto index = OpenPinIndex(esys, record->pin_index, record->pin_index_name);
  if (!index) return index.error();
  NvCloser closer{esys, *index};
  AuthGuard auth;
  DeriveAuthValue(current, record->pin_salt, auth.auth);
  if (auto proven = ProvePin(esys, *srk, *index, auth.auth); !proven) {
    return AnnotatePin(esys, *index, proven.error());
  }
  return RedefinePinIndex(*record, *srk, &closer.handle, new_pin);
}

TpmResult<void> TpmAuthenticator::RemoveCredential(webauthn::ByteView credential_id) {
  auto record = store_.Load(credential_id);
  if (!record) return record.error();
  if (record->pin_index) {
    ESYS_CONTEXT* esys = connection_.esys();
    auto index = OpenPinIndex(esys, record->pin_index, record->pin_index_name);
    if (index) {
      NvCloser closer{esys, *index};
      if (auto gone = UndefinePinIndex(esys, *index); !gone) return gone.error();
      closer.handle = ESYS_TR_NONE;
    } else if (index.error().kind != TpmErrorKind::kWrongTpm) {
      // Not there any more (a cleared TPM), or another's at that handle
      // (kWrongTpm): nothing of ours to delete. Anything else: try again later.
      return index.error();
    }
  }
  return store_.Remove(credential_id);
}

}  // namespace tpmauthn::tpm
