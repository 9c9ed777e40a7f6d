// The PAM relying party's authentication flow.
#include "pam_module/relying_party.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "config/counter_store.h"
#include "config/credential_file.h"
#include "config/credentials_cache.h"
#include "config/credentials_command.h"
#include "config/plural.h"
#include "config/privileges.h"
#include "config/safe_file.h"
#include "pam_module/assertion_lock.h"
#include "pam_module/remote_authenticator.h"
#include "webauthn/assertion_verifier.h"
#include "webauthn/base64url.h"
#include "webauthn/client_data.h"

namespace tpmauthn::pam {
namespace {

using webauthn::AuthenticatorErrorKind;
using webauthn::Bytes;


// 32 bytes straight from the kernel CSPRNG, for every attempt.
bool FreshChallenge(Bytes& out) {
  out.assign(32, 0);
  size_t filled = 0;
  while (filled < out.size()) {
    ssize_t n = ::getrandom(out.data() + filled, out.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    filled += static_cast<size_t>(n);
  }
  return true;
}

// The user's personal credentials file, read with the user's privileges.
config::ConfigResult<std::pair<std::string, std::vector<config::Credential>>> ReadPersonalFile(
    const std::string& user) {
  auto entry = config::LookUpUser(user);
  if (!entry) return entry.error();
  const std::string path = config::UserCredentialsPath(*entry);
  config::ConfigResult<std::vector<config::Credential>> personal = std::vector<config::Credential>{};
  auto switched = config::WithUserPrivileges(*entry, [&] {
    auto opened = config::OpenChecked(path, config::FileRules{{entry->uid, 0}, false});
    if (!opened) {
      personal = opened.error();
    } else if (opened->status == config::OpenStatus::kOpened) {
      personal = config::ReadCredentials(opened->fd.get(), path, user);
    }
  });
  if (!switched) return switched.error();
  if (!personal) return personal.error();
  return std::make_pair(path, std::move(*personal));
}

}  // namespace

config::ConfigResult<std::vector<config::Credential>> LoadCredentials(
    const config::Options& options, const std::string& user,
    const LocalKeyUserFn& local_key_user, std::vector<config::Credential>* directory,
    const std::string& directory_source) {
  // Lines from sources other than the central file: each must not borrow an
  // id enrolled elsewhere. `what` says what is refused.
  struct Other {
    std::string name, what;
    std::vector<config::Credential> lines;
  };
  std::vector<Other> others;
  if (options.user_credentials) {
    auto read = ReadPersonalFile(user);
    if (!read) return read.error();
    others.push_back({std::move(read->first), "the personal file", std::move(read->second)});
  }
  if (directory) {
    others.push_back({directory_source, "its answer", std::move(*directory)});
    directory->clear();
  }
  std::vector<std::string> other_ids;
  std::vector<const std::string*> id_sources;  // where other_ids[i] came from
  for (const Other& other : others) {
    for (const config::Credential& c : other.lines) {
      if (c.id.empty()) continue;
      std::string id = webauthn::Base64UrlEncode(c.id);
      auto seen = std::find(other_ids.begin(), other_ids.end(), id);
      if (seen != other_ids.end()) {
        return config::ConfigFail(other.name + ": credential " + id.substr(0, 8) +
                                  "... is also in " + *id_sources[static_cast<size_t>(
                                                          seen - other_ids.begin())] +
                                  "; refusing " + other.what);
      }
      other_ids.push_back(std::move(id));
      id_sources.push_back(&other.name);
    }
  }
  std::vector<config::Credential> out;
  std::vector<config::IdHolder> borrowed;
  auto central = config::OpenChecked(options.credentials, config::FileRules{{0}, false});
  if (!central) return central.error();
  if (central->status == config::OpenStatus::kOpened) {
    auto read = config::ReadCredentials(central->fd.get(), options.credentials, user, other_ids,
                                        borrowed);
    if (!read) return read.error();
    out = std::move(*read);
  }
  for (Other& other : others) {
    for (const config::IdHolder& holder : borrowed) {
      auto owns = [&](const config::Credential& c) {
        return !c.id.empty() && webauthn::Base64UrlEncode(c.id) == holder.id;
      };
      if (std::any_of(other.lines.begin(), other.lines.end(), owns)) {
        return config::ConfigFail(other.name + ": credential " + holder.id.substr(0, 8) +
                                  "... is enrolled in " + options.credentials + ":" +
                                  std::to_string(holder.line) + " (for " + holder.user +
                                  "); refusing " + other.what);
      }
    }
    for (config::Credential& c : other.lines) {
      if (local_key_user && !c.id.empty()) {
        auto owner = local_key_user(c.id);
        if (!owner) return owner.error();
        if (*owner && **owner != user) {
          return config::ConfigFail(other.name + ": credential " +
                                    webauthn::Base64UrlEncode(c.id).substr(0, 8) +
                                    "... has a key on this machine enrolled for " + **owner +
                                    "; refusing " + other.what);
        }
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

FileCredentialSource::FileCredentialSource(const config::Options& options,
                                           LocalKeyUserFn local_key_user)
    : options_(options), local_key_user_(std::move(local_key_user)) {}

config::ConfigResult<std::vector<config::Credential>> FileCredentialSource::Load(
    const std::string& user) {
  return LoadCredentials(options_, user, local_key_user_);
}

namespace {

// A credentials_command answer: the strict grammar, and every line the user's.
config::ConfigResult<std::vector<config::Credential>> ParseAnswer(const std::string& text,
                                                                 const std::string& program,
                                                                 const std::string& user) {
  auto printed = config::ParseCredentials(text, program, std::nullopt);
  if (!printed) return printed.error();
  for (const config::Credential& c : *printed) {
    if (c.user != user) {
      return config::ConfigFail(program + ": printed a line for " + c.user + ", not " + user);
    }
  }
  return printed;
}

}  // namespace

CombinedCredentialSource::CombinedCredentialSource(const config::Options& options,
                                                   LocalKeyUserFn local_key_user, Logger& log)
    : options_(options), local_key_user_(std::move(local_key_user)), log_(log) {}

config::ConfigResult<std::string> CombinedCredentialSource::CommandLines(const std::string& user) {
  const std::string& program = options_.credentials_command.front();
  auto run = config::RunCredentialsCommand(
      options_.credentials_command, user, options_.credentials_command_user,
      static_cast<int>(options_.credentials_command_timeout_seconds) * 1000);
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  switch (run.status) {
    case config::CommandOutcome::Status::kOk: {
      // Only a well-formed answer that holds credentials is kept: names
      // that exist nowhere must not fill the state directory.
      auto checked = ParseAnswer(run.output, program, user);
      if (!checked) return checked.error();
      auto stored = checked->empty()
                        ? config::ForgetDirectoryAnswer(options_.state, user)
                        : config::StoreDirectoryAnswer(options_.state, user, run.output, now);
      if (!stored) {
        // An older answer must not stand in later for this one (it may hold
        // a credential this one removed).
        auto forgot = config::ForgetDirectoryAnswer(options_.state, user);
        log_.Log(LogLevel::kError,
                 "cannot cache the directory's answer for " + user + ": " +
                     stored.error().message +
                     (forgot ? "; the older cached answer is removed"
                             : "; the older cached answer could not be removed either: " +
                                   forgot.error().message));
      }
      return std::move(run.output);
    }
    case config::CommandOutcome::Status::kUnreachable: {
      const std::string why = program + ": " + run.why;
      if (options_.cache_max_age_seconds == 0) {
        return config::ConfigFail(why + " (cache_max_age=0: no cached answer is used)");
      }
      auto cached = config::LoadDirectoryAnswer(options_.state, user, now);
      if (!cached) return cached.error();
      if (!*cached) return config::ConfigFail(why + ", and there is no cached answer for " + user);
      if ((*cached)->age_seconds > static_cast<int64_t>(options_.cache_max_age_seconds)) {
        return config::ConfigFail(why + ", and the cached answer for " + user + " is " +
                                  std::to_string((*cached)->age_seconds) +
                                  " s old (cache_max_age=" +
                                  std::to_string(options_.cache_max_age_seconds) + " s)");
      }
      log_.Log(LogLevel::kNotice, why + "; using the answer cached " +
                                      std::to_string((*cached)->age_seconds) + " s ago for " +
                                      user);
      return std::move((*cached)->lines);
    }
    case config::CommandOutcome::Status::kFailed:
      break;
  }
  return config::ConfigFail(program + ": " + run.why);
}

config::ConfigResult<std::vector<config::Credential>> CombinedCredentialSource::Load(
    const std::string& user) {
  if (options_.credentials_command.empty()) {
    return LoadCredentials(options_, user, local_key_user_);
  }
  auto lines = CommandLines(user);
  if (!lines) return lines.error();
  const std::string& program = options_.credentials_command.front();
  auto printed = ParseAnswer(*lines, program, user);
  if (!printed) return printed.error();
  return LoadCredentials(options_, user, local_key_user_, &*printed, program);
}

webauthn::Result<std::vector<Plan>, Decision> ChoosePlans(
    const config::Options& options, const std::string& user,
    const std::vector<config::Credential>& credentials, const Environment& env) {
  Plan base;
  base.origin = options.origin.value_or(config::DefaultOrigin());
  base.rp_id = options.rp_id.value_or(base.origin);
  auto select = [&](config::AuthenticatorKind kind) {
    Plan plan = base;
    plan.kind = kind;
    for (const config::Credential& c : credentials) {
      if (c.kind != kind || c.id.empty()) continue;
      if ((c.rp_id && *c.rp_id != plan.rp_id) || (c.origin && *c.origin != plan.origin)) continue;
      if (kind == config::AuthenticatorKind::kTpm && !env.has_local_key(c.id)) {
        continue;  // enrolled on another machine
      }
      plan.usable.push_back(&c);
    }
    return plan;
  };
  std::vector<Plan> local;
  for (config::AuthenticatorKind kind : options.authenticators) {
    if (kind == config::AuthenticatorKind::kFido2 && !env.open_fido2) continue;
    Plan plan = select(kind);
    if (!plan.usable.empty()) local.push_back(std::move(plan));
  }
  const bool remote = options.mode == config::Mode::kRemote ||
                      (options.mode == config::Mode::kAuto && (env.remote_host || local.empty()));
  std::vector<Plan> plans;
  if (remote) {
    Plan plan = select(config::AuthenticatorKind::kRemote);
    if (!plan.usable.empty()) plans.push_back(std::move(plan));
  } else {
    plans = std::move(local);
  }
  if (plans.empty()) {
    return Decide(Outcome::kUnavailable,
                  user + " has no " +
                      (remote ? "remote credential"
                              : "credential with a key on this machine or a security key") +
                      " for " + base.rp_id + " (origin " + base.origin + ")");
  }
  return plans;
}

webauthn::Result<Answer, AttemptEnd> RunAttempt(const config::Options& options,
                                                const std::string& user, const Plan& plan,
                                                unsigned attempt, webauthn::Authenticator& device,
                                                AssertionLock& ordered, Environment& env) {
  Answer out;
  if (!FreshChallenge(out.challenge)) {
    return AttemptEnd{Decide(Outcome::kUnavailable, "the kernel random generator failed")};
  }
  out.client_data = webauthn::SerializeClientData(webauthn::kTypeGet, out.challenge, plan.origin);
  // The TPM's counter is ordered by the assertion lock; a security key is
  // touched by one person at a time, and the lock is not held for a touch.
  const bool tpm = plan.kind == config::AuthenticatorKind::kTpm;
  if (options.cue && attempt == 1 && tpm) {
    env.ui.Info("Using this computer's TPM to verify you.");
  }
  if (tpm) {
    if (auto entered = ordered.Enter(); !entered) {
      return AttemptEnd{Decide(Outcome::kUnavailable, entered.error().message)};
    }
  }
  webauthn::GetAssertionOptions request;
  request.rp_id = plan.rp_id;
  request.challenge = out.challenge;
  request.client_data_json.assign(out.client_data.begin(), out.client_data.end());
  request.client_data_hash = webauthn::Sha256(request.client_data_json);
  for (const config::Credential* c : plan.usable) {
    request.allow_credentials.push_back(c->id);
    request.credential_requires_uv.push_back(c->require_uv);
  }
  request.require_user_verification = options.uv == config::UvPolicy::kRequired;
  const auto started = std::chrono::steady_clock::now();
  if (options.timeout_seconds > 0) {
    request.deadline = started + std::chrono::seconds(options.timeout_seconds);
  }
  auto answer = device.GetAssertion(request);
  if (ordered.failure()) {
    return AttemptEnd{Decide(Outcome::kUnavailable, ordered.failure()->message)};
  }
  if (!answer) {
    ordered.Leave();
    return MapAuthenticatorError(options, user, attempt, answer.error(), env);
  }
  if (options.timeout_seconds > 0 &&
      std::chrono::steady_clock::now() - started > std::chrono::seconds(options.timeout_seconds)) {
    return AttemptEnd{Decide(Outcome::kAuthError,
                             "the answer came after the timeout of " +
                                 config::CountOf(options.timeout_seconds, "second", "seconds") +
                                 "; the challenge has expired")};
  }
  out.output = std::move(*answer);
  return out;
}

AttemptEnd MapAuthenticatorError(const config::Options& options, const std::string& user,
                                 unsigned attempt, const webauthn::AuthenticatorError& e,
                                 Environment& env) {
  auto say = [&](const std::string& words) { env.ui.Error(e.user_message.empty() ? words : e.user_message); };
  switch (e.kind) {
    case AuthenticatorErrorKind::kWrongPin:
      env.log.Log(LogLevel::kNotice,
                  "wrong PIN for " + user + " (attempt " + std::to_string(attempt) + ")");
      if (attempt == options.max_tries) {
        return AttemptEnd{Decide(Outcome::kMaxTries,
                                 config::CountOf(attempt, "wrong PIN", "wrong PINs") + " for " +
                                     user)};
      }
      if (e.per_credential_pin && e.tries_left == 0u) {
        // That was the last try: asking again would only meet the block.
        say("Wrong PIN. PIN blocked: ask an administrator to reset it.");
        return AttemptEnd{Decide(Outcome::kUnavailable, e.message), true};
      }
      if (!e.user_message.empty()) {
        env.ui.Error(e.user_message);
        return AttemptEnd{std::nullopt};
      }
      env.ui.Error(!e.tries_left ? "Wrong PIN."
                   : e.per_credential_pin
                       ? "Wrong PIN. " + config::CountOf(*e.tries_left, "try", "tries") + " left."
                       : "Wrong PIN. " + config::CountOf(*e.tries_left, "try", "tries") +
                             " left before the TPM locks out.");
      return AttemptEnd{std::nullopt};  // ask again
    case AuthenticatorErrorKind::kPinBlocked:
      say("PIN blocked: ask an administrator to reset it.");
      return AttemptEnd{Decide(Outcome::kUnavailable, e.message), true};
    case AuthenticatorErrorKind::kLockout:
      say("The TPM is locked after too many wrong PINs; try again later.");
      return AttemptEnd{Decide(Outcome::kUnavailable, e.message), true};
    case AuthenticatorErrorKind::kUnavailable:
    case AuthenticatorErrorKind::kNotFound:
      if (!e.user_message.empty()) env.ui.Error(e.user_message);
      return AttemptEnd{Decide(Outcome::kUnavailable, e.message), true};
    case AuthenticatorErrorKind::kCancelled:
    case AuthenticatorErrorKind::kRefused:
      if (!e.user_message.empty()) env.ui.Error(e.user_message);
      break;
  }
  return AttemptEnd{Decide(Outcome::kAuthError, e.message)};
}

Decision VerifyAndStore(const config::Options& options, const std::string& user, const Plan& plan,
                        const Answer& answer, const config::CounterStore& counters,
                        Environment& env) {
  // The answering credential must be one we offered, i.e. this user's.
  const webauthn::AssertionOutput& out = answer.output;
  const config::Credential* used = nullptr;
  for (const config::Credential* c : plan.usable) {
    if (webauthn::ConstantTimeEquals(c->id, out.credential_id)) used = c;
  }
  if (!used) {
    return Decide(Outcome::kAuthError, "the authenticator answered with a foreign credential");
  }
  auto key = webauthn::CoseKey::Parse(used->public_key);
  if (!key) return Decide(Outcome::kUnavailable, "enrolled key invalid: " + key.error().message);

  webauthn::AssertionExpectations expected;
  expected.challenge = answer.challenge;
  expected.origins = {plan.origin};
  expected.rp_ids = {plan.rp_id};
  expected.require_user_verification =
      options.uv == config::UvPolicy::kRequired || used->require_uv;
  const webauthn::AssertionResponse response{
      {webauthn::Base64UrlEncode(out.credential_id), out.credential_id, "public-key"},
      out.client_data_json ? *out.client_data_json
                           : Bytes(answer.client_data.begin(), answer.client_data.end()),
      out.authenticator_data,
      out.signature,
      out.user_handle};
  std::optional<webauthn::Error> rejected;
  auto stored = counters.Advance(
      user, out.credential_id, [&](uint32_t counter) -> config::ConfigResult<uint32_t> {
        webauthn::CredentialRecord record{used->id, *key, counter};
        auto verified = webauthn::VerifyAssertion(response, record, expected);
        if (!verified) {
          rejected = verified.error();
          return config::ConfigFail("rejected");
        }
        return verified->sign_count;
      });
  if (rejected) {
    return Decide(Outcome::kAuthError, "assertion rejected at " +
                                           std::string(webauthn::ToString(rejected->check)) + ": " +
                                           rejected->message);
  }
  if (!stored) return Decide(Outcome::kUnavailable, stored.error().message);
  env.log.Log(LogLevel::kInfo, "accepted credential \"" + used->label + "\" (" +
                                   webauthn::Base64UrlEncode(used->id).substr(0, 8) + "...) for " +
                                   user + ", counter " + std::to_string(*stored));
  return Decide(Outcome::kSuccess, "verified");
}

Decision Authenticate(const config::Options& options, const std::string& user, Environment& env) {
  CombinedCredentialSource source(options, env.local_key_user, env.log);
  return Authenticate(options, user, env, source);
}

namespace {

std::string_view Describe(config::AuthenticatorKind kind) {
  switch (kind) {
    case config::AuthenticatorKind::kTpm:
      return "this computer's TPM";
    case config::AuthenticatorKind::kFido2:
      return "your security key";
    case config::AuthenticatorKind::kRemote:
      return "your own computer's authenticator";
  }
  return "another authenticator";
}

// One plan's attempts, up to max_tries wrong PINs.
AttemptEnd RunPlan(const config::Options& options, const std::string& user, const Plan& plan,
                   AssertionLock& ordered, const config::CounterStore& counters,
                   Environment& env) {
  AuthenticatorResult device = [&]() -> AuthenticatorResult {
    switch (plan.kind) {
      case config::AuthenticatorKind::kRemote:
        return std::unique_ptr<webauthn::Authenticator>(
            std::make_unique<RemoteAuthenticator>(env.ui));
      case config::AuthenticatorKind::kFido2:
        return env.open_fido2(env.ui);
      case config::AuthenticatorKind::kTpm:
        break;
    }
    return env.open_authenticator(ordered);
  }();
  if (!device) return AttemptEnd{Decide(Outcome::kUnavailable, device.error().message), true};
  for (unsigned attempt = 1; attempt <= options.max_tries; ++attempt) {
    auto answer = RunAttempt(options, user, plan, attempt, **device, ordered, env);
    if (!answer) {
      if (answer.error().decision) return answer.error();
      continue;  // a wrong PIN, with tries left
    }
    // Verified and stored under the assertion lock, then let go of.
    Decision decision = VerifyAndStore(options, user, plan, *answer, counters, env);
    ordered.Leave();
    return AttemptEnd{std::move(decision)};
  }
  return AttemptEnd{Decide(Outcome::kMaxTries, "too many wrong PINs")};
}

}  // namespace

Decision Authenticate(const config::Options& options, const std::string& user, Environment& env,
                      CredentialSource& source) {
  auto credentials = source.Load(user);
  if (!credentials) return Decide(Outcome::kUnavailable, credentials.error().message);
  if (credentials->empty()) {
    return Decide(Outcome::kUserUnknown, "no credential enrolled for user " + user);
  }
  auto plans = ChoosePlans(options, user, *credentials, env);
  if (!plans) return plans.error();
  if (auto ok = config::OpenTrustedDirectory(options.state, 0700); !ok) {
    return Decide(Outcome::kUnavailable, "state directory: " + ok.error().message);
  }
  AssertionLock ordered(env.ui, options.state + "/assertions.lock");
  const config::CounterStore counters(options.state);
  for (size_t i = 0;; ++i) {
    const Plan& plan = (*plans)[i];
    AttemptEnd end = RunPlan(options, user, plan, ordered, counters, env);
    ordered.Leave();
    if (!end.fall_back || i + 1 == plans->size()) return std::move(*end.decision);
    const Plan& next = (*plans)[i + 1];
    env.log.Log(LogLevel::kNotice, "cannot use " + std::string(Describe(plan.kind)) + " for " +
                                       user + " (" + end.decision->reason + "); trying " +
                                       std::string(Describe(next.kind)));
    env.ui.Info("Using " + std::string(Describe(next.kind)) + " instead.");
  }
}

std::optional<std::string> SomeoneElseAsking(uid_t real_uid, std::optional<uid_t> peer_uid,
                                             std::optional<uid_t> user_uid,
                                             const std::optional<std::string>& ruser,
                                             const std::string& user) {
  const uid_t asker = real_uid == 0 && peer_uid ? *peer_uid : real_uid;
  if (ruser && !ruser->empty() && *ruser != user && !(asker == 0 && *ruser == "root")) {
    return "PAM_RUSER is " + *ruser + ", not " + user;
  }
  if (asker == 0 || (user_uid && asker == *user_uid)) return std::nullopt;
  return std::string(real_uid == asker ? "the caller's real uid " : "the uid at the other end of "
                                                                    "standard input ") +
         std::to_string(asker) + " is neither root's nor " + user + "'s";
}

}  // namespace tpmauthn::pam
