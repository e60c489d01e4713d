// Small display helpers shared by the commands that print GGUF contents
// (inspect, diff).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace modelc {

// A tensor shape in row-major order (outermost first, like PyTorch), from
// ggml's ne (innermost first): ne {128, 256} -> "[256, 128]".
std::string ShapeString(const std::vector<uint64_t>& ne);

}  // namespace modelc
