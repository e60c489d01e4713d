#include "binary/quantize.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <vector>

#include "kernels/q8_dot.h"
#include "util/sha256.h"

namespace modelc {

bool IsQ8_0Candidate(const GgufTensorInfo& t) {
  const std::string suffix = ".weight";
  const bool is_weight = t.name.size() > suffix.size() &&
                         t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0;
  return t.type == ggml_type::kF32 && is_weight && t.name != "position_embd.weight" &&
         t.ne.size() == 2 && t.ne[0] % kQ8Block == 0;
}

Status QuantizeToQ8_0(const GgufFile& in, const std::string& parent_sha256, GgufWriter* w,
                      int* quantized, int* kept_f32) {
  const std::string& path = in.path();
  for (const GgufTensorInfo& t : in.tensors())
    if (t.type != ggml_type::kF32)
      return Status::Error(path + ": tensor " + t.name + " is " + GgufFile::TypeName(t.type) +
                           ": the input is already quantized (modelc quantize reads F32 models)");
  if (const GgufValue* ft = in.Find("general.file_type")) {
    if (ft->type() != gguf_type::kU32)
      return Status::Error(path + ": key general.file_type has type " + ft->TypeString() +
                           ", expected u32");
    if (ft->AsU64() != 0)
      return Status::Error(path + ": general.file_type is " + std::to_string(ft->AsU64()) +
                           ", not 0 (all F32): the input is already quantized");
  }
  if (in.Find("modelc.quantized_from") || in.Find("general.quantization_version"))
    return Status::Error(path + ": the input is already quantized (it has quantization keys)");

  // Metadata: the input's keys in order; file_type becomes 7 and is followed
  // by quantization_version. Without a file_type key both go after
  // general.name (or first).
  const bool has_ft = in.Find("general.file_type") != nullptr;
  bool placed = false;
  auto place = [&] {
    w->SetU32("general.file_type", kFileTypeMostlyQ8_0);
    w->SetU32("general.quantization_version", kQuantizationVersion);
    placed = true;
  };
  if (!has_ft && !in.Find("general.name")) place();
  for (const auto& [key, v] : in.kv()) {
    if (key == "general.file_type") {
      place();
      continue;
    }
    w->Set(key, v);
    if (!has_ft && key == "general.name") place();
  }
  if (!placed) place();
  w->SetString("modelc.quantization", "q8_0");
  w->SetString("modelc.quantized_from", parent_sha256);

  *quantized = *kept_f32 = 0;
  std::vector<float> f;
  std::vector<uint8_t> q;
  for (const GgufTensorInfo& t : in.tensors()) {
    if (!IsQ8_0Candidate(t)) {
      w->AddTensorRaw(t.name, t.ne, t.type, t.data, (size_t)t.nbytes);
      ++*kept_f32;
      continue;
    }
    MODELC_RETURN_IF_ERROR(in.ReadTensorF32(t.name, &f));
    for (size_t i = 0; i < f.size(); ++i)
      if (!std::isfinite(f[i]))
        return Status::Error(path + ": tensor " + t.name + " element " + std::to_string(i) +
                             " is not finite; cannot quantize");
    q.resize(f.size() / kQ8Block * kQ8BlockBytes);
    QuantizeRowQ8_0(f.data(), (int64_t)f.size(), q.data());
    w->AddTensorRaw(t.name, t.ne, ggml_type::kQ8_0, q.data(), q.size());
    ++*quantized;
  }
  return Status::OK();
}

Status QuantizeModelFile(const std::string& in_path, const std::string& out_path,
                         const std::string& type, QuantizeReport* report) {
  if (type != "q8_0")
    return Status::Error("unsupported quantization type '" + type + "' (supported: q8_0)");
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out_path, ec) && fs::equivalent(in_path, out_path, ec))
    return Status::Error(out_path + ": is the input file; choose another output path");
  if (fs::weakly_canonical(in_path, ec) == fs::weakly_canonical(out_path, ec) && !ec)
    return Status::Error(out_path + ": is the input file; choose another output path");
  std::unique_ptr<GgufFile> in;
  MODELC_RETURN_IF_ERROR(GgufFile::Open(in_path, &in));
  QuantizeReport r;
  MODELC_RETURN_IF_ERROR(Sha256File(in_path, &r.parent_sha256));
  r.in_bytes = in->file_size();
  GgufWriter w;
  MODELC_RETURN_IF_ERROR(QuantizeToQ8_0(*in, r.parent_sha256, &w, &r.quantized, &r.kept_f32));
  if (r.quantized == 0)
    return Status::Error(in_path + ": no tensor can be quantized (2-D weights with ne[0] a multiple of 32)");
  MODELC_RETURN_IF_ERROR(w.Write(out_path));
  r.out_bytes = fs::file_size(out_path, ec);
  MODELC_RETURN_IF_ERROR(Sha256File(out_path, &r.out_sha256));
  *report = r;
  return Status::OK();
}

}  // namespace modelc
