// Fuzz target: the GGUF reader (binary/gguf.h) and the model loader built on
// it (binary/model_file.h LoadModelFile, runtime/tokenizer.h).
//
// Every input is parsed from memory (GgufFile::FromBuffer). Inputs that parse
// have every value displayed and converted to JSON and every tensor decoded;
// those that declare general.architecture "gpt2" are also written to a file
// and opened through the mmap path (GgufFile::Open, which must agree with
// FromBuffer) and the model loader, and a model that loads has its tokenizer
// read and round-trips a string through it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "fuzz_util.h"
#include "runtime/tokenizer.h"

using namespace modelc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::unique_ptr<GgufFile> f;
  Status st = GgufFile::FromBuffer("fuzz.gguf", data, size, &f);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty());
    FUZZ_CHECK(f == nullptr);
    return 0;
  }
  FUZZ_CHECK(f->data_offset() <= size);
  for (const auto& [key, v] : f->kv()) {
    (void)v.ToDisplayString();
    (void)v.ToJson().dump();
    (void)v.TypeString();
    (void)v.AsF64();
    (void)v.AsI64();
    FUZZ_CHECK(f->Find(key) == &v);
    uint32_t u32; int32_t i32; uint64_t u64; float f32; bool b; std::string s;
    std::vector<std::string> sa; std::vector<int32_t> ia; std::vector<float> fa;
    (void)f->GetU32(key, &u32); (void)f->GetI32(key, &i32); (void)f->GetU64(key, &u64);
    (void)f->GetF32(key, &f32); (void)f->GetBool(key, &b); (void)f->GetString(key, &s);
    (void)f->GetStringArray(key, &sa); (void)f->GetI32Array(key, &ia); (void)f->GetF32Array(key, &fa);
  }
  for (const GgufTensorInfo& t : f->tensors()) {
    FUZZ_CHECK(t.offset + t.nbytes <= size - f->data_offset(), t.name);
    std::vector<float> out;
    FUZZ_CHECK(f->ReadTensorF32(t.name, &out).ok(), t.name);
    FUZZ_CHECK(out.size() == t.n_elements(), t.name);
  }

  const GgufValue* arch = f->Find("general.architecture");
  if (!arch || arch->AsString() != "gpt2") return 0;
  const std::string path = modelc_fuzz::WriteScratch("model.gguf", data, size);
  std::unique_ptr<GgufFile> g;
  FUZZ_CHECK(GgufFile::Open(path, &g).ok(), "Open disagrees with FromBuffer");
  FUZZ_CHECK(g->kv().size() == f->kv().size() && g->tensors().size() == f->tensors().size());
  LoadedModel m;
  st = LoadModelFile(path, &m);
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty());
    return 0;
  }
  FUZZ_CHECK(m.tokens.size() == size_t(m.config.vocab));
  (void)m.quantized();
  Tokenizer tok;
  if (!Tokenizer::FromModel(m, &tok).ok()) return 0;
  const std::string text = "Hello, world! \xc3\xa9t\xc3\xa9 123 \xff";
  FUZZ_CHECK(tok.Decode(tok.Encode(text)) == text, "tokenizer round trip");
  return 0;
}
