// modelc quantize IN.gguf OUT.gguf --type q8_0 [--json]
#include <cstdio>

#include <nlohmann/json.hpp>

#include "binary/quantize.h"
#include "cli/commands.h"

namespace modelc {

namespace {

struct QuantizeOpts {
  std::string in, out, type = "q8_0";
  bool json = false;
};

int Quantize(const QuantizeOpts& o) {
  QuantizeReport r;
  Status st = QuantizeModelFile(o.in, o.out, o.type, &r);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  const double ratio = r.in_bytes ? (double)r.out_bytes / (double)r.in_bytes : 0.0;
  if (o.json) {
    nlohmann::ordered_json j;
    j["input"] = o.in;
    j["output"] = o.out;
    j["type"] = o.type;
    j["tensors_quantized"] = r.quantized;
    j["tensors_f32"] = r.kept_f32;
    j["input_bytes"] = r.in_bytes;
    j["output_bytes"] = r.out_bytes;
    j["size_ratio"] = ratio;
    j["quantized_from"] = r.parent_sha256;
    j["sha256"] = r.out_sha256;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("quantized %s -> %s (%s)\n", o.in.c_str(), o.out.c_str(), o.type.c_str());
    std::printf("  tensors      %d Q8_0, %d F32\n", r.quantized, r.kept_f32);
    std::printf("  size         %llu -> %llu bytes (%.3fx)\n", (unsigned long long)r.in_bytes,
                (unsigned long long)r.out_bytes, ratio);
    std::printf("  parent       sha256 %s\n", r.parent_sha256.c_str());
    std::printf("  sha256       %s\n", r.out_sha256.c_str());
  }
  return 0;
}

}  // namespace

void AddQuantizeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand(
      "quantize",
      "Quantize an F32 model binary: 2-D weights to ggml's Q8_0 (8-bit blocks of 32), the rest "
      "F32; records the parent's sha256. Same input, same bytes");
  auto o = std::make_shared<QuantizeOpts>();
  cmd->add_option("IN", o->in, "F32 model binary (.gguf)")->required();
  cmd->add_option("OUT", o->out, "Output model binary (written atomically; not IN)")->required();
  cmd->add_option("--type", o->type, "Quantization type (only q8_0)")->required();
  cmd->add_flag("--json", o->json, "Print the summary as one JSON object");
  cmd->callback([o, exit_code] { *exit_code = Quantize(*o); });
}

}  // namespace modelc
