// Running credentials_command= (credentials_command.h).
#include "config/credentials_command.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

#include "config/privileges.h"
#include "config/safe_file.h"

namespace tpmauthn::config {
namespace {

using Status = CommandOutcome::Status;

CommandOutcome Failed(std::string why) { return {Status::kFailed, {}, std::move(why)}; }

// The program and every directory above it: root's, not writable by group
// or others (sshd's rule for AuthorizedKeysCommand), no symbolic links.
// (A symlinked directory such as /bin -> usr/bin is refused: name the
// program by its real path.)
std::optional<std::string> Untrusted(const std::string& path) {
  std::string prefix;
  size_t from = 1;
  while (true) {
    const size_t slash = path.find('/', from);
    prefix = path.substr(0, slash == std::string::npos ? path.size() : slash);
    struct stat st {};
    if (::lstat(prefix.empty() ? "/" : prefix.c_str(), &st) != 0) {
      return prefix + ": " + ErrnoMessage(errno);
    }
    const bool last = slash == std::string::npos;
    if (S_ISLNK(st.st_mode)) return prefix + " is a symbolic link";
    if (last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) {
      return prefix + (last ? " is not a regular file" : " is not a directory");
    }
    if (st.st_uid != 0) return prefix + " is not owned by root";
    // As OpenTrustedDirectory: a root-owned sticky directory (/tmp) may be
    // passed through, nobody else can rename or remove what it holds.
    const bool sticky_dir = !last && (st.st_mode & S_ISVTX);
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir) {
      return prefix + " is writable by group or others";
    }
    if (last) return std::nullopt;
    from = slash + 1;
  }
}

struct Pipe {
  int read = -1, write = -1;
  bool Open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
};

// What the child failed at before exec, sent over a close-on-exec pipe
// (exec closes it: nothing read means the program started).
enum class Step : int { kFds = 1, kDirectory, kIdentity, kExec };

const char* ToString(Step step) {
  switch (step) {
    case Step::kFds:
      return "setting up its stdio";
    case Step::kDirectory:
      return "chdir /";
    case Step::kIdentity:
      return "becoming the credentials_command_user";
    case Step::kExec:
      return "exec";
  }
  return "starting";
}

struct ChildFailure {
  int step = 0;
  int error = 0;
};

[[noreturn]] void ReportAndExit(int report_fd, Step step) {
  const ChildFailure failure{static_cast<int>(step), errno};
  [[maybe_unused]] ssize_t n = ::write(report_fd, &failure, sizeof failure);
  ::_exit(126);
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void Child(int null_fd, int out_fd, int err_fd, int report_fd, uid_t uid, gid_t gid,
                        char* const* argv, char* const* envp, int max_fd) {
  auto fail = [&report_fd](Step step) { ReportAndExit(report_fd, step); };
  ::setpgid(0, 0);  // its own group: a timeout kills what it started too
  // Handlers first, then the mask: no handler of the caller's may run here.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);  // EINVAL for KILL/STOP: fine
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Moved above 2 first: a caller with closed stdio (a daemon) may have
  // handed us descriptors 0-2, which the dup2s below would clobber.
  null_fd = ::fcntl(null_fd, F_DUPFD_CLOEXEC, 3);
  out_fd = ::fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
  err_fd = ::fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
  report_fd = ::fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
  if (report_fd < 0) ::_exit(126);
  if (null_fd < 0 || out_fd < 0 || err_fd < 0) fail(Step::kFds);
  if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) fail(Step::kFds);
  // Nothing of the caller's (sshd's connection, a locker's X socket) may
  // reach the command; without close_range (Linux < 5.9), one by one.
  // The report pipe stays (close-on-exec: exec closes it).
  const auto keep = static_cast<unsigned>(report_fd);
  if ((keep > 3 && ::syscall(SYS_close_range, 3U, keep - 1, 0U) != 0) ||
      ::syscall(SYS_close_range, keep + 1, ~0U, 0U) != 0) {
    for (int fd = 3; fd < max_fd; ++fd) {
      if (fd != report_fd) ::close(fd);
    }
  }
  // Not in the caller's working directory (the home of whoever ran sudo).
  if (::chdir("/") != 0) fail(Step::kDirectory);
  if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
      ::setresuid(uid, uid, uid) != 0) {
    fail(Step::kIdentity);
  }
  ::execve(argv[0], argv, envp);
  ReportAndExit(report_fd, Step::kExec);
}

// Waits for `pid` until `deadline`; false if it has not ended by then.
// `status` is left 0 and true returned when the caller's SIGCHLD handling
// (SIG_IGN) reaped it first: *reaped tells.
bool WaitUntil(pid_t pid, std::chrono::steady_clock::time_point deadline, int& status,
               bool& reaped) {
  reaped = true;
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  for (;;) {
    const pid_t waited = ::waitpid(pid, &status, WNOHANG);
    if (waited == pid) break;
    if (waited < 0 && errno == EINTR) continue;
    if (waited < 0) {  // ECHILD: reaped for us (SIGCHLD ignored), its status lost
      reaped = false;
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (pidfd >= 0) ::close(pidfd);
      return false;
    }
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()));
    } else {  // Linux < 5.3: no pidfd
      const timespec tick{0, 2'000'000};
      ::nanosleep(&tick, nullptr);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return true;
}

}  // namespace

CommandOutcome RunCredentialsCommand(const std::vector<std::string>& argv_in,
                                     const std::string& user, const std::string& run_as,
                                     int timeout_ms, size_t limit) {
  if (argv_in.empty()) return Failed("no command");
  // The user name becomes an argument: one that could pass for an option or
  // carries anything odd is not handed over (PAM's user may be whatever was
  // typed at a login prompt).
  if (user.empty() || user.size() > 256 || user.front() == '-' ||
      user.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "._-@$") != std::string::npos) {
    return Failed("the user name is not one to pass to a command");
  }
  const std::string& program = argv_in.front();
  if (auto why = Untrusted(program)) return Failed("credentials_command " + *why);
  auto account = LookUpUser(run_as);
  if (!account) return Failed("credentials_command_user " + run_as + ": " + account.error().message);

  std::vector<std::string> words = argv_in;
  words.push_back(user);
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::string path_variable = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_variable.data(), nullptr};

  UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Pipe out, err, report;
  if (!null_fd || !out.Open() || !err.Open() || !report.Open()) {
    return Failed("pipe: " + ErrnoMessage(errno));
  }
  rlimit files{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
                             files.rlim_cur < (1u << 20)
                         ? static_cast<int>(files.rlim_cur)
                         : (1 << 20);
  const pid_t pid = ::fork();
  if (pid < 0) return Failed("fork: " + ErrnoMessage(errno));
  if (pid == 0) {
    Child(null_fd.get(), out.write, err.write, report.write, account->uid, account->gid,
          argv.data(), envp, max_fd);
  }
  ::setpgid(pid, pid);  // as the child does (whichever runs first)
  for (Pipe* p : {&out, &err, &report}) {
    ::close(p->write);
    p->write = -1;
  }

  std::string output, errors;
  std::string failure;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && failure.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure = "no answer within " + std::to_string(timeout_ms) + " ms";
      break;
    }
    pollfd fds[2] = {{out_open ? out.read : -1, POLLIN, 0}, {err_open ? err.read : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      failure = "poll: " + ErrnoMessage(errno);
      break;
    }
    char buffer[4096];
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t got = ::read(i == 0 ? out.read : err.read, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string& into = i == 0 ? output : errors;
      into.append(buffer, static_cast<size_t>(got));
      if (i == 0 && output.size() > limit) {
        failure = "printed more than " + std::to_string(limit) + " bytes";
      }
      // The last 4 KiB of stderr: a command's final words say why it ended.
      if (i == 1 && errors.size() > 8192) errors.erase(0, errors.size() - 4096);
    }
  }
  // Both pipes closed is not the end: a command may close them and hang.
  int status = 0;
  bool reaped = false;
  if (failure.empty() && !WaitUntil(pid, deadline, status, reaped)) {
    failure = "did not exit within " + std::to_string(timeout_ms) + " ms";
  }
  if (!failure.empty()) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Failed(failure);
  }
  ChildFailure child{};
  ssize_t got;
  while ((got = ::read(report.read, &child, sizeof child)) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof child)) {
    return Failed("could not be started: " + std::string(ToString(static_cast<Step>(child.step))) +
                  ": " + ErrnoMessage(child.error));
  }
  if (!reaped) {
    // SIGCHLD ignored by the caller: the child was reaped for us, its status lost.
    return Failed("its exit status is unknown (the caller ignores SIGCHLD)");
  }
  // Its last word on stderr (where commands put the error that ended them).
  std::string said = errors;
  while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
  said = said.substr(said.rfind('\n') == std::string::npos ? 0 : said.rfind('\n') + 1);
  const std::string stderr_note = said.empty() ? "" : ": " + said;
  if (WIFSIGNALED(status)) {
    return Failed("killed by signal " + std::to_string(WTERMSIG(status)) + stderr_note);
  }
  const int code = WEXITSTATUS(status);
  if (code == kExitDirectoryUnreachable) {
    return {Status::kUnreachable, {}, "the directory is unreachable" + stderr_note};
  }
  if (code != 0) return Failed("exit status " + std::to_string(code) + stderr_note);
  return {Status::kOk, std::move(output), {}};
}

}  // namespace tpmauthn::config
