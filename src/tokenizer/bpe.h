// Byte-level BPE: a vocabulary of byte strings and merge rules in rank order,
// encoding and decoding.
//
// Encoding (the rule llama.cpp's llm_tokenizer_bpe_session applies to a gpt2
// vocabulary): pre-tokenize (tokenizer/pretokenize.h); in each word start
// from one symbol per byte; while some adjacent pair of symbols has a merge
// rule, merge the pair with the lowest rank (the leftmost such pair when the
// same rule applies at several places); emit the symbols' ids. Every
// single byte is a token, so every input encodes and
// Decode(Encode(x)) == x for any bytes x.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/status.h"

namespace modelc {

struct BpeMerge {
  int left = 0, right = 0;  // token ids merged
  int result = 0;           // token id of bytes(left) + bytes(right)
};

class Bpe {
 public:
  // The byte vocabulary: 256 tokens, id = byte value, no merges.
  Bpe();
  // Builds a vocabulary from token bytes (index = id) and merges given as
  // (left id, right id) in rank order. Errors: duplicate token bytes, an empty
  // token, a byte with no single-byte token, a merge id out of range, or a
  // merge whose concatenation is not a token. `what` prefixes messages.
  static Status Create(std::vector<std::string> tokens,
                       const std::vector<std::pair<int, int>>& merges, const std::string& what,
                       Bpe* out);

  int size() const { return (int)tokens_.size(); }
  // Raw bytes of token `id`. REQUIRES: 0 <= id < size().
  const std::string& token(int id) const { return tokens_[id]; }
  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::vector<BpeMerge>& merges() const { return merges_; }
  // Token id of the single byte b.
  int byte_token(unsigned char b) const { return byte_id_[b]; }
  // Token id of a byte string, or -1.
  int Find(std::string_view bytes) const;

  // Appends the ids of one pre-tokenized word.
  void EncodeWord(std::string_view word, std::vector<int>* ids) const;
  // Pre-tokenizes and encodes `text`. Long texts use a per-call cache of word
  // encodings (the result is the same).
  std::vector<int> Encode(std::string_view text) const;
  std::string Decode(const std::vector<int>& ids) const;

 private:
  static uint64_t Key(int a, int b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }
  std::vector<std::string> tokens_;
  std::vector<BpeMerge> merges_;
  int byte_id_[256];
  std::unordered_map<std::string, int> id_of_;
  // (left, right) -> index into merges_ (the rank).
  std::unordered_map<uint64_t, int> rank_;
};

}  // namespace modelc
