#include "cli/gguf_print.h"

namespace modelc {

std::string ShapeString(const std::vector<uint64_t>& ne) {
  std::string s = "[";
  for (size_t i = ne.size(); i-- > 0;) s += std::to_string(ne[i]) + (i ? ", " : "");
  return s + "]";
}

}  // namespace modelc
