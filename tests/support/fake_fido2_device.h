// A FIDO2 security key in memory, for tests only: it speaks CTAPHID to
// libfido2 through fido_dev_set_io_functions (65-byte writes, 64-byte reads),
// answers CTAPHID_INIT, and CTAP 2.0 GetInfo, GetAssertion and ClientPIN
// protocol 1 (getRetries, getKeyAgreement, getPinToken) with real P-256 keys
// and real signatures. Behaviour switches make it wait for a touch that never
// comes, leave the credential id out, or record what it was asked, so the
// authenticator's handling of each can be checked. Never linked into the
// product.
#pragma once

#include <cbor.h>
#include <fido.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fido2/device.h"
#include "webauthn/bytes.h"
#include "webauthn/openssl_ptr.h"

namespace tpmauthn::testing {

struct FakeCredential {
  webauthn::Bytes id;
  std::string rp_id;
  webauthn::EvpPkeyPtr key;
  webauthn::Bytes cose_key;  // the public key as the credentials file holds it
};

class FakeFido2Device {
 public:
  FakeFido2Device();

  // A new non-resident credential for `rp_id`; returns its id and COSE key.
  // `eddsa`: an Ed25519 key (EdDSA) instead of P-256 (ES256).
  const FakeCredential& AddCredential(const std::string& rp_id, bool eddsa = false);
  // Sets a PIN (clientPin becomes true in GetInfo); 8 tries.
  void SetPin(const std::string& pin) { pin_ = pin; retries_ = 8; }

  // Behaviour.
  bool touched = true;             // false: a touch request never gets an answer
  bool omit_single_id = false;     // leave the credential out when one was allowed
  std::string attestation = "packed";  // makeCredential's fmt: "packed" (self) or "none"
  bool u2f_only = false;           // a CTAP1/U2F key: no CBOR, APDUs over CTAPHID_MSG
  bool pin_for_every_touch = false;  // with a PIN set: a touch without pinAuth gets PIN_REQUIRED
  size_t max_credentials_in_list = 8;  // GetInfo 0x07; longer allow lists: LIMIT_EXCEEDED
  std::function<void()> on_touch;  // called when a request with up=true arrives

  // The whole state as JSON (keys as PEM), so a key can live in a file
  // between processes (tests/support/fake_fido2_preload.cc).
  std::string Save() const;
  static std::unique_ptr<FakeFido2Device> Load(const std::string& json);

  // What it saw.
  unsigned silent_requests = 0;    // GetAssertion with up=false
  unsigned touch_requests = 0;     // GetAssertion with up=true
  unsigned cancels = 0;            // CTAPHID_CANCEL
  unsigned pin_token_requests = 0;
  unsigned retries() const { return retries_; }
  uint32_t counter() const { return counter_; }

  // The CTAPHID side (io functions).
  void Write(const uint8_t* report, size_t length);  // 65 bytes: report id + packet
  int Read(uint8_t* packet, size_t length);          // 64 bytes, -1: nothing (timeout)

 private:
  webauthn::Bytes Handle(uint8_t command, const webauthn::Bytes& payload);
  webauthn::Bytes GetInfo();
  webauthn::Bytes ClientPin(const webauthn::Bytes& request);
  webauthn::Bytes GetAssertion(const webauthn::Bytes& request);
  webauthn::Bytes MakeCredential(const webauthn::Bytes& request);
  webauthn::Bytes U2fApdu(const webauthn::Bytes& apdu);  // reply with its status word
  // 0 when `pin_auth` (may be null) is right for `client_data_hash`, or the
  // CTAP error; `verified` says whether a PIN was checked. Without pinAuth a
  // key with a PIN refuses only where `needed_if_pin_set` (makeCredential).
  uint8_t CheckPinAuth(const cbor_item_t* pin_auth, const webauthn::Bytes& client_data_hash,
                       bool& verified, bool needed_if_pin_set) const;
  webauthn::Bytes Sign(const FakeCredential& c, const webauthn::Bytes& data) const;
  void Queue(uint32_t cid, uint8_t command, const webauthn::Bytes& payload);

  std::vector<FakeCredential> credentials_;
  std::optional<std::string> pin_;
  unsigned retries_ = 8;
  unsigned consecutive_failures_ = 0;
  webauthn::EvpPkeyPtr agreement_key_;  // ClientPIN key agreement, per "power cycle"
  webauthn::Bytes pin_token_;
  uint32_t counter_ = 0;
  uint32_t next_cid_ = 0x01020304;
  // The message being received.
  uint32_t rx_cid_ = 0;
  uint8_t rx_command_ = 0;
  size_t rx_expected_ = 0;
  webauthn::Bytes rx_payload_;
  uint8_t rx_sequence_ = 0;
  std::deque<std::vector<uint8_t>> tx_packets_;
};

// Devices by path ("fake:0", "fake:1", ...), opened through libfido2 with
// the fake's io functions: what fido2::SystemDeviceSource is in the product.
class FakeDeviceSource final : public fido2::DeviceSource {
 public:
  ~FakeDeviceSource() override;
  FakeFido2Device& Plug();  // a new device at the next path
  webauthn::Result<std::vector<std::string>, std::string> List(size_t limit) override;
  webauthn::Result<fido2::Device, std::string> Open(const std::string& path,
                                                    int timeout_ms) override;
  unsigned opened = 0;

 private:
  std::vector<std::string> paths_;
};

}  // namespace tpmauthn::testing
