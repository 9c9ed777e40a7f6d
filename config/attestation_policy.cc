// Attestation requirements and trust anchors (attestation_policy.h).
#include "config/attestation_policy.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

#include "config/safe_file.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::config {
namespace {

using BioPtr = std::unique_ptr<BIO, webauthn::OpenSslDeleter<BIO_free>>;

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

webauthn::Bytes Der(X509* cert) {
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert, &der);
  if (length <= 0) return {};
  webauthn::Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

// The certificates of one file's text: DER (one), or PEM (one or more).
ConfigResult<std::vector<webauthn::Bytes>> Certificates(const std::string& text,
                                                        const std::string& path) {
  std::vector<webauthn::Bytes> out;
  if (EndsWith(path, ".der")) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    webauthn::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(text.size())));
    if (!cert || p != reinterpret_cast<const unsigned char*>(text.data()) + text.size()) {
      return ConfigFail(path + ": not one DER certificate");
    }
    out.push_back(Der(cert.get()));
    return out;
  }
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return ConfigFail(path + ": out of memory");
  while (true) {
    webauthn::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(Der(cert.get()));
  }
  ERR_clear_error();  // the end of the file reads as an error
  if (out.empty()) return ConfigFail(path + ": holds no PEM certificate");
  return out;
}

}  // namespace

std::optional<AttestationRequirement> ParseAttestationRequirement(std::string_view text) {
  if (text == "none") return AttestationRequirement::kNone;
  if (text == "self") return AttestationRequirement::kSelf;
  if (text == "tpm") return AttestationRequirement::kTpm;
  return std::nullopt;
}

std::optional<std::string> AttestationShortfall(const webauthn::VerifiedRegistration& verified,
                                                AttestationRequirement requirement) {
  using webauthn::AttestationType;
  switch (requirement) {
    case AttestationRequirement::kNone:
      return std::nullopt;
    case AttestationRequirement::kSelf:
      if (verified.attestation_type == AttestationType::kNone) {
        return "the registration has no attestation (fmt \"none\"); --require-attestation self "
               "needs at least a self attestation";
      }
      return std::nullopt;
    case AttestationRequirement::kTpm:
      if (verified.fmt != "tpm") {
        return "the attestation is fmt \"" + verified.fmt +
               "\", not \"tpm\" (enroll with --attestation tpm)";
      }
      if (!verified.attestation_trusted) {
        return "the TPM's attestation chain does not end at a trust anchor: " +
               (verified.attestation_untrusted_because.empty()
                    ? std::string("no trust anchors were given")
                    : verified.attestation_untrusted_because);
      }
      if (!verified.key_fixed_to_tpm) {
        return "the TPM certified a key that could have come from outside it or could leave it "
               "(pubArea lacks fixedTPM, fixedParent or sensitiveDataOrigin)";
      }
      return std::nullopt;
  }
  return "unknown requirement";
}

ConfigResult<std::vector<webauthn::Bytes>> LoadTrustAnchors(const std::string& given) {
  std::string dir = given;
  if (dir.empty() || dir.front() != '/') {
    std::unique_ptr<char, decltype(&::free)> cwd(::getcwd(nullptr, 0), ::free);
    if (!cwd) return ConfigFail(given + ": the current directory: " + ErrnoMessage(errno));
    dir = std::string(cwd.get()) + "/" + given;
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ConfigFail(dir + ": " + ErrnoMessage(errno));
  auto opened = OpenTrustedDirectory(dir, 0755);  // exists: never created here
  if (!opened) return opened.error();
  std::unique_ptr<DIR, int (*)(DIR*)> listing(::fdopendir(::fcntl(opened->get(), F_DUPFD_CLOEXEC, 0)), ::closedir);
  if (!listing) return ConfigFail(dir + ": " + ErrnoMessage(errno));
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(listing.get())) {
    const std::string name = entry->d_name;
    if (EndsWith(name, ".pem") || EndsWith(name, ".crt") || EndsWith(name, ".der")) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  std::vector<webauthn::Bytes> anchors;
  for (const std::string& name : names) {
    const std::string path = dir + "/" + name;
    auto file = OpenChecked(path, FileRules{{0, ::geteuid()}, false});
    if (!file) return file.error();
    if (file->status == OpenStatus::kMissing) continue;  // removed meanwhile
    auto text = ReadAll(file->fd.get(), path, 1024 * 1024);
    if (!text) return text.error();
    auto certs = Certificates(*text, path);
    if (!certs) return certs.error();
    anchors.insert(anchors.end(), certs->begin(), certs->end());
  }
  if (anchors.empty()) return ConfigFail(dir + ": no certificates (*.pem, *.crt or *.der)");
  return anchors;
}

}  // namespace tpmauthn::config
