// Writes the seed corpora of the fuzz targets from modelc's own writers:
//   make_seeds OUT_DIR   ->  OUT_DIR/<target>/<seed>
// (fuzz/corpus/ holds its output, committed; regenerate with
//  build-fuzz/make_seeds fuzz/corpus). Deterministic: same bytes every run.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "binary/gguf.h"
#include "binary/model_file.h"
#include "compile/checkpoint.h"
#include "compile/trainer.h"
#include "model/gpt.h"
#include "provenance/dsse.h"
#include "provenance/ed25519.h"
#include "provenance/statement.h"
#include "source/dataset.h"
#include "source/recipe.h"
#include "tokenizer/bpe_train.h"
#include "util/atomic_file.h"

using namespace modelc;
namespace fs = std::filesystem;

namespace {

std::string out_dir;

void Die(const std::string& what) {
  std::fprintf(stderr, "make_seeds: %s\n", what.c_str());
  std::exit(1);
}
void Check(const Status& st) {
  if (!st.ok()) Die(st.message());
}
void Put(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::path(out_dir) / target;
  fs::create_directories(dir);
  Check(WriteFileAtomic((dir / name).string(), bytes));
}
std::string Slurp(const std::string& path) {
  std::string s;
  Check(ReadFile(path, &s));
  return s;
}

const char kTinyToml[] = R"(# A tiny model source (fuzz seeds).
[model]
name = "tiny-gpt"
description = "Seed for the fuzzers"
license = "MIT"
authors = ["modelc fuzz", "second author"]

[architecture]
family = "gpt"
n_layer = 1
n_head = 2
n_embd = 8
context = 8

[tokenizer]
kind = "byte"

[train]
steps = 4
batch_size = 2
micro_batch_size = 1
learning_rate = 0.001
warmup_steps = 1
lr_schedule = "cosine"
min_lr = 0.0001
weight_decay = 0.1
beta1 = 0.9
beta2 = 0.99
eps = 1e-8
grad_clip = 1.0
seed = 7
eval_every = 2
eval_batches = 1
chain_every = 2

[[data]]
path = "data.txt"
sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
title = "Hello"
author = "Someone"
license = "CC0-1.0"
source_url = "https://example.com/data.txt"
split = 0.25

[[data]]
path = "val.txt"
sha256 = "486ea46224d1bb4fb680f34f7c9ad96a8f24ec88be73ea8e5a6c65260e9cb8a7"
title = "World"
author = "Someone else"
license = "CC-BY-4.0"
split = "val"
license_acknowledgement = "we asked"
)";

// A model binary written by WriteModelFile for the tiny recipe, with
// deterministic parameters; `bpe` uses a small trained BPE vocabulary.
std::string TinyModel(const Recipe& r, bool bpe, const std::string& tmp) {
  Dataset d;
  if (bpe) {
    std::string text;
    for (int i = 0; i < 30; ++i) text += "the cat sat on the mat; the dog ate the hat. ";
    Check(TrainBpe({std::string_view(text)}, 270, &d.tokenizer));
  }
  for (size_t i = 0; i < r.data.size(); ++i) {
    SourceStats s;
    s.title = r.data[i].title;
    s.author = r.data[i].author;
    s.license = r.data[i].license;
    s.sha256 = r.data[i].sha256;
    s.path = r.data[i].path;
    s.bytes = 100 + i;
    s.train_tokens = 75;
    s.val_tokens = 25;
    d.sources.push_back(s);
  }
  TrainResult t;
  t.config.family = r.arch.family;
  t.config.vocab = d.tokenizer.size();
  t.config.context = r.arch.context;
  t.config.n_layer = r.arch.n_layer;
  t.config.n_head = r.arch.n_head;
  t.config.n_embd = r.arch.n_embd;
  if (r.arch.family == "llama") {
    t.config.n_head_kv = r.arch.n_head_kv;
    t.config.ffn_hidden = r.arch.ffn_hidden;
    t.config.tie_embeddings = r.arch.tie_embeddings;
  }
  t.params.resize(size_t(ModelParamCount(t.config)));
  for (size_t i = 0; i < t.params.size(); ++i) t.params[i] = float(int(i % 17) - 8) / 16.0f;
  t.train_loss = 2.5;
  t.val_loss = 2.75;
  t.steps = 4;
  t.tokens_seen = 64;
  t.train_curve = {{1, 5.5}, {2, 4.25}, {4, 2.5}};
  t.val_curve = {{2, 4.5}, {4, 2.75}};
  t.tokens_per_source = {48, 16};
  t.chain = {{0, std::string(64, '1'), std::string(64, '2')}, {4, std::string(64, 'a'), std::string(64, 'b')}};
  const std::string path = tmp + "/" + r.arch.family + (bpe ? "-bpe.gguf" : "-byte.gguf");
  Check(WriteModelFile(path, r, d, TrainingRecordOf(t)));
  return path;
}

// Every metadata value type, arrays of each, and F32 / F16 / Q8_0 tensors,
// with general.alignment 64.
std::string AllTypes() {
  GgufWriter w;
  w.SetU32("general.alignment", 64);
  w.Set("t.u8", GgufValue::U8(200));
  w.Set("t.i8", GgufValue::I8(-100));
  w.Set("t.u16", GgufValue::U16(60000));
  w.Set("t.i16", GgufValue::I16(-30000));
  w.SetU32("t.u32", 4000000000u);
  w.SetI32("t.i32", -2000000000);
  w.SetF32("t.f32", 1.5f);
  w.SetBool("t.bool", true);
  w.SetString("t.str", "h\xc3\xa9llo\n\"q\"");
  w.SetU64("t.u64", ~uint64_t(0));
  w.Set("t.i64", GgufValue::I64(-1));
  w.Set("t.f64", GgufValue::F64(-0.25));
  w.SetStringArray("t.arr.str", {"a", "", "\xff"});
  w.SetI32Array("t.arr.i32", {1, -2, 3});
  w.SetF32Array("t.arr.f32", {0.5f, -1.0f});
  const uint8_t bools[] = {0, 1, 1};
  w.Set("t.arr.bool", GgufValue::NumericArray(gguf_type::kBool, bools, 3));
  const uint16_t u16s[] = {1, 65535};
  w.Set("t.arr.u16", GgufValue::NumericArray(gguf_type::kU16, u16s, 2));
  const double f64s[] = {1e300, -0.0};
  w.Set("t.arr.f64", GgufValue::NumericArray(gguf_type::kF64, f64s, 2));
  w.Set("t.arr.empty", GgufValue::NumericArray(gguf_type::kU8, nullptr, 0));
  const float f32[6] = {1, 2, 3, -4, 0.5f, 1e-3f};
  w.AddTensorF32("a.f32", {3, 2}, f32);
  const uint16_t f16[4] = {0x3c00, 0xbc00, 0x0001, 0x7c00};  // 1, -1, subnormal, inf
  w.AddTensorRaw("b.f16", {4}, ggml_type::kF16, f16, sizeof f16);
  uint8_t q8[34 * 2];
  for (size_t i = 0; i < sizeof q8; ++i) q8[i] = uint8_t(i * 7);
  q8[0] = 0x00; q8[1] = 0x3c;  // scale 1.0
  w.AddTensorRaw("c.q8_0", {32, 2}, ggml_type::kQ8_0, q8, sizeof q8);
  std::string out;
  Check(w.Serialize(&out));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) Die("usage: make_seeds OUT_DIR");
  out_dir = argv[1];
  const std::string tmp = (fs::temp_directory_path() / ("modelc-seeds-" + std::to_string(getpid()))).string();
  fs::create_directories(tmp + "/model");
  Check(WriteFileAtomic(tmp + "/model/model.toml", kTinyToml));
  Check(WriteFileAtomic(tmp + "/model/data.txt", "hello"));
  Check(WriteFileAtomic(tmp + "/model/val.txt", "world"));

  // recipe: the tiny source, the repository's examples, a BPE variant.
  Put("recipe", "tiny.toml", kTinyToml);
  const fs::path examples = fs::path(MODELC_FUZZ_SOURCE_DIR) / ".." / "examples";
  for (const char* ex : {"fortunes", "fortunes-gpt", "fortunes-bpe", "fortunes-finetune"})
    Put("recipe", std::string(ex) + ".toml", Slurp((examples / ex / "model.toml").string()));

  Recipe r;
  Check(LoadRecipe(tmp + "/model", &r));

  // gguf: model binaries (byte and BPE tokenizers), every value type.
  const std::string byte_model = TinyModel(r, false, tmp);
  Put("gguf", "tiny-byte.gguf", Slurp(byte_model));
  Put("gguf", "tiny-bpe.gguf", Slurp(TinyModel(r, true, tmp)));
  {
    // A llama binary (GQA, untied output, its llama.* keys).
    Recipe l = r;
    l.arch.family = "llama";
    l.arch.n_head_kv = 1;
    l.arch.ffn_hidden = 32;
    l.arch.tie_embeddings = false;
    Put("gguf", "tiny-llama.gguf", Slurp(TinyModel(l, false, tmp)));
  }
  Put("gguf", "all-types.gguf", AllTypes());
  {
    GgufWriter w;  // the smallest: no keys, no tensors
    std::string s;
    Check(w.Serialize(&s));
    Put("gguf", "empty.gguf", s);
  }

  // checkpoint: a small training state.
  TrainState s;
  s.step = 4;
  for (int i = 0; i < 6; ++i) {
    s.params.push_back(float(i) / 4);
    s.m.push_back(float(-i) / 8);
    s.v.push_back(float(i * i) / 16);
  }
  s.tokens_per_source = {48, 16};
  s.train_curve = {{1, 5.5}, {2, 4.25}};
  s.val_curve = {{2, 4.5}};
  s.chain = {{0, std::string(64, '1'), std::string(64, '2')}, {4, std::string(64, 'c'), std::string(64, 'd')}};
  Check(WriteCheckpoint(tmp + "/a.ckpt", r.SourceHash(), s));
  Put("checkpoint", "small.ckpt", Slurp(tmp + "/a.ckpt"));
  Check(WriteCheckpoint(tmp + "/b.ckpt", r.SourceHash(), TrainState{}));
  Put("checkpoint", "empty-state.ckpt", Slurp(tmp + "/b.ckpt"));
  Put("checkpoint", "chain.json", ChainToJson(s.chain));

  // provenance: the statement of the tiny binary, and its DSSE envelope
  // signed with the fuzz target's fixed key.
  StatementInputs in;
  Check(StatementInputsFromModel(byte_model, &in));
  in.subject_name = "tiny-gpt.gguf";
  in.source_date_epoch = 1700000000;
  const std::string statement = StatementJson(in);
  Put("provenance", "statement.intoto.json", statement);
  Ed25519Key key;
  Check(Ed25519Key::FromPem("-----BEGIN PRIVATE KEY-----\n"
                            "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
                            "-----END PRIVATE KEY-----\n",
                            "seed key", false, &key));
  DsseEnvelope e;
  Check(DsseSign(kInTotoPayloadType, statement, key, &e));
  Put("provenance", "statement.sig", DsseEnvelopeJson(e));
  Check(DsseSign("text/plain", "hello", key, &e));
  Put("provenance", "small.sig", DsseEnvelopeJson(e));

  // openai: request bodies for both endpoints.
  const char* requests[] = {
      R"({"model":"fuzz-gpt","prompt":"Once upon a time","max_tokens":8,"temperature":0.7,"top_p":0.9,"seed":42,"stop":["\n","."],"n":2})",
      R"({"prompt":"hi","stream":true,"stream_options":{"include_usage":true},"temperature":0})",
      R"({"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello?"}],"max_completion_tokens":16,"stop":"\n"})",
      R"({"model":"fuzz-gpt","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"stream":true,"n":1,"seed":1,"frequency_penalty":0,"presence_penalty":0,"logprobs":false,"user":"u"})",
      R"({"prompt":["a"],"max_tokens":null,"echo":false,"best_of":1,"logit_bias":{},"suffix":null})",
  };
  int i = 0;
  for (const char* q : requests) Put("openai", "request-" + std::to_string(i++) + ".json", q);

  // bpe: text.
  Put("bpe", "english.txt", "The quick brown fox jumps over the lazy dog. It's 2024, isn't it?\n");
  Put("bpe", "utf8.txt", "caf\xc3\xa9 \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80  \t\n\n123 4567");
  static const char kInvalid[] = "\xff\xfe\xc3\x28\xe2\x82\xf0\x90\x8d\x00 x\x80\xed\xa0\x80";
  Put("bpe", "invalid.txt", std::string(kInvalid, sizeof kInvalid - 1));

  fs::remove_all(tmp);
  return 0;
}
