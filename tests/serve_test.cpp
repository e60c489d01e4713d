// modelc serve's pure parts: request validation and response shaping
// (serve/openai_api.h), the streaming text hold-back (serve/text_stream.h),
// the slot queue (serve/slots.h), and generation on a real model binary
// (serve/generate.h) against `modelc run`. The HTTP server itself is driven
// end to end with the openai npm package (tests/serve/*.mjs, in ctest).
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "binary/chat_template.h"
#include "binary/model_file.h"
#include "cli_util.h"
#include "runtime/engine.h"
#include "runtime/tokenizer.h"
#include "serve/generate.h"
#include "serve/openai_api.h"
#include "serve/slots.h"
#include "serve/text_stream.h"

namespace modelc::serve {
namespace {

using nlohmann::json;
using namespace modelc::testutil;

ModelInfo TestModel() {
  ModelInfo m;
  m.id = "tiny";
  m.context = 32;
  m.source_hash = std::string(64, 'a');
  m.sha256 = std::string(64, 'b');
  m.created = 1700000000;
  return m;
}

// Parses `body`; expects failure and returns the error.
ApiError ParseError(const std::string& body, bool chat = false, const ModelInfo& m = TestModel()) {
  CompletionRequest r;
  ApiError e;
  EXPECT_FALSE(ParseCompletionRequest(body, chat, m, &r, &e)) << body;
  return e;
}

CompletionRequest ParseOk(const std::string& body, bool chat = false) {
  CompletionRequest r;
  ApiError e;
  EXPECT_TRUE(ParseCompletionRequest(body, chat, TestModel(), &r, &e)) << body << ": " << e.message;
  return r;
}

TEST(ServeApi, CompletionDefaults) {
  CompletionRequest r = ParseOk(R"({"prompt": "Hi"})");
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(r.prompt, "Hi");
  EXPECT_EQ(r.max_tokens, 16);  // OpenAI's default for completions
  EXPECT_EQ(r.temperature, 1.0);
  EXPECT_EQ(r.top_p, 1.0);
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.has_seed);
  EXPECT_FALSE(r.stream);
  EXPECT_TRUE(r.stop.empty());
  CompletionRequest c = ParseOk(R"({"messages": [{"role": "user", "content": "Hi"}]})", true);
  EXPECT_EQ(c.max_tokens, -1);  // chat: until the context is full
  EXPECT_EQ(c.prompt, "user: Hi\nassistant: ");
}

TEST(ServeApi, AllSupportedFields) {
  CompletionRequest r = ParseOk(
      R"({"model": "tiny", "prompt": ["The "], "max_tokens": 5, "temperature": 0.5, "top_p": 0.9,
          "n": 3, "seed": 42, "stop": ["\n", "END"], "stream": true,
          "stream_options": {"include_usage": true}, "user": "u1", "frequency_penalty": 0,
          "presence_penalty": 0.0, "logprobs": null, "echo": false, "best_of": 1, "logit_bias": {}})");
  EXPECT_EQ(r.model, "tiny");
  EXPECT_EQ(r.prompt, "The ");
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.top_p, 0.9);
  EXPECT_EQ(r.n, 3);
  EXPECT_TRUE(r.has_seed);
  EXPECT_EQ(r.seed, 42u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n", "END"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  // A single stop string; max_tokens as 7.0; null means absent.
  CompletionRequest s = ParseOk(R"({"prompt": "x", "stop": "!", "max_tokens": 7.0, "seed": null,
                                    "temperature": null, "n": null})");
  EXPECT_EQ(s.stop, std::vector<std::string>{"!"});
  EXPECT_EQ(s.max_tokens, 7);
  EXPECT_FALSE(s.has_seed);
  EXPECT_EQ(s.temperature, 1.0);
  // Negative seeds (OpenAI allows int64) wrap to uint64.
  EXPECT_EQ(ParseOk(R"({"prompt": "x", "seed": -1})").seed, UINT64_MAX);
  EXPECT_EQ(ParseOk(R"({"prompt": "x", "seed": 18446744073709551615})").seed, UINT64_MAX);
  // Chat: max_completion_tokens, content parts, every role.
  CompletionRequest c = ParseOk(
      R"({"messages": [{"role": "system", "content": "Be brief."},
                       {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}]},
                       {"role": "assistant", "content": "Hi."},
                       {"role": "developer", "content": "x", "name": "dev"}],
          "max_completion_tokens": 9, "store": false, "response_format": {"type": "text"}})",
      true);
  EXPECT_EQ(c.max_tokens, 9);
  ASSERT_EQ(c.messages.size(), 4u);
  EXPECT_EQ(c.messages[1].content, "Hello there");
  EXPECT_EQ(c.prompt, "system: Be brief.\nuser: Hello there\nassistant: Hi.\ndeveloper: x\nassistant: ");
}

TEST(ServeApi, BadJson) {
  for (const char* body : {"", "{", "{\"prompt\": \"x\",}", "not json", "{\"prompt\": \"\xff\"}"}) {
    ApiError e = ParseError(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.code, "invalid_json") << body;
    EXPECT_TRUE(Contains(e.message, "parse error")) << e.message;
  }
  EXPECT_TRUE(Contains(ParseError("{\n \"prompt\": x}").message, "line 2")) << ParseError("{\n \"prompt\": x}").message;
  for (const char* body : {"[]", "\"prompt\"", "3", "null"}) {
    ApiError e = ParseError(body);
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "invalid_json");
    EXPECT_TRUE(Contains(e.message, "must be a JSON object")) << e.message;
  }
}

TEST(ServeApi, WrongTypesAndRanges) {
  struct Case {
    const char* body;
    const char* param;
    const char* code;
  };
  const Case cases[] = {
      {R"({"prompt": 5})", "prompt", "invalid_type"},
      {R"({"prompt": null})", "prompt", "invalid_type"},
      {R"({"prompt": [1, 2]})", "prompt", "unsupported_parameter"},
      {R"({"prompt": ["a", "b"]})", "prompt", "unsupported_parameter"},
      {R"({"prompt": "x", "max_tokens": "5"})", "max_tokens", "invalid_type"},
      {R"({"prompt": "x", "max_tokens": 1.5})", "max_tokens", "invalid_type"},
      {R"({"prompt": "x", "max_tokens": 0})", "max_tokens", "invalid_value"},
      {R"({"prompt": "x", "temperature": "hot"})", "temperature", "invalid_type"},
      {R"({"prompt": "x", "temperature": 2.5})", "temperature", "invalid_value"},
      {R"({"prompt": "x", "temperature": -0.1})", "temperature", "invalid_value"},
      {R"({"prompt": "x", "top_p": 1.01})", "top_p", "invalid_value"},
      {R"({"prompt": "x", "n": 0})", "n", "invalid_value"},
      {R"({"prompt": "x", "n": 17})", "n", "invalid_value"},
      {R"({"prompt": "x", "n": true})", "n", "invalid_type"},
      {R"({"prompt": "x", "seed": "1"})", "seed", "invalid_type"},
      {R"({"prompt": "x", "seed": 0.5})", "seed", "invalid_type"},
      {R"({"prompt": "x", "stop": 3})", "stop", "invalid_type"},
      {R"({"prompt": "x", "stop": ["a", 3]})", "stop[1]", "invalid_type"},
      {R"({"prompt": "x", "stop": ["a", "b", "c", "d", "e"]})", "stop", "array_above_max_length"},
      {R"({"prompt": "x", "stop": ""})", "stop", "invalid_value"},
      {R"({"prompt": "x", "stream": "yes"})", "stream", "invalid_type"},
      {R"({"prompt": "x", "stream_options": {"include_usage": true}})", "stream_options", "invalid_value"},
      {R"({"prompt": "x", "stream": true, "stream_options": {"x": 1}})", "stream_options.x", "unknown_parameter"},
      {R"({"prompt": "x", "model": 3})", "model", "invalid_type"},
      {R"({"prompt": "x", "frequency_penalty": 0.5})", "frequency_penalty", "unsupported_parameter"},
      {R"({"prompt": "x", "logprobs": 2})", "logprobs", "unsupported_parameter"},
      {R"({"prompt": "x", "echo": true})", "echo", "unsupported_parameter"},
      {R"({"prompt": "x", "best_of": 2})", "best_of", "unsupported_parameter"},
      {R"({"prompt": "x", "logit_bias": {"5": 1}})", "logit_bias", "unsupported_parameter"},
      {R"({"prompt": "x", "suffix": "end"})", "suffix", "unsupported_parameter"},
      {R"({"prompt": "x", "user": 5})", "user", "invalid_type"},
      {R"({"prompt": "x", "temprature": 1})", "temprature", "unknown_parameter"},
      {R"({"prompt": "x", "foo": null})", "foo", "unknown_parameter"},
      {R"({"prompt": "x", "messages": []})", "messages", "unknown_parameter"},
      {R"({"max_tokens": 3})", "prompt", "missing_required_parameter"},
  };
  for (const Case& c : cases) {
    ApiError e = ParseError(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.message;
    EXPECT_EQ(e.code, c.code) << c.body << ": " << e.message;
    const std::string top = std::string(c.param).substr(0, std::string(c.param).find_first_of(".["));
    EXPECT_TRUE(Contains(e.message, top) || Contains(e.message, "prompt")) << e.message;
  }
  ApiError t = ParseError(R"({"prompt": "x", "max_tokens": "5"})");
  EXPECT_EQ(t.message, "Invalid type for 'max_tokens': expected an integer, but got a string.");
}

TEST(ServeApi, ChatValidation) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({"messages": "hi"})", "messages"},
      {R"({"messages": []})", "messages"},
      {R"({"messages": [3]})", "messages[0]"},
      {R"({"messages": [{"content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "robot", "content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": 3}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0].type"},
      {R"({"messages": [{"role": "user", "content": "x", "tool_calls": []}]})", "messages[0].tool_calls"},
      {R"({"prompt": "x"})", "prompt"},
      {R"({"max_tokens": 1})", "messages"},
  };
  for (const Case& c : cases) {
    ApiError e = ParseError(c.body, true);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.message;
  }
  // Another chat template than modelc's: refused, not rendered wrongly.
  ModelInfo other = TestModel();
  other.chat_template = "{{ messages }}";
  ApiError e = ParseError(R"({"messages": [{"role": "user", "content": "x"}]})", true, other);
  EXPECT_EQ(e.code, "unsupported_chat_template");
  ModelInfo same = TestModel();
  same.chat_template = kChatTemplate;
  EXPECT_TRUE(ChatTemplateSupported(same));
  EXPECT_FALSE(ChatTemplateSupported(other));
}

TEST(ServeApi, ModelMismatchIs404) {
  ApiError e = ParseError(R"({"model": "gpt-4", "prompt": "x"})");
  EXPECT_EQ(e.status, 404);
  EXPECT_EQ(e.code, "model_not_found");
  EXPECT_TRUE(Contains(e.message, "gpt-4") && Contains(e.message, "tiny")) << e.message;
}

TEST(ServeApi, PromptFits) {
  ApiError e;
  EXPECT_TRUE(CheckPromptFits(1, 32, &e));
  EXPECT_TRUE(CheckPromptFits(31, 32, &e));
  EXPECT_FALSE(CheckPromptFits(32, 32, &e));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "context_length_exceeded");
  EXPECT_TRUE(Contains(e.message, "32 tokens") && Contains(e.message, "at most 31")) << e.message;
  EXPECT_FALSE(CheckPromptFits(0, 32, &e));
  EXPECT_EQ(e.status, 400);
}

TEST(ServeApi, ErrorShape) {
  ApiError e;
  e.status = 401;
  e.message = "Incorrect API key provided.";
  e.code = "invalid_api_key";
  EXPECT_EQ(ErrorJson(e), json::parse(R"({"error": {"message": "Incorrect API key provided.",
      "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})"));
  e.param = "x";
  e.code = "";
  EXPECT_EQ(ErrorJson(e)["error"]["param"], "x");
  EXPECT_TRUE(ErrorJson(e)["error"]["code"].is_null());
}

TEST(ServeApi, ChatTemplateIsRenderedAsJinjaWould) {
  // kChatTemplate in Jinja terms: for each message "ROLE: CONTENT\n", then
  // the generation prompt "assistant: ". Check the template text says so.
  const std::string t = kChatTemplate;
  EXPECT_EQ(t,
            "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n"
            "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}");
  EXPECT_EQ(RenderChat({{"user", "a\nb"}}), "user: a\nb\nassistant: ");
  EXPECT_EQ(RenderChat({{"system", ""}, {"user", "q"}}), "system: \nuser: q\nassistant: ");
}

TEST(ServeApi, ResponseShapes) {
  CompletionRequest r = ParseOk(R"({"prompt": "x", "n": 2})");
  Usage u{3, 7};
  json j = CompletionResponseJson(r, "cmpl-1", 123, "tiny", {{"ab", "length"}, {"c", "stop"}}, u);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["id"], "cmpl-1");
  EXPECT_EQ(j["created"], 123);
  EXPECT_EQ(j["model"], "tiny");
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["choices"][1], json::parse(R"({"index": 1, "text": "c", "logprobs": null, "finish_reason": "stop"})"));
  EXPECT_EQ(j["usage"], json::parse(R"({"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10})"));

  CompletionRequest c = ParseOk(R"({"messages": [{"role": "user", "content": "x"}], "stream": true,
                                     "stream_options": {"include_usage": true}})", true);
  json cj = CompletionResponseJson(c, "chatcmpl-1", 1, "tiny", {{"hi", "stop"}}, u);
  EXPECT_EQ(cj["object"], "chat.completion");
  EXPECT_EQ(cj["choices"][0]["message"], json::parse(R"({"role": "assistant", "content": "hi"})"));
  json first = StreamChunkJson(c, "chatcmpl-1", 1, "tiny", 0, "", "", true);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"], json::parse(R"({"role": "assistant", "content": ""})"));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(first.contains("usage") && first["usage"].is_null());  // include_usage: null until the end
  json mid = StreamChunkJson(c, "chatcmpl-1", 1, "tiny", 0, "he", "");
  EXPECT_EQ(mid["choices"][0]["delta"], json::parse(R"({"content": "he"})"));
  json last = StreamChunkJson(c, "chatcmpl-1", 1, "tiny", 0, "", "stop");
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
  json usage = StreamUsageJson(c, "chatcmpl-1", 1, "tiny", u);
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"]["total_tokens"], 10);
  json tc = StreamChunkJson(r, "cmpl-1", 1, "tiny", 1, "abc", "");
  EXPECT_EQ(tc["choices"][0]["text"], "abc");
  EXPECT_EQ(tc["choices"][0]["index"], 1);
  EXPECT_FALSE(tc.contains("usage"));

  EXPECT_EQ(SseEvent(json{{"a", 1}}), "data: {\"a\":1}\n\n");
  EXPECT_EQ(SseDone(), "data: [DONE]\n\n");
  // Invalid UTF-8 from the model becomes U+FFFD, never an exception.
  EXPECT_EQ(Dump(json("a\xff" "b")), "\"a\xef\xbf\xbd" "b\"");

  ModelInfo m = TestModel();
  json models = ModelListJson(m);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(models["data"][0]["source_hash"], m.source_hash);
  EXPECT_EQ(models["data"][0]["sha256"], m.sha256);
  EXPECT_EQ(models["data"][0]["context_length"], 32);
}

// ---------------------------------------------------------------------------
// Text streaming.

TEST(ServeText, Utf8CompleteLength) {
  struct Case {
    std::string s;
    size_t want;
  };
  const Case cases[] = {
      {"", 0},
      {"abc", 3},
      {"a\xc3", 1},
      {"a\xc3\xa9", 3},
      {"\xe2\x82", 0},
      {"\xe2", 0},
      {"\xe2\x82\xac", 3},
      {"x\xf0\x9f\x98", 1},
      {"\xf0\x9f\x98\x80", 4},
      {"\xff", 1},             // never valid: send it
      {"a\x80", 2},            // lone continuation byte
      {"\xc0", 1},             // overlong lead: invalid
      {"\xf5\x80", 2},         // beyond U+10FFFF: invalid
      {"\x80\x80\x80\x80\xc3", 4},
  };
  for (const Case& c : cases) EXPECT_EQ(Utf8CompleteLength(c.s), c.want) << testing::PrintToString(c.s);
}

TEST(ServeText, StopHoldback) {
  EXPECT_EQ(StopHoldback("hello wor", {"world"}), 3u);
  EXPECT_EQ(StopHoldback("hello wor", {"xyz"}), 0u);
  EXPECT_EQ(StopHoldback("ab", {"abc", "b!"}), 2u);
  EXPECT_EQ(StopHoldback("abc", {"abc"}), 0u);  // a whole stop is not "could still become"
  EXPECT_EQ(StopHoldback("", {"abc"}), 0u);
  EXPECT_EQ(StopHoldback("x\n", {"\n\n"}), 1u);
}

// Reference: the text cut before the earliest occurrence of any stop.
std::string CutAtStop(const std::string& text, const std::vector<std::string>& stops, bool* hit) {
  size_t cut = std::string::npos;
  for (const auto& s : stops) cut = std::min(cut, text.find(s));
  *hit = cut != std::string::npos;
  return *hit ? text.substr(0, cut) : text;
}

// A JSON string's text without its quotes; pieces are rendered as "…" and
// concatenated without them.
std::string Unquote(const std::string& s) { return s.substr(1, s.size() - 2); }

TEST(ServeText, StreamEqualsWholeTextOnRandomInput) {
  std::mt19937 gen(12345);
  const std::string alphabet = "ab\n\xc3\xa9\xe2\x82\xac\xff";  // ASCII, 2- and 3-byte chars, junk
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int len = (int)(gen() % 40);
    for (int i = 0; i < len; ++i) text += alphabet[gen() % alphabet.size()];
    std::vector<std::string> stops;
    for (int k = (int)(gen() % 3); k > 0; --k) {
      std::string s;
      for (int i = 1 + (int)(gen() % 3); i > 0; --i) s += alphabet[gen() % alphabet.size()];
      stops.push_back(s);
    }
    bool hit = false;
    const std::string want = CutAtStop(text, stops, &hit);
    TextStream ts(stops);
    std::string got, shown;
    bool stopped = false;
    for (size_t i = 0; i < text.size() && !stopped;) {
      const size_t n = 1 + gen() % 3;  // a "token" of 1..3 bytes
      stopped = ts.Append(std::string_view(text).substr(i, n));
      const std::string piece = ts.TakeReady();
      // Nothing sent is later cut by a stop.
      got += piece;
      shown += Unquote(Dump(json(piece)));
      EXPECT_EQ(want.compare(0, got.size(), got), 0) << testing::PrintToString(text);
      i += n;
    }
    const std::string rest = ts.TakeRest();
    got += rest;
    shown += Unquote(Dump(json(rest)));
    // What a client shows (each piece's invalid bytes as U+FFFD) is the
    // whole text's rendering: no piece boundary splits a character.
    std::string whole = Dump(json(want));
    EXPECT_EQ(shown, Unquote(whole)) << testing::PrintToString(text);
    ASSERT_EQ(got, want) << "text " << testing::PrintToString(text) << " stops " << testing::PrintToString(stops);
    EXPECT_EQ(ts.Text(), want);
    EXPECT_EQ(stopped, hit);
  }
}

TEST(ServeText, HoldsBackSplitCharacterAndStopPrefix) {
  TextStream ts({"END"});
  EXPECT_FALSE(ts.Append("caf\xc3"));
  EXPECT_EQ(ts.TakeReady(), "caf");
  EXPECT_FALSE(ts.Append("\xa9 E"));
  EXPECT_EQ(ts.TakeReady(), "\xc3\xa9 ");  // "E" may start "END"
  EXPECT_FALSE(ts.Append("N"));
  EXPECT_EQ(ts.TakeReady(), "");
  EXPECT_FALSE(ts.Append("x"));  // "ENx": not a stop after all
  EXPECT_EQ(ts.TakeReady(), "ENx");
  EXPECT_TRUE(ts.Append(" END tail"));
  EXPECT_EQ(ts.TakeReady(), " ");
  EXPECT_EQ(ts.Text(), "caf\xc3\xa9 ENx ");
}

// ---------------------------------------------------------------------------
// Slots.

std::vector<std::unique_ptr<InferenceEngine>> TinyEngines(int n, std::vector<float>* params) {
  GptConfig c;
  c.vocab = 8;
  c.context = 4;
  c.n_embd = 8;
  c.n_layer = 1;
  c.n_head = 1;
  params->assign(GptParamCount(c), 0.0f);
  std::vector<std::unique_ptr<InferenceEngine>> e;
  for (int i = 0; i < n; ++i) e.push_back(std::make_unique<GptEngine>(c, params->data()));
  return e;
}

bool WaitFor(const std::function<bool()>& cond) {
  for (int i = 0; i < 5000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(ServeSlots, ParallelLeasesThenFifoQueue) {
  std::vector<float> params;
  SlotPool pool(TinyEngines(2, &params));
  SlotPool::Lease a = pool.Acquire();
  SlotPool::Lease b = pool.Acquire();
  EXPECT_NE(a.slot(), b.slot());
  EXPECT_NE(&a.engine(), &b.engine());
  EXPECT_EQ(pool.stats().busy, 2);
  EXPECT_EQ(pool.stats().queued, 0);
  // Three more callers queue up, in this order.
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int w = 0; w < 3; ++w) {
    waiters.emplace_back([&, w] {
      SlotPool::Lease l = pool.Acquire();
      std::lock_guard<std::mutex> lk(mu);
      order.push_back(w);
      // The lease goes back when the thread ends.
    });
    ASSERT_TRUE(WaitFor([&] { return pool.stats().queued == w + 1; })) << "waiter " << w << " did not queue";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(order.empty());  // nobody got a slot while both were held
  a.Release();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(pool.stats().busy, 1);  // b still held
  EXPECT_EQ(pool.stats().queued, 0);
  EXPECT_EQ(pool.stats().served, 5u);
  b.Release();
  EXPECT_EQ(pool.stats().busy, 0);
}

TEST(ServeSlots, LeaseReturnsOnScopeExitAndMove) {
  std::vector<float> params;
  SlotPool pool(TinyEngines(1, &params));
  {
    SlotPool::Lease l = pool.Acquire();
    SlotPool::Lease m = std::move(l);
    EXPECT_EQ(pool.stats().busy, 1);
  }
  EXPECT_EQ(pool.stats().busy, 0);
  SlotPool::Lease again = pool.Acquire();  // does not block
  EXPECT_EQ(again.slot(), 0);
}

// ---------------------------------------------------------------------------
// Generation on a real (tiny) model binary.

class ServeGenerate : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    SourceSpec s;
    s.name = "tiny-serve";
    s.context = 48;
    WriteSource(*dir_ / "src", s);
    Proc p = RunModelc({"build", *dir_ / "src", "-o", *dir_ / "m.gguf", "--threads", "1"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(LoadModelFile(*dir_ / "m.gguf", &m_).ok());
    ASSERT_TRUE(Tokenizer::FromModel(m_, &tok_).ok());
  }
  GenerateParams Params(const std::string& prompt, int max_tokens, double temperature, uint64_t seed) {
    GenerateParams p;
    p.prompt = tok_.Encode(prompt);
    p.max_tokens = max_tokens;
    p.sampler.temperature = temperature;
    p.sampler.seed = seed;
    return p;
  }
  static std::string Collect(InferenceEngine& e, const Tokenizer& tok, const GenerateParams& p,
                             GenerateResult* r = nullptr) {
    std::string streamed;
    GenerateResult g = Generate(e, tok, p, [&](const std::string& s) {
      streamed += s;
      return true;
    });
    EXPECT_EQ(streamed, g.text);
    if (r) *r = g;
    return g.text;
  }
  static TempDir* dir_;
  LoadedModel m_;
  Tokenizer tok_;
};
TempDir* ServeGenerate::dir_ = nullptr;

TEST_F(ServeGenerate, BinaryCarriesTheChatTemplate) {
  std::string t;
  ASSERT_TRUE(m_.file->GetString("tokenizer.chat_template", &t).ok());
  EXPECT_EQ(t, kChatTemplate);
}

TEST_F(ServeGenerate, SameTextAsModelcRun) {
  // serve and run sample the same way: compare greedy and seeded sampling.
  for (const auto& [temp, seed] : std::vector<std::pair<std::string, uint64_t>>{{"0", 0}, {"0.8", 7}}) {
    Proc p = RunModelc({"run", *dir_ / "m.gguf", "--prompt", "The ", "-n", "20", "--temperature", temp,
                        "--seed", std::to_string(seed)});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    auto e = NewEngine(m_);
    const std::string text = Collect(*e, tok_, Params("The ", 20, std::stod(temp), seed));
    EXPECT_EQ("The " + text + "\n", p.out) << "temperature " << temp;
  }
}

TEST_F(ServeGenerate, NoStateCarriesOverBetweenRequests) {
  auto fresh = NewEngine(m_);
  const GenerateParams a = Params("The river", 25, 0.9, 3);
  const std::string want = Collect(*fresh, tok_, a);
  auto used = NewEngine(m_);
  Collect(*used, tok_, Params("Something else entirely, ", 30, 1.0, 99));
  EXPECT_EQ(Collect(*used, tok_, a), want);
  EXPECT_EQ(Collect(*used, tok_, a), want);
}

TEST_F(ServeGenerate, LimitsAndStops) {
  auto e = NewEngine(m_);
  GenerateResult r;
  Collect(*e, tok_, Params("The ", 5, 0, 0), &r);
  EXPECT_EQ(r.tokens, 5);
  EXPECT_EQ(r.finish_reason, "length");
  // Until the context is full: context - prompt + 1 tokens.
  Collect(*e, tok_, Params("The ", -1, 0.8, 1), &r);
  EXPECT_EQ(r.tokens, MaxNewTokens(4, 48));
  EXPECT_EQ(r.tokens, 45);
  EXPECT_EQ(r.finish_reason, "length");
  // A stop sequence taken from the unstopped greedy text: cut right before it.
  const std::string full = Collect(*e, tok_, Params("The ", 30, 0, 0));
  ASSERT_GE(full.size(), 12u);
  const std::string stop = full.substr(8, 3);
  const size_t at = full.find(stop);
  GenerateParams p = Params("The ", 30, 0, 0);
  p.stop = {stop};
  Collect(*e, tok_, p, &r);
  EXPECT_EQ(r.text, full.substr(0, at));
  EXPECT_EQ(r.finish_reason, "stop");
  EXPECT_EQ(r.tokens, (int)(at + stop.size()));  // byte model: one token per byte
}

TEST_F(ServeGenerate, CancelStopsEarly) {
  auto e = NewEngine(m_);
  int calls = 0;
  GenerateResult r = Generate(*e, tok_, Params("The ", 40, 0.8, 5), [&](const std::string&) {
    return ++calls < 3;
  });
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(calls, 3);
  EXPECT_LT(r.tokens, 40);
  int polls = 0;
  r = Generate(*e, tok_, Params("The ", 40, 0.8, 5), [](const std::string&) { return true; },
               [&] { return ++polls <= 4; });
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.tokens, 4);
}

// The command line: a missing model, a port already taken, SIGTERM.
TEST_F(ServeGenerate, CommandLineErrorsAndShutdown) {
  Proc missing = RunModelc({"serve", *dir_ / "nope.gguf"});
  EXPECT_TRUE(missing.exited && missing.code == 1) << missing;
  EXPECT_EQ(CountLines(missing.err), 1) << missing;
  EXPECT_TRUE(Contains(missing.err, "modelc: error: " + (*dir_ / "nope.gguf"))) << missing;

  Spawned first = SpawnModelc({"serve", *dir_ / "m.gguf", "--port", "0", "--json", "-q"});
  std::string line;
  for (int i = 0; i < 10000 && line.empty(); ++i) {
    const std::string out = PeekFd(first.out_fd);
    if (out.find('\n') != std::string::npos) line = out.substr(0, out.find('\n'));
    else ::usleep(2000);
  }
  ASSERT_FALSE(line.empty()) << "serve printed no start-up line";
  const json info = json::parse(line);
  EXPECT_EQ(info["model"], "tiny-serve");
  EXPECT_EQ(info["host"], "127.0.0.1");  // loopback by default
  EXPECT_EQ(info["auth"], false);
  const int port = info["port"].get<int>();
  ASSERT_GT(port, 0);
  // A second server on the same port must fail, not share it.
  Proc second = RunModelc({"serve", *dir_ / "m.gguf", "--port", std::to_string(port)});
  EXPECT_TRUE(second.exited && second.code == 1) << second;
  EXPECT_TRUE(Contains(second.err, "cannot listen on 127.0.0.1:" + std::to_string(port))) << second;
  ::kill(first.pid, SIGTERM);
  Proc p = WaitModelc(first);
  EXPECT_TRUE(p.exited && p.code == 0) << p;
}

}  // namespace
}  // namespace modelc::serve
