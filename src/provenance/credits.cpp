#include "provenance/credits.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "source/licence_check.h"

namespace modelc {

namespace {

using ojson = nlohmann::ordered_json;

std::string Str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::string MetaString(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.Find(key);
  return v && v->type() == gguf_type::kString ? v->AsString() : "";
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * share);
  return buf;
}

std::string ViaText(const CreditRow& r) {
  if (r.via_base.empty()) return "";
  std::string s = "base model " + r.via_base.back();
  if (r.via_base.size() > 1) {
    s += " (via ";
    for (size_t i = r.via_base.size() - 1; i-- > 0;) s += r.via_base[i] + (i ? ", " : "");
    s += ")";
  }
  return s;
}

// Markdown table cells: no line breaks, pipes escaped.
std::string Cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

void FinishCredits(Credits* c) {
  c->total_tokens = 0;
  for (const CreditRow& r : c->rows) c->total_tokens += r.tokens_used;
  for (CreditRow& r : c->rows) r.share = c->total_tokens ? (double)r.tokens_used / (double)c->total_tokens : 0.0;
  std::stable_sort(c->rows.begin(), c->rows.end(), [](const CreditRow& a, const CreditRow& b) {
    if (a.tokens_used != b.tokens_used) return a.tokens_used > b.tokens_used;  // = share order, exactly
    if (a.title != b.title) return a.title < b.title;
    return a.sha256 < b.sha256;
  });
}

Status CreditRowsFromJson(const nlohmann::json& j, const std::string& where, std::vector<CreditRow>* rows) {
  if (!j.is_array()) return Status::Error(where + ": credits are not a JSON array");
  for (const auto& e : j) {
    if (!e.is_object()) return Status::Error(where + ": a credits entry is not a JSON object");
    CreditRow r;
    r.title = Str(e, "title");
    r.author = Str(e, "author");
    r.licence = Str(e, "license");
    r.source_url = Str(e, "source_url");
    r.sha256 = Str(e, "sha256");
    r.licence_acknowledgement = Str(e, "license_acknowledgement");
    if (!e.contains("tokens_used") || !e["tokens_used"].is_number_unsigned())
      return Status::Error(where + ": credits entry \"" + r.title + "\" has no tokens_used count");
    r.tokens_used = e["tokens_used"].get<uint64_t>();
    if (e.contains("via_base") && e["via_base"].is_array())
      for (const auto& v : e["via_base"])
        if (v.is_string()) r.via_base.push_back(v.get<std::string>());
    r.attribution_required = RequiresAttribution(r.licence);
    rows->push_back(std::move(r));
  }
  return Status::OK();
}

Status CreditsFromGguf(const GgufFile& f, const std::string& where, Credits* out) {
  Credits c;
  c.model_name = MetaString(f, "general.name");
  c.model_licence = MetaString(f, "general.license");
  c.model_author = MetaString(f, "general.author");
  c.model_source_hash = MetaString(f, "modelc.source_hash");
  const std::string mtext = MetaString(f, "modelc.data_manifest");
  if (mtext.empty()) return Status::Error(where + ": no modelc.data_manifest: not a modelc build, no credits recorded");
  const nlohmann::json manifest = nlohmann::json::parse(mtext, nullptr, /*allow_exceptions=*/false);
  MODELC_RETURN_IF_ERROR(CreditRowsFromJson(manifest, where + ": modelc.data_manifest", &c.rows));
  for (CreditRow& r : c.rows) r.via_base.clear();  // this build's own data
  // Fine-tuned: the base's credits, its name and licence chain.
  if (const GgufValue* n = f.Find("general.base_model.count"); n && !n->is_array() && n->AsU64() > 0) {
    BaseCredit b;
    b.name = MetaString(f, "general.base_model.0.name");
    b.licence = MetaString(f, "modelc.base_model.0.license");
    b.sha256 = MetaString(f, "modelc.base_model.0.sha256");
    b.source_hash = MetaString(f, "modelc.base_model.0.source_hash");
    b.licence_acknowledgement = MetaString(f, "modelc.base_model.0.license_acknowledgement");
    const std::string ctext = MetaString(f, "modelc.base_model.0.credits");
    if (!ctext.empty()) {
      std::vector<CreditRow> base_rows;
      const std::string w = where + ": modelc.base_model.0.credits";
      MODELC_RETURN_IF_ERROR(CreditRowsFromJson(nlohmann::json::parse(ctext, nullptr, false), w, &base_rows));
      for (CreditRow& r : base_rows) {
        r.via_base.insert(r.via_base.begin(), b.name);
        c.rows.push_back(std::move(r));
      }
    }
    c.bases.push_back(b);
    const std::string chain = MetaString(f, "modelc.base_model.0.license_chain");
    if (!chain.empty()) {
      const nlohmann::json j = nlohmann::json::parse(chain, nullptr, false);
      if (!j.is_array()) return Status::Error(where + ": modelc.base_model.0.license_chain is not a JSON array");
      for (const auto& e : j) {
        if (!e.is_object()) continue;
        c.bases.push_back({Str(e, "name"), Str(e, "license"), Str(e, "sha256"), Str(e, "source_hash"),
                           Str(e, "license_acknowledgement")});
      }
    }
  }
  FinishCredits(&c);
  *out = std::move(c);
  return Status::OK();
}

Status CreditsFromFile(const std::string& path, Credits* out) {
  std::unique_ptr<GgufFile> f;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(path, &f));
  return CreditsFromGguf(*f, path, out);
}

nlohmann::ordered_json CreditsJson(const Credits& c) {
  ojson j;
  j["model"] = c.model_name;
  j["license"] = c.model_licence;
  j["total_tokens"] = c.total_tokens;
  ojson rows = ojson::array();
  for (const CreditRow& r : c.rows) {
    ojson e;
    e["title"] = r.title;
    e["author"] = r.author;
    e["license"] = r.licence;
    e["source_url"] = r.source_url;
    e["sha256"] = r.sha256;
    e["tokens_used"] = r.tokens_used;
    e["share"] = r.share;
    e["attribution_required"] = r.attribution_required;
    if (!r.licence_acknowledgement.empty()) e["license_acknowledgement"] = r.licence_acknowledgement;
    e["via_base"] = r.via_base;
    rows.push_back(std::move(e));
  }
  j["sources"] = std::move(rows);
  ojson bases = ojson::array();
  for (const BaseCredit& b : c.bases) {
    ojson e;
    e["name"] = b.name;
    e["license"] = b.licence;
    e["sha256"] = b.sha256;
    e["source_hash"] = b.source_hash;
    if (!b.licence_acknowledgement.empty()) e["license_acknowledgement"] = b.licence_acknowledgement;
    bases.push_back(std::move(e));
  }
  j["base_models"] = std::move(bases);
  return j;
}

std::string CreditsText(const Credits& c) {
  std::string s = "credits for " + c.model_name + " (" + c.model_licence + "): " + std::to_string(c.rows.size()) +
                  (c.rows.size() == 1 ? " source, " : " sources, ") + std::to_string(c.total_tokens) +
                  " training tokens\n";
  for (size_t i = 0; i < c.bases.size(); ++i)
    s += std::string(i == 0 ? "  fine-tuned from " : "  which is fine-tuned from ") + c.bases[i].name + " (" +
         c.bases[i].licence + "), sha256 " + c.bases[i].sha256 + "\n" +
         (c.bases[i].licence_acknowledgement.empty() ? ""
                                                     : "    licence acknowledgement: " + c.bases[i].licence_acknowledgement + "\n");
  for (size_t i = 0; i < c.rows.size(); ++i) {
    const CreditRow& r = c.rows[i];
    char head[96];
    std::snprintf(head, sizeof head, "\n%2zu. %7s  %llu tokens  ", i + 1, Percent(r.share).c_str(),
                  (unsigned long long)r.tokens_used);
    s += head + r.title + "\n";
    s += "      author   " + r.author + "\n";
    s += "      licence  " + r.licence + (r.attribution_required ? "  (attribution required)" : "") + "\n";
    if (!r.licence_acknowledgement.empty()) s += "      acknowledged licence conflict: " + r.licence_acknowledgement + "\n";
    if (!r.source_url.empty()) s += "      source   " + r.source_url + "\n";
    s += "      sha256   " + r.sha256 + "\n";
    if (!r.via_base.empty()) s += "      from     " + ViaText(r) + "\n";
  }
  return s;
}

std::string CreditsMarkdown(const Credits& c) {
  std::string s = "## Credits\n\n`" + c.model_name + "` (licence `" + c.model_licence + "`) was trained on " +
                  std::to_string(c.total_tokens) + " tokens from " + std::to_string(c.rows.size()) +
                  (c.rows.size() == 1 ? " source" : " sources") + ".";
  for (size_t i = 0; i < c.bases.size(); ++i)
    s += std::string(i == 0 ? " It is fine-tuned from `" : " That is fine-tuned from `") + c.bases[i].name +
         "` (licence `" + c.bases[i].licence + "`, sha256 `" + c.bases[i].sha256 + "`).";
  s += "\n\n| Source | Author | Licence | Tokens | Share | sha256 |\n| --- | --- | --- | ---: | ---: | --- |\n";
  bool any_attr = false, any_ack = false;
  for (const CreditRow& r : c.rows) {
    std::string title = r.source_url.empty() ? Cell(r.title) : "[" + Cell(r.title) + "](" + Cell(r.source_url) + ")";
    if (!r.via_base.empty()) title += " (" + Cell(ViaText(r)) + ")";
    std::string lic = Cell(r.licence);
    if (r.attribution_required) lic += " \\*", any_attr = true;
    if (!r.licence_acknowledgement.empty()) lic += " †", any_ack = true;
    s += "| " + title + " | " + Cell(r.author) + " | " + lic + " | " + std::to_string(r.tokens_used) + " | " +
         Percent(r.share) + " | `" + r.sha256.substr(0, 12) + "` |\n";
  }
  if (any_attr) s += "\n\\* attribution required by the licence.\n";
  if (any_ack) {
    s += "\n† licence conflict acknowledged in the model source:\n\n";
    for (const CreditRow& r : c.rows)
      if (!r.licence_acknowledgement.empty()) s += "- " + Cell(r.title) + ": " + Cell(r.licence_acknowledgement) + "\n";
  }
  return s;
}

}  // namespace modelc
