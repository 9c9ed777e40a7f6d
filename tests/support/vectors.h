// Loads the WebAuthn L3 §16 test vectors from tests/data/webauthn-l3/*.vec.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "webauthn/bytes.h"

namespace tpmauthn::testing {

struct Vector {
  std::string name;
  std::map<std::string, std::string> fields;  // raw text values

  const std::string& Text(const std::string& key) const;
  webauthn::Bytes Hex(const std::string& key) const;  // throws if absent/bad
  bool Has(const std::string& key) const { return fields.count(key) != 0; }
};

// Directory of the data files (compiled in as TPMAUTHN_TEST_DATA).
std::string TestDataDir();
Vector LoadVector(const std::string& name);
std::vector<std::string> VectorNames();

// "EXPECTED<TAB>INPUT" lines of a fixture under TestDataDir() ('#' comments).
struct TabCase {
  std::string expected, input;
};
std::vector<TabCase> LoadTabFixture(const std::string& relative_path);
std::ostream& operator<<(std::ostream& os, const TabCase& c);

}  // namespace tpmauthn::testing
