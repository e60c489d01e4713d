#include "provenance/open_licenses.h"

#include <algorithm>
#include <functional>
#include <set>
#include <vector>

namespace modelc {

namespace {

const std::set<std::string>& OsiIds() {
  static const std::set<std::string> ids = {
      "0BSD", "AFL-3.0", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0",
      "APSL-2.0", "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-2-Clause-Patent", "BSD-3-Clause",
      "BSL-1.0", "CDDL-1.0", "CECILL-2.1", "ECL-2.0", "EFL-2.0", "EPL-1.0", "EPL-2.0", "EUPL-1.1", "EUPL-1.2",
      "GPL-2.0", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0", "GPL-3.0-only", "GPL-3.0-or-later", "ISC",
      "LGPL-2.1", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0", "LGPL-3.0-only", "LGPL-3.0-or-later",
      "LPPL-1.3c", "MIT", "MIT-0", "MPL-1.1", "MPL-2.0", "MS-PL", "MS-RL", "MulanPSL-2.0", "NCSA", "OFL-1.1",
      "OSL-3.0", "PostgreSQL", "Python-2.0", "UPL-1.0", "Unicode-DFS-2016", "Unlicense", "W3C", "Zlib",
      "ZPL-2.1"};
  return ids;
}

const std::set<std::string>& OpenDataIds() {
  static const std::set<std::string> ids = {
      "CC0-1.0", "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-SA-1.0", "CC-BY-SA-2.0",
      "CC-BY-SA-2.5", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "ODbL-1.0", "ODC-By-1.0", "PDDL-1.0", "CDLA-Permissive-1.0",
      "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "GFDL-1.3-or-later", "GFDL-1.3-only", "LicenseRef-public-domain",
      "public-domain", "Public-Domain"};
  return ids;
}

std::string Trim(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '('), s.end());
  s.erase(std::remove(s.begin(), s.end(), ')'), s.end());
  const size_t a = s.find_first_not_of(' ');
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(' ') - a + 1);
}

std::vector<std::string> Split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + sep.size()) out.push_back(s.substr(from, at - from));
  out.push_back(s.substr(from));
  return out;
}

// Evaluates a flat SPDX expression ("A OR B AND C", AND binding tighter).
bool Evaluate(const std::string& expr, const std::function<bool(const std::string&)>& open) {
  for (const std::string& alt : Split(expr, " OR ")) {
    bool all = true, any = false;
    for (std::string term : Split(alt, " AND ")) {
      term = Trim(term);
      const size_t with = term.find(" WITH ");
      if (with != std::string::npos) term = Trim(term.substr(0, with));
      if (!term.empty() && term.back() == '+') term.pop_back();  // "GPL-2.0+" = or later
      any = true;
      all &= !term.empty() && open(term);
    }
    if (any && all) return true;
  }
  return false;
}

}  // namespace

bool IsOsiApproved(const std::string& spdx) {
  return Evaluate(spdx, [](const std::string& id) { return OsiIds().count(id) > 0; });
}

bool IsOpenDataLicense(const std::string& spdx) {
  return Evaluate(spdx, [](const std::string& id) { return OsiIds().count(id) > 0 || OpenDataIds().count(id) > 0; });
}

}  // namespace modelc
