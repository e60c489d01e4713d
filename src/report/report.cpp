#include "report/report.h"

#include "report/html.h"
#include "report/svg.h"

namespace modelc {

namespace {

using ojson = nlohmann::ordered_json;

std::string E(std::string_view s) { return HtmlEscape(s); }

std::string Num(uint64_t v) { return std::to_string(v); }

// "1433600" -> "1 433 600" (thin groups, easier to read in tables)
std::string Grouped(uint64_t v) {
  std::string d = std::to_string(v), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) out += "&#8239;";  // narrow no-break space
    out += d[i];
  }
  return out;
}

std::string Row(const std::string& key_html, const std::string& value_html) {
  return "<tr><th scope=\"row\">" + key_html + "</th><td>" + value_html + "</td></tr>\n";
}

std::string Code(const std::string& s) { return "<code>" + E(s) + "</code>"; }

std::string Link(const std::string& url) {
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0)
    return "<a href=\"" + E(url) + "\">" + E(url) + "</a>";
  return E(url);  // not a web address: text only, never an href
}

// A recipe value as text: strings as they are, everything else as JSON.
std::string ValueText(const ojson& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void FlattenRows(const std::string& prefix, const ojson& v, std::string* rows) {
  if (v.is_object() && !v.empty()) {
    for (auto it = v.begin(); it != v.end(); ++it)
      FlattenRows(prefix.empty() ? it.key() : prefix + "." + it.key(), it.value(), rows);
    return;
  }
  *rows += Row(Code(prefix), E(ValueText(v)));
}

const char* MofClassName(int c) {
  switch (c) {
    case 3: return "Class III (Open Model)";
    case 2: return "Class II (Open Tooling)";
    case 1: return "Class I (Open Science)";
    default: return "below Class III";
  }
}

std::string Badge(Presence p) {
  const char* n = PresenceName(p);
  return std::string("<span class=\"badge ") + n + "\">" + n + "</span>";
}

const char kStyle[] = R"(body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1b1f24;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.7em;margin:0 0 4px}
h2{font-size:1.25em;margin:14px 0 10px;border-bottom:1px solid #d0d4da;padding-bottom:4px}
h3{font-size:1.05em;margin:16px 0 6px}
p.lead{margin:0 0 16px;color:#444}
section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;padding:4px 18px 14px;margin-top:18px}
table{border-collapse:collapse;width:100%;font-size:0.92em}
th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #eceef1}
thead th{background:#f0f2f5}
th[scope=row]{width:28%;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:0.92em;word-break:break-all}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:0.85em;font-weight:600}
.badge.present,.ok{background:#dcf5e3;color:#135c2c}
.badge.partial{background:#fff1c9;color:#6b4e00}
.badge.absent,.conflict{background:#fde0e0;color:#8a1c1c}
.verdict{padding:8px 12px;border-radius:6px;margin:10px 0;font-weight:600}
.verdict.neutral{background:#eef1f5;color:#333}
figure{margin:8px 0}
figure svg{width:100%;height:auto;border:1px solid #e1e4e8}
figcaption{font-size:0.88em;color:#555}
footer{margin-top:28px;font-size:0.85em;color:#666}
)";

std::string SummarySection(const ReportInputs& in) {
  std::string s = "<section id=\"summary\">\n<h2>Summary</h2>\n<table>\n";
  s += Row("model", E(in.name));
  if (!in.description.empty()) s += Row("description", E(in.description));
  s += Row("licence", E(in.license.empty() ? "(none declared)" : in.license));
  if (!in.authors.empty()) s += Row("authors", E(in.authors));
  s += Row("architecture", E(in.architecture));
  s += Row("parameters", Grouped((uint64_t)in.parameters));
  s += Row("tokenizer", E(in.tokenizer.empty() ? "byte" : in.tokenizer));
  if (!in.quantization.empty()) s += Row("quantization", E(in.quantization));
  if (in.has_losses) {
    s += Row("training", Grouped((uint64_t)in.steps) + " steps, " + Grouped((uint64_t)in.tokens_seen) + " tokens");
    s += Row("train loss", "<span id=\"train-loss\">" + FormatFixed(in.train_loss, 4) + "</span> (last step)");
    s += Row("val loss", "<span id=\"val-loss\">" + FormatFixed(in.val_loss, 4) + "</span> (final evaluation)");
  }
  s += Row("built by", "modelc " + E(in.modelc_version));
  for (const auto& [k, v] : in.lineage) s += Row(Code(k), E(v));
  s += "</table>\n</section>\n";
  return s;
}

std::string CurvesSection(const ReportInputs& in) {
  LineChart c;
  c.id = "loss-chart";
  c.title = "Loss curves";
  c.x_label = "step";
  c.y_label = std::string("loss (nats/") + (in.tokenizer == "bpe" ? "token" : "byte") + ")";
  c.series.push_back({"train", "train", "#1f6fc5", false, in.train_curve});
  c.series.push_back({"val", "val", "#e0661b", true, in.val_curve});
  std::string s = "<section id=\"loss-curves\">\n<h2>Loss curves</h2>\n<figure>\n";
  s += RenderLineChartSvg(c);
  s += "<figcaption>Mean cross-entropy: train = the loss of each step's batch (" +
       Num(in.train_curve.size()) + " points), val = the validation split at every evaluation (" +
       Num(in.val_curve.size()) + " points).</figcaption>\n</figure>\n</section>\n";
  return s;
}

std::string HyperparametersSection(const ReportInputs& in) {
  std::string rows;
  for (auto it = in.recipe.begin(); it != in.recipe.end(); ++it) {
    if (it.key() == "format" || it.key() == "model" || it.key() == "data") continue;
    FlattenRows(it.key(), it.value(), &rows);
  }
  std::string s = "<section id=\"hyperparameters\">\n<h2>Hyperparameters</h2>\n";
  s += "<p>From the normalized recipe recorded in the binary (<code>modelc.recipe</code>).</p>\n";
  s += rows.empty() ? "<p>The binary records no recipe.</p>\n" : "<table>\n" + rows + "</table>\n";
  s += "</section>\n";
  return s;
}

std::string CreditsSection(const ReportInputs& in) {
  std::string s = "<section id=\"credits\">\n<h2>Credits</h2>\n";
  if (in.credits.empty()) return s + "<p>The binary records no data sources.</p>\n</section>\n";
  s += "<p>Every data source, with the exact number of training tokens drawn from it "
       "(<code>modelc credits</code>).</p>\n";
  s += "<table>\n<thead><tr><th>source</th><th>author</th><th>licence</th><th class=\"num\">tokens used</th>"
       "<th class=\"num\">share</th><th>sha256</th></tr></thead>\n<tbody>\n";
  for (const ReportCredit& c : in.credits) {
    s += "<tr><td>" + E(c.title);
    if (!c.source_url.empty()) s += "<br>" + Link(c.source_url);
    if (!c.via.empty()) s += "<br><small>via base model " + E(c.via) + "</small>";
    s += "</td><td>" + E(c.author) + "</td><td>" + E(c.license);
    if (c.attribution) s += "<br><small>attribution required</small>";
    if (!c.acknowledgement.empty()) s += "<br><small>acknowledged: " + E(c.acknowledgement) + "</small>";
    s += "</td><td class=\"num\">" + Grouped(c.tokens) + "</td><td class=\"num\">" +
         FormatFixed(c.share * 100, 2) + "&#160;%</td><td>" + Code(c.sha256) + "</td></tr>\n";
  }
  s += "</tbody>\n</table>\n</section>\n";
  return s;
}

std::string LicenceSection(const ReportInputs& in) {
  const ReportLicenceCheck& l = in.licence;
  std::string s = "<section id=\"licence\">\n<h2>Licence check</h2>\n";
  if (!l.checked)
    return s + "<p class=\"verdict neutral\">" + E(l.summary.empty() ? "No licence check result." : l.summary) +
           "</p>\n</section>\n";
  s += std::string("<p class=\"verdict ") + (l.ok ? "ok" : "conflict") + "\" id=\"licence-verdict\">" + E(l.summary) +
       "</p>\n";
  if (!l.rows.empty()) {
    s += "<table>\n<thead><tr><th>material</th><th>licence</th><th>result</th><th>why</th></tr></thead>\n<tbody>\n";
    for (const ReportLicenceRow& r : l.rows) {
      const char* badge = r.status == "ok" ? "present" : r.status == "acknowledged" ? "partial" : "absent";
      s += "<tr><td>" + E(r.source) + "</td><td>" + E(r.license) + "</td><td><span class=\"badge " + badge + "\">" +
           E(r.status) + "</span></td><td>" + E(r.note) + "</td></tr>\n";
    }
    s += "</tbody>\n</table>\n";
  }
  s += "</section>\n";
  return s;
}

std::string AuditSection(const ReportInputs& in) {
  std::string s = "<section id=\"audit\">\n<h2>Openness audit</h2>\n";
  if (!in.audit.available)
    return s + "<p class=\"verdict neutral\">No audit: " + E(in.audit.problem) + "</p>\n</section>\n";
  const AuditReport& r = in.audit.report;
  s += "<p>As <code>modelc audit</code> computes it from the binary and the files beside it "
       "(mapping: docs/openness.md).</p>\n";
  std::string missing_osaid;
  for (const AuditComponent& c : r.components)
    if (c.framework == "OSAID" && c.presence != Presence::kPresent)
      missing_osaid += (missing_osaid.empty() ? "" : ", ") + c.name;
  s += std::string("<p class=\"verdict ") + (r.osaid ? "ok" : "conflict") + "\" id=\"osaid-verdict\">OSI Open Source AI Definition 1.0: " +
       (r.osaid ? "meets it (all three components present)" : "does not meet it; missing: " + E(missing_osaid)) +
       "</p>\n";
  std::string next;
  for (const std::string& m : r.missing_for_next) next += (next.empty() ? "" : ", ") + m;
  s += std::string("<p class=\"verdict ") + (r.mof_class > 0 ? "ok" : "conflict") +
       "\" id=\"mof-class\">Model Openness Framework: " + MofClassName(r.mof_class);
  if (r.mof_class != 1 && !next.empty())
    s += std::string("; for ") + MofClassName(r.mof_class == 0 ? 3 : r.mof_class - 1) + " missing: " + E(next);
  s += "</p>\n";
  s += "<table>\n<thead><tr><th>framework</th><th>component</th><th>status</th><th>evidence</th></tr></thead>\n<tbody>\n";
  for (const AuditComponent& c : r.components) {
    std::string fw = c.framework;
    if (c.framework == "MOF") fw += std::string(" ") + (c.mof_class == 3 ? "III" : c.mof_class == 2 ? "II" : "I");
    s += "<tr><td>" + E(fw) + "</td><td>" + E(c.name) + (c.optional ? " <small>(optional)</small>" : "") +
         "</td><td>" + Badge(c.presence) + "</td><td>" + E(c.evidence) + "</td></tr>\n";
  }
  s += "</tbody>\n</table>\n";
  if (!r.other.empty()) {
    s += "<table>\n";
    for (const auto& [k, v] : r.other) s += Row(E(k), E(v));
    s += "</table>\n";
  }
  s += "</section>\n";
  return s;
}

std::string HashesSection(const ReportInputs& in) {
  std::string s = "<section id=\"hashes\">\n<h2>Hashes</h2>\n<table>\n";
  s += Row("binary", Code(in.file_name) + ", " + Grouped(in.file_bytes) + " bytes");
  s += Row("binary sha256", "<code id=\"binary-sha256\">" + E(in.sha256) + "</code>");
  s += Row("source hash", "<code id=\"source-hash\">" + E(in.source_hash) + "</code> <small>(sha256 of the normalized recipe)</small>");
  for (const ReportCredit& c : in.credits)
    if (c.via.empty()) s += Row("data: " + E(c.title), Code(c.sha256));
  s += "</table>\n";
  if (!in.chain.empty()) {
    s += "<h3>Hash chain</h3>\n<p>The training state (weights and Adam moments) hashed every " +
         Num((uint64_t)in.chain_every) + " steps, each link chained to the one before (<code>modelc verify --segment</code>).</p>\n";
    s += "<table>\n<thead><tr><th class=\"num\">step</th><th>state sha256</th><th>chain sha256</th></tr></thead>\n<tbody>\n";
    for (const ReportChainLink& l : in.chain)
      s += "<tr><td class=\"num\">" + Num((uint64_t)l.step) + "</td><td>" + Code(l.state_sha256) + "</td><td>" +
           Code(l.chain_sha256) + "</td></tr>\n";
    s += "</tbody>\n</table>\n";
  }
  s += "</section>\n";
  return s;
}

}  // namespace

std::string RenderReportHtml(const ReportInputs& in) {
  std::string s;
  s += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // Nothing to load and nothing to run: styles inline, no scripts at all.
  s += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n";
  s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<meta name=\"generator\" content=\"modelc " + E(in.modelc_version) + "\">\n";
  s += "<title>" + E(in.name) + " — modelc build report</title>\n";
  s += "<style>\n" + std::string(kStyle) + "</style>\n</head>\n<body>\n<main>\n";
  s += "<h1 id=\"model-name\">" + E(in.name) + "</h1>\n";
  s += "<p class=\"lead\">Build report of <code>" + E(in.file_name) + "</code> (sha256 <code>" +
       E(in.sha256.substr(0, 16)) + "…</code>), written by modelc from what the binary records.</p>\n";
  s += SummarySection(in);
  s += CurvesSection(in);
  s += HyperparametersSection(in);
  s += CreditsSection(in);
  s += LicenceSection(in);
  s += AuditSection(in);
  s += HashesSection(in);
  s += "<footer>Regenerate with <code>modelc report " + E(in.file_name) +
       "</code>. Check it with <code>modelc verify " + E(in.file_name) + " --source DIR</code>.</footer>\n";
  s += "</main>\n</body>\n</html>\n";
  return s;
}

}  // namespace modelc
