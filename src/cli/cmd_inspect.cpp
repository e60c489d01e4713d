// modelc inspect MODEL.gguf [--json]
#include <cstdio>

#include <nlohmann/json.hpp>

#include "binary/model_file.h"
#include "cli/commands.h"
#include "cli/gguf_print.h"
#include "util/sha256.h"

namespace modelc {

namespace {

std::string MetaString(const GgufFile& f, const char* key) {
  const GgufValue* v = f.Find(key);
  return v && v->type() == gguf_type::kString ? v->AsString() : "";
}

int Inspect(const std::string& path, bool json) {
  LoadedModel m;
  Status st = LoadModelFile(path, &m);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  const GgufFile& f = *m.file;
  std::string file_sha;
  st = Sha256File(path, &file_sha);
  if (!st.ok()) {
    PrintError(st.message());
    return 1;
  }
  const ModelConfig& c = m.config;
  const std::string arch(FindFamily(c.family)->gguf_arch);
  nlohmann::json manifest = nlohmann::json::array();
  const std::string mtext = MetaString(f, "modelc.data_manifest");
  if (!mtext.empty()) manifest = nlohmann::json::parse(mtext, nullptr, false);
  if (!manifest.is_array()) manifest = nlohmann::json::array();
  // Keep only well-formed entries: the file may come from anywhere.
  {
    nlohmann::json clean = nlohmann::json::array();
    for (const auto& d : manifest) {
      if (!d.is_object()) continue;
      nlohmann::json e = nlohmann::json::object();
      for (const char* k : {"title", "author", "license", "source_url", "path", "sha256"})
        e[k] = d.contains(k) && d[k].is_string() ? d[k] : nlohmann::json("");
      if (d.contains("license_acknowledgement") && d["license_acknowledgement"].is_string())
        e["license_acknowledgement"] = d["license_acknowledgement"];  // only where the source has one
      for (const char* k : {"bytes", "tokens_used", "train_tokens", "val_tokens"})
        e[k] = d.contains(k) && d[k].is_number_unsigned() ? d[k] : nlohmann::json(0ull);
      clean.push_back(e);
    }
    manifest = clean;
  }

  struct TensorRow {
    std::string name, shape, type, sha;
    uint64_t n;
  };
  std::vector<TensorRow> rows;
  for (const auto& t : f.tensors())
    rows.push_back({t.name, ShapeString(t.ne), GgufFile::TypeName(t.type),
                    Sha256Hex(t.data, t.nbytes), t.n_elements()});

  if (json) {
    nlohmann::json j;
    j["file"] = path;
    j["sha256"] = file_sha;
    j["gguf_version"] = f.version();
    j["architecture"] = {{"family", arch}, {"n_layer", c.n_layer}, {"n_head", c.n_head},
                         {"n_embd", c.n_embd}, {"context", c.context}, {"vocab", c.vocab}};
    if (c.family == "llama") {
      j["architecture"]["n_head_kv"] = c.n_head_kv;
      j["architecture"]["ffn_hidden"] = c.ffn_hidden;
      j["architecture"]["rope_theta"] = c.rope_theta;
      j["architecture"]["rms_eps"] = c.rms_eps;
      j["architecture"]["tie_embeddings"] = c.tie_embeddings;
    }
    j["parameters"] = ModelParamCount(c);
    j["data"] = manifest;
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& [k, v] : f.kv()) meta[k] = v.ToJson();
    j["metadata"] = meta;
    nlohmann::json tensors = nlohmann::json::array();
    for (const auto& r : rows)
      tensors.push_back({{"name", r.name}, {"shape", r.shape}, {"type", r.type},
                         {"elements", r.n}, {"sha256", r.sha}});
    j["tensors"] = tensors;
    // Invalid UTF-8 (in a path or a name) is replaced, never a crash.
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("%s\n", path.c_str());
  std::printf("  model        %s (%s)\n", MetaString(f, "general.name").c_str(),
              MetaString(f, "general.license").c_str());
  if (!MetaString(f, "general.author").empty())
    std::printf("  authors      %s\n", MetaString(f, "general.author").c_str());
  std::printf("  file         GGUF v%u, %llu bytes, sha256 %s\n", f.version(),
              (unsigned long long)f.file_size(), file_sha.c_str());
  std::printf("  architecture %s: %s\n", arch.c_str(), c.Describe().c_str());
  std::printf("  parameters   %lld\n", (long long)ModelParamCount(c));
  if (!MetaString(f, "modelc.version").empty()) {
    std::printf("  built by     modelc %s\n", MetaString(f, "modelc.version").c_str());
    std::printf("  source hash  %s\n", MetaString(f, "modelc.source_hash").c_str());
  }
  if (!MetaString(f, "general.base_model.0.name").empty())
    std::printf("  base model   %s (%s), sha256 %s\n", MetaString(f, "general.base_model.0.name").c_str(),
                MetaString(f, "modelc.base_model.0.license").c_str(),
                MetaString(f, "modelc.base_model.0.sha256").c_str());
  if (const GgufValue* v = f.Find("modelc.steps"))
    std::printf("  training     %s steps, %s tokens\n", v->ToDisplayString().c_str(),
                f.Find("modelc.tokens_seen") ? f.Find("modelc.tokens_seen")->ToDisplayString().c_str() : "?");
  if (const GgufValue* v = f.Find("modelc.val_loss"))
    std::printf("  loss         train %s, val %s\n",
                f.Find("modelc.train_loss") ? f.Find("modelc.train_loss")->ToDisplayString().c_str() : "?",
                v->ToDisplayString().c_str());
  if (!manifest.empty()) {
    std::printf("\ndata\n");
    for (const auto& d : manifest) {
      std::printf("  %s — %s (%s)\n", d.value("title", "").c_str(), d.value("author", "").c_str(),
                  d.value("license", "").c_str());
      std::printf("      %s, %llu bytes, %llu training tokens used, sha256 %s\n",
                  d.value("path", "").c_str(), (unsigned long long)d.value("bytes", 0ull),
                  (unsigned long long)d.value("tokens_used", 0ull), d.value("sha256", "").c_str());
      if (!d.value("source_url", "").empty())
        std::printf("      %s\n", d.value("source_url", "").c_str());
      if (!d.value("license_acknowledgement", "").empty())
        std::printf("      licence conflict acknowledged: %s\n", d.value("license_acknowledgement", "").c_str());
    }
  }
  std::printf("\nmetadata (%zu keys)\n", f.kv().size());
  for (const auto& [k, v] : f.kv())
    std::printf("  %-40s %-12s %s\n", k.c_str(), v.TypeString().c_str(),
                v.ToDisplayString(6).c_str());
  std::printf("\ntensors (%zu)\n", rows.size());
  std::printf("  %-28s %-14s %-5s %s\n", "name", "shape", "type", "sha256");
  for (const auto& r : rows)
    std::printf("  %-28s %-14s %-5s %s\n", r.name.c_str(), r.shape.c_str(), r.type.c_str(),
                r.sha.c_str());
  return 0;
}

}  // namespace

void AddInspectCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("inspect", "Show what a model binary contains and where it came from");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("MODEL", *path, "Model binary (.gguf)")->required();
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([=] { *exit_code = Inspect(*path, *json); });
}

}  // namespace modelc
