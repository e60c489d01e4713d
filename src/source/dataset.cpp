#include "source/dataset.h"

#include <cmath>

#include "tokenizer/bpe_train.h"
#include "util/atomic_file.h"
#include "util/sha256.h"

namespace modelc {

uint64_t ValBytes(const DataSource& d, uint64_t bytes) {
  if (d.split_is_fraction) {
    double v = std::floor(static_cast<double>(bytes) * d.val_fraction);
    if (v <= 0) return 0;
    uint64_t n = static_cast<uint64_t>(v);
    return n > bytes ? bytes : n;
  }
  return d.split == "val" ? bytes : 0;
}

namespace {

void Append(const Bpe& tok, bool bytes_only, std::string_view text, std::vector<uint16_t>* out) {
  if (bytes_only) {
    for (unsigned char c : text) out->push_back(c);
    return;
  }
  for (int id : tok.Encode(text)) out->push_back(static_cast<uint16_t>(id));
}

}  // namespace

Status LoadDataset(const Recipe& r, Dataset* out, const Bpe* given) {
  Dataset ds;
  std::vector<std::string> contents(r.data.size());
  std::vector<uint64_t> ntrain(r.data.size());
  for (size_t i = 0; i < r.data.size(); ++i) {
    const DataSource& d = r.data[i];
    std::string where = r.toml_path + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) +
                        ": [[data]] (" + d.path + "): ";
    std::string& bytes = contents[i];
    MODELC_RETURN_IF_ERROR(ReadFile(d.resolved, &bytes).Wrap(where + "reading"));
    std::string actual = Sha256Hex(bytes);
    if (!d.sha256.empty() && d.sha256 != actual)
      return Status::Error(where + "sha256 mismatch: model.toml pins " + d.sha256 + ", file has " + actual);
    const uint64_t n = bytes.size();
    if (n == 0) return Status::Error(where + d.resolved + " is empty (0 bytes)");
    ntrain[i] = n - ValBytes(d, n);
    SourceStats s;
    s.title = d.title;
    s.author = d.author;
    s.license = d.license;
    s.sha256 = actual;
    s.path = d.path;
    s.bytes = n;
    ds.sources.push_back(std::move(s));
  }
  const bool bpe = r.tokenizer.kind == "bpe";
  if (bpe && given) {
    if (given->size() != r.tokenizer.vocab_size)
      return Status::Error(r.toml_path + ": [tokenizer] vocab_size = " + std::to_string(r.tokenizer.vocab_size) +
                           ", but the base model's vocabulary has " + std::to_string(given->size()) +
                           " tokens (a fine-tune keeps the base's tokenizer)");
    ds.tokenizer = *given;
  } else if (bpe) {
    // The tokenizer is compiled from the training split only.
    std::vector<std::string_view> train_parts;
    for (size_t i = 0; i < contents.size(); ++i)
      train_parts.push_back(std::string_view(contents[i]).substr(0, ntrain[i]));
    MODELC_RETURN_IF_ERROR(TrainBpe(train_parts, r.tokenizer.vocab_size, &ds.tokenizer)
                               .Wrap(r.toml_path + ": [tokenizer] vocab_size = " +
                                     std::to_string(r.tokenizer.vocab_size)));
  }
  for (size_t i = 0; i < contents.size(); ++i) {
    const std::string_view all(contents[i]);
    ds.train_offsets.push_back(ds.train.size());
    ds.val_offsets.push_back(ds.val.size());
    Append(ds.tokenizer, !bpe, all.substr(0, ntrain[i]), &ds.train);
    Append(ds.tokenizer, !bpe, all.substr(ntrain[i]), &ds.val);
    ds.sources[i].train_tokens = ds.train.size() - ds.train_offsets[i];
    ds.sources[i].val_tokens = ds.val.size() - ds.val_offsets[i];
    ds.train_bytes += ntrain[i];
    ds.val_bytes += all.size() - ntrain[i];
  }
  // Too little data: say how much each source gave and what would help.
  const uint64_t need = static_cast<uint64_t>(r.arch.context) + 1;
  auto too_few = [&](bool train) {
    std::string per;
    for (size_t i = 0; i < ds.sources.size(); ++i) {
      const uint64_t t = train ? ds.sources[i].train_tokens : ds.sources[i].val_tokens;
      const DataSource& d = r.data[i];
      per += (per.empty() ? "" : ", ") + d.path + " (line " + std::to_string(d.line) + "): " + std::to_string(t);
    }
    const uint64_t have = train ? ds.train.size() : ds.val.size();
    return Status::Error(r.toml_path + ": [[data]]: the " + (train ? "training" : "validation") + " split has " +
                         std::to_string(have) + " tokens (" + per + "), fewer than [architecture] context + 1 = " +
                         std::to_string(need) + "; add data, " +
                         (train ? "give more of it to training (split)" : "hold out more of it (split)") +
                         " or lower context");
  };
  if (ds.train.size() < need) return too_few(true);
  if (ds.val.size() < need) return too_few(false);
  *out = std::move(ds);
  return Status::OK();
}

}  // namespace modelc
