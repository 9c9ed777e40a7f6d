// Test-vector file reader: "key = value" lines, '#' comments.
#include "tests/support/vectors.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>

namespace tpmauthn::testing {

std::string TestDataDir() { return TPMAUTHN_TEST_DATA; }

const std::string& Vector::Text(const std::string& key) const {
  auto it = fields.find(key);
  if (it == fields.end()) throw std::runtime_error(name + ": no field " + key);
  return it->second;
}

webauthn::Bytes Vector::Hex(const std::string& key) const {
  webauthn::Bytes out;
  if (!webauthn::FromHex(Text(key), out)) throw std::runtime_error(name + ": bad hex in " + key);
  return out;
}

Vector LoadVector(const std::string& name) {
  std::ifstream in(TestDataDir() + "/webauthn-l3/" + name + ".vec");
  if (!in) throw std::runtime_error("cannot open vector " + name);
  Vector v{name, {}};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find(" = ");
    if (eq == std::string::npos) throw std::runtime_error(name + ": bad line " + line);
    v.fields[line.substr(0, eq)] = line.substr(eq + 3);
  }
  return v;
}

std::vector<std::string> VectorNames() {
  std::vector<std::string> names;
  for (const auto& entry :
       std::filesystem::directory_iterator(TestDataDir() + "/webauthn-l3")) {
    if (entry.path().extension() == ".vec") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<TabCase> LoadTabFixture(const std::string& relative_path) {
  std::ifstream in(TestDataDir() + "/" + relative_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + relative_path);
  std::vector<TabCase> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) throw std::runtime_error(relative_path + ": line without a tab");
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const TabCase& c) { return os << c.expected; }

}  // namespace tpmauthn::testing
