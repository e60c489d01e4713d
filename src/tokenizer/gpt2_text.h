// Token bytes <-> token text in GPT-2's byte-to-unicode alphabet
// (binary/gpt2_vocab.h), the spelling tokenizer.ggml.tokens and
// tokenizer.ggml.merges use: every byte becomes one code point.
#pragma once
#include <string>
#include <string_view>

namespace modelc {

std::string BytesToGpt2Text(std::string_view bytes);
// False if `text` is not a sequence of the 256 byte symbols.
bool Gpt2TextToBytes(std::string_view text, std::string* bytes);

}  // namespace modelc
