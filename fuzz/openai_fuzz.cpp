// Fuzz target: the OpenAI request parser of `modelc serve`
// (serve/openai_api.h ParseCompletionRequest), for both endpoints, and the
// response JSON built from what it accepts (with the request's text as the
// generated text: arbitrary bytes must come out as valid JSON).
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "serve/openai_api.h"

using namespace modelc::serve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ModelInfo m;
  m.id = "fuzz-gpt";
  m.context = 256;
  m.source_hash = std::string(64, 'a');
  m.sha256 = std::string(64, 'b');
  m.created = 1700000000;
  for (bool chat : {false, true}) {
    CompletionRequest r;
    ApiError err;
    if (!ParseCompletionRequest(body, chat, m, &r, &err)) {
      FUZZ_CHECK(err.status >= 400 && err.status < 500);
      FUZZ_CHECK(!err.message.empty());
      FUZZ_CHECK(nlohmann::json::accept(Dump(ErrorJson(err))));
      continue;
    }
    FUZZ_CHECK(r.chat == chat);
    FUZZ_CHECK(r.n >= 1 && r.n <= kMaxN);
    FUZZ_CHECK(r.stop.size() <= size_t(kMaxStop));
    FUZZ_CHECK(r.temperature >= 0 && r.temperature <= 2);
    FUZZ_CHECK(r.top_p > 0 && r.top_p <= 1);
    ApiError fit;
    (void)CheckPromptFits(int(r.prompt.size()), m.context, &fit);
    ChoiceResult c{r.prompt, "stop"};
    Usage u{int(r.prompt.size()), 1};
    FUZZ_CHECK(nlohmann::json::accept(Dump(CompletionResponseJson(r, "cmpl-1", 1, m.id, {c}, u))));
    FUZZ_CHECK(nlohmann::json::accept(Dump(StreamChunkJson(r, "cmpl-1", 1, m.id, 0, r.prompt, ""))));
    (void)SseEvent(StreamUsageJson(r, "cmpl-1", 1, m.id, u));
  }
  return 0;
}
