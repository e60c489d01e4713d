#include "runtime/tokenizer.h"

#include "binary/gpt2_vocab.h"

namespace modelc {

Tokenizer::Tokenizer() {
  bytes_.resize(256);
  for (int b = 0; b < 256; ++b) bytes_[b] = std::string(1, (char)b);
}

Status Tokenizer::FromModel(const LoadedModel& m, Tokenizer* out) {
  const std::string& path = m.file->path();
  std::string kind;
  MODELC_RETURN_IF_ERROR(m.file->GetString("tokenizer.ggml.model", &kind));
  if (kind != "gpt2")
    return Status::Error(path + ": tokenizer.ggml.model is \"" + kind + "\"; modelc reads \"gpt2\"");
  std::vector<std::string> merges;
  MODELC_RETURN_IF_ERROR(m.file->GetStringArray("tokenizer.ggml.merges", &merges));
  if (m.tokens.size() != 256 || !merges.empty())
    return Status::Error(path + ": a vocabulary of " + std::to_string(m.tokens.size()) +
                         " tokens with " + std::to_string(merges.size()) +
                         " merges; this modelc reads byte-level (256-token) models");
  Tokenizer t;
  for (int i = 0; i < 256; ++i) {
    const int b = UnicodeToByte(m.tokens[i]);
    if (b != i)
      return Status::Error(path + ": tokenizer.ggml.tokens[" + std::to_string(i) +
                           "] is not the byte token for " + std::to_string(i));
  }
  *out = std::move(t);
  return Status::OK();
}

std::vector<int> Tokenizer::Encode(std::string_view text) const {
  std::vector<int> ids;
  ids.reserve(text.size());
  for (unsigned char c : text) ids.push_back(c);
  return ids;
}

std::string Tokenizer::Decode(const std::vector<int>& ids) const {
  std::string s;
  for (int id : ids) s += bytes_[id];
  return s;
}

}  // namespace modelc
