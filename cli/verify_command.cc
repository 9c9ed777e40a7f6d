// The verification document → WebAuthn §7.1/§7.2 verifier → verdict.
#include "cli/verify_command.h"

#include "cli/command_util.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli/verb.h"
#include "webauthn/assertion_verifier.h"
#include "webauthn/base64url.h"
#include "webauthn/registration_verifier.h"
#include "webauthn/response_json.h"

namespace tpmauthn::cli {
namespace {

using nlohmann::json;
using Verdict = nlohmann::ordered_json;
namespace wa = tpmauthn::webauthn;

constexpr size_t kMaxDocumentSize = 1024 * 1024;

// A mistake in the document itself (exit 2), as opposed to a bad response.
struct DocumentError {
  std::string message;
};

std::vector<std::string> StringOrList(const json& doc, const char* name) {
  auto it = doc.find(name);
  if (it == doc.end()) throw DocumentError{std::string(name) + " is required"};
  std::vector<std::string> out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array() && !it->empty()) {
    for (const json& v : *it) {
      if (!v.is_string()) throw DocumentError{std::string(name) + " must hold strings"};
      out.push_back(v.get<std::string>());
    }
  } else {
    throw DocumentError{std::string(name) + " must be a string or a non-empty list of strings"};
  }
  return out;
}

wa::Bytes Base64UrlMember(const json& object, const char* name, const std::string& path) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    throw DocumentError{path + " is required (base64url string)"};
  }
  auto bytes = wa::Base64UrlDecode(it->get<std::string>());
  if (!bytes) throw DocumentError{path + ": " + bytes.error().message};
  return std::move(*bytes);
}

bool BoolMember(const json& doc, const char* name, bool fallback) {
  auto it = doc.find(name);
  if (it == doc.end()) return fallback;
  if (!it->is_boolean()) throw DocumentError{std::string(name) + " must be true or false"};
  return it->get<bool>();
}

void FillCeremony(const json& doc, wa::CeremonyExpectations& expected) {
  expected.challenge = Base64UrlMember(doc, "expectedChallenge", "expectedChallenge");
  expected.origins = StringOrList(doc, "expectedOrigin");
  expected.rp_ids = StringOrList(doc, "expectedRPID");
  expected.require_user_verification = BoolMember(doc, "requireUserVerification", true);
  expected.allow_cross_origin = BoolMember(doc, "allowCrossOrigin", false);
  if (doc.contains("expectedTopOrigin")) {
    expected.top_origins = StringOrList(doc, "expectedTopOrigin");
  }
}

Verdict Rejected(const char* kind, const wa::Error& error) {
  return Verdict{{"verified", false},
                 {"kind", kind},
                 {"check", wa::ToString(error.check)},
                 {"error", error.message}};
}

Verdict VerifyRegistrationDocument(const json& doc, const json& response) {
  wa::RegistrationExpectations expected;
  FillCeremony(doc, expected);
  auto parsed = wa::ParseRegistrationResponseJson(response);
  if (!parsed) return Rejected("registration", parsed.error());
  auto verified = wa::VerifyRegistration(*parsed, expected);
  if (!verified) return Rejected("registration", verified.error());
  return Verdict{
      {"verified", true},
      {"kind", "registration"},
      {"credentialId", wa::Base64UrlEncode(verified->credential_id)},
      {"publicKey", wa::Base64UrlEncode(verified->public_key.encoded())},
      {"publicKeyAlgorithm", static_cast<int64_t>(verified->public_key.algorithm())},
      {"counter", verified->sign_count},
      {"fmt", verified->fmt},
      {"attestationType", wa::ToString(verified->attestation_type)},
      // No trust anchors are taken yet: no chain is trusted (docs/architecture.md).
      {"trusted", verified->attestation_trusted},
      {"aaguid", wa::ToHex(verified->aaguid)},
      {"rpId", verified->rp_id},
      {"origin", verified->origin},
      {"userVerified", (verified->flags & wa::AuthenticatorData::kUserVerified) != 0},
      {"backupEligible", (verified->flags & wa::AuthenticatorData::kBackupEligible) != 0},
      {"backupState", (verified->flags & wa::AuthenticatorData::kBackupState) != 0},
  };
}

Verdict VerifyAuthenticationDocument(const json& doc, const json& response) {
  wa::AssertionExpectations expected;
  FillCeremony(doc, expected);
  if (doc.contains("expectedUserHandle")) {
    expected.user_handle = Base64UrlMember(doc, "expectedUserHandle", "expectedUserHandle");
  }
  auto it = doc.find("credential");
  if (it == doc.end() || !it->is_object()) {
    throw DocumentError{"credential {id, publicKey, counter} is required for authentication"};
  }
  const json& credential = *it;
  wa::Bytes id = Base64UrlMember(credential, "id", "credential.id");
  wa::Bytes cose = Base64UrlMember(credential, "publicKey", "credential.publicKey");
  auto key = wa::CoseKey::Parse(cose);
  if (!key) throw DocumentError{"credential.publicKey: " + key.error().message};
  uint32_t counter = 0;
  if (auto c = credential.find("counter"); c != credential.end()) {
    if (!c->is_number_unsigned() || c->get<uint64_t>() > UINT32_MAX) {
      throw DocumentError{"credential.counter must be an integer from 0 to 4294967295"};
    }
    counter = static_cast<uint32_t>(c->get<uint64_t>());
  }
  wa::CredentialRecord record{std::move(id), std::move(*key), counter};

  auto parsed = wa::ParseAuthenticationResponseJson(response);
  if (!parsed) return Rejected("authentication", parsed.error());
  auto verified = wa::VerifyAssertion(*parsed, record, expected);
  if (!verified) return Rejected("authentication", verified.error());
  return Verdict{
      {"verified", true},
      {"kind", "authentication"},
      {"credentialId", wa::Base64UrlEncode(record.id)},
      {"counter", verified->sign_count},
      {"rpId", verified->rp_id},
      {"userVerified", verified->user_verified},
      {"backupEligible", (verified->flags & wa::AuthenticatorData::kBackupEligible) != 0},
      {"backupState", (verified->flags & wa::AuthenticatorData::kBackupState) != 0},
  };
}

const std::set<std::string>& KnownMembers() {
  static const std::set<std::string> known = {
      "kind",           "expectedChallenge", "expectedOrigin",     "expectedRPID",
      "requireUserVerification", "response", "credential",         "expectedUserHandle",
      "allowCrossOrigin", "expectedTopOrigin",
  };
  return known;
}

}  // namespace

int VerifyDocument(const std::string& text, std::ostream& out, std::ostream& err) {
  auto malformed = [&](const std::string& why) {
    out << Verdict{{"verified", false}, {"check", "document"}, {"error", why}}.dump() << "\n";
    err << "tpmauthn: verify: " << why << "\n";
    return kExitUsage;
  };
  if (text.size() > kMaxDocumentSize) return malformed("document larger than 1 MiB");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return malformed("document is not valid JSON");
  if (!doc.is_object()) return malformed("document is not a JSON object");
  for (const auto& [name, value] : doc.items()) {
    // A misspelt member would silently weaken a check; refuse it instead.
    if (!KnownMembers().count(name)) return malformed("unknown member \"" + name + "\"");
  }
  try {
    auto kind = doc.find("kind");
    if (kind == doc.end() || !kind->is_string()) {
      throw DocumentError{"kind must be \"registration\" or \"authentication\""};
    }
    auto response = doc.find("response");
    if (response == doc.end() || !response->is_object()) {
      throw DocumentError{"response must be a JSON object"};
    }
    Verdict verdict;
    const std::string& kind_text = kind->get_ref<const std::string&>();
    if (kind_text == "registration") {
      verdict = VerifyRegistrationDocument(doc, *response);
    } else if (kind_text == "authentication") {
      verdict = VerifyAuthenticationDocument(doc, *response);
    } else {
      throw DocumentError{"kind must be \"registration\" or \"authentication\""};
    }
    out << verdict.dump() << "\n";
    return verdict["verified"].get<bool>() ? kExitOk : kExitRejected;
  } catch (const DocumentError& e) {
    return malformed(e.message);
  }
}

int RunVerify(const std::string& path, std::ostream& out, std::ostream& err) {
  std::string error;
  auto text = ReadInput(path, error);
  if (!text) {
    err << "tpmauthn: verify: " << error << "\n";
    return kExitUsage;
  }
  return VerifyDocument(*text, out, err);
}

Verb RegisterVerify(CLI::App& app) {
  auto path = std::make_shared<std::string>("-");
  CLI::App* c = app.add_subcommand(
      "verify", "Verify a WebAuthn response against a verification document (JSON)");
  c->add_option("FILE", *path, "document file, or - for standard input");
  return {c, [path](const GlobalArgs&) { return RunVerify(*path, std::cout, std::cerr); }};
}

}  // namespace tpmauthn::cli
