// Remote-mode request/reply encodings: round trips, OpenSSH's prompt prefix,
// and every rejection.
#define BOOST_TEST_MODULE remote_message
#include <boost/test/unit_test.hpp>

#include "webauthn/base64url.h"
#include "webauthn/remote_message.h"

using namespace tpmauthn::webauthn;

static RemoteRequest SampleRequest() {
  RemoteRequest r;
  r.challenge = Bytes(32, 0xab);
  r.rp_id = "server.example";
  r.user_verification = true;
  r.credential_digests = {CredentialDigest(Bytes{1, 2, 3}), CredentialDigest(Bytes{4})};
  return r;
}

BOOST_AUTO_TEST_CASE(request_round_trips_and_fits_a_pam_message) {
  RemoteRequest r = SampleRequest();
  std::string line = r.Encode();
  BOOST_TEST(line.rfind("tpmauthn-request-v1 ", 0) == 0u);
  for (const std::string& prompt :
       {line, line + "\nSign in with ...", "(alice@server) " + line + "\nmore"}) {
    auto parsed = RemoteRequest::Parse(prompt);
    BOOST_REQUIRE_MESSAGE(parsed.ok(), prompt);
    BOOST_TEST(parsed->challenge == r.challenge);
    BOOST_TEST(parsed->rp_id == r.rp_id);
    BOOST_TEST(parsed->user_verification);
    BOOST_TEST(parsed->credential_digests == r.credential_digests);
  }
  r.credential_digests.assign(kMaxRemoteCredentials, CredentialDigest(Bytes{9}));
  r.rp_id = std::string(60, 'r');
  BOOST_TEST(r.Encode().size() + 150 < 512u);  // with the human line, under PAM_MAX_MSG_SIZE
}

BOOST_AUTO_TEST_CASE(request_rejections) {
  std::string good = SampleRequest().Encode();
  auto payload = Base64UrlDecode(good.substr(20)).value();
  auto encode = [](const Bytes& b) { return "tpmauthn-request-v1 " + Base64UrlEncode(b); };
  BOOST_TEST(!RemoteRequest::Parse("Password: ").ok());
  BOOST_TEST(!RemoteRequest::Parse("xtpmauthn-request-v1 " + good.substr(20)).ok());
  BOOST_TEST(!RemoteRequest::Parse(good + "=").ok());
  Bytes v2 = payload;
  v2[0] = 2;
  BOOST_TEST(!RemoteRequest::Parse(encode(v2)).ok());
  Bytes flags = payload;
  flags[1] = 0x80;
  BOOST_TEST(!RemoteRequest::Parse(encode(flags)).ok());
  Bytes extra = payload;
  extra.push_back(0);
  BOOST_TEST(!RemoteRequest::Parse(encode(extra)).ok());
  Bytes cut(payload.begin(), payload.end() - 1);
  BOOST_TEST(!RemoteRequest::Parse(encode(cut)).ok());
  Bytes none = payload;
  none[35 + none[34]] = 0;  // zero credentials
  none.resize(36 + none[34]);
  BOOST_TEST(!RemoteRequest::Parse(encode(none)).ok());
}

BOOST_AUTO_TEST_CASE(reply_round_trips_and_rejects_every_malformation) {
  RemoteReply r{Bytes(32, 1), Bytes(37, 2), Bytes(70, 3), Bytes(120, 4)};
  std::string line = r.Encode();
  auto parsed = RemoteReply::Parse(line + "\n");
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->credential_id == r.credential_id);
  BOOST_TEST(parsed->authenticator_data == r.authenticator_data);
  BOOST_TEST(parsed->signature == r.signature);
  BOOST_TEST(parsed->client_data_json == r.client_data_json);

  auto payload = Base64UrlDecode(line.substr(18)).value();
  auto encode = [](const Bytes& b) { return "tpmauthn-reply-v1 " + Base64UrlEncode(b); };
  BOOST_TEST(!RemoteReply::Parse("").ok());
  BOOST_TEST(!RemoteReply::Parse("hunter2").ok());
  BOOST_TEST(!RemoteReply::Parse(line.substr(0, line.size() - 4)).ok());
  Bytes extra = payload;
  extra.push_back(0);
  BOOST_TEST(!RemoteReply::Parse(encode(extra)).ok());
  Bytes long_length = payload;
  long_length[1] = 0xff;  // credential id length beyond the data
  BOOST_TEST(!RemoteReply::Parse(encode(long_length)).ok());
  RemoteReply empty_id{Bytes(), Bytes(37, 2), Bytes(70, 3), Bytes(120, 4)};
  BOOST_TEST(!RemoteReply::Parse(empty_id.Encode()).ok());
  RemoteReply huge{Bytes(32, 1), Bytes(37, 2), Bytes(70, 3), Bytes(5000, 4)};
  BOOST_TEST(!RemoteReply::Parse(huge.Encode()).ok());
  BOOST_TEST(!RemoteReply::Parse("tpmauthn-reply-v1 " + std::string(20000, 'A')).ok());
}
