#include "runtime/tokenizer.h"


namespace modelc {

Status Tokenizer::FromModel(const LoadedModel& m, Tokenizer* out) {
  Tokenizer t;
  MODELC_RETURN_IF_ERROR(ReadModelTokenizer(m, &t.bpe_));
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
