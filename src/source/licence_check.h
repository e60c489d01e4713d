// The licence check a build runs before training: is training a model under
// the declared licence ([model] license) on each data source (and on the base
// model, when fine-tuning) allowed by that source's licence?
//
// Table-driven over SPDX ids (LicenceTraits). The rules, for material under
// licence D used to train a model under licence M (a trained model is a
// derivative of its training data and of its base):
//   unknown        D is not in the table, "proprietary" or "NOASSERTION":
//                  modelc cannot tell whether the use is allowed.
//   no-derivatives D is *-ND-* : no derivative may be shared at all.
//   non-commercial D is *-NC-* and M allows commercial use (M is not NC).
//   share-alike    D is copyleft (CC-BY-SA, CC-BY-NC-SA, GPL, AGPL, ODbL,
//                  CDLA-Sharing) and M is not a licence D's terms allow for
//                  derivatives (same family, same or later version where D
//                  allows that, or a declared one-way compatibility such as
//                  CC-BY-SA-4.0 -> GPL-3.0).
// Each conflict is an error unless the source carries an explicit
// acknowledgement in model.toml (license_acknowledgement = "why this use is
// allowed"), which the binary records and `modelc credits` / `inspect` show.
// This is a fixed table, not legal advice.
#pragma once
#include <string>
#include <vector>

#include "util/status.h"

namespace modelc {

struct LicenceTraits {
  std::string id;              // the SPDX id as given
  bool known = false;          // in modelc's table
  bool public_domain = false;  // CC0-1.0, PDDL-1.0, public domain
  bool attribution = false;    // redistribution must credit the authors (CC-BY*, MIT, BSD, ...)
  bool non_commercial = false; // *-NC-*
  bool no_derivatives = false; // *-ND-*
  // Copyleft: derivatives must stay under a licence of this family
  // ("CC-BY-SA", "CC-BY-NC-SA", "GPL", "AGPL", "ODbL", "CDLA-Sharing"); "" if none.
  std::string share_alike;
  int version = 0;             // version x 10 (CC-BY-SA-3.0 -> 30; GPL-2.0 -> 20); 0 if none
  bool or_later = false;       // "-or-later" / "+": any later version may be used
};

// The table entry for an SPDX id (case-insensitive; "public domain",
// "public-domain" and "LicenseRef-public-domain" are one entry).
LicenceTraits ClassifyLicence(const std::string& spdx);

// True when redistributing the material requires crediting its authors
// (any term of an expression; unknown licences count as requiring it).
bool RequiresAttribution(const std::string& spdx);

struct LicenceConflict {
  std::string rule;         // "unknown", "no-derivatives", "non-commercial", "share-alike"
  std::string explanation;  // one sentence naming both licences and why
};

// Conflicts of training a model licensed `model_licence` on material
// licensed `material_licence`; empty when the use is allowed.
std::vector<LicenceConflict> LicenceConflicts(const std::string& material_licence,
                                              const std::string& model_licence);

// One thing the model is made of: a [[data]] source, the base model, or a
// source the base model was trained on.
struct LicenceInput {
  std::string where;            // "file:line:column: [[data]] 'title' (path)" for messages
  std::string label;            // short name ("Fortunes about work", "base model fortunes-gpt")
  std::string licence;          // SPDX id
  std::string acknowledgement;  // license_acknowledgement text ("" if none)
  std::string ack_hint;         // where an acknowledgement would go ("this [[data]] entry", "[base]")
};

struct LicenceVerdict {
  LicenceInput input;
  std::vector<LicenceConflict> conflicts;  // empty: compatible
  bool attribution = false;                // the licence requires crediting the authors
  // "ok", "acknowledged" (conflicts, all covered by the acknowledgement) or
  // "conflict" (not acknowledged).
  std::string status;
};

// Checks every input against the model's licence.
std::vector<LicenceVerdict> CheckLicences(const std::string& model_licence,
                                          const std::vector<LicenceInput>& inputs);

// OK when no verdict is "conflict"; otherwise one error listing each
// unacknowledged conflict (where, both licences, why, how to acknowledge).
Status LicenceCheckStatus(const std::string& model_licence, const std::vector<LicenceVerdict>& v);

}  // namespace modelc
