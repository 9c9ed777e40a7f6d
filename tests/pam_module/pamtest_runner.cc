// Runs one PAM authentication in a fresh process and reports the outcome, so
// each transaction starts pam_wrapper anew (it reads its service directory
// once, at start).
//
//   pamtest_runner SERVICE USER [PIN...]
//       pam_authenticate through libpamtest (the whole stack's result)
//   pamtest_runner --direct MODULE "ARGS" USER [PIN...]
//       the module's own pam_sm_authenticate return value, called on a real
//       pam handle (libpam folds a lone PAM_IGNORE into PAM_PERM_DENIED);
//       $TPMAUTHN_TEST_ON_PROMPT, if set, is run by the shell at each prompt
//
// Echo-off prompts are answered with the PINs in order, then with no answer.
// Prints "result N", then "error TEXT" / "info TEXT" lines.
extern "C" {
#include <libpamtest.h>
}
#include <dlfcn.h>
#include <security/pam_appl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

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
      if (script->next >= script->pins.size()) {
        std::free(out);
        return PAM_CONV_ERR;
      }
      out[i].resp = strdup(script->pins[script->next++].c_str());
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
  int rc = fn(pamh, 0, static_cast<int>(argv.size()), argv.data());
  pam_end(pamh, rc);
  dlclose(handle);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Script script;
  int rc;
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
    pam_testcase tests[] = {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)};
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
  for (auto& e : script.errors) std::printf("error %s\n", e.c_str());
  for (auto& i : script.infos) std::printf("info %s\n", i.c_str());
  return 0;
}
