// Finding one user's credentials in a central file of 100,000 credentials:
// wall time and peak RSS of tpmauthn's reader beside `awk '$1=="user"'` on the
// same file. Each measurement runs in a fresh process (this binary re-executed
// as "lookup FILE USER", and awk), and wait4() reports its peak RSS.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <vector>

#include "config/credential.h"
#include "config/credential_file.h"
#include "tests/support/temp_dir.h"
#include "tests/support/virtual_authenticator.h"
#include "webauthn/base64url.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kCredentials = 100000;

int Lookup(const char* path, const char* user) {
  auto start = Clock::now();
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  auto found = tpmauthn::config::ReadCredentials(fd, path, std::string(user));
  ::close(fd);
  std::chrono::duration<double, std::milli> elapsed = Clock::now() - start;
  if (!found) {
    std::fprintf(stderr, "%s\n", found.error().message.c_str());
    return 1;
  }
  std::printf("%zu %.3f\n", found->size(), elapsed.count());
  return 0;
}

struct Run {
  double wall_ms = 0;
  long max_rss_kb = 0;
  std::string output;
};

Run Spawn(std::vector<std::string> argv) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) std::exit(1);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid;
  auto start = Clock::now();
  if (posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) std::exit(1);
  ::close(pipe_fds[1]);
  Run run;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0) {
    run.output.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  std::chrono::duration<double, std::milli> elapsed = Clock::now() - start;
  posix_spawn_file_actions_destroy(&actions);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s failed\n", argv[0].c_str());
    std::exit(1);
  }
  run.wall_ms = elapsed.count();
  run.max_rss_kb = usage.ru_maxrss;
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "lookup") return Lookup(argv[2], argv[3]);

  tpmauthn::testing::TempDir dir;
  const std::string path = dir / "credentials";
  {
    // Realistic lines: distinct ids, a real ES256 key per 1,000 lines, labels.
    std::ofstream out(path);
    out << "# generated: " << kCredentials << " credentials, 2 per user\n";
    std::string key;
    for (int i = 0; i < kCredentials; ++i) {
      if (i % 1000 == 0) {
        tpmauthn::testing::VirtualAuthenticator authenticator;
        key = tpmauthn::webauthn::Base64UrlEncode(authenticator.Record().public_key.encoded());
      }
      std::string id = tpmauthn::webauthn::Base64UrlEncode(
          tpmauthn::webauthn::Sha256(tpmauthn::webauthn::AsBytes(std::to_string(i))));
      out << "user" << i / 2 << ' ' << id << " es256 " << key
          << " tpm uv=pin,rp=pam://bench-host 2026-11-29 workstation " << i % 2 << '\n';
    }
  }
  std::ifstream measure(path, std::ios::ate);
  const double megabytes = static_cast<double>(measure.tellg()) / (1024.0 * 1024.0);
  const std::string user = "user" + std::to_string(kCredentials / 4);

  const std::string empty = dir / "empty";
  std::ofstream(empty) << "# no credentials\n";
  Run baseline = Spawn({"/proc/self/exe", "lookup", empty, user});
  std::vector<Run> ours, awk;
  for (int i = 0; i < 5; ++i) {
    ours.push_back(Spawn({"/proc/self/exe", "lookup", path, user}));
    awk.push_back(Spawn({"awk", "$1==\"" + user + "\"", path}));
  }
  auto best = [](const std::vector<Run>& runs) {
    Run b = runs[0];
    for (const Run& r : runs) {
      if (r.wall_ms < b.wall_ms) b = r;
    }
    return b;
  };
  Run o = best(ours), a = best(awk);
  double in_process_ms = 0;
  in_process_ms = std::strtod(o.output.c_str() + o.output.find(' '), nullptr);
  size_t awk_lines = 0;
  for (char c : a.output) awk_lines += c == '\n';
  std::printf("Central credentials file: %d credentials, %.1f MiB; looking up %s (best of 5)\n",
              kCredentials, megabytes, user.c_str());
  std::printf("  tpmauthn reader  %7.2f ms in process, %7.2f ms whole process, peak RSS %5.1f MiB"
              "  (goal <= 30 ms, <= 8 MiB); found %s\n",
              in_process_ms, o.wall_ms, static_cast<double>(o.max_rss_kb) / 1024.0,
              o.output.substr(0, o.output.find(' ')).c_str());
  std::printf("  (the same process on an empty file: peak RSS %.1f MiB)\n",
              static_cast<double>(baseline.max_rss_kb) / 1024.0);
  std::printf("  awk '$1==user'                %7.2f ms whole process, peak RSS %5.1f MiB; "
              "found %zu\n",
              a.wall_ms, static_cast<double>(a.max_rss_kb) / 1024.0, awk_lines);
  return 0;
}
