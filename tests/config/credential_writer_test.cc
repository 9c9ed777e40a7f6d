// Appending and removing: comments and order kept, duplicates refused, nothing
// written on error, concurrent appends all land.
#define BOOST_TEST_MODULE credential_writer
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/credential_file.h"
#include "config/credential_writer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/vectors.h"
#include "webauthn/base64url.h"

using namespace tpmauthn::config;
using tpmauthn::testing::ReadFile;
using tpmauthn::testing::TempDir;
using tpmauthn::testing::TestDataDir;
using tpmauthn::testing::WriteFile;
using tpmauthn::webauthn::AsBytes;
using tpmauthn::webauthn::Base64UrlEncode;

static const FileRules kRules{{::geteuid()}, false};

static Credential Make(const std::string& user, const std::string& id) {
  std::string good = ReadFile(TestDataDir() + "/credentials/good-line.txt");
  good.pop_back();
  auto c = ParseCredentialLine(good);
  c->user = user;
  c->id = tpmauthn::webauthn::Bytes(id.begin(), id.end());
  c->label = "label of " + id;
  return std::move(*c);
}

BOOST_AUTO_TEST_CASE(append_and_remove_keep_everything_else) {
  TempDir dir;
  const std::string path = dir / "credentials";
  const std::string header = "# site credentials\n\n# alice's keys:\n";
  WriteFile(path, header, 0644);
  BOOST_TEST_REQUIRE(AppendCredentials(path, {Make("alice", "a1"), Make("bob", "b1")}, kRules).ok());
  BOOST_TEST_REQUIRE(AppendCredentials(path, {Make("alice", "a2")}, kRules).ok());
  std::string text = ReadFile(path);
  BOOST_TEST(text.rfind(header, 0) == 0u);
  auto all = ParseCredentials(text, path, std::nullopt);
  BOOST_TEST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == 3u);

  // Duplicate id: refused, file unchanged.
  auto dup = AppendCredentials(path, {Make("carol", "a1")}, kRules);
  BOOST_TEST_REQUIRE(!dup.ok());
  BOOST_TEST(dup.error().message.find("duplicate credential id") != std::string::npos);
  BOOST_TEST(ReadFile(path) == text);

  auto removed = RemoveCredential(path, "alice", Base64UrlEncode(AsBytes("a1")), kRules);
  BOOST_TEST_REQUIRE(removed.ok());
  BOOST_TEST(*removed == 1u);
  std::string after = ReadFile(path);
  BOOST_TEST(after.rfind(header, 0) == 0u);
  BOOST_TEST(after.find("label of a1") == std::string::npos);
  BOOST_TEST(after.find("label of b1") < after.find("label of a2"));  // order kept
  auto missing = RemoveCredential(path, "alice", Base64UrlEncode(AsBytes("a1")), kRules);
  BOOST_TEST(!missing.ok());
  // Another user's credential is not removed by naming the wrong user.
  BOOST_TEST(!RemoveCredential(path, "alice", Base64UrlEncode(AsBytes("b1")), kRules).ok());
  struct stat st {};
  ::stat(path.c_str(), &st);
  BOOST_TEST((st.st_mode & 07777) == 0644u);
}

BOOST_AUTO_TEST_CASE(an_invalid_existing_file_is_not_rewritten) {
  TempDir dir;
  const std::string path = dir / "credentials";
  WriteFile(path, "garbage line\n", 0644);
  auto r = AppendCredentials(path, {Make("alice", "a1")}, kRules);
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.error().message.find(path + ":1:") != std::string::npos);
  BOOST_TEST(ReadFile(path) == "garbage line\n");
}

BOOST_AUTO_TEST_CASE(concurrent_appends_all_land) {
  TempDir dir;
  const std::string path = dir / "credentials";
  std::vector<pid_t> children;
  for (int p = 0; p < 20; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (int i = 0; i < 5; ++i) {
        auto id = "p" + std::to_string(p) + "i" + std::to_string(i);
        if (!AppendCredentials(path, {Make("user" + std::to_string(p), id)}, kRules).ok()) {
          ::_exit(1);
        }
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  auto all = ParseCredentials(ReadFile(path), path, std::nullopt);
  BOOST_TEST_REQUIRE(all.ok());
  BOOST_TEST(all->size() == 100u);
}
