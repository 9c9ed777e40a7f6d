// Streaming credentials-file reader with duplicate-id detection in O(lines) memory.
#include "config/credential_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "config/safe_file.h"

namespace tpmauthn::config {
namespace {

// Yields lines (without '\n') from a file descriptor or from memory.
class LineReader {
 public:
  LineReader(int fd, std::string_view text) : fd_(fd), text_(text) {}

  // Returns false at end of input; `error` set on read errors / overlong lines.
  bool Next(std::string_view& line, std::string& error) {
    if (fd_ < 0) {
      if (text_.empty()) return false;
      size_t nl = text_.find('\n');
      line = text_.substr(0, nl);
      text_ = nl == std::string_view::npos ? std::string_view() : text_.substr(nl + 1);
      if (line.size() > kMaxLineLength) {
        error = "line longer than " + std::to_string(kMaxLineLength) + " bytes";
      }
      return true;
    }
    for (;;) {
      char* begin = buffer_.data() + start_;
      char* end = buffer_.data() + end_;
      if (char* nl = static_cast<char*>(std::memchr(begin, '\n', static_cast<size_t>(end - begin)))) {
        line = std::string_view(begin, static_cast<size_t>(nl - begin));
        start_ = static_cast<size_t>(nl - buffer_.data()) + 1;
        return true;
      }
      if (eof_) {
        if (begin == end) return false;
        line = std::string_view(begin, static_cast<size_t>(end - begin));
        start_ = end_;
        return true;
      }
      // Compact, then refill.
      std::memmove(buffer_.data(), begin, static_cast<size_t>(end - begin));
      end_ -= start_;
      start_ = 0;
      if (end_ > kMaxLineLength) {
        error = "line longer than " + std::to_string(kMaxLineLength) + " bytes";
        line = std::string_view(buffer_.data(), end_);
        return true;
      }
      ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
      if (n < 0) {
        if (errno == EINTR) continue;
        error = "read failed: " + ErrnoMessage(errno);
        return true;
      }
      if (n == 0) eof_ = true;
      end_ += static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  std::string_view text_;
  std::vector<char> buffer_ = std::vector<char>(kMaxLineLength + 64 * 1024);
  size_t start_ = 0, end_ = 0;
  bool eof_ = false;
};

ConfigResult<std::vector<Credential>> Read(LineReader& reader, const std::string& name,
                                           const std::optional<std::string>& user,
                                           const std::function<LineReader()>& rewind,
                                           const std::vector<std::string>& watch = {},
                                           std::vector<IdHolder>* holders = nullptr) {
  std::vector<Credential> out;
  std::vector<uint64_t> ids;  // hashes only: 8 bytes per credential
  std::string_view line;
  std::string error;
  size_t number = 0;
  LineFields fields;
  while (reader.Next(line, error)) {
    ++number;
    auto where = [&] { return name + ":" + std::to_string(number) + ": "; };
    if (!error.empty()) return ConfigFail(where() + error);
    auto type = ScanLine(line, fields);
    if (!type) return ConfigFail(where() + type.error().message);
    if (*type != LineType::kCredential) continue;
    if (fields.id != "*") ids.push_back(std::hash<std::string_view>{}(fields.id));
    for (const std::string& watched : watch) {
      if (fields.id == watched) holders->push_back({watched, std::string(fields.user), number});
    }
    if (!user || fields.user == *user) {
      auto credential = ParseFields(fields);
      if (!credential) return ConfigFail(where() + credential.error().message);
      out.push_back(std::move(*credential));
    }
  }
  // Duplicate ids: equal hashes are candidates, confirmed by comparing text.
  std::sort(ids.begin(), ids.end());
  std::unordered_set<uint64_t> suspects;
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] == ids[i - 1]) suspects.insert(ids[i]);
  }
  if (suspects.empty()) return out;
  LineReader again = rewind();
  std::unordered_map<std::string, size_t> first_seen;
  number = 0;
  while (again.Next(line, error)) {
    ++number;
    if (!error.empty()) return ConfigFail(name + ":" + std::to_string(number) + ": " + error);
    auto type = ScanLine(line, fields);
    if (!type || *type != LineType::kCredential || fields.id == "*") continue;
    if (!suspects.count(std::hash<std::string_view>{}(fields.id))) continue;
    auto [it, inserted] = first_seen.emplace(std::string(fields.id), number);
    if (!inserted) {
      return ConfigFail(name + ":" + std::to_string(number) +
                        ": duplicate credential id (also on line " + std::to_string(it->second) +
                        ")");
    }
  }
  return out;
}

}  // namespace

ConfigResult<std::vector<Credential>> ReadCredentials(int fd, const std::string& name,
                                                      const std::optional<std::string>& user) {
  std::vector<IdHolder> none;
  return ReadCredentials(fd, name, user, {}, none);
}

ConfigResult<std::vector<Credential>> ReadCredentials(int fd, const std::string& name,
                                                      const std::optional<std::string>& user,
                                                      const std::vector<std::string>& watch,
                                                      std::vector<IdHolder>& holders) {
  off_t start = ::lseek(fd, 0, SEEK_CUR);
  LineReader reader(fd, {});
  return Read(
      reader, name, user,
      [&] {
        ::lseek(fd, start < 0 ? 0 : start, SEEK_SET);
        return LineReader(fd, {});
      },
      watch, &holders);
}

ConfigResult<std::vector<Credential>> ParseCredentials(std::string_view text,
                                                       const std::string& name,
                                                       const std::optional<std::string>& user) {
  LineReader reader(-1, text);
  return Read(reader, name, user, [&] { return LineReader(-1, text); });
}

ConfigResult<void> CheckCredentials(std::string_view text, const std::string& name) {
  // No user name can contain a newline, so no line is selected for full parsing.
  auto result = ParseCredentials(text, name, std::string("\n"));
  if (!result) return result.error();
  return {};
}

}  // namespace tpmauthn::config
