// Runs one PAM authentication in a fresh process and reports the outcome, so
// each transaction starts pam_wrapper anew (it reads its service directory
// once, at start).
//
//   pamtest_runner SERVICE USER [PIN...]
//       pam_authenticate through libpamtest (the whole stack's result)
//   pamtest_runner --chauthtok SERVICE USER [PIN...]
//       pam_chauthtok through libpamtest (echo-off prompts answered in order)
//   pamtest_runner --threads N SERVICE USER PIN
//       N pam_authenticate calls at once, one thread each; "result N" per call
//   pamtest_runner --direct MODULE "ARGS" USER [PIN...]
//       the module's own pam_sm_authenticate return value, called on a real
//       pam handle (libpam folds a lone PAM_IGNORE into PAM_PERM_DENIED);
//       $TPMAUTHN_TEST_ON_PROMPT, if set, is run by the shell at each prompt
//
// Echo-off prompts are answered with the PINs in order, then with no answer;
// the PIN "--null-reply" answers with a NULL response text. With
// $TPMAUTHN_TEST_ANSWER_CMD, echo-on prompts are answered by that shell command
// (the prompt in $TPMAUTHN_TEST_PROMPT, the answer on its stdout).
// Prints "result N", then "error TEXT" / "info TEXT" lines. With
// $TPMAUTHN_TEST_REFUSE_MESSAGES set, the conversation fails (PAM_CONV_ERR)
// for every PAM_ERROR_MSG and PAM_TEXT_INFO, as cinnamon-screensaver's does for
// PAM_TEXT_INFO; those print as "refused-error TEXT" / "refused-info TEXT".
//
// Allocation failure (--direct only): with $TPMAUTHN_TEST_FAIL_ALLOC=N the
// N-th allocation inside pam_sm_authenticate fails — C++ operator new throws
// std::bad_alloc, OpenSSL's allocator returns NULL (CRYPTO_set_mem_functions);
// N=0 only counts. With N>0 an unarmed warm-up login runs first in the same
// process (prints "warm-up RC"). Prints "allocations COUNT injected 0|1 in
// new|openssl|none" and,
// on stderr, a backtrace of the failed allocation.
extern "C" {
#include <libpamtest.h>
}
#include <dlfcn.h>
#include <execinfo.h>
#include <security/pam_appl.h>

#include <openssl/crypto.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

namespace {

std::atomic<bool> g_armed{false};
std::atomic<long> g_allocations{0};
long g_fail_at = 0;
std::atomic<bool> g_injected{false};
const char* g_injected_in = "none";  // "new" (C++) or "openssl"

// Counts an allocation made while armed; true for the one that must fail.
bool FailThisOne(const char* where = "new") {
  if (!g_armed.load(std::memory_order_relaxed)) return false;
  if (++g_allocations != g_fail_at) return false;
  g_injected = true;
  g_injected_in = where;
  // Where it failed, for the test's report (backtrace() allocates: disarmed).
  g_armed = false;
  void* frames[32];
  backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
  g_armed = true;
  return true;
}

void* CountedMalloc(size_t size, const char*, int) {
  return FailThisOne("openssl") ? nullptr : std::malloc(size);
}
void* CountedRealloc(void* p, size_t size, const char*, int) {
  return FailThisOne("openssl") ? nullptr : std::realloc(p, size);
}
void CountedFree(void* p, const char*, int) { std::free(p); }

}  // namespace

// The replaced operators pair malloc with free by construction; gcc cannot
// see that through the replacement. Never inlined: valgrind replaces them by
// symbol, and must see every call to both halves of each pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#define TPMAUTHN_REPLACED __attribute__((noinline))
TPMAUTHN_REPLACED void* operator new(std::size_t size) {
  if (FailThisOne()) throw std::bad_alloc();
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
TPMAUTHN_REPLACED void* operator new[](std::size_t size) { return ::operator new(size); }
TPMAUTHN_REPLACED void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return FailThisOne() ? nullptr : std::malloc(size ? size : 1);
}
TPMAUTHN_REPLACED void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
  return ::operator new(size, tag);
}
TPMAUTHN_REPLACED void operator delete(void* p) noexcept { std::free(p); }
TPMAUTHN_REPLACED void operator delete[](void* p) noexcept { std::free(p); }
TPMAUTHN_REPLACED void operator delete(void* p, std::size_t) noexcept { std::free(p); }
TPMAUTHN_REPLACED void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

struct Script {
  std::vector<std::string> pins;
  size_t next = 0;
  std::vector<std::string> errors, infos;
};

int Converse(int count, const pam_message** messages, pam_response** responses, void* data) {
  auto* script = static_cast<Script*>(data);
  auto* out = static_cast<pam_response*>(std::calloc(static_cast<size_t>(count), sizeof(pam_response)));
  for (int i = 0; i < count; ++i) {
    const pam_message* m = messages[i];
    if (m->msg_style == PAM_PROMPT_ECHO_OFF || m->msg_style == PAM_PROMPT_ECHO_ON) {
      // Fault injection: run a command while the module waits for the PIN
      // (e.g. kill the TPM between the module's TPM commands).
      if (const char* hook = std::getenv("TPMAUTHN_TEST_ON_PROMPT")) {
        if (std::system(hook) != 0) std::fprintf(stderr, "prompt hook failed\n");
      }
      // An echo-on prompt (a remote-mode request) answered by a command that
      // reads the prompt from $TPMAUTHN_TEST_PROMPT.
      const char* answer_cmd = std::getenv("TPMAUTHN_TEST_ANSWER_CMD");
      if (answer_cmd && m->msg_style == PAM_PROMPT_ECHO_ON) {
        setenv("TPMAUTHN_TEST_PROMPT", m->msg, 1);
        std::string answer;
        if (FILE* pipe = popen(answer_cmd, "r")) {
          char buffer[4096];
          while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) answer.append(buffer, n);
          pclose(pipe);
        }
        while (!answer.empty() && answer.back() == '\n') answer.pop_back();
        out[i].resp = strdup(answer.c_str());
        continue;
      }
      if (script->next >= script->pins.size()) {
        std::free(out);
        return PAM_CONV_ERR;
      }
      // "--null-reply": a response whose text is NULL (a broken or hostile
      // conversation function).
      const std::string& pin = script->pins[script->next++];
      out[i].resp = pin == "--null-reply" ? nullptr : strdup(pin.c_str());
    } else if (std::getenv("TPMAUTHN_TEST_REFUSE_MESSAGES")) {
      (m->msg_style == PAM_ERROR_MSG ? script->errors : script->infos)
          .emplace_back(std::string("refused ") + m->msg);
      for (int j = 0; j < i; ++j) std::free(out[j].resp);
      std::free(out);
      return PAM_CONV_ERR;
    } else if (m->msg_style == PAM_ERROR_MSG) {
      script->errors.emplace_back(m->msg);
    } else {
      script->infos.emplace_back(m->msg);
    }
  }
  *responses = out;
  return PAM_SUCCESS;
}

int Direct(const char* module, const char* args, const char* user, Script& script) {
  pam_conv conv{Converse, &script};
  pam_handle_t* pamh = nullptr;
  if (pam_start("tpmauthn-direct", user, &conv, &pamh) != PAM_SUCCESS) return -1;
  void* handle = dlopen(module, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::fprintf(stderr, "%s\n", dlerror());
    return -1;
  }
  using Fn = int (*)(pam_handle_t*, int, int, const char**);
  auto fn = reinterpret_cast<Fn>(dlsym(handle, "pam_sm_authenticate"));
  std::vector<std::string> words;
  std::istringstream in(args);
  for (std::string word; in >> word;) words.push_back(word);
  std::vector<const char*> argv;
  for (auto& w : words) argv.push_back(w.c_str());
  if (g_fail_at > 0) {
    // A warm-up login first, unarmed: OpenSSL 3.0 dereferences locks it
    // failed to allocate during its one-time lazy initialisation (a crash
    // inside libcrypto that no caller can handle), so the injection runs in a
    // process that has used OpenSSL before, as sshd's or gdm's has.
    const int warm = fn(pamh, 0, static_cast<int>(argv.size()), argv.data());
    std::printf("warm-up %d\n", warm);
    script.next = 0;
  }
  g_armed = true;
  int rc = fn(pamh, 0, static_cast<int>(argv.size()), argv.data());
  g_armed = false;
  pam_end(pamh, rc);
  dlclose(handle);
  return rc;
}

// N pam_authenticate transactions at once, one per thread, each with its own
// pam handle and conversation (PAM modules must be safe in threaded callers;
// pam_wrapper also allows only 36 processes at a time). Returns the results.
std::vector<int> Threads(int count, const char* service, const char* user, const char* pin) {
  std::vector<int> results(static_cast<size_t>(count), -1);
  std::vector<Script> scripts(static_cast<size_t>(count));
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      Script& script = scripts[static_cast<size_t>(i)];
      script.pins = {pin};
      pam_conv conv{Converse, &script};
      pam_handle_t* pamh = nullptr;
      int rc = pam_start(service, user, &conv, &pamh);
      if (rc == PAM_SUCCESS) rc = pam_authenticate(pamh, 0);
      if (pamh) pam_end(pamh, rc);
      results[static_cast<size_t>(i)] = rc;
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::strcmp(argv[1], "--threads") == 0) {
    for (int rc : Threads(std::atoi(argv[2]), argv[3], argv[4], argv[5])) std::printf("result %d\n", rc);
    return 0;
  }
  const char* fail_alloc = std::getenv("TPMAUTHN_TEST_FAIL_ALLOC");
  if (fail_alloc) {
    // Before OpenSSL allocates anything.
    if (CRYPTO_set_mem_functions(CountedMalloc, CountedRealloc, CountedFree) != 1) {
      std::fprintf(stderr, "CRYPTO_set_mem_functions failed\n");
      return 2;
    }
    g_fail_at = std::atol(fail_alloc);
  }
  Script script;
  int rc;
  enum pamtest_ops op = PAMTEST_AUTHENTICATE;
  if (argc >= 2 && std::strcmp(argv[1], "--chauthtok") == 0) {
    op = PAMTEST_CHAUTHTOK;
    --argc;
    ++argv;
  }
  if (argc >= 5 && std::strcmp(argv[1], "--direct") == 0) {
    script.pins.assign(argv + 5, argv + argc);
    rc = Direct(argv[2], argv[3], argv[4], script);
  } else if (argc >= 3) {
    std::vector<const char*> pins(argv + 3, argv + argc);
    pins.push_back(nullptr);
    std::vector<char*> errors(16), infos(16);
    for (auto& e : errors) e = static_cast<char*>(std::calloc(1, PAM_MAX_MSG_SIZE));
    for (auto& i : infos) i = static_cast<char*>(std::calloc(1, PAM_MAX_MSG_SIZE));
    pamtest_conv_data conv{};
    conv.in_echo_off = pins.data();
    conv.out_err = errors.data();
    conv.out_info = infos.data();
    pam_testcase tests[] = {pam_test(op, PAM_SUCCESS)};
    run_pamtest(argv[1], argv[2], &conv, tests, nullptr);
    rc = tests[0].op_rv;
    for (char* e : errors) {
      if (*e) script.errors.emplace_back(e);
      std::free(e);
    }
    for (char* i : infos) {
      if (*i) script.infos.emplace_back(i);
      std::free(i);
    }
  } else {
    std::fprintf(stderr, "usage: %s SERVICE USER [PIN...] | --direct MODULE ARGS USER [PIN...]\n",
                 argv[0]);
    return 2;
  }
  std::printf("result %d\n", rc);
  if (fail_alloc) {
    std::printf("allocations %ld injected %d in %s\n", g_allocations.load(), g_injected ? 1 : 0,
                g_injected_in);
  }
  // Before any exit-time sanitizer report could abort the process.
  std::fflush(stdout);
  for (auto& e : script.errors) std::printf("error %s\n", e.c_str());
  for (auto& i : script.infos) std::printf("info %s\n", i.c_str());
  return 0;
}
