// `modelc quantize`: an F32 model binary -> a Q8_0 one (ggml's 8-bit block
// format, kernels/q8_dot.h), as llama.cpp's quantizer lays it out:
//   - every 2-D "*.weight" tensor whose ne[0] is a multiple of 32 becomes
//     Q8_0 (ggml type 8), token_embd.weight included (llama.cpp's gpt2
//     loader accepts any type for it: get_rows dequantizes);
//     position_embd.weight, norms and biases stay F32;
//   - general.file_type = 7 (LLAMA_FTYPE_MOSTLY_Q8_0) and
//     general.quantization_version = 2 (u32, right after file_type);
//   - provenance: modelc.quantization = "q8_0", modelc.quantized_from =
//     sha256 of the input file; every other key is kept, in order;
//   - tensors in the input's order, same alignment.
// Deterministic: the output bytes are a function of the input bytes only.
#pragma once
#include <cstdint>
#include <string>

#include "binary/gguf.h"
#include "util/status.h"

namespace modelc {

// ggml's LLAMA_FTYPE_MOSTLY_Q8_0 and GGML_QNT_VERSION.
constexpr uint32_t kFileTypeMostlyQ8_0 = 7;
constexpr uint32_t kQuantizationVersion = 2;

struct QuantizeReport {
  uint64_t in_bytes = 0, out_bytes = 0;
  int quantized = 0, kept_f32 = 0;  // tensor counts
  std::string parent_sha256, out_sha256;
};

// Whether `t` (an F32 tensor) becomes Q8_0.
bool IsQ8_0Candidate(const GgufTensorInfo& t);

// Builds the Q8_0 version of `in` into `w` (not yet written).
// parent_sha256: sha256 of the input file's bytes. Errors: a tensor that is
// not F32 ("already quantized"), general.file_type not 0, non-finite values.
Status QuantizeToQ8_0(const GgufFile& in, const std::string& parent_sha256, GgufWriter* w,
                      int* quantized, int* kept_f32);

// Reads `in_path`, quantizes to `type` (only "q8_0"), writes `out_path`
// atomically. Refuses an output path that is the input file.
Status QuantizeModelFile(const std::string& in_path, const std::string& out_path,
                         const std::string& type, QuantizeReport* report);

}  // namespace modelc
