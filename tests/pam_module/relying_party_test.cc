// The relying-party flow (pam::Authenticate) driven by the test-only virtual
// authenticator: each fault switch must turn a login into PAM_AUTH_ERR at the
// right check, and the local-assertion lock must be held from the signature to
// the stored counter but never while the user is asked for a PIN.
#define BOOST_TEST_MODULE relying_party
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "config/credential.h"
#include "config/counter_store.h"
#include "config/safe_file.h"
#include "webauthn/client_data.h"
#include "pam_module/relying_party.h"
#include "tests/support/temp_dir.h"
#include "tests/support/virtual_authenticator.h"

namespace tpmauthn {
namespace {

using pam::Outcome;
using testing::VirtualAuthenticator;
using webauthn::Bytes;

constexpr char kRp[] = "pam://rp-test";
constexpr char kUser[] = "alice";

// Whether another open file description could take `path`'s flock now.
bool Locked(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  const bool taken = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);
  return taken;
}

struct Ui : webauthn::UserInterface {
  std::function<void()> on_prompt;
  int prompts = 0;
  std::optional<webauthn::SecretBytes> AskSecret(const std::string&) override {
    ++prompts;
    if (on_prompt) on_prompt();
    return webauthn::SecretBytes(webauthn::AsBytes("1234"));
  }
  std::optional<std::string> AskText(const std::string&) override { return std::nullopt; }
  void Info(const std::string&) override {}
  void Error(const std::string&) override {}
};

struct NullLog : pam::Logger {
  void Log(pam::LogLevel, const std::string&) override {}
};

// Adapts the virtual authenticator to the Authenticator interface: asks for a
// PIN first (as the TPM authenticator does), then signs; `on_sign` runs at
// the moment of signing.
class Adapter : public webauthn::Authenticator {
 public:
  Adapter(VirtualAuthenticator& device, webauthn::UserInterface& ui, std::function<void()> on_sign)
      : device_(device), ui_(ui), on_sign_(std::move(on_sign)) {}
  webauthn::Result<webauthn::AssertionOutput, webauthn::AuthenticatorError> GetAssertion(
      const webauthn::GetAssertionOptions& options) override {
    if (!ui_.AskSecret("PIN: ")) {
      return webauthn::AuthenticatorError{webauthn::AuthenticatorErrorKind::kCancelled, "no PIN",
                                          std::nullopt, std::nullopt, {}, {}};
    }
    if (on_sign_) on_sign_();
    webauthn::AssertionResponse r = device_.GetAssertion(options.rp_id, kRp, options.challenge);
    return webauthn::AssertionOutput{r.envelope.raw_id, r.authenticator_data, r.signature,
                                     r.user_handle, r.client_data_json};
  }

 private:
  VirtualAuthenticator& device_;
  webauthn::UserInterface& ui_;
  std::function<void()> on_sign_;
};

struct Fixture {
  testing::TempDir dir;
  VirtualAuthenticator device;
  Ui ui;
  NullLog log;
  config::Options options;
  std::function<void()> on_sign;

  Fixture() {
    config::Credential c;
    c.user = kUser;
    c.id = device.credential_id();
    c.public_key = device.Record().public_key.encoded();
    c.kind = config::AuthenticatorKind::kTpm;
    c.rp_id = kRp;
    c.origin = kRp;
    c.created = "2026-11-29";
    testing::WriteFile(dir / "credentials", config::FormatCredentialLine(c) + "\n");
    options.credentials = dir / "credentials";
    options.state = dir / "state";
    options.rp_id = kRp;
    options.origin = kRp;
  }

  pam::Environment Env() {
    return pam::Environment{
        ui, log,
        [&](webauthn::UserInterface& through) -> pam::AuthenticatorResult {
          return std::unique_ptr<webauthn::Authenticator>(
              std::make_unique<Adapter>(device, through, on_sign));
        },
        [](webauthn::ByteView) { return true; }, std::nullopt, nullptr};
  }

  pam::Decision Login() {
    pam::Environment env = Env();
    return pam::Authenticate(options, kUser, env);
  }

  uint32_t Stored() {
    auto count = config::CounterStore(options.state).Load(kUser, device.credential_id());
    BOOST_REQUIRE(count.ok());
    return *count;
  }
};

BOOST_FIXTURE_TEST_CASE(a_good_assertion_logs_in_and_stores_its_counter, Fixture) {
  BOOST_TEST(static_cast<int>(Login().outcome) == static_cast<int>(Outcome::kSuccess));
  BOOST_TEST(Stored() == 1u);
  BOOST_TEST(static_cast<int>(Login().outcome) == static_cast<int>(Outcome::kSuccess));
  BOOST_TEST(Stored() == 2u);
}

BOOST_FIXTURE_TEST_CASE(every_fault_is_an_auth_error_naming_its_check, Fixture) {
  struct Case {
    const char* name;
    std::function<void(testing::Faults&)> set;
    const char* check;
  };
  const Case cases[] = {
      {"bad signature", [](testing::Faults& f) { f.bad_signature = true; }, "signature"},
      {"UP cleared", [](testing::Faults& f) { f.clear_user_present = true; }, "userPresent"},
      {"UV cleared", [](testing::Faults& f) { f.clear_user_verified = true; }, "userVerified"},
      {"wrong rpIdHash", [](testing::Faults& f) { f.wrong_rp_id_hash = true; }, "rpIdHash"},
      {"counter regression", [](testing::Faults& f) { f.counter = 0; }, "signCount"},
  };
  BOOST_TEST(static_cast<int>(Login().outcome) == static_cast<int>(Outcome::kSuccess));
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      device.faults = {};
      c.set(device.faults);
      const uint32_t before = Stored();
      pam::Decision d = Login();
      BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kAuthError));
      BOOST_TEST(d.reason.find(c.check) != std::string::npos, d.reason);
      BOOST_TEST(Stored() == before);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(the_assertion_lock_is_held_while_signing_but_not_while_asking, Fixture) {
  const std::string lock = options.state + "/assertions.lock";
  std::optional<bool> held_at_prompt, held_at_sign;
  ui.on_prompt = [&] { held_at_prompt = Locked(lock); };
  on_sign = [&] { held_at_sign = Locked(lock); };
  BOOST_TEST(static_cast<int>(Login().outcome) == static_cast<int>(Outcome::kSuccess));
  BOOST_REQUIRE(held_at_prompt.has_value());
  BOOST_REQUIRE(held_at_sign.has_value());
  BOOST_TEST(!*held_at_prompt);
  BOOST_TEST(*held_at_sign);
  BOOST_TEST(!Locked(lock));  // released once the counter is stored
}

// Each step alone.

BOOST_FIXTURE_TEST_CASE(step_choose_plan_offers_only_usable_credentials, Fixture) {
  auto credentials = pam::FileCredentialSource(options, nullptr).Load(kUser);
  BOOST_TEST_REQUIRE(credentials.ok());
  pam::Environment env = Env();
  auto plans = pam::ChoosePlans(options, kUser, *credentials, env);
  BOOST_TEST_REQUIRE(plans.ok());
  BOOST_TEST_REQUIRE(plans->size() == 1u);
  const pam::Plan* plan = &plans->front();
  BOOST_TEST(!plan->remote());
  BOOST_TEST(plan->usable.size() == 1u);
  BOOST_TEST(plan->rp_id == kRp);
  // Without a key on this machine, auto mode goes remote, where the user has nothing.
  env.has_local_key = [](webauthn::ByteView) { return false; };
  auto none = pam::ChoosePlans(options, kUser, *credentials, env);
  BOOST_TEST_REQUIRE(!none.ok());
  BOOST_TEST(static_cast<int>(none.error().outcome) == static_cast<int>(Outcome::kUnavailable));
  BOOST_TEST(none.error().reason.find("no remote credential") != std::string::npos);
  // Another RP ID: none of the credentials is for it.
  options.rp_id = "pam://elsewhere";
  BOOST_TEST(!pam::ChoosePlans(options, kUser, *credentials, Env()).ok());
}

BOOST_FIXTURE_TEST_CASE(step_verify_and_store_refuses_a_credential_not_offered, Fixture) {
  auto credentials = pam::FileCredentialSource(options, nullptr).Load(kUser);
  BOOST_TEST_REQUIRE(credentials.ok());
  pam::Environment env = Env();
  auto plans = pam::ChoosePlans(options, kUser, *credentials, env);
  BOOST_TEST_REQUIRE(plans.ok());
  const pam::Plan* plan = &plans->front();
  BOOST_TEST_REQUIRE(config::OpenTrustedDirectory(options.state, 0700).ok());
  const config::CounterStore counters(options.state);
  pam::Answer answer;
  answer.challenge = Bytes(32, 7);
  answer.client_data = webauthn::SerializeClientData(webauthn::kTypeGet, answer.challenge, kRp);
  VirtualAuthenticator stranger;
  webauthn::AssertionResponse r = stranger.GetAssertion(kRp, kRp, answer.challenge);
  answer.output = {r.envelope.raw_id, r.authenticator_data, r.signature, r.user_handle,
                   r.client_data_json};
  pam::Decision d = pam::VerifyAndStore(options, kUser, *plan, answer, counters, env);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kAuthError));
  BOOST_TEST(d.reason.find("foreign credential") != std::string::npos);
  // The enrolled device's own answer to the same challenge verifies and is stored.
  r = device.GetAssertion(kRp, kRp, answer.challenge);
  answer.output = {r.envelope.raw_id, r.authenticator_data, r.signature, r.user_handle,
                   r.client_data_json};
  d = pam::VerifyAndStore(options, kUser, *plan, answer, counters, env);
  BOOST_TEST(static_cast<int>(d.outcome) == static_cast<int>(Outcome::kSuccess));
  BOOST_TEST(Stored() == 1u);
}

BOOST_FIXTURE_TEST_CASE(step_map_authenticator_error, Fixture) {
  pam::Environment env = Env();
  webauthn::AuthenticatorError wrong{webauthn::AuthenticatorErrorKind::kWrongPin, "wrong", 2,
                                     std::nullopt, {}, {}};
  options.max_tries = 3;
  BOOST_TEST(!pam::MapAuthenticatorError(options, kUser, 1, wrong, env).decision.has_value());
  auto last = pam::MapAuthenticatorError(options, kUser, 3, wrong, env).decision;
  BOOST_TEST_REQUIRE(last.has_value());
  BOOST_TEST(static_cast<int>(last->outcome) == static_cast<int>(Outcome::kMaxTries));
  webauthn::AuthenticatorError locked{webauthn::AuthenticatorErrorKind::kLockout, "locked",
                                      std::nullopt, std::nullopt, {}, {}};
  auto unavailable = pam::MapAuthenticatorError(options, kUser, 1, locked, env).decision;
  BOOST_TEST_REQUIRE(unavailable.has_value());
  BOOST_TEST(static_cast<int>(unavailable->outcome) ==
             static_cast<int>(Outcome::kUnavailable));
}

// Who may spend a user's PIN tries (issue 23 §5).
BOOST_AUTO_TEST_CASE(only_the_user_or_root_may_spend_the_pin) {
  const std::optional<uid_t> bob = 1001;
  const std::optional<uid_t> none;
  auto ask = [&](uid_t real, std::optional<uid_t> peer, std::optional<std::string> ruser) {
    return pam::SomeoneElseAsking(real, peer, bob, ruser, "bob");
  };
  // sudo run by bob for bob; a locker running as bob; login and greeters
  // (root); root's own su (PAM_RUSER root).
  BOOST_TEST(!ask(1001, none, std::string("bob")).has_value());
  BOOST_TEST(!ask(1001, none, std::nullopt).has_value());
  BOOST_TEST(!ask(0, none, std::nullopt).has_value());
  BOOST_TEST(!ask(0, none, std::string("")).has_value());
  BOOST_TEST(!ask(0, none, std::string("root")).has_value());
  // `su bob` by alice (real uid hers, PAM_RUSER alice); a root caller that
  // says another user asks; a user the system does not know.
  auto su = ask(1000, none, std::string("alice"));
  BOOST_TEST_REQUIRE(su.has_value());
  BOOST_TEST(su->find("PAM_RUSER is alice") != std::string::npos);
  BOOST_TEST(ask(0, none, std::string("alice")).has_value());
  BOOST_TEST(ask(1000, none, std::nullopt).has_value());
  BOOST_TEST(ask(1000, none, std::string("root")).has_value());  // only root may say root
  BOOST_TEST(pam::SomeoneElseAsking(1000, none, none, std::nullopt, "ghost").has_value());
  // polkit 126: a root helper serving alice's agent over a unix socket, which
  // sets PAM_RUSER to the user to authenticate.
  auto polkit = ask(0, uid_t{1000}, std::string("bob"));
  BOOST_TEST_REQUIRE(polkit.has_value());
  BOOST_TEST(polkit->find("other end of standard input") != std::string::npos);
  BOOST_TEST(!ask(0, uid_t{1001}, std::string("bob")).has_value());  // bob's own agent
  BOOST_TEST(!ask(0, uid_t{0}, std::nullopt).has_value());
}

}  // namespace
}  // namespace tpmauthn
