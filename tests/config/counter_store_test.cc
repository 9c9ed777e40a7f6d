// Counter state: monotonic, corruption detected, concurrent writers serialized,
// and crash-safe under SIGKILL.
#define BOOST_TEST_MODULE counter_store
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "config/counter_store.h"
#include "tests/support/temp_dir.h"

using namespace tpmauthn::config;
using tpmauthn::testing::ReadFile;
using tpmauthn::testing::TempDir;
using tpmauthn::testing::WriteFile;
using tpmauthn::webauthn::AsBytes;

constexpr std::string_view kUser = "alice";

static ConfigResult<uint32_t> Increment(const CounterStore& store, std::string_view id) {
  return store.Advance(kUser, AsBytes(id), [](uint32_t stored) -> ConfigResult<uint32_t> {
    return stored + 1;
  });
}

BOOST_AUTO_TEST_CASE(monotonic) {
  TempDir dir;
  CounterStore store(dir.path());
  BOOST_TEST(store.Load(kUser, AsBytes("c1")).value() == 0u);
  auto set = store.Advance(kUser, AsBytes("c1"), [](uint32_t) -> ConfigResult<uint32_t> { return 41; });
  BOOST_TEST_REQUIRE(set.ok());
  BOOST_TEST(store.Load(kUser, AsBytes("c1")).value() == 41u);
  auto same = store.Advance(kUser, AsBytes("c1"), [](uint32_t) -> ConfigResult<uint32_t> { return 41; });
  BOOST_TEST(!same.ok());
  auto back = store.Advance(kUser, AsBytes("c1"), [](uint32_t) -> ConfigResult<uint32_t> { return 3; });
  BOOST_TEST(!back.ok());
  BOOST_TEST(store.Load(kUser, AsBytes("c1")).value() == 41u);
  auto refused = store.Advance(kUser, AsBytes("c1"), [](uint32_t) -> ConfigResult<uint32_t> {
    return ConfigFail("signature invalid");
  });
  BOOST_TEST(!refused.ok());
  BOOST_TEST(store.Load(kUser, AsBytes("c1")).value() == 41u);
  // 0 after 0: an authenticator without a counter.
  auto zero = store.Advance(kUser, AsBytes("c2"), [](uint32_t) -> ConfigResult<uint32_t> { return 0; });
  BOOST_TEST(zero.ok());
  BOOST_TEST(store.Load(kUser, AsBytes("c2")).value() == 0u);
}

BOOST_AUTO_TEST_CASE(corruption_fails_closed_and_never_resets) {
  TempDir dir;
  CounterStore store(dir.path());
  BOOST_TEST_REQUIRE(Increment(store, "c").ok());
  const std::string path = store.PathFor(kUser, AsBytes("c"));
  const std::string good = ReadFile(path);
  const std::string variants[] = {
      "",                                      // truncated to nothing
      good.substr(0, good.size() / 2),         // torn write
      std::string(good).replace(19, 1, "7"),   // digit changed, checksum stale
      good + "junk\n",                         // extended
      "tpmauthn-counter 1 0\n",                // no checksum
  };
  for (const std::string& variant : variants) {
    WriteFile(path, variant, 0600);
    auto loaded = store.Load(kUser, AsBytes("c"));
    BOOST_TEST_REQUIRE(!loaded.ok());
    BOOST_TEST(loaded.error().message.find("corrupt") != std::string::npos);
    BOOST_TEST(!Increment(store, "c").ok());
    BOOST_TEST(ReadFile(path) == variant);  // left for the admin, not reset
  }
}

BOOST_AUTO_TEST_CASE(fifty_processes_lose_no_update) {
  TempDir dir;
  CounterStore store(dir.path());
  constexpr int kProcesses = 50, kUpdates = 100;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (int i = 0; i < kUpdates; ++i) {
        if (!Increment(store, "shared").ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  int failures = 0;
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
  }
  BOOST_TEST(failures == 0);
  BOOST_TEST(store.Load(kUser, AsBytes("shared")).value() == uint32_t{kProcesses * kUpdates});
}

BOOST_AUTO_TEST_CASE(sigkill_at_random_points_never_tears_or_rolls_back) {
  TempDir dir;
  CounterStore store(dir.path());
  std::mt19937 random(12345);
  uint32_t last_seen = 0;
  int kills = 0;
  for (int round = 0; round < 500; ++round) {
    // The child says when its first increment of the round is stored, so
    // every round kills a writer that is working (under ASan on a loaded
    // machine a child could otherwise be killed before it wrote anything,
    // in every round).
    int ready[2];
    BOOST_TEST_REQUIRE(::pipe(ready) == 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      bool told = false;
      for (;;) {
        if (!Increment(store, "crash").ok()) ::_exit(1);
        if (!told) {
          told = ::write(ready[1], "x", 1) == 1;
          ::close(ready[1]);
        }
      }
    }
    ::close(ready[1]);
    char byte = 0;
    BOOST_TEST_REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 3000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) ++kills;
    auto now = store.Load(kUser, AsBytes("crash"));
    BOOST_REQUIRE_MESSAGE(now.ok(), (now.ok() ? std::string() : now.error().message));
    BOOST_REQUIRE_MESSAGE(*now >= last_seen, "rolled back from " << last_seen << " to " << *now);
    last_seen = *now;
  }
  BOOST_TEST(kills == 500);
  BOOST_TEST(last_seen >= 500u);  // each round stored at least one
  BOOST_TEST_MESSAGE("counter after 500 kills: " << last_seen);
}

BOOST_AUTO_TEST_CASE(one_users_counter_never_moves_anothers) {
  // Credential ids are public: whatever a user's own key signs under another
  // user's credential id must leave that user's counter alone.
  TempDir dir;
  CounterStore store(dir.path());
  auto alice = store.Advance("alice", AsBytes("id"), [](uint32_t) -> ConfigResult<uint32_t> {
    return 5;
  });
  BOOST_TEST_REQUIRE(alice.ok());
  auto mallory = store.Advance("mallory", AsBytes("id"), [](uint32_t) -> ConfigResult<uint32_t> {
    return 0xFFFFFFFF;
  });
  BOOST_TEST_REQUIRE(mallory.ok());
  BOOST_TEST(store.Load("alice", AsBytes("id")).value() == 5u);
  BOOST_TEST(store.Load("mallory", AsBytes("id")).value() == 0xFFFFFFFFu);
  BOOST_TEST(store.PathFor("alice", AsBytes("id")) != store.PathFor("mallory", AsBytes("id")));
  // The user name is length-prefixed: ("ab", "c") and ("a", "bc") differ.
  BOOST_TEST(store.PathFor("ab", AsBytes("c")) != store.PathFor("a", AsBytes("bc")));
}

BOOST_AUTO_TEST_CASE(a_counter_kept_by_id_alone_is_where_it_continues) {
  // tpmauthn 0.1 kept counters by credential id; they are not lost.
  TempDir dir;
  CounterStore store(dir.path());
  auto legacy = store.Advance("x", AsBytes("id"), [](uint32_t) -> ConfigResult<uint32_t> {
    return 40;
  });
  BOOST_TEST_REQUIRE(legacy.ok());
  BOOST_TEST_REQUIRE(::rename(store.PathFor("x", AsBytes("id")).c_str(),
                              store.LegacyPathFor(AsBytes("id")).c_str()) == 0);
  BOOST_TEST(store.Load(kUser, AsBytes("id")).value() == 40u);
  BOOST_TEST(!store.Advance(kUser, AsBytes("id"), [](uint32_t) -> ConfigResult<uint32_t> {
                return 40;
              }).ok());
  BOOST_TEST(Increment(store, "id").value() == 41u);
  BOOST_TEST(store.Load(kUser, AsBytes("id")).value() == 41u);
}
