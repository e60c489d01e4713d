// Which SPDX licence ids count as open for the audit (modelc audit):
// OSI-approved licences (code, and parameters under the OSAID), and open
// data / content licences (data and documents under the MOF). A small fixed
// table of common ids, not a legal review; unknown ids are "not open".
#pragma once
#include <string>

namespace modelc {

// True for an OSI-approved licence id (e.g. "MIT", "Apache-2.0",
// "BSD-3-Clause", "GPL-3.0-or-later"). Expressions: "A OR B" is open when one
// side is, "A AND B" when both are; "WITH exception" and parentheses are
// ignored.
bool IsOsiApproved(const std::string& spdx);

// True for an OSI-approved licence or an open data/content licence (CC0-1.0,
// CC-BY-*, CC-BY-SA-*, ODbL-1.0, ODC-By-1.0, PDDL-1.0, CDLA-*, public
// domain). NonCommercial and NoDerivatives licences are not open.
bool IsOpenDataLicense(const std::string& spdx);

}  // namespace modelc
