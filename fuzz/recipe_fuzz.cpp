// Fuzz target: model.toml parsing and validation (source/recipe.h
// LoadRecipe), through its public API only: each input is written as
// model.toml into a per-process scratch folder (tmpfs when available) and
// loaded from there (with two small data files beside it, data.txt and
// val.txt, which the seed recipe names). A recipe that loads must normalize to JSON and hash.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "source/recipe.h"

using namespace modelc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = modelc_fuzz::ScratchDir() + "/model";
  // The data files the seed recipe (fuzz/corpus/recipe/tiny.toml) names.
  static const bool made = [] {
    std::filesystem::create_directories(dir);
    for (const char* name : {"data.txt", "val.txt"}) {
      FILE* d = std::fopen((dir + "/" + name).c_str(), "wb");
      if (!d) modelc_fuzz::Fail("fopen", dir);
      std::fputs("hello world\n", d);
      std::fclose(d);
    }
    return true;
  }();
  (void)made;
  const std::string path = dir + "/model.toml";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) modelc_fuzz::Fail("fopen", path);
  if (size && std::fwrite(data, 1, size, f) != size) modelc_fuzz::Fail("fwrite", path);
  std::fclose(f);
  Recipe r;
  Status st = LoadRecipe(dir, &r);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty());
    return 0;
  }
  const std::string json = r.NormalizedJson();
  FUZZ_CHECK(nlohmann::json::accept(json), json);
  FUZZ_CHECK(r.SourceHash().size() == 64);
  return 0;
}
