// The in-memory CTAPHID / CTAP 2.0 device (fake_fido2_device.h).
#include "tests/support/fake_fido2_device.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "webauthn/base64url.h"
#include "webauthn/cbor.h"
#include "webauthn/cose_key.h"

namespace tpmauthn::testing {
namespace {

namespace cbor = webauthn::cbor;
using webauthn::Bytes;

constexpr uint8_t kInit = 0x86, kMsg = 0x83, kCbor = 0x90, kCancel = 0x91, kKeepalive = 0xbb, kError = 0xbf;
constexpr uint32_t kBroadcast = 0xffffffff;
constexpr uint8_t kOk = 0x00, kInvalidCbor = 0x12, kNoCredentials = 0x2e, kPinInvalid = 0x31,
                  kPinBlocked = 0x32, kPinAuthInvalid = 0x33, kPinAuthBlocked = 0x34,
                  kPinNotSet = 0x35, kPinRequired = 0x36, kCredentialExcluded = 0x19, kLimitExceeded = 0x15,
                  kInvalidCommand = 0x01;

std::map<std::string, std::unique_ptr<FakeFido2Device>>& Registry() {
  static std::map<std::string, std::unique_ptr<FakeFido2Device>> devices;
  return devices;
}

void Require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("fake FIDO2 device: ") + what);
}

webauthn::EvpPkeyPtr NewP256() {
  webauthn::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  Require(key != nullptr, "P-256 key generation");
  return key;
}

Bytes Random(size_t n) {
  Bytes out(n);
  Require(RAND_bytes(out.data(), static_cast<int>(n)) == 1, "RAND_bytes");
  return out;
}

Bytes Point(EVP_PKEY* key) {  // 04 || x || y
  Bytes point(65);
  size_t length = 0;
  Require(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size(), &length) == 1 &&
              length == 65,
          "public point");
  return point;
}

webauthn::EvpPkeyPtr PeerKey(const Bytes& x, const Bytes& y) {
  Bytes point{0x04};
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  webauthn::OsslParamBldPtr build(OSSL_PARAM_BLD_new());
  OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                   point.size());
  webauthn::OsslParamPtr params(OSSL_PARAM_BLD_to_param(build.get()));
  webauthn::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* peer = nullptr;
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &peer, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return webauthn::EvpPkeyPtr(peer);
}

// PIN protocol 1 shared secret: SHA-256 of the ECDH x coordinate.
Bytes SharedSecret(EVP_PKEY* own, EVP_PKEY* peer) {
  webauthn::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(own, nullptr));
  Bytes z(32);
  size_t length = z.size();
  Require(EVP_PKEY_derive_init(ctx.get()) == 1 && EVP_PKEY_derive_set_peer(ctx.get(), peer) == 1 &&
              EVP_PKEY_derive(ctx.get(), z.data(), &length) == 1 && length == 32,
          "ECDH");
  return webauthn::Sha256(z);
}

// AES-256-CBC with a zero IV and no padding, as PIN protocol 1 uses it.
Bytes Aes(const Bytes& key, const Bytes& in, bool encrypt) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                       EVP_CIPHER_CTX_free);
  const uint8_t iv[16] = {};
  Bytes out(in.size() + 16);
  int n = 0, tail = 0;
  Require(EVP_CipherInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key.data(), iv,
                            encrypt ? 1 : 0) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
              EVP_CipherUpdate(ctx.get(), out.data(), &n, in.data(), static_cast<int>(in.size())) ==
                  1 &&
              EVP_CipherFinal_ex(ctx.get(), out.data() + n, &tail) == 1,
          "AES");
  out.resize(static_cast<size_t>(n + tail));
  return out;
}

Bytes Reply(uint8_t status, const cbor::ItemPtr& body = nullptr) {
  Bytes out{status};
  if (body) {
    Bytes encoded = cbor::Serialize(body.get());
    out.insert(out.end(), encoded.begin(), encoded.end());
  }
  return out;
}

// No exception may cross libfido2's C frames: a broken exchange is an I/O error.
int IoWrite(void* handle, const unsigned char* buf, size_t len) {
  try {
    static_cast<FakeFido2Device*>(handle)->Write(buf, len);
    return static_cast<int>(len);
  } catch (const std::exception&) {
    return -1;
  }
}
int IoRead(void* handle, unsigned char* buf, size_t len, int /*ms*/) {
  try {
    return static_cast<FakeFido2Device*>(handle)->Read(buf, len);
  } catch (const std::exception&) {
    return -1;
  }
}
void* IoOpen(const char* path) {
  auto found = Registry().find(path);
  return found == Registry().end() ? nullptr : found->second.get();
}
void IoClose(void*) {}

}  // namespace

FakeFido2Device::FakeFido2Device() : agreement_key_(NewP256()) {}

const FakeCredential& FakeFido2Device::AddCredential(const std::string& rp_id, bool eddsa) {
  FakeCredential c;
  c.id = Random(48);
  c.rp_id = rp_id;
  c.key = eddsa ? webauthn::EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")) : NewP256();
  Require(c.key != nullptr, "key generation");
  auto cose = webauthn::CoseKey::FromEvpPkey(c.key.get());
  Require(cose.ok(), "COSE key");
  c.cose_key = cose->encoded();
  credentials_.push_back(std::move(c));
  return credentials_.back();
}

std::string FakeFido2Device::Save() const {
  nlohmann::json out;
  out["pin"] = pin_ ? nlohmann::json(*pin_) : nlohmann::json();
  out["retries"] = retries_;
  out["consecutive_failures"] = consecutive_failures_;
  out["counter"] = counter_;
  out["touched"] = touched;
  out["omit_single_id"] = omit_single_id;
  out["attestation"] = attestation;
  out["u2f_only"] = u2f_only;
  out["seen"] = {{"silent", silent_requests}, {"touch", touch_requests}, {"cancels", cancels}};
  out["credentials"] = nlohmann::json::array();
  for (const FakeCredential& c : credentials_) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    Require(PEM_write_bio_PrivateKey(bio.get(), c.key.get(), nullptr, nullptr, 0, nullptr,
                                     nullptr) == 1,
            "PEM");
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    out["credentials"].push_back({{"id", webauthn::Base64UrlEncode(c.id)},
                                  {"rp_id", c.rp_id},
                                  {"key", std::string(data, static_cast<size_t>(length))}});
  }
  return out.dump(2);
}

std::unique_ptr<FakeFido2Device> FakeFido2Device::Load(const std::string& json) {
  const nlohmann::json in = nlohmann::json::parse(json);
  auto d = std::make_unique<FakeFido2Device>();
  if (!in["pin"].is_null()) d->pin_ = in["pin"].get<std::string>();
  d->retries_ = in["retries"].get<unsigned>();
  d->consecutive_failures_ = in["consecutive_failures"].get<unsigned>();
  d->counter_ = in["counter"].get<uint32_t>();
  d->touched = in["touched"].get<bool>();
  d->omit_single_id = in["omit_single_id"].get<bool>();
  d->attestation = in["attestation"].get<std::string>();
  d->u2f_only = in["u2f_only"].get<bool>();
  d->silent_requests = in["seen"]["silent"].get<unsigned>();
  d->touch_requests = in["seen"]["touch"].get<unsigned>();
  d->cancels = in["seen"]["cancels"].get<unsigned>();
  for (const nlohmann::json& c : in["credentials"]) {
    FakeCredential credential;
    auto id = webauthn::Base64UrlDecode(c["id"].get<std::string>());
    Require(id.ok(), "credential id");
    credential.id = *id;
    credential.rp_id = c["rp_id"].get<std::string>();
    const std::string pem = c["key"].get<std::string>();
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    credential.key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    Require(credential.key != nullptr, "PEM key");
    auto cose = webauthn::CoseKey::FromEvpPkey(credential.key.get());
    Require(cose.ok(), "COSE key");
    credential.cose_key = cose->encoded();
    d->credentials_.push_back(std::move(credential));
  }
  return d;
}

void FakeFido2Device::Write(const uint8_t* report, size_t length) {
  Require(length == 65 && report[0] == 0, "a write is report id 0 + 64 bytes");
  const uint8_t* p = report + 1;
  const uint32_t cid = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  if (p[4] & 0x80) {  // initialization packet
    if (p[4] == kCancel) {
      ++cancels;
      return;
    }
    rx_cid_ = cid;
    rx_command_ = p[4];
    rx_expected_ = (size_t{p[5]} << 8) | p[6];
    rx_payload_.assign(p + 7, p + 7 + std::min<size_t>(rx_expected_, 57));
    rx_sequence_ = 0;
  } else {
    Require(cid == rx_cid_ && p[4] == rx_sequence_++, "continuation packet out of order");
    const size_t take = std::min<size_t>(rx_expected_ - rx_payload_.size(), 59);
    rx_payload_.insert(rx_payload_.end(), p + 5, p + 5 + take);
  }
  if (rx_payload_.size() < rx_expected_) return;
  if (rx_command_ == kInit) {
    Require(rx_payload_.size() == 8, "INIT nonce");
    Bytes answer = rx_payload_;  // the nonce, echoed
    const uint32_t assigned = next_cid_++;
    for (int shift = 24; shift >= 0; shift -= 8) answer.push_back(uint8_t(assigned >> shift));
    // CTAPHID 2, v1.0.0; capabilities CBOR|NMSG, or for a U2F key WINK only.
    answer.insert(answer.end(), {2, 1, 0, 0, uint8_t(u2f_only ? 0x01 : 0x04 | 0x08)});
    Queue(rx_cid_, kInit, answer);
    return;
  }
  if (rx_command_ == kMsg && u2f_only) {
    Queue(rx_cid_, kMsg, U2fApdu(rx_payload_));
    return;
  }
  if (rx_command_ != kCbor || rx_payload_.empty()) {
    Queue(rx_cid_, kError, {kInvalidCommand});
    return;
  }
  Bytes reply = Handle(rx_payload_[0], Bytes(rx_payload_.begin() + 1, rx_payload_.end()));
  if (!reply.empty()) Queue(rx_cid_, kCbor, reply);
}

int FakeFido2Device::Read(uint8_t* packet, size_t length) {
  Require(length == 64, "a read is 64 bytes");
  if (tx_packets_.empty()) return -1;  // as a key that has not been touched
  std::memcpy(packet, tx_packets_.front().data(), 64);
  tx_packets_.pop_front();
  return 64;
}

void FakeFido2Device::Queue(uint32_t cid, uint8_t command, const Bytes& payload) {
  size_t sent = 0;
  uint8_t sequence = 0;
  do {
    std::vector<uint8_t> packet(64, 0);
    for (int i = 0; i < 4; ++i) packet[size_t(i)] = uint8_t(cid >> (24 - 8 * i));
    size_t offset;
    if (sent == 0) {
      packet[4] = command;
      packet[5] = uint8_t(payload.size() >> 8);
      packet[6] = uint8_t(payload.size());
      offset = 7;
    } else {
      packet[4] = sequence++;
      offset = 5;
    }
    const size_t take = std::min(payload.size() - sent, 64 - offset);
    std::memcpy(packet.data() + offset, payload.data() + sent, take);
    sent += take;
    tx_packets_.push_back(std::move(packet));
  } while (sent < payload.size());
}

Bytes FakeFido2Device::Handle(uint8_t command, const Bytes& payload) {
  switch (command) {
    case 0x04:
      return GetInfo();
    case 0x06:
      return ClientPin(payload);
    case 0x02:
      return GetAssertion(payload);
    case 0x01:
      return MakeCredential(payload);
    default:
      return {kInvalidCommand};
  }
}

Bytes FakeFido2Device::GetInfo() {
  auto info = cbor::NewMap(6);
  auto versions = cbor::NewArray(1);
  cbor::ArrayPush(versions.get(), cbor::Text("FIDO_2_0"));
  cbor::MapAdd(info.get(), cbor::Int(1), std::move(versions));
  cbor::MapAdd(info.get(), cbor::Int(3), cbor::ByteString(Bytes(16, 0x5a)));
  auto options = cbor::NewMap(3);
  cbor::MapAdd(options.get(), cbor::Text("rk"), cbor::ItemPtr(cbor_build_bool(false)));
  cbor::MapAdd(options.get(), cbor::Text("up"), cbor::ItemPtr(cbor_build_bool(true)));
  cbor::MapAdd(options.get(), cbor::Text("clientPin"),
               cbor::ItemPtr(cbor_build_bool(pin_.has_value())));
  cbor::MapAdd(info.get(), cbor::Int(4), std::move(options));
  cbor::MapAdd(info.get(), cbor::Int(5), cbor::Int(1200));
  auto protocols = cbor::NewArray(1);
  cbor::ArrayPush(protocols.get(), cbor::Int(1));
  cbor::MapAdd(info.get(), cbor::Int(6), std::move(protocols));
  cbor::MapAdd(info.get(), cbor::Int(7), cbor::Int(static_cast<int64_t>(max_credentials_in_list)));
  return Reply(kOk, info);
}

Bytes FakeFido2Device::ClientPin(const Bytes& request) {
  auto decoded = cbor::DecodeExact(request, webauthn::Check::kResponse, "clientPIN");
  if (!decoded) return {kInvalidCbor};
  const cbor_item_t* map = decoded->get();
  const auto sub = cbor::AsInt(cbor::Find(map, 2));
  if (sub == 1) {  // getRetries
    auto out = cbor::NewMap(1);
    cbor::MapAdd(out.get(), cbor::Int(3), cbor::Int(retries_));
    return Reply(kOk, out);
  }
  if (sub == 2) {  // getKeyAgreement
    const Bytes point = Point(agreement_key_.get());
    auto key = cbor::NewMap(5);
    cbor::MapAdd(key.get(), cbor::Int(1), cbor::Int(2));
    cbor::MapAdd(key.get(), cbor::Int(3), cbor::Int(-25));
    cbor::MapAdd(key.get(), cbor::Int(-1), cbor::Int(1));
    cbor::MapAdd(key.get(), cbor::Int(-2), cbor::ByteString(Bytes(point.begin() + 1, point.begin() + 33)));
    cbor::MapAdd(key.get(), cbor::Int(-3), cbor::ByteString(Bytes(point.begin() + 33, point.end())));
    auto out = cbor::NewMap(1);
    cbor::MapAdd(out.get(), cbor::Int(1), std::move(key));
    return Reply(kOk, out);
  }
  if (sub == 5) {  // getPinToken
    ++pin_token_requests;
    if (!pin_) return {kPinNotSet};
    if (retries_ == 0) return {kPinBlocked};
    if (consecutive_failures_ >= 3) return {kPinAuthBlocked};
    const cbor_item_t* platform = cbor::Find(map, 3);
    auto x = cbor::AsBytes(cbor::Find(platform, -2));
    auto y = cbor::AsBytes(cbor::Find(platform, -3));
    auto hash_enc = cbor::AsBytes(cbor::Find(map, 6));
    if (!x || !y || !hash_enc || hash_enc->size() != 16) return {kInvalidCbor};
    auto peer = PeerKey(*x, *y);
    if (!peer) return {kInvalidCbor};
    const Bytes shared = SharedSecret(agreement_key_.get(), peer.get());
    const Bytes typed = Aes(shared, *hash_enc, false);
    Bytes expected = webauthn::Sha256(webauthn::AsBytes(*pin_));
    expected.resize(16);
    if (typed != expected) {
      agreement_key_ = NewP256();  // CTAP 2.0 §5.5.5: a new key after a mismatch
      --retries_;
      ++consecutive_failures_;
      if (retries_ == 0) return {kPinBlocked};
      if (consecutive_failures_ >= 3) return {kPinAuthBlocked};
      return {kPinInvalid};
    }
    retries_ = 8;
    consecutive_failures_ = 0;
    pin_token_ = Random(32);
    auto out = cbor::NewMap(1);
    cbor::MapAdd(out.get(), cbor::Int(2), cbor::ByteString(Aes(shared, pin_token_, true)));
    return Reply(kOk, out);
  }
  return {kInvalidCommand};
}

Bytes FakeFido2Device::GetAssertion(const Bytes& request) {
  auto decoded = cbor::DecodeExact(request, webauthn::Check::kResponse, "getAssertion");
  if (!decoded) return {kInvalidCbor};
  const cbor_item_t* map = decoded->get();
  auto rp_id = cbor::AsText(cbor::Find(map, 1));
  auto client_data_hash = cbor::AsBytes(cbor::Find(map, 2));
  if (!rp_id || !client_data_hash || client_data_hash->size() != 32) return {kInvalidCbor};
  bool up = true;
  if (const cbor_item_t* options = cbor::Find(map, 5)) {
    if (const cbor_item_t* u = cbor::Find(options, "up")) up = cbor_get_bool(u);
  }
  std::vector<Bytes> allowed;
  if (const cbor_item_t* list = cbor::Find(map, 3)) {
    for (size_t i = 0; i < cbor_array_size(list); ++i) {
      cbor::ItemPtr entry(cbor_array_get(list, i));
      if (auto id = cbor::AsBytes(cbor::Find(entry.get(), "id"))) allowed.push_back(*id);
    }
  }
  if (allowed.size() > max_credentials_in_list) return {kLimitExceeded};
  const FakeCredential* used = nullptr;
  for (const Bytes& id : allowed) {
    for (const FakeCredential& c : credentials_) {
      if (c.id == id && c.rp_id == *rp_id && !used) used = &c;
    }
  }
  bool verified = false;
  if (uint8_t e = CheckPinAuth(cbor::Find(map, 6), *client_data_hash, verified, false)) {
    return {e};
  }
  if (!used) return {kNoCredentials};
  if (up && pin_ && pin_for_every_touch && !verified) return {kPinRequired};
  if (up) {
    Queue(rx_cid_, kKeepalive, {2});  // "waiting for user presence", as keys say
    ++touch_requests;
    if (on_touch) on_touch();
    if (!touched) return {};  // no answer: libfido2's read times out
  } else {
    ++silent_requests;
  }
  Bytes auth_data = webauthn::Sha256(webauthn::AsBytes(used->rp_id));
  auth_data.push_back(uint8_t((up ? 0x01 : 0) | (verified ? 0x04 : 0)));
  ++counter_;
  for (int shift = 24; shift >= 0; shift -= 8) auth_data.push_back(uint8_t(counter_ >> shift));
  Bytes signed_data = auth_data;
  signed_data.insert(signed_data.end(), client_data_hash->begin(), client_data_hash->end());
  const Bytes signature = Sign(*used, signed_data);
  const bool with_id = !(omit_single_id && allowed.size() == 1);
  auto out = cbor::NewMap(with_id ? 3 : 2);
  if (with_id) {
    auto credential = cbor::NewMap(2);
    cbor::MapAdd(credential.get(), cbor::Text("id"), cbor::ByteString(used->id));
    cbor::MapAdd(credential.get(), cbor::Text("type"), cbor::Text("public-key"));
    cbor::MapAdd(out.get(), cbor::Int(1), std::move(credential));
  }
  cbor::MapAdd(out.get(), cbor::Int(2), cbor::ByteString(auth_data));
  cbor::MapAdd(out.get(), cbor::Int(3), cbor::ByteString(signature));
  return Reply(kOk, out);
}

uint8_t FakeFido2Device::CheckPinAuth(const cbor_item_t* item, const Bytes& client_data_hash,
                                      bool& verified, bool needed_if_pin_set) const {
  verified = false;
  if (!item) return pin_ && needed_if_pin_set ? kPinRequired : kOk;
  auto pin_auth = cbor::AsBytes(item);
  if (!pin_auth || pin_token_.empty()) return kPinAuthInvalid;
  uint8_t mac[32];
  unsigned mac_length = 0;
  HMAC(EVP_sha256(), pin_token_.data(), static_cast<int>(pin_token_.size()),
       client_data_hash.data(), client_data_hash.size(), mac, &mac_length);
  if (pin_auth->size() != 16 || std::memcmp(mac, pin_auth->data(), 16) != 0) {
    return kPinAuthInvalid;
  }
  verified = true;
  return kOk;
}

Bytes FakeFido2Device::Sign(const FakeCredential& c, const Bytes& data) const {
  webauthn::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  const bool eddsa = EVP_PKEY_is_a(c.key.get(), "ED25519");  // PureEdDSA: no digest
  Require(EVP_DigestSignInit(ctx.get(), nullptr, eddsa ? nullptr : EVP_sha256(), nullptr,
                             c.key.get()) == 1 &&
              EVP_DigestSign(ctx.get(), nullptr, &length, data.data(), data.size()) == 1,
          "sign");
  Bytes signature(length);
  Require(EVP_DigestSign(ctx.get(), signature.data(), &length, data.data(), data.size()) == 1,
          "sign");
  signature.resize(length);
  return signature;
}

Bytes FakeFido2Device::MakeCredential(const Bytes& request) {
  auto decoded = cbor::DecodeExact(request, webauthn::Check::kResponse, "makeCredential");
  if (!decoded) return {kInvalidCbor};
  const cbor_item_t* map = decoded->get();
  auto client_data_hash = cbor::AsBytes(cbor::Find(map, 1));
  auto rp_id = cbor::AsText(cbor::Find(cbor::Find(map, 2), "id"));
  if (!client_data_hash || client_data_hash->size() != 32 || !rp_id) return {kInvalidCbor};
  bool verified = false;
  // CTAP 2.0 §5.1 step 6: a key with a PIN makes credentials only with it.
  if (uint8_t e = CheckPinAuth(cbor::Find(map, 8), *client_data_hash, verified, true)) {
    return {e};
  }
  Queue(rx_cid_, kKeepalive, {2});
  ++touch_requests;
  if (on_touch) on_touch();
  if (!touched) return {};
  if (const cbor_item_t* list = cbor::Find(map, 5)) {
    for (size_t i = 0; i < cbor_array_size(list); ++i) {
      cbor::ItemPtr entry(cbor_array_get(list, i));
      auto id = cbor::AsBytes(cbor::Find(entry.get(), "id"));
      for (const FakeCredential& c : credentials_) {
        if (id && c.id == *id && c.rp_id == *rp_id) return {kCredentialExcluded};
      }
    }
  }
  const FakeCredential& made = AddCredential(*rp_id);
  Bytes auth_data = webauthn::Sha256(webauthn::AsBytes(*rp_id));
  auth_data.push_back(uint8_t(0x01 | (verified ? 0x04 : 0) | 0x40));  // UP, UV, AT
  ++counter_;
  for (int shift = 24; shift >= 0; shift -= 8) auth_data.push_back(uint8_t(counter_ >> shift));
  auth_data.insert(auth_data.end(), 16, 0x5a);  // the AAGUID GetInfo gives
  auth_data.push_back(uint8_t(made.id.size() >> 8));
  auth_data.push_back(uint8_t(made.id.size()));
  auth_data.insert(auth_data.end(), made.id.begin(), made.id.end());
  auth_data.insert(auth_data.end(), made.cose_key.begin(), made.cose_key.end());
  auto statement = cbor::NewMap(attestation == "packed" ? 2 : 0);
  if (attestation == "packed") {
    Bytes signed_data = auth_data;
    signed_data.insert(signed_data.end(), client_data_hash->begin(), client_data_hash->end());
    cbor::MapAdd(statement.get(), cbor::Text("alg"), cbor::Int(-7));
    cbor::MapAdd(statement.get(), cbor::Text("sig"), cbor::ByteString(Sign(made, signed_data)));
  }
  auto out = cbor::NewMap(3);
  cbor::MapAdd(out.get(), cbor::Int(1), cbor::Text(attestation));
  cbor::MapAdd(out.get(), cbor::Int(2), cbor::ByteString(auth_data));
  cbor::MapAdd(out.get(), cbor::Int(3), std::move(statement));
  return Reply(kOk, out);
}

// U2F (CTAP1) authenticate, FIDO U2F Raw Message Formats §5: P1 0x07
// check-only ("held": 6985 conditions not satisfied; else 6a80 wrong data),
// P1 0x03 sign: UP, counter, ECDSA over appParam|UP|counter|challenge.
Bytes FakeFido2Device::U2fApdu(const Bytes& apdu) {
  const Bytes kWrongData = {0x6a, 0x80}, kNotSatisfied = {0x69, 0x85}, kBadIns = {0x6d, 0x00};
  if (apdu.size() < 7 + 65 || apdu[1] != 0x02) return kBadIns;
  const uint8_t p1 = apdu[2];
  const Bytes challenge(apdu.begin() + 7, apdu.begin() + 39);
  const Bytes app(apdu.begin() + 39, apdu.begin() + 71);
  const size_t handle_length = apdu[71];
  if (apdu.size() < 72 + handle_length) return kWrongData;
  const Bytes handle(apdu.begin() + 72, apdu.begin() + 72 + static_cast<long>(handle_length));
  const FakeCredential* used = nullptr;
  for (const FakeCredential& c : credentials_) {
    if (c.id == handle && webauthn::Sha256(webauthn::AsBytes(c.rp_id)) == app) used = &c;
  }
  if (!used) return kWrongData;
  if (p1 == 0x07) {
    ++silent_requests;
    return kNotSatisfied;
  }
  ++touch_requests;
  if (on_touch) on_touch();
  if (!touched) return kNotSatisfied;  // libfido2 asks again until its time is up
  ++counter_;
  Bytes out{0x01};
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(counter_ >> shift));
  Bytes signed_data = app;
  signed_data.insert(signed_data.end(), out.begin(), out.end());
  signed_data.insert(signed_data.end(), challenge.begin(), challenge.end());
  const Bytes signature = Sign(*used, signed_data);
  out.insert(out.end(), signature.begin(), signature.end());
  out.insert(out.end(), {0x90, 0x00});
  return out;
}

FakeDeviceSource::~FakeDeviceSource() {
  for (const std::string& path : paths_) Registry().erase(path);
}

FakeFido2Device& FakeDeviceSource::Plug() {
  static unsigned next = 0;
  std::string path = "fake:" + std::to_string(next++);
  auto& slot = Registry()[path];
  slot = std::make_unique<FakeFido2Device>();
  paths_.push_back(path);
  return *slot;
}

webauthn::Result<std::vector<std::string>, std::string> FakeDeviceSource::List(size_t limit) {
  std::vector<std::string> out(paths_.begin(),
                               paths_.begin() + static_cast<long>(std::min(limit, paths_.size())));
  return out;
}

webauthn::Result<fido2::Device, std::string> FakeDeviceSource::Open(const std::string& path,
                                                                    int timeout_ms) {
  fido2::Device dev(fido_dev_new());
  const fido_dev_io_t io = {IoOpen, IoClose, IoRead, IoWrite};
  if (int r = fido_dev_set_io_functions(dev.get(), &io); r != FIDO_OK) {
    return fido2::FidoError("io functions", r);
  }
  fido_dev_set_timeout(dev.get(), timeout_ms);
  if (int r = fido_dev_open(dev.get(), path.c_str()); r != FIDO_OK) {
    return fido2::FidoError("opening " + path, r);
  }
  ++opened;
  return dev;
}

}  // namespace tpmauthn::testing
