#include "runtime/tokenizer.h"

#include <unordered_map>

#include "tokenizer/gpt2_text.h"

namespace modelc {

Status Tokenizer::FromModel(const LoadedModel& m, Tokenizer* out) {
  const std::string& path = m.file->path();
  std::string kind;
  MODELC_RETURN_IF_ERROR(m.file->GetString("tokenizer.ggml.model", &kind));
  if (kind != "gpt2")
    return Status::Error(path + ": tokenizer.ggml.model is \"" + kind + "\"; modelc reads \"gpt2\"");
  std::vector<std::string> merges;
  MODELC_RETURN_IF_ERROR(m.file->GetStringArray("tokenizer.ggml.merges", &merges));
  if (!merges.empty()) {
    // Other pre-tokenizers split text differently; modelc has only GPT-2's.
    std::string pre;
    if (!m.file->GetString("tokenizer.ggml.pre", &pre).ok() || pre != "gpt-2")
      return Status::Error(path + ": tokenizer.ggml.pre is " +
                           (pre.empty() ? std::string("missing") : "\"" + pre + "\"") +
                           "; modelc encodes BPE models with the \"gpt-2\" pre-tokenizer only");
  }
  std::vector<std::string> bytes(m.tokens.size());
  std::unordered_map<std::string, int> id_of;
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    if (!Gpt2TextToBytes(m.tokens[i], &bytes[i]))
      return Status::Error(path + ": tokenizer.ggml.tokens[" + std::to_string(i) +
                           "] is not spelled in GPT-2's byte alphabet");
    id_of.emplace(m.tokens[i], (int)i);
  }
  std::vector<std::pair<int, int>> pairs;
  pairs.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    // As llama.cpp: split at the first space after the first character.
    const std::string& s = merges[r];
    const size_t sp = s.find(' ', 1);
    auto a = sp == std::string::npos ? id_of.end() : id_of.find(s.substr(0, sp));
    auto b = sp == std::string::npos ? id_of.end() : id_of.find(s.substr(sp + 1));
    if (a == id_of.end() || b == id_of.end())
      return Status::Error(path + ": tokenizer.ggml.merges[" + std::to_string(r) + "] (\"" + s +
                           "\") is not two tokens separated by a space");
    pairs.push_back({a->second, b->second});
  }
  Tokenizer t;
  MODELC_RETURN_IF_ERROR(Bpe::Create(std::move(bytes), pairs, path + ": tokenizer.ggml", &t.bpe_));
  *out = std::move(t);
  return Status::OK();
}

std::vector<int> Tokenizer::Encode(std::string_view text) const {
  if (bpe_.merges().empty()) {
    // No merges: one token per byte (the pre-tokenizer cannot change that).
    std::vector<int> ids;
    ids.reserve(text.size());
    for (unsigned char c : text) ids.push_back(bpe_.byte_token(c));
    return ids;
  }
  return bpe_.Encode(text);
}

std::string Tokenizer::Decode(const std::vector<int>& ids) const { return bpe_.Decode(ids); }

}  // namespace modelc
