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

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void Child(int null_fd, int out_fd, int err_fd, uid_t uid, gid_t gid,
                        char* const* argv, char* const* envp, int max_fd) {
  ::setpgid(0, 0);  // its own group: a timeout kills what it started too
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);  // EINVAL for KILL/STOP: fine
  // Moved above 2 first: a caller with closed stdio (a daemon) may have
  // handed us descriptors 0-2, which the dup2s below would clobber.
  null_fd = ::fcntl(null_fd, F_DUPFD_CLOEXEC, 3);
  out_fd = ::fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
  err_fd = ::fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
  if (null_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(126);
  if (::dup2(null_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) ::_exit(126);
  // Nothing of the caller's (sshd's connection, a locker's X socket) may
  // reach the command; without close_range (Linux < 5.9), one by one.
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
  }
  if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 ||
      ::setresuid(uid, uid, uid) != 0) {
    ::_exit(126);
  }
  ::execve(argv[0], argv, envp);
  ::_exit(127);
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
  Pipe out, err;
  if (!null_fd || !out.Open() || !err.Open()) return Failed("pipe: " + ErrnoMessage(errno));
  rlimit files{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY &&
                             files.rlim_cur < (1u << 20)
                         ? static_cast<int>(files.rlim_cur)
                         : (1 << 20);
  const pid_t pid = ::fork();
  if (pid < 0) return Failed("fork: " + ErrnoMessage(errno));
  if (pid == 0) {
    Child(null_fd.get(), out.write, err.write, account->uid, account->gid, argv.data(), envp,
          max_fd);
  }
  ::setpgid(pid, pid);  // as the child does (whichever runs first)
  ::close(out.write);
  out.write = -1;
  ::close(err.write);
  err.write = -1;

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
      if (i == 1 && errors.size() > 4096) errors.resize(4096);
    }
  }
  if (!failure.empty()) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  if (!failure.empty()) return Failed(failure);
  if (waited < 0) {
    // SIGCHLD ignored by the caller: the child was reaped for us, its status lost.
    return Failed("its exit status is unknown (waitpid: " + ErrnoMessage(errno) + ")");
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
