// The OpenAI HTTP API as pure functions, for `modelc serve`: request bodies
// parsed and validated into CompletionRequest (or an ApiError in OpenAI's
// error shape with its HTTP status), the chat template rendered, and the
// response / stream-chunk JSON built. No I/O here (server.cpp wires it to
// HTTP), so every rule is unit-tested (tests/serve_test.cpp).
//
// Validation follows OpenAI's API: 400 for a body that is not a JSON object,
// a supported field of the wrong type or out of range, an unrecognized
// field, or a prompt that does not fit the context; 404 for another model
// id. OpenAI fields modelc does not implement (frequency_penalty, logprobs,
// ...) are accepted only with their neutral value, so a request never gets a
// silently different meaning.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace modelc::serve {

// {"error": {"message", "type", "param", "code"}} with its HTTP status.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // "" -> null
  std::string code;   // "" -> null
};
nlohmann::json ErrorJson(const ApiError& e);

// What a request needs to know about the served model.
struct ModelInfo {
  std::string id;           // general.name
  int context = 0;          // tokens
  std::string source_hash;  // modelc.source_hash ("" if absent)
  std::string sha256;       // of the whole .gguf file
  int64_t created = 0;      // unix time the server loaded it
  // tokenizer.chat_template as stored ("" when absent: the built-in one).
  std::string chat_template;
};

// The chat template the model uses: its tokenizer.chat_template, or
// binary/chat_template.h's kChatTemplate when it has none. modelc renders
// only that template; another one makes chat requests fail with a 400.
bool ChatTemplateSupported(const ModelInfo& m);

// GET /v1/models entry: id, object "model", created, owned_by, and
// modelc's provenance (source_hash, sha256 of the file, context_length).
nlohmann::json ModelJson(const ModelInfo& m);
nlohmann::json ModelListJson(const ModelInfo& m);

struct ChatMessage {
  std::string role;  // system | developer | user | assistant
  std::string content;
};

// Renders kChatTemplate with add_generation_prompt = true:
// "ROLE: CONTENT\n" per message, then "assistant: ".
std::string RenderChat(const std::vector<ChatMessage>& messages);

// The stop sequence that ends the assistant's turn in that template.
inline constexpr const char kChatTurnEnd[] = "\n";

constexpr int kMaxN = 16;     // choices per request
constexpr int kMaxStop = 4;   // stop sequences, as OpenAI

struct CompletionRequest {
  bool chat = false;
  std::string model;                  // "" when absent
  std::string prompt;                 // completions: the prompt; chat: RenderChat(messages)
  std::vector<ChatMessage> messages;  // chat only
  int max_tokens = 16;                // completions default 16 (OpenAI); chat: -1
                                      // = until the context is full
  double temperature = 1.0;           // 0..2; 0 = greedy
  double top_p = 1.0;                 // (0..1]
  bool has_seed = false;
  uint64_t seed = 0;                  // choice i samples with seed + i
  std::vector<std::string> stop;      // as requested (chat adds kChatTurnEnd when generating)
  int n = 1;
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage
};

// Parses a POST /v1/completions (chat = false) or /v1/chat/completions body.
// Returns false and fills *err on any problem (see the header comment).
bool ParseCompletionRequest(std::string_view body, bool chat, const ModelInfo& model,
                            CompletionRequest* out, ApiError* err);

// 400 "context_length_exceeded" unless 1 <= prompt_tokens < context (one
// position must stay free to generate from).
bool CheckPromptFits(int prompt_tokens, int context, ApiError* err);

struct ChoiceResult {
  std::string text;
  std::string finish_reason;  // "stop" | "length"
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;  // summed over the choices
};
nlohmann::json UsageJson(const Usage& u);

// The whole (non-streaming) response.
nlohmann::json CompletionResponseJson(const CompletionRequest& r, const std::string& id,
                                      int64_t created, const std::string& model_id,
                                      const std::vector<ChoiceResult>& choices, const Usage& u);

// One streamed chunk for choice `index`: text (completions) or delta.content
// (chat); `role_only` gives chat's first chunk {"role": "assistant",
// "content": ""}; a non-empty finish_reason gives the choice's last chunk.
nlohmann::json StreamChunkJson(const CompletionRequest& r, const std::string& id, int64_t created,
                               const std::string& model_id, int index, const std::string& text,
                               const std::string& finish_reason, bool role_only = false);
// The usage chunk (stream_options.include_usage): empty choices.
nlohmann::json StreamUsageJson(const CompletionRequest& r, const std::string& id, int64_t created,
                               const std::string& model_id, const Usage& u);

// "data: JSON\n\n"; SseDone() is "data: [DONE]\n\n".
std::string SseEvent(const nlohmann::json& j);
std::string SseDone();

// JSON text; bytes that are not valid UTF-8 become U+FFFD (a model may
// generate any bytes).
std::string Dump(const nlohmann::json& j);

}  // namespace modelc::serve
