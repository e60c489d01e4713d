#include "source/dataset.h"

#include <cmath>

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

Status LoadDataset(const Recipe& r, Dataset* out) {
  Dataset ds;
  for (const DataSource& d : r.data) {
    std::string where = r.toml_path + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) +
                        ": [[data]] (" + d.path + "): ";
    std::string bytes;
    MODELC_RETURN_IF_ERROR(ReadFile(d.resolved, &bytes).Wrap(where + "reading"));
    std::string actual = Sha256Hex(bytes);
    if (!d.sha256.empty() && d.sha256 != actual)
      return Status::Error(where + "sha256 mismatch: model.toml pins " + d.sha256 + ", file has " + actual);
    const uint64_t n = bytes.size();
    const uint64_t nval = ValBytes(d, n);
    const uint64_t ntrain = n - nval;
    SourceStats s;
    s.title = d.title;
    s.author = d.author;
    s.license = d.license;
    s.sha256 = actual;
    s.path = d.path;
    s.bytes = n;
    s.train_tokens = ntrain;
    s.val_tokens = nval;
    ds.train_offsets.push_back(ds.train.size());
    ds.val_offsets.push_back(ds.val.size());
    const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data());
    ds.train.insert(ds.train.end(), p, p + ntrain);
    ds.val.insert(ds.val.end(), p + ntrain, p + n);
    ds.sources.push_back(std::move(s));
  }
  const uint64_t need = static_cast<uint64_t>(r.arch.context) + 1;
  if (ds.train.size() < need)
    return Status::Error(r.toml_path + ": data has " + std::to_string(ds.train.size()) +
                         " training tokens; need at least context+1 = " + std::to_string(need));
  if (ds.val.size() < need)
    return Status::Error(r.toml_path + ": data has " + std::to_string(ds.val.size()) +
                         " validation tokens; need at least context+1 = " + std::to_string(need));
  *out = std::move(ds);
  return Status::OK();
}

}  // namespace modelc
