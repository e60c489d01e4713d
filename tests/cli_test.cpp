// End-to-end tests of the modelc command line: the built `modelc` binary
// (MODELC_BIN) is run as a subprocess on small generated model sources.
//
// Every test works in its own temporary folder under /tmp; one model is built
// once (lazily) and shared by the tests that only read it.
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace testutil;


// ---------------------------------------------------------------------------
// The shared model: built once, removed at exit.

struct SharedModel {
  TempDir tmp;
  std::string src, model, hash;
  SourceSpec spec;
  Proc build;
  bool ok = false;
};

SharedModel* g_shared = nullptr;

class SharedModelEnv : public ::testing::Environment {
 public:
  void TearDown() override {
    delete g_shared;
    g_shared = nullptr;
  }
};
[[maybe_unused]] ::testing::Environment* const kSharedEnv =
    ::testing::AddGlobalTestEnvironment(new SharedModelEnv);

const SharedModel& Shared() {
  if (!g_shared) {
    g_shared = new SharedModel;
    SharedModel& s = *g_shared;
    s.src = s.tmp / "src";
    s.model = s.tmp / "out/model.gguf";
    fs::create_directories(s.tmp / "out");
    WriteSource(s.src, s.spec);
    s.build = RunModelc({"build", s.src, "-o", s.model, "--threads", "1"});
    s.ok = s.build.exited && s.build.code == 0 && fs::exists(s.model);
    if (s.ok) s.hash = FileSha(s.model);
  }
  return *g_shared;
}

#define ASSERT_SHARED_OK()                                     \
  do {                                                         \
    const SharedModel& s_ = Shared();                          \
    ASSERT_TRUE(s_.ok) << "shared model build failed: " << s_.build; \
  } while (0)

json InspectJson(const std::string& model) {
  Proc p = RunModelc({"inspect", model, "--json"});
  EXPECT_TRUE(p.exited && p.code == 0) << p;
  json j = json::parse(p.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "inspect --json output is not JSON:\n" << p.out;
  return j;
}

// A failed command: exit status 1 (not a signal), nothing on stdout, exactly
// one "modelc: error: ..." line on stderr containing every string in `want`.
void ExpectCleanError(const Proc& p, const std::vector<std::string>& want) {
  EXPECT_TRUE(p.exited) << "killed by signal " << p.signal << "\n" << p;
  EXPECT_EQ(p.code, 1) << p;
  EXPECT_EQ(p.out, "") << p;
  EXPECT_EQ(CountLines(p.err), 1) << p;
  EXPECT_EQ(p.err.rfind("modelc: error: ", 0), 0u) << p;
  for (const auto& w : want) EXPECT_TRUE(Contains(p.err, w)) << "missing '" << w << "' in:\n" << p;
}

// Each test gets its own temp folder.
class CliTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::string Dir() const { return tmp_.path(); }
};

class CliDeterminism : public CliTest {};
class CliBuild : public CliTest {};
class CliInspect : public CliTest {};
class CliRun : public CliTest {};
class CliErrors : public CliTest {};
class CliHelp : public CliTest {};

// ---------------------------------------------------------------------------
// 1. Determinism.

TEST_F(CliDeterminism, ThreadCountDoesNotChangeTheBytes) {
  ASSERT_SHARED_OK();
  // A second copy of the source in another folder: the bytes must not depend
  // on where the source lives either.
  const std::string src = tmp_ / "src";
  WriteSource(src, Shared().spec);
  for (int threads : {1, 2, 3, 8}) {
    const std::string out = tmp_ / ("t" + std::to_string(threads) + ".gguf");
    Proc p = RunModelc({"build", src, "-o", out, "--threads", std::to_string(threads), "-q"});
    ASSERT_TRUE(p.exited && p.code == 0) << "threads " << threads << "\n" << p;
    const std::string hash = FileSha(out);
    EXPECT_EQ(Capture(p.out, "sha256\\s+([0-9a-f]{64})"), hash) << p;
    EXPECT_EQ(hash, Shared().hash) << "--threads " << threads << " changed the model binary";
  }
}

// Issue 3's "big" shape (6 layers, 6 heads, 384 channels, context 256,
// batch 16) for two steps: the blocking of the large GEMMs (several K blocks,
// many output tiles, causal attention row blocks) must not depend on threads.
TEST_F(CliDeterminism, BigConfigSameBytesOnOneAndTwoThreads) {
  SourceSpec s;
  s.name = "big";
  s.n_layer = 6; s.n_head = 6; s.n_embd = 384; s.context = 256;
  s.steps = 2; s.batch_size = 16; s.micro_batch_size = 16;
  s.eval_every = 0; s.eval_batches = 1;
  s.corpus_bytes = 80000;
  const std::string src = tmp_ / "big";
  WriteSource(src, s);
  std::string hashes[2];
  for (int threads : {1, 2}) {
    const std::string out = tmp_ / ("big" + std::to_string(threads) + ".gguf");
    Proc p = RunModelc({"build", src, "-o", out, "--threads", std::to_string(threads), "-q"});
    ASSERT_TRUE(p.exited && p.code == 0) << "threads " << threads << "\n" << p;
    hashes[threads - 1] = FileSha(out);
  }
  EXPECT_EQ(hashes[0], hashes[1]) << "1 and 2 threads built different binaries";
}

TEST_F(CliDeterminism, IsaDoesNotChangeTheBytes) {
  ASSERT_SHARED_OK();
  for (const char* isa : {"scalar", "avx2", "avx512"}) {
    const std::string out = tmp_ / (std::string(isa) + ".gguf");
    Proc p = RunModelc({"build", Shared().src, "-o", out, "--threads", "2", "-q"}, {{"MODELC_ISA", isa}});
    ASSERT_TRUE(p.exited && p.code == 0) << "MODELC_ISA=" << isa << "\n" << p;
    EXPECT_EQ(FileSha(out), Shared().hash) << "MODELC_ISA=" << isa << " changed the model binary";
    EXPECT_EQ(Capture(p.out, "sha256\\s+([0-9a-f]{64})"), Shared().hash) << p;
  }
}

TEST_F(CliDeterminism, RunTextDoesNotDependOnThreadsOrIsa) {
  ASSERT_SHARED_OK();
  const std::vector<std::string> args = {"run",    Shared().model, "--prompt", "The ", "-n", "20",
                                         "--seed", "3",            "--temperature", "1"};
  Proc ref = RunModelc(args);
  ASSERT_TRUE(ref.exited && ref.code == 0) << ref;
  auto with_threads = args;
  with_threads.insert(with_threads.end(), {"--threads", "2"});
  Proc p2 = RunModelc(with_threads);
  EXPECT_EQ(p2.out, ref.out) << p2;
  for (const char* isa : {"scalar", "avx2"}) {
    Proc p = RunModelc(args, {{"MODELC_ISA", isa}});
    EXPECT_EQ(p.out, ref.out) << "MODELC_ISA=" << isa << "\n" << p;
  }
}

// ---------------------------------------------------------------------------
// 2. Build output.

TEST_F(CliBuild, JsonSummaryIsOneObjectMatchingTheFile) {
  const std::string src = tmp_ / "src";
  WriteSource(src);
  const std::string out = tmp_ / "m.gguf";
  Proc p = RunModelc({"build", src, "-o", out, "--threads", "2", "--json"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  const auto j = nlohmann::json::parse(p.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << "build --json output is not one JSON object:\n" << p.out;
  EXPECT_EQ(j.value("sha256", ""), FileSha(out));
  EXPECT_EQ(j.value("output", ""), out);
  EXPECT_EQ(j.value("name", ""), "tiny-cli");
  // A byte model: nats per token are nats per byte.
  EXPECT_EQ(j.value("val_nats_per_byte", -1.0), j.value("val_loss", -2.0));
  EXPECT_EQ(j.value("val_bytes_per_token", -1.0), 1.0);
  EXPECT_EQ(j.value("threads", 0), 2);
  EXPECT_EQ(j.value("source_hash", "").size(), 64u);
  for (const char* k : {"train_loss", "val_loss", "tokens_per_s", "steady_tokens_per_s", "peak_rss_mb"}) {
    ASSERT_TRUE(j.contains(k) && j[k].is_number()) << k << "\n" << p.out;
    EXPECT_GT(j[k].get<double>(), 0) << k;
  }
  EXPECT_EQ(j.value("tokens_seen", 0), j.value("steps", 0) * 4 * 32) << p.out;  // batch 4, context 32
}

TEST_F(CliBuild, PrintsSummaryAndWritesOutput) {
  const std::string src = tmp_ / "src";
  WriteSource(src);
  const std::string out_dir = tmp_ / "out";
  fs::create_directories(out_dir);
  const std::string out = out_dir + "/m.gguf";
  Proc p = RunModelc({"build", src, "-o", out, "--threads", "2"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;

  // stdout: the summary.
  EXPECT_TRUE(Contains(p.out, "built tiny-cli")) << p;
  const std::string train_loss = Capture(p.out, "train loss\\s+([0-9.]+)");
  const std::string val_loss = Capture(p.out, "val loss\\s+([0-9.]+)");
  const std::string unigram = Capture(p.out, "unigram baseline ([0-9.]+)");
  const std::string tps = Capture(p.out, "\\(([0-9.]+) tokens/s;");
  ASSERT_FALSE(train_loss.empty()) << p;
  ASSERT_FALSE(val_loss.empty()) << p;
  ASSERT_FALSE(unigram.empty()) << p;
  ASSERT_FALSE(tps.empty()) << p;
  for (const std::string& v : {train_loss, val_loss, unigram}) {
    const double x = std::stod(v);
    EXPECT_TRUE(std::isfinite(x) && x > 0) << v;
    EXPECT_LT(x, std::log(256.0)) << "loss above the uniform distribution's: " << v;
  }
  EXPECT_GT(std::stod(tps), 0) << p;
  EXPECT_EQ(Capture(p.out, "output\\s+(\\S+)"), out) << p;
  EXPECT_EQ(Capture(p.out, "sha256\\s+([0-9a-f]{64})"), FileSha(out)) << p;

  // The file, its provenance statement and its report, nothing else (no temp files), in the output folder.
  EXPECT_EQ(ListDir(out_dir), (std::vector<std::string>{"m.gguf", "m.gguf.intoto.json", "m.report.html"}));
  // The source folder is left as it was.
  EXPECT_EQ(ListDir(src), (std::vector<std::string>{"corpus.txt", "model.toml"}));

  // stderr is not a terminal: a header line, then plain "step N/M ..." lines.
  EXPECT_FALSE(Contains(p.err, "\r")) << p;
  EXPECT_FALSE(Contains(p.err, "\033")) << p;
  std::istringstream lines(p.err);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line)) << p;
  EXPECT_EQ(line.rfind("building tiny-cli", 0), 0u) << line;
  int steps_seen = 0;
  bool saw_last = false;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(std::regex_search(line, std::regex("^step [0-9]+/20 loss [0-9.]+"))) << "line: " << line;
    ++steps_seen;
    saw_last |= line.rfind("step 20/20 ", 0) == 0;
  }
  EXPECT_GE(steps_seen, 2) << p;
  EXPECT_TRUE(saw_last) << p;
  EXPECT_TRUE(Contains(p.err, " val ")) << "no validation loss in the progress lines\n" << p;
}

TEST_F(CliBuild, DefaultOutputIsModelNameInCurrentFolder) {
  const std::string src = tmp_ / "src";
  WriteSource(src);
  const std::string cwd = tmp_ / "cwd";
  fs::create_directories(cwd);
  Proc p = RunModelc({"build", src, "-q"}, {}, cwd);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(ListDir(cwd), (std::vector<std::string>{"tiny-cli.gguf", "tiny-cli.gguf.intoto.json", "tiny-cli.report.html"}));
  EXPECT_EQ(p.err, "") << "-q must print no progress\n" << p;
  EXPECT_EQ(Capture(p.out, "sha256\\s+([0-9a-f]{64})"), FileSha(cwd + "/tiny-cli.gguf"));
}

TEST_F(CliBuild, RelativeSourceFolder) {
  ASSERT_SHARED_OK();
  WriteSource(tmp_ / "src", Shared().spec);
  Proc p = RunModelc({"build", "src", "-o", "rel.gguf", "-q"}, {}, Dir());
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(FileSha(tmp_ / "rel.gguf"), Shared().hash);
}

// The default output is "<model name>.gguf" in the current folder: a model
// name must not make `modelc build` write anywhere else.
TEST_F(CliBuild, DefaultOutputStaysInCurrentFolder) {
  SourceSpec spec;
  spec.name = "../escaped";
  const std::string src = tmp_ / "src";
  WriteSource(src, spec, /*pin=*/false);  // the name is rejected before hashes matter
  const std::string cwd = tmp_ / "cwd";
  fs::create_directories(cwd);
  Proc p = RunModelc({"build", src, "-q"}, {}, cwd);
  EXPECT_TRUE(p.exited) << p;
  EXPECT_FALSE(fs::exists(tmp_ / "escaped.gguf"))
      << "model name \"../escaped\" made the default output land outside the current folder\n" << p;
  if (p.exited && p.code == 0) {
    EXPECT_EQ(ListDir(cwd).size(), 3u) << "the model (and its statement and report) is not in the current folder\n" << p;
  } else if (p.exited) {
    ExpectCleanError(p, {"name"});
    EXPECT_EQ(ListDir(cwd), std::vector<std::string>{});
  }
}

TEST_F(CliBuild, OverwritesAnExistingOutput) {
  ASSERT_SHARED_OK();
  const std::string out = tmp_ / "m.gguf";
  WriteText(out, "old contents");
  Proc p = RunModelc({"build", Shared().src, "-o", out, "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(FileSha(out), Shared().hash);
  EXPECT_EQ(ListDir(Dir()), (std::vector<std::string>{"m.gguf", "m.gguf.intoto.json", "m.report.html"}));
}

TEST_F(CliBuild, PinIsIdempotentAndPreservesTheRest) {
  const std::string src = tmp_ / "src";
  WriteSource(src);  // pins once
  const std::string before = Slurp(src + "/model.toml");
  Proc p = RunModelc({"build", "--pin", src});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.out, "already pinned")) << p;
  EXPECT_EQ(Slurp(src + "/model.toml"), before);
  // Pinning inserted exactly one line into the generated text.
  const std::string pinned_line = "sha256 = \"" + FileSha(src + "/corpus.txt") + "\"";
  EXPECT_EQ(before, ModelToml(SourceSpec{}, pinned_line));
  // --pin stops there: no model is built.
  EXPECT_EQ(ListDir(src), (std::vector<std::string>{"corpus.txt", "model.toml"}));
}

// ---------------------------------------------------------------------------
// 3. Provenance.

TEST_F(CliInspect, JsonCarriesArchitectureAndProvenance) {
  ASSERT_SHARED_OK();
  const SharedModel& s = Shared();
  json j = InspectJson(s.model);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.value("sha256", ""), s.hash);

  const json& a = j["architecture"];
  EXPECT_EQ(a["family"], "gpt2");
  EXPECT_EQ(a["n_layer"], s.spec.n_layer);
  EXPECT_EQ(a["n_head"], s.spec.n_head);
  EXPECT_EQ(a["n_embd"], s.spec.n_embd);
  EXPECT_EQ(a["context"], s.spec.context);
  EXPECT_EQ(a["vocab"], 256);
  ASSERT_TRUE(j["parameters"].is_number_integer());
  const int64_t params = j["parameters"].get<int64_t>();
  EXPECT_GT(params, 0);

  const json& m = j["metadata"];
  ASSERT_TRUE(m.is_object());
  EXPECT_EQ(m.value("general.architecture", ""), "gpt2");
  EXPECT_EQ(m.value("general.name", ""), s.spec.name);
  EXPECT_EQ(m.value("general.license", ""), s.spec.license);
  EXPECT_EQ(m.value("modelc.version", ""), MODELC_VERSION);
  EXPECT_EQ(m.value("gpt2.block_count", -1), s.spec.n_layer);
  EXPECT_EQ(m.value("gpt2.attention.head_count", -1), s.spec.n_head);
  EXPECT_EQ(m.value("gpt2.embedding_length", -1), s.spec.n_embd);
  EXPECT_EQ(m.value("gpt2.context_length", -1), s.spec.context);
  const std::string source_hash = m.value("modelc.source_hash", "");
  EXPECT_TRUE(IsHex64(source_hash)) << source_hash;

  // The recipe: the normalized model.toml; the source hash is its sha256.
  const std::string recipe_text = m.value("modelc.recipe", "");
  EXPECT_EQ(Sha256Hex(recipe_text), source_hash);
  json recipe = json::parse(recipe_text, nullptr, false);
  ASSERT_FALSE(recipe.is_discarded()) << recipe_text;
  EXPECT_EQ(recipe["architecture"]["n_layer"], s.spec.n_layer);
  EXPECT_EQ(recipe["architecture"]["n_head"], s.spec.n_head);
  EXPECT_EQ(recipe["architecture"]["n_embd"], s.spec.n_embd);
  EXPECT_EQ(recipe["architecture"]["context"], s.spec.context);
  EXPECT_EQ(recipe["train"]["steps"], s.spec.steps);
  EXPECT_EQ(recipe["train"]["batch_size"], s.spec.batch_size);
  EXPECT_EQ(recipe["train"]["seed"], s.spec.seed);

  // The data manifest: what the model was trained on.
  const std::string data_sha = FileSha(s.src + "/corpus.txt");
  json manifest = json::parse(m.value("modelc.data_manifest", ""), nullptr, false);
  ASSERT_TRUE(manifest.is_array() && manifest.size() == 1) << m.value("modelc.data_manifest", "");
  const json& d = manifest[0];
  EXPECT_EQ(d.value("title", ""), kDataTitle);
  EXPECT_EQ(d.value("sha256", ""), data_sha);
  EXPECT_EQ(d.value("path", ""), "corpus.txt");
  EXPECT_EQ(d.value("source_url", ""), kDataUrl);
  EXPECT_EQ(d.value("license", ""), "CC0-1.0");
  EXPECT_EQ(d.value("bytes", 0ull), fs::file_size(s.src + "/corpus.txt"));
  EXPECT_GT(d.value("tokens_used", 0ull), 0ull);
  EXPECT_EQ(j["data"], manifest);

  // Tensors: each with its own sha256; together they hold every parameter.
  const json& t = j["tensors"];
  ASSERT_TRUE(t.is_array() && !t.empty());
  std::set<std::string> names;
  int64_t elements = 0;
  for (const json& e : t) {
    EXPECT_TRUE(IsHex64(e.value("sha256", ""))) << e.dump();
    EXPECT_EQ(e.value("type", ""), "F32") << e.dump();
    EXPECT_TRUE(names.insert(e.value("name", "")).second) << "duplicate tensor " << e.dump();
    elements += e.value("elements", (int64_t)0);
  }
  EXPECT_EQ(elements, params);
  EXPECT_TRUE(names.count("token_embd.weight"));
}

TEST_F(CliInspect, PlainShowsTensorTableAndData) {
  ASSERT_SHARED_OK();
  const SharedModel& s = Shared();
  json j = InspectJson(s.model);
  Proc p = RunModelc({"inspect", s.model});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(p.err, "");
  EXPECT_TRUE(Contains(p.out, s.hash)) << p;
  EXPECT_TRUE(Contains(p.out, j["metadata"].value("modelc.source_hash", "?"))) << p;
  EXPECT_TRUE(Contains(p.out, "\ndata\n")) << p;
  EXPECT_TRUE(Contains(p.out, kDataTitle)) << p;
  EXPECT_TRUE(Contains(p.out, kDataUrl)) << p;
  EXPECT_TRUE(Contains(p.out, FileSha(s.src + "/corpus.txt"))) << p;
  EXPECT_TRUE(Contains(p.out, "\ntensors (" + std::to_string(j["tensors"].size()) + ")\n")) << p;
  for (const json& e : j["tensors"]) {
    // One row per tensor: name ... sha256.
    const std::string name = e.value("name", "");
    const std::string sha = e.value("sha256", "");
    EXPECT_TRUE(std::regex_search(p.out, std::regex("\n  " + std::regex_replace(name, std::regex("\\."), "\\.") +
                                                    " [^\n]* " + sha + "\n")))
        << "no table row for " << name;
  }
}

TEST_F(CliInspect, HyperparameterChangesSourceHash) {
  ASSERT_SHARED_OK();
  SourceSpec spec = Shared().spec;
  spec.learning_rate = "0.002";
  const std::string src = tmp_ / "src";
  WriteSource(src, spec);
  const std::string out = tmp_ / "lr.gguf";
  Proc p = RunModelc({"build", src, "-o", out, "-q"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  json a = InspectJson(Shared().model), b = InspectJson(out);
  const std::string ha = a["metadata"].value("modelc.source_hash", "");
  const std::string hb = b["metadata"].value("modelc.source_hash", "");
  EXPECT_TRUE(IsHex64(ha) && IsHex64(hb));
  EXPECT_NE(ha, hb);
  EXPECT_NE(FileSha(out), Shared().hash);
}

TEST_F(CliInspect, FileHasNoLocalPathOrHostname) {
  ASSERT_SHARED_OK();
  const SharedModel& s = Shared();
  const std::string bytes = Slurp(s.model);
  ASSERT_FALSE(bytes.empty());
  const std::string tmp = s.tmp.path();
  EXPECT_FALSE(Contains(bytes, tmp)) << "the model binary contains " << tmp;
  EXPECT_FALSE(Contains(bytes, fs::path(tmp).filename().string()))
      << "the model binary contains the temp folder's name";
  EXPECT_FALSE(Contains(bytes, "/tmp/")) << "the model binary contains a /tmp/ path";
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  const std::string hostname(host);
  if (hostname.size() >= 6) {
    EXPECT_FALSE(Contains(bytes, hostname)) << "the model binary contains the hostname " << hostname;
  } else if (!hostname.empty()) {
    // A short name can occur by chance in tensor bytes: look only at the metadata.
    json j = InspectJson(s.model);
    for (const auto& [k, v] : j["metadata"].items())
      if (v.is_string()) {
        EXPECT_FALSE(Contains(v.get<std::string>(), hostname)) << k << " contains the hostname";
      }
  }
}

// A path or a metadata key is a byte string, not necessarily UTF-8; `inspect
// --json` must still answer (with replacement characters), never abort.
TEST_F(CliInspect, JsonSurvivesNonUtf8Bytes) {
  ASSERT_SHARED_OK();
  const std::string model = Slurp(Shared().model);
  // 1. A valid model under a file name that is not UTF-8.
  const std::string odd_name = tmp_ / "model-\xff\xfe.gguf";
  WriteText(odd_name, model);
  Proc p = RunModelc({"inspect", odd_name, "--json"});
  EXPECT_TRUE(p.exited) << "inspect --json on a non-UTF-8 file name was killed by signal " << p.signal << "\n" << p;
  EXPECT_EQ(p.code, 0) << p;
  json j = json::parse(p.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << p;
  if (j.is_object()) {
    EXPECT_EQ(j.value("sha256", ""), Shared().hash);
  }
  Proc plain = RunModelc({"inspect", odd_name});
  EXPECT_TRUE(plain.exited && plain.code == 0) << plain;

  // 2. A metadata key with a byte that is not UTF-8 (the model still loads).
  std::string bytes = model;
  const size_t at = bytes.find("general.license");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xff';
  const std::string bad_key = tmp_ / "bad-key.gguf";
  WriteText(bad_key, bytes);
  Proc k = RunModelc({"inspect", bad_key, "--json"});
  EXPECT_TRUE(k.exited) << "inspect --json on a non-UTF-8 metadata key was killed by signal " << k.signal << "\n" << k;
  if (k.exited && k.code == 0) {
    EXPECT_FALSE(json::parse(k.out, nullptr, false).is_discarded()) << k;
  } else if (k.exited) {
    ExpectCleanError(k, {bad_key});
  }
}

// ---------------------------------------------------------------------------
// 4. Run.

Proc RunText(const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"run", Shared().model};
  args.insert(args.end(), extra.begin(), extra.end());
  return RunModelc(args);
}

TEST_F(CliRun, GreedyIsDeterministic) {
  ASSERT_SHARED_OK();
  Proc a = RunText({"--prompt", "The ", "-n", "20", "--temperature", "0"});
  Proc b = RunText({"--prompt", "The ", "-n", "20", "--temperature", "0", "--seed", "99"});
  ASSERT_TRUE(a.exited && a.code == 0) << a;
  ASSERT_TRUE(b.exited && b.code == 0) << b;
  EXPECT_EQ(a.out, b.out) << "greedy decoding must not depend on the seed";
  EXPECT_EQ(a.out.rfind("The ", 0), 0u) << a;
  EXPECT_EQ(a.out.size(), 4u + 20u + 1u) << a;
}

TEST_F(CliRun, SameSeedSameTextDifferentSeedDifferentText) {
  ASSERT_SHARED_OK();
  const std::vector<std::string> common = {"--prompt", "The ", "-n", "24", "--temperature", "1", "--top-k", "0",
                                           "--top-p", "1"};
  auto with_seed = [&](const char* seed) {
    auto a = common;
    a.insert(a.end(), {"--seed", seed});
    return RunText(a);
  };
  Proc a1 = with_seed("1"), a2 = with_seed("1"), b = with_seed("2");
  ASSERT_TRUE(a1.exited && a1.code == 0) << a1;
  ASSERT_TRUE(b.exited && b.code == 0) << b;
  EXPECT_EQ(a1.out, a2.out);
  EXPECT_NE(a1.out, b.out) << "seeds 1 and 2 gave the same 24 sampled bytes";
  EXPECT_EQ(a1.out.rfind("The ", 0), 0u);
  EXPECT_EQ(b.out.rfind("The ", 0), 0u);
}

TEST_F(CliRun, TopK1AndTinyTopPAreGreedy) {
  ASSERT_SHARED_OK();
  Proc greedy = RunText({"--prompt", "The ", "-n", "12", "--temperature", "0"});
  ASSERT_TRUE(greedy.exited && greedy.code == 0) << greedy;
  for (const char* seed : {"1", "2"}) {
    Proc k1 = RunText({"--prompt", "The ", "-n", "12", "--temperature", "1", "--top-k", "1", "--seed", seed});
    EXPECT_EQ(k1.out, greedy.out) << k1;
    Proc p0 = RunText({"--prompt", "The ", "-n", "12", "--temperature", "1", "--top-p", "0.000001", "--seed", seed});
    EXPECT_EQ(p0.out, greedy.out) << p0;
  }
}

TEST_F(CliRun, PrintsPromptPlusNTokens) {
  ASSERT_SHARED_OK();
  Proc p = RunText({"--prompt", "river ", "-n", "5", "--seed", "4"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(p.out.size(), 6u + 5u + 1u) << p;
  EXPECT_EQ(p.out.rfind("river ", 0), 0u) << p;
  EXPECT_EQ(p.out.back(), '\n');
  EXPECT_EQ(p.err, "") << p;

  Proc z = RunText({"--prompt", "river ", "-n", "0"});
  ASSERT_TRUE(z.exited && z.code == 0) << z;
  EXPECT_EQ(z.out, "river \n");

  Proc st = RunText({"--prompt", "river ", "-n", "5", "--seed", "4", "--stats"});
  ASSERT_TRUE(st.exited && st.code == 0) << st;
  EXPECT_EQ(st.out, p.out) << "--stats must not change the text";
  EXPECT_TRUE(Contains(st.err, "tokens/s")) << st;
}

TEST_F(CliRun, PromptAsLongAsContextIsRejected) {
  ASSERT_SHARED_OK();
  const int ctx = Shared().spec.context;
  Proc p = RunText({"--prompt", std::string(ctx, 'a'), "-n", "5"});
  ExpectCleanError(p, {"prompt", "context", std::to_string(ctx)});
  // One shorter fits.
  Proc ok = RunText({"--prompt", std::string(ctx - 1, 'a'), "-n", "1", "--temperature", "0"});
  EXPECT_TRUE(ok.exited && ok.code == 0) << ok;
  EXPECT_EQ(ok.out.size(), (size_t)ctx + 1) << ok;
}

TEST_F(CliRun, StopsAtTheContextLength) {
  ASSERT_SHARED_OK();
  const size_t ctx = (size_t)Shared().spec.context;
  Proc p = RunText({"--prompt", "The", "-n", "100", "--temperature", "0"});
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_TRUE(Contains(p.err, "reached the model's context length")) << p;
  ASSERT_FALSE(p.out.empty());
  EXPECT_EQ(p.out.back(), '\n');
  const size_t tokens = p.out.size() - 1;  // prompt + generated
  // The last token may be predicted from a full window of `ctx` tokens.
  EXPECT_GE(tokens, ctx) << p;
  EXPECT_LE(tokens, ctx + 1) << p;

  // Exactly filling the context is not "beyond" it: no message.
  Proc q = RunText({"--prompt", "The", "-n", std::to_string(ctx - 3), "--temperature", "0"});
  ASSERT_TRUE(q.exited && q.code == 0) << q;
  EXPECT_EQ(q.out.size(), ctx + 1) << q;
  EXPECT_EQ(q.err, "") << q;
  EXPECT_EQ(p.out.substr(0, ctx), q.out.substr(0, ctx));
}

// ---------------------------------------------------------------------------
// 5. Error paths.

// Builds `src` into tmp/out/m.gguf and expects a clean failure that leaves
// no file in tmp/out.
void ExpectBuildFails(const std::string& tmp, const std::string& src, const std::vector<std::string>& want) {
  const std::string out_dir = tmp + "/out";
  fs::create_directories(out_dir);
  Proc p = RunModelc({"build", src, "-o", out_dir + "/m.gguf"});
  ExpectCleanError(p, want);
  EXPECT_EQ(ListDir(out_dir), std::vector<std::string>{}) << "a failed build left files behind";
}

TEST_F(CliErrors, MissingFolder) {
  ExpectBuildFails(Dir(), tmp_ / "no-such-folder", {"no-such-folder", "model.toml"});
}

TEST_F(CliErrors, MissingModelToml) {
  fs::create_directories(tmp_ / "src");
  WriteText(tmp_ / "src/corpus.txt", "some text\n");
  ExpectBuildFails(Dir(), tmp_ / "src", {tmp_ / "src/model.toml"});
}

TEST_F(CliErrors, TomlSyntaxError) {
  const std::string src = tmp_ / "src";
  WriteSource(src, {}, /*pin=*/false);
  std::string text = ModelToml(SourceSpec{});
  const int line = LineOf(text, "n_head = 2");
  text.replace(text.find("n_head = 2"), 10, "n_head = = 2");
  WriteText(src + "/model.toml", text);
  ExpectBuildFails(Dir(), src, {"model.toml:" + std::to_string(line) + ":"});
  // "file:line:col:"
  Proc p = RunModelc({"build", src});
  EXPECT_TRUE(std::regex_search(p.err, std::regex("model\\.toml:" + std::to_string(line) + ":[0-9]+: "))) << p;
}

TEST_F(CliErrors, UnknownKey) {
  const std::string src = tmp_ / "src";
  WriteSource(src, {}, /*pin=*/false);
  std::string text = ModelToml(SourceSpec{});
  text.replace(text.find("n_layer ="), 9, "n_layers =");
  WriteText(src + "/model.toml", text);
  const int line = LineOf(text, "n_layers =");
  ExpectBuildFails(Dir(), src, {"model.toml:" + std::to_string(line) + ":", "n_layers", "unknown key"});
}

TEST_F(CliErrors, EmbdNotDivisibleByHeads) {
  const std::string src = tmp_ / "src";
  SourceSpec spec;
  spec.n_embd = 30;
  spec.n_head = 4;
  WriteSource(src, spec, /*pin=*/false);
  const int line = LineOf(ModelToml(spec), "n_head =");
  ExpectBuildFails(Dir(), src, {"model.toml:" + std::to_string(line) + ":", "n_head", "not divisible"});
}

TEST_F(CliErrors, WrongSha256) {
  const std::string src = tmp_ / "src";
  WriteSource(src);
  // The data changes after pinning.
  WriteText(src + "/corpus.txt", MakeCorpus(43, 30000));
  const std::string actual = FileSha(src + "/corpus.txt");
  const int line = LineOf(Slurp(src + "/model.toml"), "sha256 =");
  ExpectBuildFails(Dir(), src, {"model.toml:" + std::to_string(line) + ":", actual, "sha256", "--pin"});
}

TEST_F(CliErrors, MissingSha256) {
  const std::string src = tmp_ / "src";
  WriteSource(src, {}, /*pin=*/false);
  const std::string actual = FileSha(src + "/corpus.txt");
  ExpectBuildFails(Dir(), src, {"model.toml:", "corpus.txt", actual, "--pin"});
}

TEST_F(CliErrors, MissingDataFile) {
  const std::string src = tmp_ / "src";
  WriteSource(src, {}, /*pin=*/false);
  std::string text = ModelToml(SourceSpec{}, "sha256 = \"" + std::string(64, '0') + "\"");
  text.replace(text.find("corpus.txt"), 10, "missing.txt");
  WriteText(src + "/model.toml", text);
  const int line = LineOf(text, "path =");
  ExpectBuildFails(Dir(), src, {"model.toml:" + std::to_string(line) + ":", "missing.txt", "not found"});
}

TEST_F(CliErrors, UrlIsRejected) {
  const std::string src = tmp_ / "src";
  WriteSource(src, {}, /*pin=*/false);
  const std::string text = ModelToml(SourceSpec{}, "url = \"https://example.invalid/corpus.txt\"");
  WriteText(src + "/model.toml", text);
  const int line = LineOf(text, "url =");
  ExpectBuildFails(Dir(), src, {"model.toml:" + std::to_string(line) + ":", "url", "not supported"});
  // --pin refuses it too, and leaves model.toml alone.
  Proc p = RunModelc({"build", "--pin", src});
  ExpectCleanError(p, {"url"});
  EXPECT_EQ(Slurp(src + "/model.toml"), text);
}

TEST_F(CliErrors, FailedBuildKeepsAnExistingOutput) {
  const std::string src = tmp_ / "src";
  WriteSource(src, {}, /*pin=*/false);  // no sha256: fails
  const std::string out = tmp_ / "m.gguf";
  WriteText(out, "previous model");
  Proc p = RunModelc({"build", src, "-o", out});
  ExpectCleanError(p, {"--pin"});
  EXPECT_EQ(Slurp(out), "previous model");
}

TEST_F(CliErrors, OutputFolderMissing) {
  ASSERT_SHARED_OK();
  const std::string out = tmp_ / "no-such-folder/m.gguf";
  Proc p = RunModelc({"build", Shared().src, "-o", out, "-q"});
  ExpectCleanError(p, {out});
  EXPECT_FALSE(fs::exists(tmp_ / "no-such-folder"));
}

TEST_F(CliErrors, TooLittleData) {
  const std::string src = tmp_ / "src";
  SourceSpec spec;
  spec.corpus_bytes = 60;  // val part: a few bytes < context + 1
  WriteSource(src, spec);
  ExpectBuildFails(Dir(), src, {"model.toml", "context"});
}

TEST_F(CliErrors, OutputIsADirectory) {
  ASSERT_SHARED_OK();
  const std::string out = tmp_ / "out.gguf";
  fs::create_directories(out);
  Proc p = RunModelc({"build", Shared().src, "-o", out, "-q"});
  ExpectCleanError(p, {out});
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_EQ(ListDir(out), std::vector<std::string>{});
  EXPECT_EQ(ListDir(Dir()), std::vector<std::string>{"out.gguf"}) << "temp files left behind";
}

TEST_F(CliErrors, RunAndInspectRejectBadFiles) {
  ASSERT_SHARED_OK();
  const std::string model = Slurp(Shared().model);
  ASSERT_GT(model.size(), 1000u);
  std::vector<std::string> bad = {tmp_ / "missing.gguf"};
  WriteText(tmp_ / "text.gguf", "this is not a model\n");
  bad.push_back(tmp_ / "text.gguf");
  WriteText(tmp_ / "empty.gguf", "");
  bad.push_back(tmp_ / "empty.gguf");
  for (size_t len : {(size_t)10, (size_t)24, (size_t)100, (size_t)1000, model.size() / 2, model.size() - 1}) {
    const std::string path = tmp_ / ("trunc" + std::to_string(len) + ".gguf");
    WriteText(path, model.substr(0, len));
    bad.push_back(path);
  }
  for (const std::string& path : bad) {
    SCOPED_TRACE(path);
    ExpectCleanError(RunModelc({"run", path, "-n", "5"}), {path});
    ExpectCleanError(RunModelc({"inspect", path}), {path});
    ExpectCleanError(RunModelc({"inspect", path, "--json"}), {path});
  }
  // A folder is not a model either.
  Proc d = RunModelc({"inspect", Dir()});
  EXPECT_TRUE(d.exited && d.code == 1) << d;
}

TEST_F(CliErrors, UsageErrorsExitNonZero) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{}, {"frobnicate"}, {"run"}, {"inspect"}, {"build"},
                                             {"build", Dir(), "--threads", "0"},
                                             {"run", "x.gguf", "--top-p", "2"},
                                             {"build", Dir(), "--no-such-option"}}) {
    Proc p = RunModelc(args);
    EXPECT_TRUE(p.exited) << p;
    EXPECT_NE(p.code, 0) << p;
    EXPECT_FALSE(p.err.empty()) << p;
  }
}

// ---------------------------------------------------------------------------
// 6. Help.

TEST_F(CliHelp, EachSubcommandDescribesItsOptions) {
  const std::map<std::string, std::vector<std::string>> want = {
      {"build", {"DIR", "--output", "--threads", "--pin", "--quiet"}},
      {"run", {"MODEL", "--prompt", "--tokens", "--temperature", "--top-k", "--top-p", "--seed", "--stats"}},
      {"inspect", {"MODEL", "--json"}},
  };
  for (const auto& [cmd, options] : want) {
    Proc p = RunModelc({cmd, "--help"});
    EXPECT_TRUE(p.exited && p.code == 0) << cmd << "\n" << p;
    for (const auto& o : options) EXPECT_TRUE(Contains(p.out, o)) << cmd << " --help lacks " << o << "\n" << p;
  }
  Proc top = RunModelc({"--help"});
  EXPECT_TRUE(top.exited && top.code == 0) << top;
  for (const char* c : {"build", "run", "inspect"}) EXPECT_TRUE(Contains(top.out, c)) << top;
  Proc v = RunModelc({"--version"});
  EXPECT_TRUE(v.exited && v.code == 0) << v;
  EXPECT_TRUE(Contains(v.out, std::string("modelc ") + MODELC_VERSION)) << v;
}

}  // namespace
}  // namespace modelc
