// The build report: the SVG chart (axis ranges, where points land, empty /
// one-point / non-finite series), HTML escaping of everything from the
// source, determinism, and end to end (`modelc build` writes
// <stem>.report.html, `modelc report` regenerates the same bytes, errors).
// The rendering in a real browser: tests/report_browser_test.py.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>

#include "cli_util.h"
#include "report/html.h"
#include "report/report.h"
#include "report/report_inputs.h"
#include "report/svg.h"

namespace modelc {
namespace {

using namespace testutil;

// The (x, y) pairs of every <polyline points="..."> with class `cls`.
std::vector<std::pair<double, double>> PolylinePoints(const std::string& svg, const std::string& cls) {
  std::vector<std::pair<double, double>> out;
  std::smatch m;
  const std::regex re("<polyline class=\"series " + cls + "\"[^>]* points=\"([^\"]*)\"");
  if (!std::regex_search(svg, m, re)) return out;
  std::string pts = m[1].str();
  const std::regex pr("(-?[0-9.]+),(-?[0-9.]+)");
  for (auto it = std::sregex_iterator(pts.begin(), pts.end(), pr); it != std::sregex_iterator(); ++it)
    out.emplace_back(std::stod((*it)[1].str()), std::stod((*it)[2].str()));
  return out;
}

int Count(const std::string& s, const std::string& needle) {
  int n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

TEST(ReportSvg, NiceAxisCoversTheDataWithNiceSteps) {
  ChartAxis a = NiceAxis(0, 100, 6);  // raw step 16.7 -> 20
  EXPECT_EQ(a.lo, 0);
  EXPECT_EQ(a.hi, 100);
  EXPECT_EQ(a.step, 20);
  EXPECT_EQ(a.ticks, (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(a.decimals, 0);
  a = NiceAxis(2.22, 5.61, 5);  // raw 0.678 -> 1
  EXPECT_EQ(a.lo, 2);
  EXPECT_EQ(a.hi, 6);
  EXPECT_EQ(a.step, 1);
  a = NiceAxis(2.31, 2.47, 5);  // raw 0.032 -> 0.05
  EXPECT_NEAR(a.step, 0.05, 1e-15);
  EXPECT_NEAR(a.lo, 2.30, 1e-12);
  EXPECT_NEAR(a.hi, 2.50, 1e-12);
  EXPECT_EQ(a.decimals, 2);
  EXPECT_EQ(a.ticks.size(), 5u);
  // Every range covers the data and is a whole number of steps.
  for (double lo : {-3.7, 0.0, 0.001, 1.0, 17.0, 1234.5})
    for (double span : {0.0, 1e-6, 0.3, 2.0, 77.0, 1e5}) {
      const ChartAxis b = NiceAxis(lo, lo + span, 5);
      EXPECT_LE(b.lo, lo) << lo << " " << span;
      EXPECT_GE(b.hi, lo + span) << lo << " " << span;
      EXPECT_GT(b.hi, b.lo);
      const double n = (b.hi - b.lo) / b.step;
      EXPECT_NEAR(n, std::round(n), 1e-6);
      EXPECT_GE(b.ticks.size(), 2u);
      EXPECT_LE(b.ticks.size(), 12u) << lo << " " << span;
    }
}

TEST(ReportSvg, FormatFixedIsPlainAndHasNoNegativeZero) {
  EXPECT_EQ(FormatFixed(2.5, 2), "2.50");
  EXPECT_EQ(FormatFixed(-0.001, 2), "0.00");
  EXPECT_EQ(FormatFixed(-1.25, 1), "-1.2");  // round half to even of the double 1.25
  EXPECT_EQ(FormatFixed(1234567.0, 0), "1234567");
}

LineChart TwoSeries() {
  LineChart c;
  c.title = "Loss";
  c.x_label = "step";
  c.y_label = "loss";
  c.width = 760, c.height = 360;
  c.series.push_back({"train", "train", "#1f6fc5", false, {{0, 3}, {50, 2}, {100, 1}}});
  c.series.push_back({"val", "val", "#e0661b", true, {{25, 2.5}, {100, 1.5}}});
  return c;
}

TEST(ReportSvg, PointsLandWhereTheAxesSay) {
  const LineChart c = TwoSeries();
  const ChartMapping m = MapChart(c);
  EXPECT_EQ(m.x.lo, 0);
  EXPECT_EQ(m.x.hi, 100);
  EXPECT_EQ(m.y.lo, 1);
  EXPECT_EQ(m.y.hi, 3);
  // Plot area from the layout: 760 x 360 minus margins 70/20 and 34/50.
  const double left = 70, top = 34, w = 760.0 - 70 - 20, h = 360.0 - 34 - 50;
  const std::string svg = RenderLineChartSvg(c);
  const auto train = PolylinePoints(svg, "train");
  ASSERT_EQ(train.size(), 3u) << svg;
  // (0, 3): top left; (50, 2): centre; (100, 1): bottom right.
  EXPECT_NEAR(train[0].first, left, 0.006);
  EXPECT_NEAR(train[0].second, top, 0.006);
  EXPECT_NEAR(train[1].first, left + w / 2, 0.006);
  EXPECT_NEAR(train[1].second, top + h / 2, 0.006);
  EXPECT_NEAR(train[2].first, left + w, 0.006);
  EXPECT_NEAR(train[2].second, top + h, 0.006);
  const auto val = PolylinePoints(svg, "val");
  ASSERT_EQ(val.size(), 2u);
  EXPECT_NEAR(val[0].first, left + w * 0.25, 0.006);
  EXPECT_NEAR(val[0].second, top + h * 0.25, 0.006);  // 2.5 is a quarter down from 3
  EXPECT_NEAR(val[1].second, top + h * 0.75, 0.006);
  // Val has markers (a circle per point), train none.
  EXPECT_EQ(Count(svg, "<circle "), 2);
  // Axes: tick labels of both axes, axis titles, legend entries.
  for (const char* t : {">0</text>", ">20</text>", ">100</text>", ">1.0</text>", ">2.0</text>", ">3.0</text>",
                        ">step</text>", ">loss</text>", ">train</text>", ">val</text>"})
    EXPECT_TRUE(Contains(svg, t)) << t << "\n" << svg;
  EXPECT_TRUE(Contains(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(Count(svg, "<svg"), 1);
  EXPECT_EQ(Count(svg, "</svg>"), 1);
  EXPECT_FALSE(Contains(svg, "<script"));
}

TEST(ReportSvg, EmptyAndOnePointSeries) {
  LineChart c;
  c.title = "Loss";
  c.series.push_back({"train", "train", "#000000", false, {}});
  c.series.push_back({"val", "val", "#111111", false, {}});
  std::string svg = RenderLineChartSvg(c);
  EXPECT_EQ(Count(svg, "<polyline"), 0) << svg;
  EXPECT_TRUE(Contains(svg, ">no data</text>"));
  const ChartMapping m0 = MapChart(c);
  EXPECT_EQ(m0.x.lo, 0);
  EXPECT_EQ(m0.x.hi, 1);

  c.series[1].points = {{10, 2.0}};  // one point: a range around it, and a visible marker
  svg = RenderLineChartSvg(c);
  const ChartMapping m = MapChart(c);
  EXPECT_LT(m.y.lo, 2.0);
  EXPECT_GT(m.y.hi, 2.0);
  EXPECT_LE(m.x.lo, 10);  // x from step 0
  EXPECT_GE(m.x.hi, 10);
  EXPECT_LT(m.x.lo, m.x.hi);
  EXPECT_EQ(PolylinePoints(svg, "val").size(), 1u);
  EXPECT_EQ(Count(svg, "<circle "), 1) << svg;
  EXPECT_FALSE(Contains(svg, "no data"));
}

TEST(ReportSvg, NonFinitePointsAreLeftOut) {
  LineChart c = TwoSeries();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  c.series[0].points = {{0, 3}, {10, nan}, {20, inf}, {nan, 1}, {50, 2}, {100, 1}};
  const std::string svg = RenderLineChartSvg(c);
  EXPECT_EQ(PolylinePoints(svg, "train").size(), 3u);
  for (const char* bad : {"nan", "inf", "NaN", "Inf"}) EXPECT_FALSE(Contains(svg, bad)) << bad;
  // The tightest nice range: 700 steps get 0..700 by 100, not 0..800.
  LineChart long_run;
  long_run.series.push_back({"train", "train", "#000000", false, {{1, 5.5}, {700, 2.2}}});
  EXPECT_EQ(MapChart(long_run).x.hi, 700);
  EXPECT_EQ(MapChart(long_run).x.step, 100);
  // Same axes as without the bad points.
  EXPECT_EQ(MapChart(c).y.hi, 3);
  EXPECT_EQ(svg, RenderLineChartSvg(c));
}

TEST(ReportHtml, EscapesMarkup) {
  EXPECT_EQ(HtmlEscape("<script>alert(\"x\") & 'y'</script>"),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape("Ünïcödé — ok"), "Ünïcödé — ok");
  EXPECT_EQ(HtmlEscape(""), "");
}

ReportInputs Hostile() {
  ReportInputs in;
  in.file_name = "m<x>.gguf";
  in.sha256 = std::string(64, 'a');
  in.name = "<script>alert('name')</script>";
  in.description = "desc \"quoted\" & <b>bold</b>";
  in.license = "MIT";
  in.authors = "<img src=x onerror=alert(1)>";
  in.modelc_version = "0.1.0";
  in.source_hash = std::string(64, 'b');
  in.architecture = "gpt2: 1 layers";
  in.has_losses = true;
  in.train_loss = 2.5;
  in.val_loss = 2.75;
  in.train_curve = {{1, 3.0}, {2, 2.5}};
  in.val_curve = {{2, 2.75}};
  in.recipe = nlohmann::ordered_json::parse(R"({"format":"modelc-recipe/1","train":{"steps":2,"lr_schedule":"<script>x</script>"}})");
  ReportCredit c;
  c.title = "<script>alert('title')</script>";
  c.author = "A & B";
  c.license = "CC-BY-4.0";
  c.source_url = "javascript:alert(1)";
  c.sha256 = std::string(64, 'c');
  c.tokens = 100;
  c.share = 1.0;
  in.credits.push_back(c);
  c.title = "Second";
  c.source_url = "https://example.org/a?b=1&c=\"2\"";
  c.tokens = 0;
  c.share = 0;
  in.credits.push_back(c);
  in.licence.checked = true;
  in.licence.summary = "no conflicts <ok>";
  in.licence.rows.push_back({"<script>d</script>", "CC-BY-NC-4.0", "conflict", "non-commercial: <b>x</b>"});
  return in;
}

TEST(ReportHtml, EverySourceStringIsEscaped) {
  const std::string html = RenderReportHtml(Hostile());
  EXPECT_FALSE(Contains(html, "<script")) << html;
  EXPECT_FALSE(Contains(html, "<img")) << html;
  EXPECT_FALSE(Contains(html, "<b>bold"));
  EXPECT_TRUE(Contains(html, "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;"));
  EXPECT_TRUE(Contains(html, "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"));
  EXPECT_TRUE(Contains(html, "&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_TRUE(Contains(html, "A &amp; B"));
  EXPECT_TRUE(Contains(html, "m&lt;x&gt;.gguf"));
  // Only web addresses become links.
  EXPECT_FALSE(Contains(html, "href=\"javascript:"));
  EXPECT_TRUE(Contains(html, "<a href=\"https://example.org/a?b=1&amp;c=&quot;2&quot;\">"));
  // No scripts at all, and the browser is told so.
  EXPECT_TRUE(Contains(html, "Content-Security-Policy\" content=\"default-src 'none'"));
  EXPECT_FALSE(Contains(html, "onerror=\""));
}

TEST(ReportHtml, HasEverySectionAndIsDeterministic) {
  const ReportInputs in = Hostile();
  const std::string html = RenderReportHtml(in);
  for (const char* id : {"summary", "loss-curves", "hyperparameters", "credits", "licence", "audit", "hashes"})
    EXPECT_TRUE(Contains(html, std::string("<section id=\"") + id + "\">")) << id;
  EXPECT_EQ(Count(html, "<svg"), 1);
  EXPECT_EQ(Count(html, "<polyline class=\"series train\""), 1);
  EXPECT_EQ(Count(html, "<polyline class=\"series val\""), 1);
  EXPECT_TRUE(Contains(html, "<code>train.steps</code></th><td>2</td>"));
  EXPECT_TRUE(Contains(html, "100.00&#160;%"));
  EXPECT_TRUE(Contains(html, "no conflicts &lt;ok&gt;"));
  EXPECT_TRUE(Contains(html, "<td>&lt;script&gt;d&lt;/script&gt;</td><td>CC-BY-NC-4.0</td><td><span class=\"badge absent\">conflict</span></td><td>non-commercial: &lt;b&gt;x&lt;/b&gt;</td>"))
      << html;
  EXPECT_TRUE(Contains(html, "No audit:"));
  EXPECT_TRUE(html.rfind("<!DOCTYPE html>", 0) == 0);
  EXPECT_EQ(html, RenderReportHtml(in));
}

TEST(ReportHtml, AuditVerdictAndComponents) {
  ReportInputs in = Hostile();
  in.audit.available = true;
  in.audit.report.osaid = false;
  in.audit.report.mof_class = 0;
  in.audit.report.missing_for_next = {"Model card (absent)"};
  AuditComponent a;
  a.framework = "OSAID";
  a.name = "Code";
  a.presence = Presence::kPartial;
  a.evidence = "modelc <unknown licence>";
  in.audit.report.components.push_back(a);
  const std::string html = RenderReportHtml(in);
  EXPECT_TRUE(Contains(html, "does not meet it; missing: Code")) << html;
  EXPECT_TRUE(Contains(html, "below Class III; for Class III (Open Model) missing: Model card (absent)"));
  EXPECT_TRUE(Contains(html, "<span class=\"badge partial\">partial</span>"));
  EXPECT_TRUE(Contains(html, "modelc &lt;unknown licence&gt;"));
}

TEST(ReportPathTest, StemBesideTheBinary) {
  EXPECT_EQ(ReportPath("fortunes-gpt.gguf"), "fortunes-gpt.report.html");
  EXPECT_EQ(ReportPath("/a/b/m.gguf"), "/a/b/m.report.html");
  EXPECT_EQ(ReportPath("out/m.v2.gguf"), "out/m.v2.report.html");
}

// End to end: a tiny build writes the report beside the binary.
class ReportCli : public ::testing::Test {
 protected:
  TempDir tmp;
};

TEST_F(ReportCli, BuildWritesItAndReportRegeneratesTheSameBytes) {
  SourceSpec spec;
  spec.name = "rep";
  spec.n_layer = 1;
  spec.steps = 12;
  spec.eval_every = 4;
  WriteSource(tmp / "src", spec);
  // A title with markup, as model.toml allows.
  std::string toml = Slurp(tmp / "src/model.toml");
  toml = std::regex_replace(toml, std::regex("title = \"[^\"]*\""), "title = \"<script>alert(1)</script> words\"");
  WriteText(tmp / "src/model.toml", toml);
  fs::create_directories(tmp / "out");
  Proc p = RunModelc({"build", tmp / "src", "-o", tmp / "out/rep.gguf", "--threads", "1", "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  const auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["report"], tmp / "out/rep.report.html");
  const std::string html = Slurp(tmp / "out/rep.report.html");
  EXPECT_FALSE(Contains(html, "<script"));
  EXPECT_TRUE(Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt; words"));
  EXPECT_TRUE(Contains(html, "<code id=\"binary-sha256\">" + j["sha256"].get<std::string>() + "</code>"));
  EXPECT_TRUE(Contains(html, "<code id=\"source-hash\">" + j["source_hash"].get<std::string>() + "</code>"));
  // One train point per step, one val point per evaluation (steps 4, 8, 12).
  EXPECT_EQ(PolylinePoints(html, "train").size(), 12u);
  EXPECT_EQ(PolylinePoints(html, "val").size(), 3u);
  EXPECT_TRUE(Contains(html, "<code>train.steps</code></th><td>12</td>"));

  // Regenerated from the binary alone: the same bytes (also with -o).
  p = RunModelc({"report", tmp / "out/rep.gguf"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(p.out, "wrote " + (tmp / "out/rep.report.html") + "\n");
  EXPECT_EQ(Slurp(tmp / "out/rep.report.html"), html);
  // An up-to-date build whose report is missing writes it again (same bytes).
  fs::remove(tmp / "out/rep.report.html");
  p = RunModelc({"build", tmp / "src", "-o", tmp / "out/rep.gguf", "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(nlohmann::json::parse(p.out)["up_to_date"], true) << p;
  EXPECT_EQ(Slurp(tmp / "out/rep.report.html"), html);
  // Written elsewhere, beside a binary without a report, it is not the
  // binary's technical report (the audit would not find it there).
  fs::create_directories(tmp / "alone");
  fs::copy_file(tmp / "out/rep.gguf", tmp / "alone/rep.gguf");
  p = RunModelc({"report", tmp / "alone/rep.gguf", "-o", tmp / "other.html"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(Slurp(tmp / "other.html"), "no report document was found"));
  EXPECT_FALSE(Contains(html, "no report document was found"));

  // A second build of the same source elsewhere (2 threads): same report
  // except the file name, which is the same here.
  fs::create_directories(tmp / "out2");
  p = RunModelc({"build", tmp / "src", "-o", tmp / "out2/rep.gguf", "--threads", "2", "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(Slurp(tmp / "out2/rep.report.html"), html);
}

TEST_F(ReportCli, Errors) {
  Proc p = RunModelc({"report", tmp / "missing.gguf"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_EQ(CountLines(p.err), 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: ") && Contains(p.err, "missing.gguf")) << p;
  WriteText(tmp / "junk.gguf", "not a gguf file at all");
  p = RunModelc({"report", tmp / "junk.gguf"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_EQ(CountLines(p.err), 1) << p;
  EXPECT_TRUE(Contains(p.err, "junk.gguf")) << p;
  EXPECT_FALSE(fs::exists(tmp / "junk.report.html"));
  p = RunModelc({"report", "--help"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "--output")) << p;
}

}  // namespace
}  // namespace modelc
