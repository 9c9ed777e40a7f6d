// Option parsing for pam_tpmauthn and tpmauthn.conf.
#include "config/options.h"

#include <algorithm>

#include "config/lines.h"
#include "config/safe_file.h"

#include <unistd.h>

#include <charconv>
#include <climits>

namespace tpmauthn::config {
namespace {

ConfigError OptionError(std::string_view source, std::string_view key, std::string why) {
  return ConfigFail(std::string(source) + ": option \"" + std::string(key) + "\": " + why);
}

std::optional<unsigned> ParseNumber(std::string_view text, unsigned min, unsigned max) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

bool HasSpaceOrControl(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

TctiConfig DefaultModuleTcti() {
  auto tcti = ParseTcti(kDefaultTcti, TctiSource::kModule);
  return tcti ? *tcti : TctiConfig{};
}

ConfigResult<void> ApplyOption(Options& o, std::string_view token, std::string_view source) {
  size_t eq = token.find('=');
  std::string_view key = token.substr(0, eq);
  bool has_value = eq != std::string_view::npos;
  std::string_view value = has_value ? token.substr(eq + 1) : std::string_view();

  auto flag = [&](bool& target) -> ConfigResult<void> {
    if (has_value) return OptionError(source, key, "takes no value");
    target = true;
    return {};
  };
  auto need_value = [&]() -> ConfigResult<void> {
    if (!has_value || value.empty()) return OptionError(source, key, "needs a value");
    return {};
  };
  auto path = [&](std::string& target) -> ConfigResult<void> {
    if (auto ok = need_value(); !ok) return ok;
    if (value.front() != '/') return OptionError(source, key, "must be an absolute path");
    if (HasSpaceOrControl(value)) return OptionError(source, key, "contains spaces");
    target = std::string(value);
    return {};
  };
  auto word = [&](std::optional<std::string>& target) -> ConfigResult<void> {
    if (auto ok = need_value(); !ok) return ok;
    if (HasSpaceOrControl(value)) return OptionError(source, key, "contains spaces");
    target = std::string(value);
    return {};
  };

  if (key == "credentials") return path(o.credentials);
  if (key == "user_credentials") return flag(o.user_credentials);
  if (key == "store") return path(o.store);
  if (key == "state") return path(o.state);
  if (key == "tcti") {
    if (auto ok = need_value(); !ok) return ok;
    auto tcti = ParseTcti(value, TctiSource::kModule);
    if (!tcti) return OptionError(source, key, tcti.error().message);
    o.tcti = std::move(*tcti);
    return {};
  }
  if (key == "rp_id") {
    if (auto ok = word(o.rp_id); !ok) return ok;
    if (o.rp_id->size() > kMaxRpIdLength) {
      return OptionError(source, key, "longer than " + std::to_string(kMaxRpIdLength) + " bytes");
    }
    return {};
  }
  if (key == "origin") return word(o.origin);
  if (key == "nouserok") return flag(o.nouserok);
  if (key == "cue") return flag(o.cue);
  if (key == "debug") return flag(o.debug);
  if (key == "uv") {
    if (value == "required") {
      o.uv = UvPolicy::kRequired;
    } else if (value == "discouraged") {
      o.uv = UvPolicy::kDiscouraged;
    } else {
      return OptionError(source, key, "must be required or discouraged");
    }
    return {};
  }
  if (key == "mode") {
    if (value == "local") {
      o.mode = Mode::kLocal;
    } else if (value == "remote") {
      o.mode = Mode::kRemote;
    } else if (value == "auto") {
      o.mode = Mode::kAuto;
    } else {
      return OptionError(source, key, "must be local, remote or auto");
    }
    return {};
  }
  if (key == "timeout") {
    auto n = ParseNumber(value, 1, 3600);
    if (!n) return OptionError(source, key, "must be a number of seconds from 1 to 3600");
    o.timeout_seconds = *n;
    return {};
  }
  if (key == "max_tries") {
    auto n = ParseNumber(value, 1, 100);
    if (!n) return OptionError(source, key, "must be a number from 1 to 100");
    o.max_tries = *n;
    return {};
  }
  if (key == "pin_min_length") {
    auto n = ParseNumber(value, 4, 64);
    if (!n) return OptionError(source, key, "must be a number from 4 to 64");
    o.pin_min_length = *n;
    return {};
  }
  if (key == "pin_allow_simple") return flag(o.pin_allow_simple);
  if (key == "pin_for_others") return flag(o.pin_for_others);
  if (key == "helper") {
    std::string helper;
    if (auto ok = path(helper); !ok) return ok;
    o.helper = std::move(helper);
    return {};
  }
  if (key == "authenticators") {
    if (auto ok = need_value(); !ok) return ok;
    std::vector<AuthenticatorKind> kinds;
    for (std::string_view rest = value;;) {
      const size_t comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      AuthenticatorKind kind;
      if (name == "tpm") {
        kind = AuthenticatorKind::kTpm;
      } else if (name == "fido2") {
        kind = AuthenticatorKind::kFido2;
      } else {
        return OptionError(source, key, "must be a comma-separated list of tpm and fido2");
      }
      if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) {
        return OptionError(source, key, "names " + std::string(name) + " twice");
      }
      kinds.push_back(kind);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    o.authenticators = std::move(kinds);
    return {};
  }
  if (key == "credentials_command") {
    if (auto ok = need_value(); !ok) return ok;
    std::vector<std::string> argv;
    for (std::string_view rest = value; !rest.empty();) {
      const size_t start = rest.find_first_not_of(" \t");
      if (start == std::string_view::npos) break;
      rest.remove_prefix(start);
      const size_t end = rest.find_first_of(" \t");
      std::string_view argument = rest.substr(0, end);
      if (HasSpaceOrControl(argument)) {
        return OptionError(source, key, "contains control characters");
      }
      argv.emplace_back(argument);
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (argv.empty() || argv.front().front() != '/') {
      return OptionError(source, key, "must start with an absolute path");
    }
    if (argv.size() > kMaxCommandArguments) {
      return OptionError(source, key,
                         "has more than " + std::to_string(kMaxCommandArguments) + " words");
    }
    o.credentials_command = std::move(argv);
    return {};
  }
  if (key == "credentials_command_user") {
    if (auto ok = need_value(); !ok) return ok;
    if (HasSpaceOrControl(value) || value.size() > 256) {
      return OptionError(source, key, "must be a user name");
    }
    o.credentials_command_user = std::string(value);
    return {};
  }
  if (key == "credentials_command_timeout") {
    auto n = ParseNumber(value, 1, 60);
    if (!n) return OptionError(source, key, "must be a number of seconds from 1 to 60");
    o.credentials_command_timeout_seconds = *n;
    return {};
  }
  if (key == "cache_max_age") {
    if (auto ok = need_value(); !ok) return ok;
    unsigned unit = 1;
    std::string_view number = value;
    const std::string_view units = "smhd";
    constexpr unsigned kUnitSeconds[] = {1, 60, 3600, 86400};
    if (const size_t u = units.find(value.back()); u != std::string_view::npos) {
      unit = kUnitSeconds[u];
      number.remove_suffix(1);
    }
    auto n = ParseNumber(number, 0, 366 * 86400 / unit);
    if (!n) {
      return OptionError(source, key,
                         "must be a duration up to 366 days (seconds, or a number with s, m, h "
                         "or d)");
    }
    o.cache_max_age_seconds = *n * unit;
    return {};
  }
  if (key == "try_first_pass") return flag(o.try_first_pass);
  if (key == "use_first_pass") return flag(o.use_first_pass);
  if (key == "prompt") {
    if (auto ok = need_value(); !ok) return ok;
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return OptionError(source, key, "contains control characters");
      }
    }
    o.prompt = std::string(value);
    return {};
  }
  return OptionError(source, key, "unknown option");
}

ConfigResult<void> ApplyConfigText(Options& options, std::string_view text,
                                   std::string_view name) {
  size_t number = 0;
  for (std::string_view line; NextLine(text, line);) {
    ++number;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') continue;
    std::string source = std::string(name) + ":" + std::to_string(number);
    if (auto ok = ApplyOption(options, line, source); !ok) return ok;
  }
  return {};
}

ConfigResult<Options> ResolveOptions(std::optional<std::string_view> config_text,
                                     std::string_view config_name,
                                     std::span<const std::string_view> args) {
  Options options;
  if (config_text) {
    if (auto ok = ApplyConfigText(options, *config_text, config_name); !ok) return ok.error();
  }
  for (std::string_view arg : args) {
    if (auto ok = ApplyOption(options, arg, "module argument"); !ok) return ok.error();
  }
  return options;
}

ConfigResult<std::optional<std::string>> ReadConfigFile(const std::string& path) {
  auto file = OpenChecked(path, FileRules{{0}, false});
  if (!file) return file.error();
  if (file->status == OpenStatus::kMissing) return std::optional<std::string>();
  auto text = ReadAll(file->fd.get(), path, 64 * 1024);
  if (!text) return text.error();
  return std::optional<std::string>(std::move(*text));
}

ConfigResult<Options> SystemOptions() {
  auto text = ReadConfigFile(kDefaultConfigFile);
  if (!text) return text.error();
  return ResolveOptions(*text, kDefaultConfigFile, {});
}

std::string DefaultOrigin() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "pam://localhost";
  return std::string("pam://") + host;
}

}  // namespace tpmauthn::config
