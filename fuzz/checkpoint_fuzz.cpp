// Fuzz target: the checkpoint reader (compile/checkpoint.h ParseCheckpoint)
// and the hash-chain JSON reader (ChainFromJson, which reads
// modelc.hash_chain from binaries).
//
// A checkpoint ends with the sha256 of everything before it, so a mutated
// file almost never gets past the checksum. Each input is parsed twice: as
// is, and with its checksum recomputed (the input is the body), so that the
// fuzzer reaches the header and the sizes behind it. An input that starts
// with '[' is also read as a hash chain.
#include <cstdint>
#include <string>

#include "compile/checkpoint.h"
#include "fuzz_util.h"
#include "util/sha256.h"

using namespace modelc;

namespace {

void Check(const std::string& bytes) {
  TrainState s;
  std::string source_hash, version;
  Status st = ParseCheckpoint(bytes, "fuzz.ckpt", &s, &source_hash, &version);
  if (!st.ok()) {
    FUZZ_CHECK(st.message().rfind("fuzz.ckpt: corrupt checkpoint: ", 0) == 0, st.message());
    return;
  }
  FUZZ_CHECK(s.m.size() == s.params.size() && s.v.size() == s.params.size());
  FUZZ_CHECK(s.step >= 0);
  // Everything read is accounted for in the file: no header field can make
  // the reader allocate more than the file holds.
  const size_t held = s.params.size() * 12 + s.tokens_per_source.size() * 8 +
                      (s.train_curve.size() + s.val_curve.size()) * 16 + s.chain.size() * 72;
  FUZZ_CHECK(held <= bytes.size());
  (void)TrainStateHash(s);
  for (const ChainLink& l : s.chain) FUZZ_CHECK(l.state_sha256.size() == 64 && l.chain_sha256.size() == 64);
  // What was read writes back as JSON and reads back the same.
  std::vector<ChainLink> back;
  if (ChainFromJson(ChainToJson(s.chain), &back).ok()) FUZZ_CHECK(back.size() == s.chain.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  Check(in);
  // The input as the body, with a correct checksum appended.
  std::string body = in;
  const std::string hex = Sha256Hex(body);
  for (size_t i = 0; i < 64; i += 2) body.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  Check(body);
  if (size && data[0] == '[') {
    std::vector<ChainLink> chain;
    Status st = ChainFromJson(in, &chain);
    if (st.ok()) {
      std::vector<ChainLink> again;
      FUZZ_CHECK(ChainFromJson(ChainToJson(chain), &again).ok());
      FUZZ_CHECK(again.size() == chain.size());
    }
  }
  return 0;
}
