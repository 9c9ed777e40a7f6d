// libFuzzer harness: remote-mode request and reply parsing (the reply is what
// an SSH client sends to the PAM module); what parses must re-encode and parse
// to the same values.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "webauthn/remote_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tpmauthn::webauthn;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto reply = RemoteReply::Parse(text)) {
    auto again = RemoteReply::Parse(reply->Encode());
    if (!again || again->signature != reply->signature ||
        again->client_data_json != reply->client_data_json) {
      std::abort();
    }
  }
  if (auto request = RemoteRequest::Parse(text)) {
    auto again = RemoteRequest::Parse(request->Encode());
    if (!again || again->challenge != request->challenge) std::abort();
  }
  return 0;
}
