// attestationObject parsing and the "none"/"packed"/"tpm" verification procedures.
#include "webauthn/attestation_object.h"

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "webauthn/cbor.h"
#include "webauthn/x509.h"

namespace tpmauthn::webauthn {
namespace {

Error ObjectError(std::string message) {
  return Fail(Check::kAttestationObject, "attestationObject: " + std::move(message));
}
Error StatementError(std::string message) {
  return Fail(Check::kAttestationStatement, "attStmt: " + std::move(message));
}

Result<void> ParsePackedStatement(const cbor_item_t* stmt, AttestationObject& out) {
  cbor_pair* pairs = cbor_map_handle(stmt);
  for (size_t i = 0; i < cbor_map_size(stmt); ++i) {
    auto key = cbor::AsText(pairs[i].key);
    if (!key) return ObjectError("packed attStmt has a non-text key");
    if (*key == "alg") {
      auto alg = cbor::AsInt(pairs[i].value);
      if (!alg) return ObjectError("packed attStmt alg is not an integer");
      out.alg = *alg;
    } else if (*key == "sig") {
      auto sig = cbor::AsBytes(pairs[i].value);
      if (!sig) return ObjectError("packed attStmt sig is not a byte string");
      out.sig = std::move(*sig);
    } else if (*key == "x5c") {
      const cbor_item_t* array = pairs[i].value;
      if (!cbor_isa_array(array) || cbor_array_size(array) == 0) {
        return ObjectError("packed attStmt x5c is not a non-empty array");
      }
      for (size_t j = 0; j < cbor_array_size(array); ++j) {
        auto cert = cbor::AsBytes(cbor_array_handle(array)[j]);
        if (!cert) return ObjectError("packed attStmt x5c element is not a byte string");
        out.x5c.push_back(std::move(*cert));
      }
    } else {
      return ObjectError("packed attStmt member \"" + *key + "\" is not supported");
    }
  }
  if (!cbor::Find(stmt, "alg") || !cbor::Find(stmt, "sig")) {
    return ObjectError("packed attStmt lacks alg or sig");
  }
  return {};
}

std::optional<std::string> SubjectField(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

// §8.2.1 Certificate Requirements for Packed Attestation Statements.
Result<void> CheckAttestationCertificate(X509* cert, const AuthenticatorData& auth_data) {
  if (X509_get_version(cert) != 2) return StatementError("attestation certificate is not X.509 v3");
  auto country = SubjectField(cert, NID_countryName);
  auto org = SubjectField(cert, NID_organizationName);
  auto unit = SubjectField(cert, NID_organizationalUnitName);
  auto common = SubjectField(cert, NID_commonName);
  if (!country || country->size() != 2 || !org || org->empty() || !common) {
    return StatementError("attestation certificate subject lacks C, O or CN");
  }
  if (!unit || *unit != "Authenticator Attestation") {
    return StatementError("attestation certificate subject OU is not \"Authenticator Attestation\"");
  }
  // X509_get_extension_flags computes and caches EXFLAG_* (including basic constraints).
  uint32_t flags = X509_get_extension_flags(cert);
  if (flags & EXFLAG_INVALID) return StatementError("attestation certificate extensions invalid");
  if (flags & EXFLAG_CA) return StatementError("attestation certificate is a CA (cA=true)");
  if (auto problem = AaguidExtensionProblem(cert, auth_data)) return StatementError(*problem);
  return {};
}

std::optional<CoseAlgorithm> KnownAlgorithm(int64_t alg) {
  switch (alg) {
    case static_cast<int64_t>(CoseAlgorithm::kES256):
    case static_cast<int64_t>(CoseAlgorithm::kEdDSA):
    case static_cast<int64_t>(CoseAlgorithm::kRS256):
      return static_cast<CoseAlgorithm>(alg);
    default:
      return std::nullopt;
  }
}

Result<VerifiedAttestation> VerifyPacked(const AttestationObject& object, ByteView signed_data,
                                         const CoseKey& credential_key,
                                         const AttestationTrust* trust) {
  auto alg = KnownAlgorithm(object.alg);
  if (!alg) return StatementError("unsupported alg " + std::to_string(object.alg));
  if (object.x5c.empty()) {
    // Self attestation: alg must be the credential's, sig by the credential key.
    if (*alg != credential_key.algorithm()) {
      return StatementError("self attestation alg differs from the credential key's alg");
    }
    if (auto ok = credential_key.Verify(signed_data, object.sig); !ok) {
      return StatementError("self attestation " + ok.error().message);
    }
    VerifiedAttestation self;
    self.type = AttestationType::kSelf;
    return self;
  }
  auto parsed = ParseChain(object.x5c);
  if (!parsed) return StatementError("x5c holds a certificate that does not parse as DER X.509");
  const std::vector<X509Ptr>& chain = *parsed;
  EVP_PKEY* attestation_key = X509_get0_pubkey(chain[0].get());
  if (!attestation_key) return StatementError("attestation certificate has no usable key");
  if (auto ok = VerifyWithAlgorithm(attestation_key, *alg, signed_data, object.sig); !ok) {
    return StatementError("x5c " + ok.error().message);
  }
  if (auto ok = CheckAttestationCertificate(chain[0].get(), object.auth_data); !ok) {
    return ok.error();
  }
  if (auto problem = ChainSignatureProblem(chain)) return StatementError(*problem);
  VerifiedAttestation out;
  out.type = AttestationType::kBasic;
  out.trust_path = object.x5c;
  if (trust && !trust->anchors.empty()) {
    auto problem = ChainToAnchorProblem(chain, trust->anchors, trust->at);
    out.trusted = !problem;
    if (problem) out.untrusted_because = *problem;
  }
  return out;
}

}  // namespace

std::string_view ToString(AttestationType type) {
  switch (type) {
    case AttestationType::kNone:
      return "none";
    case AttestationType::kSelf:
      return "self";
    case AttestationType::kBasic:
      return "basic";
    case AttestationType::kAttCa:
      return "attca";
  }
  return "unknown";
}

Result<AttestationObject> AttestationObject::Parse(ByteView data) {
  if (data.size() > kMaxAttestationObjectSize) return ObjectError("larger than 64 KiB");
  auto item = cbor::DecodeExact(data, Check::kAttestationObject, "attestationObject");
  if (!item) return item.error();
  const cbor_item_t* map = item->get();
  if (!cbor_isa_map(map)) return ObjectError("not a CBOR map");
  if (cbor_map_size(map) != 3) return ObjectError("must have exactly fmt, attStmt and authData");
  auto fmt = cbor::AsText(cbor::Find(map, "fmt"));
  const cbor_item_t* stmt = cbor::Find(map, "attStmt");
  auto auth_data = cbor::AsBytes(cbor::Find(map, "authData"));
  if (!fmt) return ObjectError("fmt missing or not text");
  if (!stmt || !cbor_isa_map(stmt)) return ObjectError("attStmt missing or not a map");
  if (!auth_data) return ObjectError("authData missing or not a byte string");

  AttestationObject out;
  out.fmt = *fmt;
  if (out.fmt == "none") {
    if (cbor_map_size(stmt) != 0) return ObjectError("fmt \"none\" with a non-empty attStmt");
  } else if (out.fmt == "packed") {
    if (auto ok = ParsePackedStatement(stmt, out); !ok) return ok.error();
  } else if (out.fmt == "tpm") {
    if (auto ok = ParseTpmStatement(stmt, out.tpm, out.alg, out.sig, out.x5c); !ok) {
      return ok.error();
    }
  } else {
    return ObjectError("unsupported attestation format \"" + out.fmt + "\"");
  }
  auto parsed = AuthenticatorData::Parse(*auth_data);
  if (!parsed) return parsed.error();
  out.auth_data = std::move(*parsed);
  out.auth_data_bytes = std::move(*auth_data);
  return out;
}

Bytes AttestationObject::EncodeNone(ByteView auth_data) {
  auto map = cbor::NewMap(3);
  cbor::MapAdd(map.get(), cbor::Text("fmt"), cbor::Text("none"));
  cbor::MapAdd(map.get(), cbor::Text("attStmt"), cbor::NewMap(0));
  cbor::MapAdd(map.get(), cbor::Text("authData"), cbor::ByteString(auth_data));
  return cbor::Serialize(map.get());
}

Bytes AttestationObject::EncodePackedSelf(ByteView auth_data, CoseAlgorithm alg, ByteView sig) {
  return EncodePacked(auth_data, alg, sig, {});
}

Bytes AttestationObject::EncodePacked(ByteView auth_data, CoseAlgorithm alg, ByteView sig,
                                      const std::vector<Bytes>& x5c) {
  auto stmt = cbor::NewMap(x5c.empty() ? 2 : 3);
  cbor::MapAdd(stmt.get(), cbor::Text("alg"), cbor::Int(static_cast<int64_t>(alg)));
  cbor::MapAdd(stmt.get(), cbor::Text("sig"), cbor::ByteString(sig));
  if (!x5c.empty()) {
    auto chain = cbor::NewArray(x5c.size());
    for (const Bytes& der : x5c) cbor::ArrayPush(chain.get(), cbor::ByteString(der));
    cbor::MapAdd(stmt.get(), cbor::Text("x5c"), std::move(chain));
  }
  auto map = cbor::NewMap(3);
  cbor::MapAdd(map.get(), cbor::Text("fmt"), cbor::Text("packed"));
  cbor::MapAdd(map.get(), cbor::Text("attStmt"), std::move(stmt));
  cbor::MapAdd(map.get(), cbor::Text("authData"), cbor::ByteString(auth_data));
  return cbor::Serialize(map.get());
}

Bytes AttestationObject::EncodeTpm(ByteView auth_data, CoseAlgorithm alg, ByteView sig,
                                   const std::vector<Bytes>& x5c, ByteView cert_info,
                                   ByteView pub_area) {
  auto stmt = cbor::NewMap(6);
  cbor::MapAdd(stmt.get(), cbor::Text("ver"), cbor::Text("2.0"));
  cbor::MapAdd(stmt.get(), cbor::Text("alg"), cbor::Int(static_cast<int64_t>(alg)));
  auto chain = cbor::NewArray(x5c.size());
  for (const Bytes& der : x5c) cbor::ArrayPush(chain.get(), cbor::ByteString(der));
  cbor::MapAdd(stmt.get(), cbor::Text("x5c"), std::move(chain));
  cbor::MapAdd(stmt.get(), cbor::Text("sig"), cbor::ByteString(sig));
  cbor::MapAdd(stmt.get(), cbor::Text("certInfo"), cbor::ByteString(cert_info));
  cbor::MapAdd(stmt.get(), cbor::Text("pubArea"), cbor::ByteString(pub_area));
  auto map = cbor::NewMap(3);
  cbor::MapAdd(map.get(), cbor::Text("fmt"), cbor::Text("tpm"));
  cbor::MapAdd(map.get(), cbor::Text("attStmt"), std::move(stmt));
  cbor::MapAdd(map.get(), cbor::Text("authData"), cbor::ByteString(auth_data));
  return cbor::Serialize(map.get());
}

Result<VerifiedAttestation> VerifyAttestationStatement(const AttestationObject& object,
                                                       ByteView client_data_hash,
                                                       const CoseKey& credential_key,
                                                       const AttestationTrust* trust) {
  if (object.fmt == "none") return VerifiedAttestation{};
  if (object.fmt == "tpm") {
    auto tpm = VerifyTpmStatement(object.tpm, object.alg, object.sig, object.x5c,
                                  object.auth_data_bytes, object.auth_data, client_data_hash,
                                  credential_key, trust);
    if (!tpm) return tpm.error();
    VerifiedAttestation out;
    out.type = AttestationType::kAttCa;
    out.trust_path = std::move(tpm->trust_path);
    out.trusted = tpm->trusted;
    out.untrusted_because = std::move(tpm->untrusted_because);
    out.tpm_device = std::move(tpm->device);
    out.key_fixed_to_tpm = tpm->key_fixed_to_tpm;
    return out;
  }
  if (object.fmt != "packed") return StatementError("unsupported format \"" + object.fmt + "\"");
  Bytes signed_data = object.auth_data_bytes;
  signed_data.insert(signed_data.end(), client_data_hash.begin(), client_data_hash.end());
  return VerifyPacked(object, signed_data, credential_key, trust);
}

}  // namespace tpmauthn::webauthn
