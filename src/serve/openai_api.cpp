#include "serve/openai_api.h"

#include <cmath>
#include <limits>

#include "binary/chat_template.h"

namespace modelc::serve {

using nlohmann::json;

namespace {

json NullOr(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

bool Fail(ApiError* err, const std::string& param, const std::string& message,
          const std::string& code = "", int status = 400) {
  err->status = status;
  err->type = "invalid_request_error";
  err->param = param;
  err->message = message;
  err->code = code;
  return false;
}

const char* TypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

bool WrongType(ApiError* err, const std::string& param, const json& v, const char* want) {
  return Fail(err, param,
              "Invalid type for '" + param + "': expected " + want + ", but got " + TypeName(v) + ".",
              "invalid_type");
}

// A JSON number that is an integer (1 and 1.0, not 1.5).
bool AsInteger(const json& v, long double* out) {
  if (v.is_number_integer() || v.is_number_unsigned()) {
    *out = v.is_number_unsigned() ? (long double)v.get<uint64_t>() : (long double)v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

bool GetInt(const json& v, const std::string& param, long double lo, long double hi, int* out,
            ApiError* err) {
  long double x;
  if (!AsInteger(v, &x)) return WrongType(err, param, v, "an integer");
  if (x < lo || x > hi) {
    std::string range = "at least " + std::to_string((long long)lo);
    if (hi < (long double)std::numeric_limits<int>::max())
      range += " and at most " + std::to_string((long long)hi);
    return Fail(err, param, "Invalid '" + param + "': " + std::to_string((long long)x) +
                                " is out of range; it must be " + range + ".",
                "invalid_value");
  }
  *out = (int)x;
  return true;
}

bool GetNumber(const json& v, const std::string& param, double lo, double hi, double* out,
               ApiError* err) {
  if (!v.is_number()) return WrongType(err, param, v, "a number");
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "Invalid '%s': %g is out of range; it must be between %g and %g.",
                  param.c_str(), x, lo, hi);
    return Fail(err, param, buf, "invalid_value");
  }
  *out = x;
  return true;
}

// Chat content: a string, or an array of {"type": "text", "text": "..."} parts.
bool GetContent(const json& v, const std::string& param, std::string* out, ApiError* err) {
  if (v.is_string()) {
    *out = v.get<std::string>();
    return true;
  }
  if (!v.is_array()) return WrongType(err, param, v, "a string or an array of text parts");
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = param + "[" + std::to_string(i) + "]";
    const json& part = v[i];
    if (!part.is_object()) return WrongType(err, p, part, "an object");
    if (part.value("type", json()) != json("text"))
      return Fail(err, p + ".type", "Invalid '" + p + ".type': modelc models take only \"text\" parts.",
                  "invalid_value");
    if (!part.contains("text") || !part["text"].is_string())
      return WrongType(err, p + ".text", part.value("text", json()), "a string");
    *out += part["text"].get<std::string>();
  }
  return true;
}

bool ParseMessages(const json& v, std::vector<ChatMessage>* out, ApiError* err) {
  if (!v.is_array()) return WrongType(err, "messages", v, "an array");
  if (v.empty())
    return Fail(err, "messages", "Invalid 'messages': empty array. Expected at least one message.",
                "empty_array");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string p = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) return WrongType(err, p, m, "an object");
    for (const auto& [k, val] : m.items())
      if (k != "role" && k != "content" && k != "name")
        return Fail(err, p + "." + k, "Unrecognized message field supplied: " + p + "." + k + ".",
                    "unknown_parameter");
    if (!m.contains("role")) return Fail(err, p + ".role", "Missing required parameter: '" + p + ".role'.", "missing_required_parameter");
    if (!m["role"].is_string()) return WrongType(err, p + ".role", m["role"], "a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant")
      return Fail(err, p + ".role",
                  "Invalid value for '" + p + ".role': '" + role +
                      "'. Supported values are: 'system', 'developer', 'user' and 'assistant'.",
                  "invalid_value");
    if (m.contains("name") && !m["name"].is_string())
      return WrongType(err, p + ".name", m["name"], "a string");
    if (!m.contains("content"))
      return Fail(err, p + ".content", "Missing required parameter: '" + p + ".content'.",
                  "missing_required_parameter");
    ChatMessage cm;
    cm.role = role;
    if (!GetContent(m["content"], p + ".content", &cm.content, err)) return false;
    out->push_back(std::move(cm));
  }
  return true;
}

bool ParseStop(const json& v, std::vector<std::string>* out, ApiError* err) {
  std::vector<std::string> s;
  if (v.is_string()) {
    s.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > (size_t)kMaxStop)
      return Fail(err, "stop",
                  "Invalid 'stop': array too long. Expected at most " + std::to_string(kMaxStop) +
                      " sequences, but got " + std::to_string(v.size()) + ".",
                  "array_above_max_length");
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) return WrongType(err, "stop[" + std::to_string(i) + "]", v[i], "a string");
      s.push_back(v[i].get<std::string>());
    }
  } else {
    return WrongType(err, "stop", v, "a string or an array of strings");
  }
  for (const std::string& x : s)
    if (x.empty()) return Fail(err, "stop", "Invalid 'stop': a stop sequence must not be empty.", "invalid_value");
  *out = std::move(s);
  return true;
}

// OpenAI fields modelc does not implement, accepted with their neutral value.
bool NeutralField(const std::string& k, const json& v, bool chat, ApiError* err) {
  auto unsupported = [&](const char* neutral) {
    return Fail(err, k, "'" + k + "' is not supported by modelc serve; omit it or send " + neutral + ".",
                "unsupported_parameter");
  };
  if (k == "user") {
    if (!v.is_string() && !v.is_null()) return WrongType(err, k, v, "a string");
    return true;
  }
  if (k == "frequency_penalty" || k == "presence_penalty") {
    if (v.is_null()) return true;
    if (!v.is_number()) return WrongType(err, k, v, "a number");
    return v.get<double>() == 0.0 ? true : unsupported("0");
  }
  if (k == "logprobs" || (chat && k == "top_logprobs") || (!chat && k == "echo")) {
    if (v.is_null() || v == json(false) || (k == "top_logprobs" && v == json(0))) return true;
    return unsupported(k == "logprobs" && !chat ? "null" : (k == "top_logprobs" ? "null" : "false"));
  }
  if (k == "logit_bias") {
    if (v.is_null() || (v.is_object() && v.empty())) return true;
    if (!v.is_object()) return WrongType(err, k, v, "an object");
    return unsupported("{}");
  }
  if (!chat && (k == "best_of")) {
    if (v.is_null() || v == json(1)) return true;
    return unsupported("1");
  }
  if (!chat && k == "suffix") {
    if (v.is_null() || v == json("")) return true;
    return unsupported("null");
  }
  if (chat && (k == "store" || k == "parallel_tool_calls")) {
    if (v.is_null() || v.is_boolean()) return true;
    return WrongType(err, k, v, "a boolean");
  }
  if (chat && k == "metadata") {
    if (v.is_null() || v.is_object()) return true;
    return WrongType(err, k, v, "an object");
  }
  if (chat && k == "response_format") {
    if (v.is_null() || (v.is_object() && v.value("type", json()) == json("text") && v.size() == 1))
      return true;
    return unsupported("{\"type\": \"text\"}");
  }
  return Fail(err, k, "Unrecognized request argument supplied: " + k, "unknown_parameter");
}

}  // namespace

json ErrorJson(const ApiError& e) {
  return {{"error",
           {{"message", e.message}, {"type", e.type}, {"param", NullOr(e.param)}, {"code", NullOr(e.code)}}}};
}

bool ChatTemplateSupported(const ModelInfo& m) {
  return m.chat_template.empty() || m.chat_template == kChatTemplate;
}

json ModelJson(const ModelInfo& m) {
  return {{"id", m.id},
          {"object", "model"},
          {"created", m.created},
          {"owned_by", "modelc"},
          {"context_length", m.context},
          {"source_hash", NullOr(m.source_hash)},
          {"sha256", m.sha256}};
}

json ModelListJson(const ModelInfo& m) { return {{"object", "list"}, {"data", json::array({ModelJson(m)})}}; }

std::string RenderChat(const std::vector<ChatMessage>& messages) {
  std::string s;
  for (const ChatMessage& m : messages) s += m.role + ": " + m.content + "\n";
  return s + "assistant: ";
}

bool ParseCompletionRequest(std::string_view body, bool chat, const ModelInfo& model,
                            CompletionRequest* out, ApiError* err) {
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number too large
    // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string what = e.what();
    const size_t p = what.find("] ");
    return Fail(err, "", "We could not parse the JSON body of your request: " +
                             (p == std::string::npos ? what : what.substr(p + 2)),
                "invalid_json");
  }
  if (!j.is_object())
    return Fail(err, "", std::string("The request body must be a JSON object, not ") + TypeName(j) + ".",
                "invalid_json");
  CompletionRequest r;
  r.chat = chat;
  r.max_tokens = chat ? -1 : 16;
  bool have_input = false;
  for (const auto& [k, v] : j.items()) {
    // null = absent (OpenAI) for the optional fields modelc implements.
    static const char* const kOptional[] = {"model", "max_tokens", "temperature", "top_p", "n",
                                            "seed",  "stop",       "stream",      "stream_options"};
    bool optional = chat && k == "max_completion_tokens";
    for (const char* o : kOptional) optional |= k == o;
    if (v.is_null() && optional) continue;
    if (k == "model") {
      if (!v.is_string()) return WrongType(err, k, v, "a string");
      r.model = v.get<std::string>();
    } else if (!chat && k == "prompt") {
      if (v.is_string()) {
        r.prompt = v.get<std::string>();
      } else if (v.is_array() && v.size() == 1 && v[0].is_string()) {
        r.prompt = v[0].get<std::string>();
      } else if (v.is_array() && v.size() > 1 && v[0].is_string()) {
        return Fail(err, k, "Invalid 'prompt': modelc serve takes one prompt per request.",
                    "unsupported_parameter");
      } else if (v.is_array() && !v.empty() && v[0].is_number()) {
        return Fail(err, k, "Invalid 'prompt': token arrays are not supported; send text.",
                    "unsupported_parameter");
      } else {
        return WrongType(err, k, v, "a string");
      }
      have_input = true;
    } else if (chat && k == "messages") {
      if (!ParseMessages(v, &r.messages, err)) return false;
      have_input = true;
    } else if (k == "max_tokens" || (chat && k == "max_completion_tokens")) {
      if (!GetInt(v, k, 1, std::numeric_limits<int>::max(), &r.max_tokens, err)) return false;
    } else if (k == "temperature") {
      if (!GetNumber(v, k, 0.0, 2.0, &r.temperature, err)) return false;
    } else if (k == "top_p") {
      if (!GetNumber(v, k, 0.0, 1.0, &r.top_p, err)) return false;
    } else if (k == "n") {
      if (!GetInt(v, k, 1, kMaxN, &r.n, err)) return false;
    } else if (k == "seed") {
      long double x;
      if (!AsInteger(v, &x)) return WrongType(err, k, v, "an integer");
      if (v.is_number_unsigned())
        r.seed = v.get<uint64_t>();
      else if (v.is_number_integer())
        r.seed = (uint64_t)v.get<int64_t>();
      else if (x >= -9.2e18L && x <= 1.8e19L)
        r.seed = x < 0 ? (uint64_t)(int64_t)x : (uint64_t)x;
      else
        return Fail(err, k, "Invalid 'seed': out of the 64-bit integer range.", "invalid_value");
      r.has_seed = true;
    } else if (k == "stop") {
      if (!ParseStop(v, &r.stop, err)) return false;
    } else if (k == "stream") {
      if (!v.is_boolean()) return WrongType(err, k, v, "a boolean");
      r.stream = v.get<bool>();
    } else if (k == "stream_options") {
      if (!v.is_object()) return WrongType(err, k, v, "an object");
      for (const auto& [sk, sv] : v.items()) {
        if (sk != "include_usage")
          return Fail(err, "stream_options." + sk,
                      "Unrecognized stream_options field supplied: " + sk, "unknown_parameter");
        if (!sv.is_boolean()) return WrongType(err, "stream_options.include_usage", sv, "a boolean");
        r.include_usage = sv.get<bool>();
      }
    } else if (!NeutralField(k, v, chat, err)) {
      return false;
    }
  }
  if (!have_input) {
    const char* p = chat ? "messages" : "prompt";
    return Fail(err, p, std::string("Missing required parameter: '") + p + "'.",
                "missing_required_parameter");
  }
  if (j.contains("stream_options") && !j["stream_options"].is_null() && !r.stream)
    return Fail(err, "stream_options",
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "invalid_value");
  if (!r.model.empty() && r.model != model.id)
    return Fail(err, "model",
                "The model '" + r.model + "' does not exist; this server serves '" + model.id + "'.",
                "model_not_found", 404);
  if (chat) {
    if (!ChatTemplateSupported(model))
      return Fail(err, "messages",
                  "This model's tokenizer.chat_template is not modelc's template, which is the only "
                  "one modelc serve renders; use /v1/completions.",
                  "unsupported_chat_template");
    r.prompt = RenderChat(r.messages);
  }
  *out = std::move(r);
  return true;
}

bool CheckPromptFits(int prompt_tokens, int context, ApiError* err) {
  if (prompt_tokens < 1)
    return Fail(err, "prompt", "Invalid 'prompt': the prompt is empty; give at least one token of text.",
                "invalid_value");
  if (prompt_tokens >= context)
    return Fail(err, "prompt",
                "This model's maximum context length is " + std::to_string(context) +
                    " tokens. However, your prompt is " + std::to_string(prompt_tokens) +
                    " tokens; it must be at most " + std::to_string(context - 1) +
                    " so that there is room to generate.",
                "context_length_exceeded");
  return true;
}

json UsageJson(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens}};
}

json CompletionResponseJson(const CompletionRequest& r, const std::string& id, int64_t created,
                            const std::string& model_id, const std::vector<ChoiceResult>& choices,
                            const Usage& u) {
  json cs = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    json c = {{"index", (int)i}, {"logprobs", nullptr}, {"finish_reason", choices[i].finish_reason}};
    if (r.chat)
      c["message"] = {{"role", "assistant"}, {"content", choices[i].text}};
    else
      c["text"] = choices[i].text;
    cs.push_back(std::move(c));
  }
  return {{"id", id},
          {"object", r.chat ? "chat.completion" : "text_completion"},
          {"created", created},
          {"model", model_id},
          {"system_fingerprint", "modelc-" MODELC_VERSION},
          {"choices", std::move(cs)},
          {"usage", UsageJson(u)}};
}

json StreamChunkJson(const CompletionRequest& r, const std::string& id, int64_t created,
                     const std::string& model_id, int index, const std::string& text,
                     const std::string& finish_reason, bool role_only) {
  json c = {{"index", index},
            {"logprobs", nullptr},
            {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)}};
  if (r.chat) {
    if (role_only)
      c["delta"] = {{"role", "assistant"}, {"content", ""}};
    else if (text.empty() && !finish_reason.empty())
      c["delta"] = json::object();
    else
      c["delta"] = {{"content", text}};
  } else {
    c["text"] = text;
  }
  json j = {{"id", id},
            {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created},
            {"model", model_id},
            {"system_fingerprint", "modelc-" MODELC_VERSION},
            {"choices", json::array({std::move(c)})}};
  if (r.include_usage) j["usage"] = nullptr;
  return j;
}

json StreamUsageJson(const CompletionRequest& r, const std::string& id, int64_t created,
                     const std::string& model_id, const Usage& u) {
  return {{"id", id},
          {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created},
          {"model", model_id},
          {"system_fingerprint", "modelc-" MODELC_VERSION},
          {"choices", json::array()},
          {"usage", UsageJson(u)}};
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string SseEvent(const json& j) { return "data: " + Dump(j) + "\n\n"; }

std::string SseDone() { return "data: [DONE]\n\n"; }

}  // namespace modelc::serve
