// modelc audit: every component decision of the OSAID 1.0 and the MOF
// (table-driven over AuditFacts), the class / verdict logic, and end to end
// on a real build with --source, --checkpoints and --verified-rebuild.
#include <cctype>
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "provenance/audit.h"

namespace modelc {
namespace {

using namespace testutil;

// Everything present: an OSI-licensed modelc, open data checked against its
// pins, documents, paper, checkpoints.
AuditFacts Full() {
  AuditFacts f;
  f.code_license = "MIT";
  f.model_path = "m.gguf";
  f.model_sha256 = std::string(64, 'a');
  f.gguf_ok = f.modelc_build = f.recipe_hash_ok = f.weights_ok = true;
  f.architecture = "gpt2: 1 layers, 2 heads, 32 embd, context 32, vocab 256";
  f.parameters = 1000;
  f.name = "m";
  f.license = "Apache-2.0";
  f.description = "a model";
  f.authors = "someone";
  f.modelc_version = "0.1.0";
  f.source_hash = std::string(64, 'b');
  f.tokenizer = "byte";
  f.has_val_loss = true;
  f.val_loss = 2.5;
  f.val_curve_points = 3;
  f.chain_links = 4;
  for (int i = 0; i < 3; ++i) {
    AuditDataSource d;
    d.title = "T" + std::to_string(i);
    d.author = "A";
    d.license = i == 0 ? "CC0-1.0" : i == 1 ? "CC-BY-4.0" : "MIT";
    d.source_url = "https://example.org/" + std::to_string(i);
    d.path = "d" + std::to_string(i);
    d.sha256 = std::string(64, 'c');
    d.bytes = 100;
    d.val_tokens = 10;
    d.file = FileCheck::kMatches;
    f.data.push_back(d);
  }
  f.source_given = true;
  f.source_dir = "src";
  f.has_model_card = f.has_data_card = f.has_report = f.has_paper = true;
  f.checkpoints_given = true;
  f.checkpoints_matching = 4;
  return f;
}

const AuditComponent* Find(const AuditReport& r, const std::string& fw, const std::string& name) {
  for (const AuditComponent& c : r.components)
    if (c.framework == fw && c.name == name) return &c;
  return nullptr;
}

TEST(Audit, ComponentListsAreTheFrameworks) {
  const AuditReport r = EvaluateAudit(Full());
  std::vector<std::string> osaid, mof3, mof2, mof1;
  for (const AuditComponent& c : r.components) {
    if (c.framework == "OSAID") osaid.push_back(c.name);
    if (c.framework == "MOF") (c.mof_class == 3 ? mof3 : c.mof_class == 2 ? mof2 : mof1).push_back(c.name);
  }
  EXPECT_EQ(osaid, (std::vector<std::string>{"Data Information", "Code", "Parameters"}));
  EXPECT_EQ(mof3, (std::vector<std::string>{"Model architecture", "Model parameters (Final)", "Technical report",
                                            "Evaluation results", "Model card", "Data card", "Sample model outputs"}));
  EXPECT_EQ(mof2, (std::vector<std::string>{"Training code", "Inference code", "Evaluation code", "Evaluation data",
                                            "Supporting libraries and tools"}));
  EXPECT_EQ(mof1, (std::vector<std::string>{"Research paper", "Datasets", "Data preprocessing code",
                                            "Model parameters (Intermediate)", "Model metadata"}));
  EXPECT_TRUE(Find(r, "MOF", "Sample model outputs")->optional);
  EXPECT_TRUE(Find(r, "MOF", "Supporting libraries and tools")->optional);
  EXPECT_TRUE(Find(r, "MOF", "Model metadata")->optional);
  EXPECT_EQ(mof3.size() + mof2.size() + mof1.size(), 17u);
}

TEST(Audit, EverythingPresentIsClassIAndOpenSourceAi) {
  const AuditReport r = EvaluateAudit(Full());
  for (const AuditComponent& c : r.components)
    if (!c.optional || c.name != "Sample model outputs")
      EXPECT_EQ(c.presence, Presence::kPresent) << c.framework << " " << c.name << ": " << c.evidence;
  EXPECT_TRUE(r.osaid);
  EXPECT_EQ(r.mof_class, 1);
  EXPECT_TRUE(r.missing_for_next.empty());
  const std::string ev = Find(r, "OSAID", "Data Information")->evidence;
  EXPECT_EQ(ev.rfind("3 sources, all sha256-pinned, all with public URLs, all under open data licences; data files in "
                     "src: 3 of 3 match their pins;",
                     0),
            0u)
      << ev;
}

struct Case {
  const char* what;
  std::function<void(AuditFacts&)> edit;
  const char* framework;
  const char* component;
  Presence expect;
  const char* evidence;  // a substring of the evidence
  int mof_class;         // the class that results
  bool osaid;
};

class AuditDecision : public ::testing::TestWithParam<Case> {};

TEST_P(AuditDecision, Decides) {
  const Case& c = GetParam();
  AuditFacts f = Full();
  c.edit(f);
  const AuditReport r = EvaluateAudit(f);
  const AuditComponent* comp = Find(r, c.framework, c.component);
  ASSERT_NE(comp, nullptr) << c.component;
  EXPECT_EQ(comp->presence, c.expect) << c.what << ": " << comp->evidence;
  EXPECT_TRUE(Contains(comp->evidence, c.evidence)) << c.what << ": " << comp->evidence;
  EXPECT_EQ(r.mof_class, c.mof_class) << c.what;
  EXPECT_EQ(r.osaid, c.osaid) << c.what;
}

const Case kCases[] = {
    // OSAID Data Information
    {"a source without URL and no files checked", [](AuditFacts& f) { f.data[2].source_url = ""; for (auto& d : f.data) d.file = FileCheck::kNotChecked; f.source_given = false; },
     "OSAID", "Data Information", Presence::kPartial, "3 sources, all sha256-pinned, 2 with public URLs, 1 without", 3, false},
    {"a source without URL but its file checked", [](AuditFacts& f) { f.data[2].source_url = ""; },
     "OSAID", "Data Information", Presence::kPresent, "2 with public URLs, 1 without", 1, true},
    {"a source without author", [](AuditFacts& f) { f.data[1].author = ""; },
     "OSAID", "Data Information", Presence::kPartial, "1 without title, author or licence", 1, false},
    {"no data", [](AuditFacts& f) { f.data.clear(); },
     "OSAID", "Data Information", Presence::kAbsent, "no data sources recorded", 0, false},
    {"recipe does not hash to the source hash", [](AuditFacts& f) { f.recipe_hash_ok = false; },
     "OSAID", "Data Information", Presence::kPartial, "", 3, false},
    // OSAID Code
    {"modelc without licence", [](AuditFacts& f) { f.code_license = ""; },
     "OSAID", "Code", Presence::kPartial, "modelc's source declares no licence", 0, false},
    {"modelc under a non-OSI licence", [](AuditFacts& f) { f.code_license = "CC-BY-NC-4.0"; },
     "OSAID", "Code", Presence::kPartial, "licence CC-BY-NC-4.0 is not OSI-approved", 0, false},
    {"not a modelc build", [](AuditFacts& f) { f.modelc_build = f.recipe_hash_ok = false; },
     "OSAID", "Code", Presence::kAbsent, "not a modelc build", 0, false},
    // OSAID Parameters
    {"weights under CC-BY (open, not OSI)", [](AuditFacts& f) { f.license = "CC-BY-4.0"; },
     "OSAID", "Parameters", Presence::kPartial, "licence CC-BY-4.0 is not OSI-approved", 1, false},
    {"weights without licence", [](AuditFacts& f) { f.license = ""; },
     "OSAID", "Parameters", Presence::kPartial, "no licence", 0, false},
    {"weights do not load", [](AuditFacts& f) { f.weights_ok = false; f.weights_error = "missing tensor x"; },
     "OSAID", "Parameters", Presence::kAbsent, "missing tensor x", 0, false},
    {"dual licence with one OSI side", [](AuditFacts& f) { f.license = "CC-BY-NC-4.0 OR MIT"; },
     "OSAID", "Parameters", Presence::kPresent, "(OSI-approved)", 1, true},
    // MOF class III
    {"model parameters under NC", [](AuditFacts& f) { f.license = "CC-BY-NC-4.0"; },
     "MOF", "Model parameters (Final)", Presence::kPartial, "licence CC-BY-NC-4.0 (not open)", 0, false},
    {"no report document", [](AuditFacts& f) { f.has_report = f.has_paper = false; },
     "MOF", "Technical report", Presence::kPartial, "no report document was found", 0, true},
    {"only a paper counts as report", [](AuditFacts& f) { f.has_report = false; },
     "MOF", "Technical report", Presence::kPresent, "found a report document", 1, true},
    {"no held-out tokens", [](AuditFacts& f) { for (auto& d : f.data) d.val_tokens = 0; },
     "MOF", "Evaluation results", Presence::kPartial, "no held-out tokens", 0, true},
    {"no evaluation", [](AuditFacts& f) { f.has_val_loss = false; },
     "MOF", "Evaluation results", Presence::kAbsent, "no evaluation recorded", 0, true},
    {"metadata but no model card", [](AuditFacts& f) { f.has_model_card = false; },
     "MOF", "Model card", Presence::kPartial, "no model card document", 0, true},
    {"no description, no card", [](AuditFacts& f) { f.has_model_card = false; f.description = ""; },
     "MOF", "Model card", Presence::kAbsent, "no model description", 0, true},
    {"manifest is a data card", [](AuditFacts& f) { f.has_data_card = false; },
     "MOF", "Data card", Presence::kPresent, "(title, author, licence, size and sha256 of each)", 1, true},
    {"incomplete manifest, no data card", [](AuditFacts& f) { f.has_data_card = false; f.data[0].title = ""; },
     "MOF", "Data card", Presence::kPartial, "the data manifest in the binary", 0, false},
    {"sample outputs are optional", [](AuditFacts&) {},
     "MOF", "Sample model outputs", Presence::kAbsent, "modelc run", 1, true},
    // MOF class II
    {"training code without licence", [](AuditFacts& f) { f.code_license = ""; },
     "MOF", "Training code", Presence::kPartial, "declares no licence", 0, false},
    {"recipe hash mismatch", [](AuditFacts& f) { f.recipe_hash_ok = false; },
     "MOF", "Training code", Presence::kPartial, "does NOT hash to the source hash", 3, false},
    {"no val loss, no evaluation code", [](AuditFacts& f) { f.has_val_loss = false; },
     "MOF", "Evaluation code", Presence::kAbsent, "no evaluation recorded", 0, true},
    {"evaluation data not checked", [](AuditFacts& f) { f.source_given = false; for (auto& d : f.data) d.file = FileCheck::kNotChecked; },
     "MOF", "Evaluation data", Presence::kPartial, "files not checked (--source DIR)", 3, true},
    {"evaluation data with an NC source", [](AuditFacts& f) { f.data[1].license = "CC-BY-NC-4.0"; },
     "MOF", "Evaluation data", Presence::kPartial, "not every data licence is open", 3, true},
    // MOF class I
    {"no paper", [](AuditFacts& f) { f.has_paper = false; },
     "MOF", "Research paper", Presence::kAbsent, "no research paper", 2, true},
    {"a data file differs from its pin", [](AuditFacts& f) { f.data[0].file = FileCheck::kMismatch; },
     "MOF", "Datasets", Presence::kPartial, "2 of 3 match their pins, 1 differ", 3, true},
    {"a data file is missing", [](AuditFacts& f) { f.data[0].file = FileCheck::kMissing; },
     "MOF", "Datasets", Presence::kPartial, "2 of 3 match their pins, 1 missing", 3, true},
    {"another source in the folder", [](AuditFacts& f) { f.source_problem = "src has source hash x"; },
     "MOF", "Datasets", Presence::kPartial, "src has source hash x", 3, true},
    {"ND data is not open", [](AuditFacts& f) { f.data[2].license = "CC-BY-ND-4.0"; },
     "MOF", "Datasets", Presence::kPartial, "2 of 3 under open data licences", 3, true},
    {"no checkpoints supplied", [](AuditFacts& f) { f.checkpoints_given = false; f.checkpoints_matching = 0; },
     "MOF", "Model parameters (Intermediate)", Presence::kPartial, "checkpoints not supplied", 2, true},
    {"some checkpoints do not match", [](AuditFacts& f) { f.checkpoints_matching = 3; },
     "MOF", "Model parameters (Intermediate)", Presence::kPartial, "3 of them match the supplied checkpoints", 2, true},
    {"no hash chain", [](AuditFacts& f) { f.chain_links = 0; },
     "MOF", "Model parameters (Intermediate)", Presence::kAbsent, "no intermediate states recorded", 2, true},
    {"tokenizer recorded in preprocessing", [](AuditFacts& f) { f.tokenizer = "bpe"; },
     "MOF", "Data preprocessing code", Presence::kPresent, "the bpe tokenizer", 1, true},
};

// Test names from the case's description ("no paper" -> No_paper_17): ctest
// lists them readably.
INSTANTIATE_TEST_SUITE_P(Table, AuditDecision, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n;
                           for (const char* c = info.param.what; *c; ++c)
                             n += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
                           if (!n.empty()) n[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(n[0])));
                           return n + "_" + std::to_string(info.index);
                         });

TEST(Audit, MissingForNextClassListsRequiredComponentsOnly) {
  AuditFacts f = Full();
  f.has_paper = false;
  f.checkpoints_given = false;
  AuditReport r = EvaluateAudit(f);
  EXPECT_EQ(r.mof_class, 2);
  EXPECT_EQ(r.missing_for_next,
            (std::vector<std::string>{"Research paper (absent)", "Model parameters (Intermediate) (partial)"}));
  f = Full();
  f.code_license = "";
  r = EvaluateAudit(f);
  EXPECT_EQ(r.mof_class, 0);
  EXPECT_EQ(r.missing_for_next, (std::vector<std::string>{"Model architecture (partial)"}));
  const std::string text = AuditText(f, r);
  EXPECT_TRUE(Contains(text, "class: none; for Class III (Open Model) missing: Model architecture (partial)")) << text;
  EXPECT_TRUE(Contains(text, "verdict: not Open Source AI under OSAID 1.0; missing: Code (partial)")) << text;
  const nlohmann::json j = AuditJson(f, r);
  EXPECT_TRUE(j["mof"]["class"].is_null());
  EXPECT_EQ(j["osaid"]["missing"], nlohmann::json::array({"Code"}));
}

TEST(Audit, OtherEvidence) {
  AuditFacts f = Full();
  AuditReport r = EvaluateAudit(f);
  EXPECT_TRUE(Contains(r.other[0].second, "not verified")) << r.other[0].second;
  f.rebuild = RebuildResult::kIdentical;
  f.rebuild_evidence = "verified rebuild on 2025-01-01 matched";
  f.statement_present = f.statement_matches = true;
  r = EvaluateAudit(f);
  EXPECT_EQ(r.other[0], (std::pair<std::string, std::string>{"reproducible", "verified rebuild on 2025-01-01 matched"}));
  EXPECT_EQ(r.other[1].second, "m.gguf.intoto.json matches the binary");
}

// ---------------------------------------------------------------------------
// End to end.

class AuditCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    SourceSpec s;
    s.name = "audit-tiny";
    s.steps = 6;
    s.n_layer = 1;
    WriteSource(*dir_ / "src", s);
    fs::create_directories(*dir_ / "out");
    Proc p = RunModelc({"build", *dir_ / "src", "-o", *dir_ / "out/m.gguf", "-q", "--keep-checkpoints"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
  }
  static void TearDownTestSuite() { delete dir_; }
  static nlohmann::json Audit(std::vector<std::string> extra) {
    std::vector<std::string> args = {"audit", *dir_ / "out/m.gguf", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    Proc p = RunModelc(args);
    EXPECT_TRUE(p.exited && p.code == 0) << p;
    return nlohmann::json::parse(p.out, nullptr, false);
  }
  static nlohmann::json Component(const nlohmann::json& j, const std::string& fw, const std::string& name) {
    for (const auto& c : j[fw]["components"])
      if (c["component"] == name) return c;
    ADD_FAILURE() << name;
    return {};
  }
  static TempDir* dir_;
};
TempDir* AuditCli::dir_ = nullptr;

TEST_F(AuditCli, BinaryAlone) {
  const nlohmann::json j = Audit({});
  EXPECT_EQ(j["sha256"], FileSha(*dir_ / "out/m.gguf"));
  const auto di = Component(j, "osaid", "Data Information");
  EXPECT_EQ(di["status"], "present");
  EXPECT_TRUE(Contains(di["evidence"], "1 source, sha256-pinned, with a public URL, under open data licences")) << di;
  EXPECT_EQ(Component(j, "osaid", "Parameters")["status"], "present");  // MIT
  EXPECT_EQ(Component(j, "mof", "Datasets")["status"], "partial");
  EXPECT_TRUE(Contains(Component(j, "mof", "Datasets")["evidence"], "files not checked (--source DIR)"));
  EXPECT_EQ(Component(j, "mof", "Evaluation results")["status"], "present");
  EXPECT_TRUE(Contains(Component(j, "mof", "Model parameters (Intermediate)")["evidence"],
                       "the hash chain records"));
  EXPECT_TRUE(Contains(j["other"]["provenance"], "m.gguf.intoto.json matches the binary")) << j["other"];
  // Text form: one line per component, the verdicts.
  Proc p = RunModelc({"audit", *dir_ / "out/m.gguf"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "Open Source AI Definition 1.0\n")) << p.out;
  EXPECT_TRUE(Contains(p.out, "  class: ")) << p.out;
  EXPECT_TRUE(Contains(p.out, "  verdict: ")) << p.out;
}

TEST_F(AuditCli, SourceCheckpointsAndVerifiedRebuild) {
  // Publish the checkpoints; record a verify result.
  Proc p = RunModelc({"checkpoint", "export", *dir_ / "out/m.gguf", *dir_ / "ckpt"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  p = RunModelc({"verify", *dir_ / "out/m.gguf", "--source", *dir_ / "src", "--json", "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  WriteText(*dir_ / "verify.json", p.out);
  const nlohmann::json j =
      Audit({"--source", *dir_ / "src", "--checkpoints", *dir_ / "ckpt", "--verified-rebuild", *dir_ / "verify.json"});
  EXPECT_EQ(Component(j, "mof", "Datasets")["status"], "present") << Component(j, "mof", "Datasets");
  EXPECT_TRUE(Contains(Component(j, "mof", "Datasets")["evidence"], "1 of 1 match their pins"));
  EXPECT_EQ(Component(j, "mof", "Evaluation data")["status"], "present");
  EXPECT_EQ(Component(j, "mof", "Model parameters (Intermediate)")["status"], "present")
      << Component(j, "mof", "Model parameters (Intermediate)");
  EXPECT_TRUE(Contains(j["other"]["reproducible"], "verified rebuild on ")) << j["other"];
  EXPECT_TRUE(Contains(j["other"]["reproducible"], " matched")) << j["other"];

  // Change the data file: the check sees it.
  TempDir t;
  fs::copy(*dir_ / "src", t / "src");
  WriteText(t / "src/corpus.txt", "changed");
  const nlohmann::json k = Audit({"--source", t / "src"});
  EXPECT_EQ(Component(k, "mof", "Datasets")["status"], "partial");
  EXPECT_TRUE(Contains(Component(k, "mof", "Datasets")["evidence"], "0 of 1 match their pins, 1 differ"))
      << Component(k, "mof", "Datasets");
  // A verify result about another binary is not taken as evidence.
  WriteText(t / "v.json", R"({"result":"identical","model_sha256":"00"})");
  const nlohmann::json v = Audit({"--verified-rebuild", t / "v.json"});
  EXPECT_TRUE(Contains(v["other"]["reproducible"], "is about another binary")) << v["other"];
}

TEST_F(AuditCli, BadInput) {
  Proc p = RunModelc({"audit", *dir_ / "missing.gguf"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_EQ(CountLines(p.err), 1) << p;
  TempDir t;
  WriteText(t / "junk.gguf", "GGUF junk");
  p = RunModelc({"audit", t / "junk.gguf"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "modelc: error: " + t / "junk.gguf")) << p;
  p = RunModelc({"audit", *dir_ / "out/m.gguf", "--rebuild"});
  EXPECT_TRUE(p.exited && p.code == 1) << p;
  EXPECT_TRUE(Contains(p.err, "--rebuild needs --source DIR")) << p;
  p = RunModelc({"audit", "--help"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
}

}  // namespace
}  // namespace modelc
