// Text <-> token ids for a model binary, read from its tokenizer.ggml.* keys.
//
// A token's text in GGUF is spelled in GPT-2's byte-to-unicode alphabet
// (binary/gpt2_vocab.h); TokenBytes() gives the raw bytes it stands for.
// A byte model has the 256 single-byte tokens and no merges: token id = byte.
// A BPE model (tokenizer.ggml.pre = "gpt-2" with merges) encodes as
// llama.cpp does (tokenizer/bpe.h, docs/tokenizer.md).
// Decoding is byte-exact: Decode(Encode(x)) == x for any bytes x (invalid
// UTF-8 included). A token may end in the middle of a UTF-8 character; code
// that streams text to people (serve) must hold back an incomplete tail.
// Encode/Decode are const and safe to call from several threads at once.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "binary/model_file.h"
#include "tokenizer/bpe.h"
#include "util/status.h"

namespace modelc {

class Tokenizer {
 public:
  // The byte tokenizer (256 tokens, id = byte).
  Tokenizer() = default;
  // Reads tokenizer.ggml.model / pre / tokens / merges of a loaded model.
  // Errors name the file and the key.
  static Status FromModel(const LoadedModel& m, Tokenizer* out);

  int vocab_size() const { return bpe_.size(); }
  // Raw bytes of token `id`. REQUIRES: 0 <= id < vocab_size().
  const std::string& TokenBytes(int id) const { return bpe_.token(id); }
  std::vector<int> Encode(std::string_view text) const;
  std::string Decode(const std::vector<int>& ids) const;

 private:
  Bpe bpe_;  // the 256 byte tokens unless FromModel read merges
};

}  // namespace modelc
