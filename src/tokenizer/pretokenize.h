// The GPT-2 pre-tokenizer: splits text into the words BPE merges within.
//
// The regex, as llama.cpp applies it for tokenizer.ggml.pre = "gpt-2":
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// tried in that order at each position, over code points (tokenizer/unicode.h
// for the decoding and the classes). Contractions are lowercase only. A run
// of whitespace followed by more text leaves its last whitespace code point
// to the next word (" ?\p{L}+" then takes it when it is a space).
//
// Words are byte ranges of the input and cover it exactly, in order, so
// concatenating them gives the input back (invalid UTF-8 included).
#pragma once
#include <string_view>
#include <vector>

namespace modelc {

// Appends the words of `text` to *words (views into text).
void PreTokenize(std::string_view text, std::vector<std::string_view>* words);

}  // namespace modelc
