// A temporary directory removed with its contents at scope exit.
#pragma once

#include <filesystem>
#include <string>

namespace tpmauthn::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& contents, unsigned mode = 0644);
std::string ReadFile(const std::string& path);

}  // namespace tpmauthn::testing
