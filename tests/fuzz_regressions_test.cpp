// Findings of the fuzz targets (fuzz/, docs/fuzzing.md) as unit tests; the
// inputs themselves are in fuzz/regressions/<target>/ and scripts/fuzz
// replays them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "compile/checkpoint.h"
#include "provenance/dsse.h"
#include "provenance/statement.h"
#include "serve/openai_api.h"

namespace modelc {
namespace {

// A JSON number too large for a double makes nlohmann::json throw
// out_of_range (406), not parse_error: it escaped the readers' catch (a
// request body {"temperature": 1e99999} got a 500 from `modelc serve`'s
// exception handler instead of a 400). fuzz/regressions/openai/, provenance/.
TEST(FuzzRegressions, JsonNumberOverflowIsAParseError) {
  serve::ModelInfo m;
  m.id = "m";
  m.context = 64;
  for (bool chat : {false, true}) {
    serve::CompletionRequest r;
    serve::ApiError err;
    EXPECT_FALSE(serve::ParseCompletionRequest(R"({"prompt":"a","temperature":1e99999})", chat, m, &r, &err));
    EXPECT_EQ(err.status, 400);
    EXPECT_EQ(err.code, "invalid_json");
    EXPECT_NE(err.message.find("number overflow"), std::string::npos) << err.message;
  }
  DsseEnvelope e;
  Status st = ParseDsseEnvelope(R"({"payload":"","payloadType":"x","signatures":[],"n":1e99999})", "a.sig", &e);
  EXPECT_EQ(st.message().rfind("a.sig: malformed DSSE envelope: not JSON (", 0), 0u) << st.message();
  ParsedStatement p;
  st = ParseStatement(R"({"_type":-1e400})", "a.json", &p);
  EXPECT_EQ(st.message().rfind("a.json: not a modelc provenance statement: not JSON (", 0), 0u) << st.message();
}

// A checkpoint of an empty state (no parameters, sources, points or links)
// passed a null pointer to memcpy while reading (UBSan; the seed
// fuzz/corpus/checkpoint/empty-state.ckpt).
TEST(FuzzRegressions, EmptyCheckpointReadsBack) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) /
                            ("modelc_fuzz_regr_" + std::to_string(::getpid()) + ".ckpt")).string();
  TrainState s;
  s.step = 3;
  ASSERT_TRUE(WriteCheckpoint(path, std::string(64, 'a'), s).ok());
  TrainState back;
  std::string src;
  ASSERT_TRUE(ReadCheckpoint(path, &back, &src).ok());
  EXPECT_EQ(back.step, 3);
  EXPECT_TRUE(back.params.empty() && back.chain.empty());
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace modelc
