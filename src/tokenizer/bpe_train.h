// Training a byte-level BPE vocabulary: a pure function of the training
// bytes and the vocabulary size.
//
// Words: the pre-tokenized words (tokenizer/pretokenize.h) of each text,
// counted (a word never spans two texts). Start: the 256 byte tokens, id =
// byte. Then repeatedly: count every adjacent pair of symbols over all words
// (times the word's count), take the pair with the highest count; ties go to
// the pair whose left token's bytes are lexicographically smallest (bytes
// compared as unsigned, a prefix first), then the right token's likewise.
// Record the merge (rank = its index), merge every occurrence in every word
// left to right, and add the concatenation as a new token (id = next) unless
// those bytes are a token already. Stop when there are vocab_size tokens.
// Pair counts are updated incrementally (only the words holding the merged
// pair are touched).
#pragma once
#include <string_view>
#include <vector>

#include "tokenizer/bpe.h"
#include "util/status.h"

namespace modelc {

// REQUIRES: 256 <= vocab_size. Error (no output) when the data runs out of
// pairs occurring at least twice before vocab_size tokens exist.
Status TrainBpe(const std::vector<std::string_view>& texts, int vocab_size, Bpe* out);

}  // namespace modelc
