// File safety: symlinks, owners, modes, non-regular files, atomic replacement
// and descriptor hygiene.
#define BOOST_TEST_MODULE safe_file
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "config/safe_file.h"
#include "tests/support/temp_dir.h"

using namespace tpmauthn::config;
using tpmauthn::testing::ReadFile;
using tpmauthn::testing::TempDir;
using tpmauthn::testing::WriteFile;

static const FileRules kMine{{::geteuid()}, false};

static std::string ErrorOf(const std::string& path, const FileRules& rules = kMine) {
  auto r = OpenChecked(path, rules);
  return r.ok() ? std::string() : r.error().message;
}

BOOST_AUTO_TEST_CASE(refusals_say_why) {
  TempDir dir;
  WriteFile(dir / "target", "secret\n", 0600);
  BOOST_TEST_REQUIRE(::symlink((dir / "target").c_str(), (dir / "link").c_str()) == 0);
  BOOST_TEST(ErrorOf(dir / "link").find("symbolic link") != std::string::npos);
  WriteFile(dir / "gw", "x\n", 0664);
  BOOST_TEST(ErrorOf(dir / "gw").find("group- or world-writable (mode 0664)") != std::string::npos);
  WriteFile(dir / "ww", "x\n", 0646);
  BOOST_TEST(ErrorOf(dir / "ww").find("writable") != std::string::npos);
  ::mkfifo((dir / "fifo").c_str(), 0600);
  BOOST_TEST(ErrorOf(dir / "fifo").find("not a regular file") != std::string::npos);
  ::mkdir((dir / "dir").c_str(), 0700);
  BOOST_TEST(ErrorOf(dir / "dir").find("not a regular file") != std::string::npos);
  WriteFile(dir / "ok", "x\n", 0644);
  BOOST_TEST(ErrorOf(dir / "ok", FileRules{{::geteuid() + 1}, false}).find("owned by uid") !=
             std::string::npos);
  auto missing = OpenChecked(dir / "missing", kMine);
  BOOST_TEST_REQUIRE(missing.ok());
  BOOST_TEST((missing->status == OpenStatus::kMissing));
  auto ok = OpenChecked(dir / "ok", kMine);
  BOOST_TEST_REQUIRE(ok.ok());
  BOOST_TEST((ok->status == OpenStatus::kOpened));
  // Every descriptor is close-on-exec (CVE-2019-12210 class).
  BOOST_TEST((::fcntl(ok->fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
}

BOOST_AUTO_TEST_CASE(root_owned_files_belonging_to_someone_else) {
  if (::geteuid() != 0) return;  // needs root to chown
  TempDir dir;
  WriteFile(dir / "creds", "x\n", 0644);
  BOOST_TEST_REQUIRE(::chown((dir / "creds").c_str(), 4242, 4242) == 0);
  BOOST_TEST(ErrorOf(dir / "creds", FileRules{{0}, false}).find("owned by uid 4242") !=
             std::string::npos);
  BOOST_TEST(ErrorOf(dir / "creds", FileRules{{0, 4242}, false}).empty());
}

BOOST_AUTO_TEST_CASE(atomic_replace_keeps_mode_and_leaves_no_temporaries) {
  TempDir dir;
  WriteFile(dir / "f", "old\n", 0640);
  auto ok = AtomicReplace(dir / "f", "new\n", 0640);
  BOOST_TEST_REQUIRE(ok.ok());
  BOOST_TEST(ReadFile(dir / "f") == "new\n");
  struct stat st {};
  ::stat((dir / "f").c_str(), &st);
  BOOST_TEST((st.st_mode & 07777) == 0640u);
  size_t entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  BOOST_TEST(entries == 1u);
  // A failing replacement leaves the old file as it was.
  auto bad = AtomicReplace(dir / "no-such-dir/f", "x", 0600);
  BOOST_TEST(!bad.ok());
  BOOST_TEST(ReadFile(dir / "f") == "new\n");
}

// What a writer killed between creating and renaming its temporary file leaves
// behind is removed by the next replacement of the same file, and nothing else.
BOOST_AUTO_TEST_CASE(atomic_replace_removes_what_a_killed_writer_left) {
  TempDir dir;
  WriteFile(dir / "f", "old\n", 0600);
  WriteFile(dir / ".f.tmp-0123456789abcdef", "half a fi", 0600);
  WriteFile(dir / ".f.tmp-notours", "x", 0600);
  WriteFile(dir / ".g.tmp-0123456789abcdef", "x", 0600);
  BOOST_TEST_REQUIRE(AtomicReplace(dir / "f", "new\n", 0600).ok());
  std::vector<std::string> names;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  BOOST_TEST(names == (std::vector<std::string>{".f.tmp-notours", ".g.tmp-0123456789abcdef", "f"}),
             boost::test_tools::per_element());
  BOOST_TEST(ReadFile(dir / "f") == "new\n");
}

BOOST_AUTO_TEST_CASE(atomic_create_never_replaces) {
  TempDir dir;
  BOOST_TEST_REQUIRE(AtomicCreate(dir / "f", "first\n", 0640).ok());
  struct stat st {};
  ::stat((dir / "f").c_str(), &st);
  BOOST_TEST((st.st_mode & 07777) == 0640u);
  auto again = AtomicCreate(dir / "f", "second\n", 0600);
  BOOST_TEST_REQUIRE(!again.ok());
  BOOST_TEST(again.error().message == (dir / "f") + ": already exists");
  BOOST_TEST(ReadFile(dir / "f") == "first\n");
  size_t entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  BOOST_TEST(entries == 1u);
}

BOOST_AUTO_TEST_CASE(read_all_has_a_limit) {
  TempDir dir;
  WriteFile(dir / "f", std::string(100, 'x'));
  int fd = ::open((dir / "f").c_str(), O_RDONLY);
  auto small = ReadAll(fd, "f", 50);
  ::close(fd);
  BOOST_TEST(!small.ok());
}
