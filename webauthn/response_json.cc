// RegistrationResponseJSON / AuthenticationResponseJSON mapping.
#include "webauthn/response_json.h"

#include <openssl/x509.h>

#include "webauthn/attestation_object.h"
#include "webauthn/base64url.h"

namespace tpmauthn::webauthn {
namespace {

using nlohmann::json;

Result<std::string> StringMember(const json& object, const char* name, const char* path) {
  auto it = object.find(name);
  if (it == object.end()) return Fail(Check::kResponse, std::string(path) + " missing");
  if (!it->is_string()) return Fail(Check::kResponse, std::string(path) + " is not a string");
  return it->get<std::string>();
}

Result<Bytes> BytesMember(const json& object, const char* name, const char* path) {
  auto text = StringMember(object, name, path);
  if (!text) return text.error();
  auto bytes = Base64UrlDecode(*text);
  if (!bytes) return Fail(Check::kEncoding, std::string(path) + ": " + bytes.error().message);
  return bytes;
}

Result<const json*> ResponseObject(const json& credential) {
  if (!credential.is_object()) return Fail(Check::kResponse, "credential is not a JSON object");
  auto it = credential.find("response");
  if (it == credential.end() || !it->is_object()) {
    return Fail(Check::kResponse, "response missing or not an object");
  }
  return &*it;
}

Result<CredentialEnvelope> ParseEnvelope(const json& credential) {
  CredentialEnvelope envelope;
  auto id = StringMember(credential, "id", "id");
  if (!id) return id.error();
  auto raw_id = BytesMember(credential, "rawId", "rawId");
  if (!raw_id) return raw_id.error();
  auto type = StringMember(credential, "type", "type");
  if (!type) return type.error();
  envelope.id = std::move(*id);
  envelope.raw_id = std::move(*raw_id);
  envelope.type = std::move(*type);
  return envelope;
}

}  // namespace

Result<RegistrationResponse> ParseRegistrationResponseJson(const json& credential) {
  auto response = ResponseObject(credential);
  if (!response) return response.error();
  auto envelope = ParseEnvelope(credential);
  if (!envelope) return envelope.error();
  auto client_data = BytesMember(**response, "clientDataJSON", "response.clientDataJSON");
  if (!client_data) return client_data.error();
  auto object = BytesMember(**response, "attestationObject", "response.attestationObject");
  if (!object) return object.error();
  return RegistrationResponse{std::move(*envelope), std::move(*client_data), std::move(*object)};
}

Result<AssertionResponse> ParseAuthenticationResponseJson(const json& credential) {
  auto response = ResponseObject(credential);
  if (!response) return response.error();
  auto envelope = ParseEnvelope(credential);
  if (!envelope) return envelope.error();
  const json& r = **response;
  auto client_data = BytesMember(r, "clientDataJSON", "response.clientDataJSON");
  if (!client_data) return client_data.error();
  auto auth_data = BytesMember(r, "authenticatorData", "response.authenticatorData");
  if (!auth_data) return auth_data.error();
  auto signature = BytesMember(r, "signature", "response.signature");
  if (!signature) return signature.error();
  AssertionResponse out{std::move(*envelope), std::move(*client_data), std::move(*auth_data),
                        std::move(*signature), std::nullopt};
  if (auto it = r.find("userHandle"); it != r.end() && !it->is_null()) {
    auto handle = BytesMember(r, "userHandle", "response.userHandle");
    if (!handle) return handle.error();
    out.user_handle = std::move(*handle);
  }
  return out;
}

Result<json> RegistrationResponseToJson(const RegistrationResponse& response,
                                        std::string_view attachment,
                                        const std::vector<std::string>& transports) {
  auto object = AttestationObject::Parse(response.attestation_object);
  if (!object) return object.error();
  if (!object->auth_data.attested) {
    return Fail(Check::kAuthenticatorData, "authenticatorData: no attested credential data");
  }
  auto key = CoseKey::Parse(object->auth_data.attested->public_key);
  if (!key) return key.error();
  unsigned char* der = nullptr;
  int der_len = i2d_PUBKEY(key->pkey(), &der);
  if (der_len <= 0) return Fail(Check::kPublicKey, "could not encode the public key as SPKI");
  Bytes spki(der, der + der_len);
  OPENSSL_free(der);
  return json{
      {"id", response.envelope.id},
      {"rawId", Base64UrlEncode(response.envelope.raw_id)},
      {"type", response.envelope.type},
      {"authenticatorAttachment", attachment},
      {"response",
       {
           {"clientDataJSON", Base64UrlEncode(response.client_data_json)},
           {"attestationObject", Base64UrlEncode(response.attestation_object)},
           {"authenticatorData", Base64UrlEncode(object->auth_data_bytes)},
           {"publicKey", Base64UrlEncode(spki)},
           {"publicKeyAlgorithm", static_cast<int64_t>(key->algorithm())},
           {"transports", transports},
       }},
      {"clientExtensionResults", json::object()},
  };
}

json AuthenticationResponseToJson(const AssertionResponse& response, std::string_view attachment) {
  json r = {
      {"clientDataJSON", Base64UrlEncode(response.client_data_json)},
      {"authenticatorData", Base64UrlEncode(response.authenticator_data)},
      {"signature", Base64UrlEncode(response.signature)},
      {"userHandle", response.user_handle ? json(Base64UrlEncode(*response.user_handle))
                                          : json(nullptr)},
  };
  return json{
      {"id", response.envelope.id},
      {"rawId", Base64UrlEncode(response.envelope.raw_id)},
      {"type", response.envelope.type},
      {"authenticatorAttachment", attachment},
      {"response", r},
      {"clientExtensionResults", json::object()},
  };
}

}  // namespace tpmauthn::webauthn
