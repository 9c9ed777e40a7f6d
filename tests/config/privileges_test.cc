// Reading as the user: the switch and the return are both real and checked.
// Needs root (CI runs as root); as another user only the refusal is tested.
#define BOOST_TEST_MODULE privileges
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <grp.h>
#include <unistd.h>

#include <cerrno>

#include "config/privileges.h"
#include "config/safe_file.h"
#include "tests/support/temp_dir.h"

using namespace tpmauthn::config;
using tpmauthn::testing::TempDir;
using tpmauthn::testing::WriteFile;

// An unprivileged identity that needs no passwd entry of its own.
static UserEntry TestUser(const std::string& home) {
  return UserEntry{"tpmauthn-test-nobody", 65534, 65534, home};
}

BOOST_AUTO_TEST_CASE(drop_read_and_restore) {
  if (::geteuid() != 0) {
    auto r = WithUserPrivileges(TestUser("/nonexistent"), [] {});
    BOOST_TEST(!r.ok());
    return;
  }
  TempDir dir;
  WriteFile(dir / "root-only", "secret\n", 0600);
  const gid_t gid_before = ::getegid();
  const int groups_before = ::getgroups(0, nullptr);
  uid_t seen_uid = 0;
  gid_t seen_gid = 0;
  int open_errno = 0;
  auto r = WithUserPrivileges(TestUser(dir.path()), [&] {
    seen_uid = ::geteuid();
    seen_gid = ::getegid();
    int fd = ::open((dir / "root-only").c_str(), O_RDONLY | O_CLOEXEC);
    open_errno = fd < 0 ? errno : 0;
    if (fd >= 0) ::close(fd);
  });
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  BOOST_TEST(seen_uid == 65534u);
  BOOST_TEST(seen_gid == 65534u);
  // A root-only file (or a symlink to one) is unreadable as the user.
  BOOST_TEST(open_errno == EACCES);
  BOOST_TEST(::geteuid() == 0u);
  BOOST_TEST(::getegid() == gid_before);
  BOOST_TEST(::getgroups(0, nullptr) == groups_before);
}

BOOST_AUTO_TEST_CASE(per_user_path_comes_from_passwd_not_environment) {
  ::setenv("HOME", "/tmp/attacker", 1);
  ::setenv("XDG_CONFIG_HOME", "/tmp/attacker/.config", 1);
  auto user = LookUpUser("root");
  BOOST_TEST_REQUIRE(user.ok());
  BOOST_TEST(UserCredentialsPath(*user) == user->home + "/.config/tpmauthn/credentials");
  BOOST_TEST(user->home.find("attacker") == std::string::npos);
  BOOST_TEST(!LookUpUser("no-such-user-tpmauthn").ok());
}
