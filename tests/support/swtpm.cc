// swtpm as a child process for TPM tests.
#include "tests/support/swtpm.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tpmauthn::testing {
namespace {

bool CanConnect(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

// Starts a program with stdout/stderr on /dev/null; it dies with the test,
// even one killed by a timeout.
pid_t SpawnQuietly(std::vector<std::string> args) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Runs a program to its end quietly; its exit status.
int RunQuietly(std::vector<std::string> args) {
  const pid_t pid = SpawnQuietly(std::move(args));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path);
}

// swtpm_setup with EK certificates from swtpm_localca, all in `dir`
// (RECIPES: "swtpm with an EK certificate").
void Manufacture(const std::string& dir) {
  const std::string ca = dir + "/ek-ca";
  std::filesystem::create_directories(ca);
  std::filesystem::create_directories(dir + "/ek-certs");
  WriteText(dir + "/swtpm-localca.conf", "statedir = " + ca + "\nsigningkey = " + ca +
                                             "/signkey.pem\nissuercert = " + ca +
                                             "/issuercert.pem\ncertserial = " + ca +
                                             "/certserial\n");
  WriteText(dir + "/swtpm_setup.conf",
            "create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = " + dir +
                "/swtpm-localca.conf\ncreate_certs_tool_options = /dev/null\n");
  if (RunQuietly({"swtpm_setup", "--tpm2", "--tpmstate", dir, "--create-ek-cert", "--config",
                  dir + "/swtpm_setup.conf", "--overwrite", "--write-ek-cert-files",
                  dir + "/ek-certs"}) != 0) {
    throw std::runtime_error("swtpm_setup --create-ek-cert failed (is swtpm-tools installed?)");
  }
}

}  // namespace

Swtpm::Swtpm(bool ek_certificates) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/tpmauthn-swtpm-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  if (ek_certificates) Manufacture(dir_);
  std::vector<std::string> args = {
      "swtpm", "socket", "--tpm2",
      "--server", "type=unixio,path=" + dir_ + "/sock",
      "--ctrl", "type=unixio,path=" + dir_ + "/sock.ctrl",
      "--tpmstate", "dir=" + dir_,
      "--flags", "not-need-init,startup-clear"};
  pid_ = SpawnQuietly(std::move(args));
  // Wait until the data socket accepts connections (swtpm serves one client
  // at a time, so disconnect right away).
  for (int i = 0; i < 500; ++i) {
    if (CanConnect(dir_ + "/sock")) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("swtpm exited at start (is it installed?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("swtpm did not come up");
}

Swtpm::~Swtpm() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace tpmauthn::testing
