// The licence table and the rules of source/licence_check.h.
#include "source/licence_check.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace modelc {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = (char)std::tolower((unsigned char)c);
  return s;
}

std::string Trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

std::vector<std::string> Split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t from = 0;
  for (size_t at; (at = s.find(sep, from)) != std::string::npos; from = at + sep.size())
    out.push_back(s.substr(from, at - from));
  out.push_back(s.substr(from));
  return out;
}

// The table, keyed by lowercase id.
const std::map<std::string, LicenceTraits>& Table() {
  static const std::map<std::string, LicenceTraits> table = [] {
    std::map<std::string, LicenceTraits> t;
    auto add = [&](const std::string& id, bool pd, bool attr, bool nc, bool nd, const std::string& sa,
                   int version, bool or_later) {
      LicenceTraits l;
      l.id = id;
      l.known = true;
      l.public_domain = pd;
      l.attribution = attr;
      l.non_commercial = nc;
      l.no_derivatives = nd;
      l.share_alike = sa;
      l.version = version;
      l.or_later = or_later;
      t[Lower(id)] = l;
    };
    // Creative Commons, every version SPDX lists.
    const std::pair<const char*, int> cc_versions[] = {{"1.0", 10}, {"2.0", 20}, {"2.5", 25}, {"3.0", 30}, {"4.0", 40}};
    for (const auto& [v, n] : cc_versions) {
      const std::string s = v;
      add("CC-BY-" + s, false, true, false, false, "", n, false);
      add("CC-BY-SA-" + s, false, true, false, false, "CC-BY-SA", n, false);
      add("CC-BY-NC-" + s, false, true, true, false, "", n, false);
      add("CC-BY-ND-" + s, false, true, false, true, "", n, false);
      add("CC-BY-NC-SA-" + s, false, true, true, false, "CC-BY-NC-SA", n, false);
      add("CC-BY-NC-ND-" + s, false, true, true, true, "", n, false);
    }
    // Public domain dedications.
    for (const char* id : {"CC0-1.0", "PDDL-1.0", "Unlicense", "public-domain"}) add(id, true, false, false, false, "", 0, false);
    // Permissive licences that require crediting the authors.
    for (const char* id : {"MIT", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Apache-2.0", "Zlib",
                           "BSL-1.0", "Python-2.0", "PostgreSQL", "ODC-By-1.0", "CDLA-Permissive-1.0",
                           "CDLA-Permissive-2.0"})
      add(id, false, true, false, false, "", 0, false);
    // Permissive without an attribution condition.
    for (const char* id : {"MIT-0", "0BSD"}) add(id, false, false, false, false, "", 0, false);
    // Copyleft.
    add("GPL-2.0-only", false, true, false, false, "GPL", 20, false);
    add("GPL-2.0", false, true, false, false, "GPL", 20, false);  // deprecated id = -only
    add("GPL-2.0-or-later", false, true, false, false, "GPL", 20, true);
    add("GPL-3.0-only", false, true, false, false, "GPL", 30, false);
    add("GPL-3.0", false, true, false, false, "GPL", 30, false);
    add("GPL-3.0-or-later", false, true, false, false, "GPL", 30, true);
    add("AGPL-3.0-only", false, true, false, false, "AGPL", 30, false);
    add("AGPL-3.0", false, true, false, false, "AGPL", 30, false);
    add("AGPL-3.0-or-later", false, true, false, false, "AGPL", 30, true);
    add("ODbL-1.0", false, true, false, false, "ODbL", 10, false);
    add("CDLA-Sharing-1.0", false, true, false, false, "CDLA-Sharing", 10, false);
    return t;
  }();
  return table;
}

// May a derivative of `d` (copyleft) be licensed under `m`?
bool ShareAlikeAllows(const LicenceTraits& d, const LicenceTraits& m) {
  // Declared one-way compatibility: CC BY-SA 4.0 adaptations may be
  // licensed under GPLv3 (creativecommons.org/compatiblelicenses).
  if (d.share_alike == "CC-BY-SA" && d.version == 40 && m.share_alike == "GPL" && m.version == 30) return true;
  if (m.share_alike != d.share_alike) return false;
  if (d.share_alike == "GPL" || d.share_alike == "AGPL") {
    if (d.or_later) return m.version >= d.version;
    return m.version == d.version && !m.or_later;
  }
  if (d.share_alike == "CC-BY-SA" || d.share_alike == "CC-BY-NC-SA") {
    // 2.0 and later allow "a later version with the same elements"; 1.0 does not.
    return d.version >= 20 ? m.version >= d.version : m.version == d.version;
  }
  return m.version >= d.version;  // ODbL, CDLA-Sharing
}

std::vector<LicenceConflict> SingleConflicts(const std::string& d_id, const std::string& m_id) {
  std::vector<LicenceConflict> out;
  const LicenceTraits d = ClassifyLicence(d_id), m = ClassifyLicence(m_id);
  const std::string dq = "\"" + d_id + "\"", mq = "\"" + m_id + "\"";
  if (!d.known) {
    out.push_back({"unknown", (d_id.empty() ? std::string("it declares no licence")
                                            : "its licence " + dq + " is proprietary or not in modelc's licence table") +
                                  ", so modelc cannot tell whether training a model licensed " + mq +
                                  " on it is allowed"});
    return out;
  }
  if (d.no_derivatives)
    out.push_back({"no-derivatives", dq + " is a NoDerivatives licence: a trained model is a derivative (an "
                                     "adaptation) of its training material, and " + dq +
                                     " allows sharing none, whatever the model's licence (" + mq + ")"});
  if (d.non_commercial && !m.non_commercial)
    out.push_back({"non-commercial", dq + " is a NonCommercial licence, but the model's licence " + mq +
                                     (m.known ? " allows commercial use" : " is not known to forbid commercial use") +
                                     "; use a NonCommercial licence for the model (e.g. CC-BY-NC-4.0)"});
  if (!d.share_alike.empty() && !ShareAlikeAllows(d, m)) {
    const std::string v = std::to_string(d.version / 10) + "." + std::to_string(d.version % 10);
    const bool later = d.or_later || (d.share_alike.rfind("CC", 0) == 0 && d.version >= 20) ||
                       d.share_alike == "ODbL" || d.share_alike == "CDLA-Sharing";
    out.push_back({"share-alike", dq + " is a ShareAlike (copyleft) licence: derivatives must be licensed under " +
                                  d.share_alike + " " + v + (later ? " or a later version" : " only") +
                                  ", but the model's licence is " + mq});
  }
  return out;
}

}  // namespace

LicenceTraits ClassifyLicence(const std::string& spdx) {
  std::string id = Lower(Trim(spdx));
  if (id == "public domain" || id == "licenseref-public-domain") id = "public-domain";
  bool plus = false;
  if (!id.empty() && id.back() == '+') {  // "GPL-2.0+" = or later
    plus = true;
    id.pop_back();
  }
  auto it = Table().find(id);
  if (it == Table().end() && plus) it = Table().find(id + "-or-later");
  if (it == Table().end()) {
    LicenceTraits u;
    u.id = spdx;
    return u;
  }
  LicenceTraits l = it->second;
  l.id = spdx;
  if (plus) l.or_later = true;
  return l;
}

bool RequiresAttribution(const std::string& spdx) {
  bool any = false;
  for (const std::string& alt : Split(spdx, " OR "))
    for (const std::string& term : Split(alt, " AND ")) {
      const LicenceTraits t = ClassifyLicence(Trim(term));
      any |= t.attribution || !t.known;
    }
  return any;
}

std::vector<LicenceConflict> LicenceConflicts(const std::string& material_licence, const std::string& model_licence) {
  // "A OR B": the licensee picks one, so the use is allowed if it is under
  // one alternative; "A AND B": under every term. Parentheses are not
  // supported (the expression is then one unknown id).
  std::vector<LicenceConflict> best;
  bool first = true;
  for (const std::string& alt : Split(material_licence, " OR ")) {
    std::vector<LicenceConflict> all;
    for (const std::string& term : Split(alt, " AND ")) {
      auto c = SingleConflicts(Trim(term), Trim(model_licence));
      all.insert(all.end(), c.begin(), c.end());
    }
    if (first || all.size() < best.size()) best = std::move(all);
    first = false;
  }
  return best;
}

std::vector<LicenceVerdict> CheckLicences(const std::string& model_licence, const std::vector<LicenceInput>& inputs) {
  std::vector<LicenceVerdict> out;
  for (const LicenceInput& in : inputs) {
    LicenceVerdict v;
    v.input = in;
    v.conflicts = LicenceConflicts(in.licence, model_licence);
    v.attribution = RequiresAttribution(in.licence);
    v.status = v.conflicts.empty() ? "ok" : (Trim(in.acknowledgement).empty() ? "conflict" : "acknowledged");
    out.push_back(std::move(v));
  }
  return out;
}

Status LicenceCheckStatus(const std::string& model_licence, const std::vector<LicenceVerdict>& verdicts) {
  std::string msg;
  int n = 0;
  for (const LicenceVerdict& v : verdicts) {
    if (v.status != "conflict") continue;
    ++n;
    msg += "\n" + v.input.where + ": licence conflict: " + v.input.label + " is licensed \"" + v.input.licence +
           "\" and the model \"" + model_licence + "\":";
    for (const LicenceConflict& c : v.conflicts) msg += "\n  - " + c.rule + ": " + c.explanation + ".";
    msg += "\n  Change the model's licence ([model] license) or drop the source; or, if this use is allowed "
           "anyway (e.g. you hold a separate licence from the rights holder), add license_acknowledgement = "
           "\"<why this use is allowed>\" to " + (v.input.ack_hint.empty() ? std::string("its entry") : v.input.ack_hint) +
           ". The acknowledgement is recorded in the binary and shown by `modelc credits`.";
  }
  if (n == 0) return Status::OK();
  return Status::Error("licence check failed (" + std::to_string(n) + (n == 1 ? " source" : " sources") +
                       " in conflict with the model's licence \"" + model_licence + "\"):" + msg);
}

}  // namespace modelc
