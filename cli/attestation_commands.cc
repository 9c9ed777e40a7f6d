// tpmauthn attestation-ca and attestation-key (see attestation_commands.h).
#include "cli/attestation_commands.h"

#include <openssl/crypto.h>
#include <sys/stat.h>
#include <tss2/tss2_mu.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include "attestation_ca/issuer.h"
#include "attestation_ca/messages.h"
#include "cli/command_util.h"
#include "config/attestation_policy.h"
#include "config/safe_file.h"
#include "tpm/attestation_key.h"
#include "tpm/endorsement.h"
#include "tpm/marshal.h"
#include "webauthn/base64url.h"
#include "webauthn/bytes.h"
#include "webauthn/x509.h"

namespace tpmauthn::cli {
namespace {

namespace ca = attestation_ca;
using webauthn::Bytes;

constexpr size_t kMaxInput = 256 * 1024;

int Fail(std::ostream& err, const char* command, const std::string& why, int code) {
  err << "tpmauthn: " << command << ": " << why << "\n";
  return code;
}

// A file of ours (owner: this user; with `private_file`, mode 0600 or less).
std::optional<std::string> ReadOwnFile(const std::string& path, bool private_file,
                                       std::string& error) {
  auto opened = config::OpenChecked(path, config::FileRules{{::geteuid()}, false});
  if (!opened) {
    error = opened.error().message;
    return std::nullopt;
  }
  if (opened->status == config::OpenStatus::kMissing) {
    error = path + ": no such file";
    return std::nullopt;
  }
  struct stat st {};
  if (private_file && ::fstat(opened->fd.get(), &st) == 0 && (st.st_mode & 077)) {
    error = path + ": readable by others (want 0600)";
    return std::nullopt;
  }
  auto text = config::ReadAll(opened->fd.get(), path, kMaxInput);
  if (!text) {
    error = text.error().message;
    return std::nullopt;
  }
  return std::move(*text);
}

// `text` to `out_path` (a new file, never replacing one) or to stdout.
int Emit(const char* command, const std::optional<std::string>& out_path, const std::string& text,
         std::ostream& out, std::ostream& err) {
  if (!out_path) {
    out << text;
    return kExitOk;
  }
  if (auto ok = config::AtomicCreate(*out_path, text, 0644); !ok) {
    return Fail(err, command, ok.error().message, kExitUsage);
  }
  return kExitOk;
}

struct CaArgs {
  std::string dir, request;
  std::string name = "tpmauthn attestation CA";
  std::optional<std::string> out;
  long days = 3650;
};

int RunCaInit(const CaArgs& args, std::ostream& out, std::ostream& err) {
  const char* kCommand = "attestation-ca init";
  if (::mkdir(args.dir.c_str(), 0700) != 0) {
    return Fail(err, kCommand,
                args.dir + ": " +
                    (errno == EEXIST ? std::string("already exists (a CA is never overwritten)")
                                     : config::ErrnoMessage(errno)),
                kExitUsage);
  }
  auto made = ca::GenerateCa(args.name);
  if (!made) return Fail(err, kCommand, made.error().message, kExitUsage);
  std::string key = ca::PrivateKeyPem(*made);
  const std::string cert = ca::CertificatePem(*made);
  auto key_ok = config::AtomicCreate(args.dir + "/ca-key.pem", key, 0600);
  OPENSSL_cleanse(key.data(), key.size());
  if (!key_ok) return Fail(err, kCommand, key_ok.error().message, kExitUsage);
  if (auto ok = config::AtomicCreate(args.dir + "/ca-cert.pem", cert, 0644); !ok) {
    return Fail(err, kCommand, ok.error().message, kExitUsage);
  }
  if (::mkdir((args.dir + "/ek-roots").c_str(), 0755) != 0 ||
      ::mkdir((args.dir + "/issued").c_str(), 0700) != 0) {
    return Fail(err, kCommand, config::ErrnoMessage(errno), kExitUsage);
  }
  out << "attestation CA in " << args.dir << ":\n"
      << "  " << args.dir << "/ca-cert.pem: give it to relying parties "
      << "(tpmauthn add --require-attestation tpm --trust-anchors DIR)\n"
      << "  " << args.dir << "/ek-roots/: put the EK root certificates of the TPM makers you "
      << "trust here\n"
      << "  " << args.dir << "/ca-key.pem: keep it offline\n";
  return kExitOk;
}

int RunCaIssue(const CaArgs& args, std::ostream& out, std::ostream& err) {
  const char* kCommand = "attestation-ca issue";
  std::string error;
  auto key = ReadOwnFile(args.dir + "/ca-key.pem", /*private_file=*/true, error);
  if (!key) return Fail(err, kCommand, error, kExitUsage);
  auto cert = ReadOwnFile(args.dir + "/ca-cert.pem", false, error);
  if (!cert) return Fail(err, kCommand, error, kExitUsage);
  auto material = ca::LoadCa(*key, *cert);
  OPENSSL_cleanse(key->data(), key->size());
  if (!material) return Fail(err, kCommand, material.error().message, kExitUsage);
  auto roots = config::LoadTrustAnchors(args.dir + "/ek-roots");
  if (!roots) return Fail(err, kCommand, roots.error().message, kExitUsage);
  auto text = ReadInput(args.request, error, kMaxInput);
  if (!text) return Fail(err, kCommand, error, kExitUsage);
  auto request = ca::ParseRequest(*text);
  if (!request) return Fail(err, kCommand, request.error().message, kExitUsage);
  auto issued = ca::Issue(*material, *roots, *request, std::time(nullptr), args.days);
  if (!issued) return Fail(err, kCommand, "refused: " + issued.error().message, kExitRejected);
  const std::string record =
      args.dir + "/issued/" + webauthn::ToHex(issued->response.ak_name).substr(4, 32) + ".der";
  if (auto ok = config::AtomicReplace(
          record, std::string(issued->certificate.begin(), issued->certificate.end()), 0600);
      !ok) {
    return Fail(err, kCommand, ok.error().message, kExitUsage);
  }
  err << "tpmauthn: issued an AIK certificate for a " << request->manufacturer << " TPM ("
      << request->model << "), kept in " << record << "\n";
  return Emit(kCommand, args.out, ca::SerializeResponse(issued->response), out, err);
}

struct KeyArgs {
  std::string response;
  std::optional<std::string> out;
  std::optional<std::string> ek;  // "rsa" | "ecc"; default: the one with a certificate
};

// The EK a new attestation key goes under, and its certificate: the one
// asked for, else RSA when its certificate is in NV, else ECC.
tpm::TpmResult<std::pair<tpm::EkKind, Bytes>> ChooseEk(ESYS_CONTEXT* esys,
                                                       std::optional<tpm::EkKind> wanted) {
  for (tpm::EkKind kind : {tpm::EkKind::kRsa, tpm::EkKind::kEcc}) {
    if (wanted && *wanted != kind) continue;
    auto cert = tpm::ReadEkCertificate(esys, tpm::EkCertificateIndex(kind));
    if (cert) return std::make_pair(kind, std::move(*cert));
    if (wanted || cert.error().kind != tpm::TpmErrorKind::kRefused) return cert.error();
  }
  return tpm::TpmFail(tpm::TpmErrorKind::kRefused,
                      "this TPM has no EK certificate in NV (neither RSA at 0x01c00002 nor ECC "
                      "at 0x01c0000a): its maker provisioned none");
}

int RunKeyRequest(const TpmArgs& tpm_args, const KeyArgs& args, std::ostream& out,
                  std::ostream& err) {
  const char* kCommand = "attestation-key request";
  std::optional<tpm::EkKind> wanted;
  if (args.ek) wanted = *args.ek == "ecc" ? tpm::EkKind::kEcc : tpm::EkKind::kRsa;
  auto connection = OpenTpm(tpm_args);
  if (!connection) return ReportTpmError(err, kCommand, connection.error());
  ESYS_CONTEXT* esys = (*connection)->esys();
  tpm::KeyStore store(tpm_args.store);
  auto record = tpm::LoadAttestationKeyRecord(store);
  if (!record) return ReportTpmError(err, kCommand, record.error());
  if (*record && wanted && *wanted != (*record)->blob.ek) {
    return Fail(err, kCommand,
                std::string("this store's attestation key is under the ") +
                    tpm::EkKindName((*record)->blob.ek) +
                    " EK; remove attestation.json from the store to make one under another",
                kExitUsage);
  }
  if (*record) wanted = (*record)->blob.ek;
  auto ek_cert = ChooseEk(esys, wanted);
  if (!ek_cert) return ReportTpmError(err, kCommand, ek_cert.error());
  const tpm::EkKind kind = ek_cert->first;
  if (!*record) {
    auto blob = tpm::CreateAttestationKey(esys, kind);
    if (!blob) return ReportTpmError(err, kCommand, blob.error());
    tpm::AttestationKeyRecord fresh{std::move(*blob), {}};
    if (auto ok = tpm::SaveAttestationKeyRecord(store, fresh); !ok) {
      return ReportTpmError(err, kCommand, ok.error());
    }
    *record = std::move(fresh);
  }
  auto ek = tpm::OpenEndorsementKey(esys, kind);
  if (!ek) return ReportTpmError(err, kCommand, ek.error());
  const Bytes ek_public =
      tpm::MarshalToBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Marshal>(ek->public_area);
  Esys_TR_Close(esys, &ek->handle);
  auto identity = tpm::ReadTpmIdentity(esys);
  if (!identity) return ReportTpmError(err, kCommand, identity.error());
  ca::AttestationRequest request{ek_cert->second, ek_public, (*record)->blob.public_blob,
                                 identity->manufacturer, identity->model, identity->version};
  return Emit(kCommand, args.out, ca::SerializeRequest(request), out, err);
}

int RunKeyInstall(const TpmArgs& tpm_args, const KeyArgs& args, std::ostream& out,
                  std::ostream& err) {
  const char* kCommand = "attestation-key install";
  std::string error;
  auto text = ReadInput(args.response, error, kMaxInput);
  if (!text) return Fail(err, kCommand, error, kExitUsage);
  auto response = ca::ParseResponse(*text);
  if (!response) return Fail(err, kCommand, response.error().message, kExitUsage);
  tpm::KeyStore store(tpm_args.store);
  auto record = tpm::LoadAttestationKeyRecord(store);
  if (!record) return ReportTpmError(err, kCommand, record.error());
  if (!*record) {
    return Fail(err, kCommand, "no attestation key here: run tpmauthn attestation-key request",
                kExitUsage);
  }
  auto name = tpm::AttestationKeyName((*record)->blob);
  if (!name) return ReportTpmError(err, kCommand, name.error());
  if (*name != response->ak_name) {
    return Fail(err, kCommand, "this response is for another attestation key", kExitRejected);
  }
  auto connection = OpenTpm(tpm_args);
  if (!connection) return ReportTpmError(err, kCommand, connection.error());
  auto credential = tpm::ActivateCredential((*connection)->esys(), (*record)->blob,
                                            response->id_object, response->encrypted_secret);
  if (!credential) return ReportTpmError(err, kCommand, credential.error());
  auto certificate = ca::OpenCertificate(*credential, *response);
  if (!certificate) return Fail(err, kCommand, certificate.error().message, kExitRejected);
  // The certificate must be for this AK.
  auto pub = tpm::UnmarshalFromBytes<TPM2B_PUBLIC, Tss2_MU_TPM2B_PUBLIC_Unmarshal>(
      (*record)->blob.public_blob, "attestation key public area");
  webauthn::X509Ptr cert = webauthn::ParseCertificate(*certificate);
  BIGNUM* raw = nullptr;
  if (!pub || !cert || EVP_PKEY_get_bn_param(X509_get0_pubkey(cert.get()), "n", &raw) != 1) {
    return Fail(err, kCommand, "the AIK certificate does not parse", kExitRejected);
  }
  webauthn::BignumPtr modulus(raw);
  Bytes from_cert(static_cast<size_t>(BN_num_bytes(modulus.get())));
  BN_bn2bin(modulus.get(), from_cert.data());
  const TPM2B_PUBLIC_KEY_RSA& n = pub->publicArea.unique.rsa;
  if (from_cert != Bytes(n.buffer, n.buffer + n.size)) {
    return Fail(err, kCommand, "the AIK certificate is for another key", kExitRejected);
  }
  (*record)->chain = {std::move(*certificate)};
  if (auto ok = tpm::SaveAttestationKeyRecord(store, **record); !ok) {
    return ReportTpmError(err, kCommand, ok.error());
  }
  char issuer[256] = {};
  X509_NAME_oneline(X509_get_issuer_name(cert.get()), issuer, sizeof(issuer) - 1);
  out << "installed the AIK certificate from " << issuer
      << "; enroll --attestation tpm now certifies new credentials\n";
  return kExitOk;
}

}  // namespace

Verb RegisterAttestationCa(CLI::App& app) {
  auto args = std::make_shared<CaArgs>();
  CLI::App* c = app.add_subcommand("attestation-ca",
                                   "An attestation CA for TPMs (the fleet admin's, offline)");
  c->require_subcommand(1);
  CLI::App* init = c->add_subcommand("init", "Create a CA in DIR (a new directory)");
  init->add_option("DIR", args->dir)->required();
  init->add_option("--name", args->name, "the CA's common name")->capture_default_str();
  CLI::App* issue = c->add_subcommand("issue", "Check a TPM's request and issue its AIK certificate");
  issue->add_option("DIR", args->dir)->required();
  issue->add_option("REQUEST", args->request, "the request file, or - for stdin")->required();
  issue->add_option("--out", args->out, "write the response here (default: stdout)");
  issue->add_option("--days", args->days, "validity of the certificate")->capture_default_str();
  return {c, [args, init](const GlobalArgs&) {
            return init->parsed() ? RunCaInit(*args, std::cout, std::cerr)
                                  : RunCaIssue(*args, std::cout, std::cerr);
          }};
}

Verb RegisterAttestationKey(CLI::App& app) {
  auto args = std::make_shared<KeyArgs>();
  CLI::App* c = app.add_subcommand("attestation-key",
                                   "This TPM's attestation key and its AIK certificate");
  c->require_subcommand(1);
  CLI::App* request = c->add_subcommand(
      "request", "Print a request for the attestation CA (creates the key the first time)");
  request->add_option("--out", args->out, "write the request here (default: stdout)");
  request
      ->add_option("--ek", args->ek,
                   "the endorsement key to prove the key with: rsa (0x81010001) or ecc "
                   "(P-256, 0x81010002); default: RSA if its certificate is in NV, else ECC")
      ->check(CLI::IsMember({"rsa", "ecc"}));
  CLI::App* install = c->add_subcommand("install", "Install the CA's response");
  install->add_option("RESPONSE", args->response, "the response file, or - for stdin")
      ->required();
  return {c, [args, request](const GlobalArgs& g) {
            return request->parsed() ? RunKeyRequest(g.tpm, *args, std::cout, std::cerr)
                                     : RunKeyInstall(g.tpm, *args, std::cout, std::cerr);
          }};
}

}  // namespace tpmauthn::cli
