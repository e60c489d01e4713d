#include "serve/generate.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "serve/text_stream.h"

namespace modelc::serve {

GenerateResult Generate(InferenceEngine& engine, const Tokenizer& tok, const GenerateParams& p,
                        const std::function<bool(const std::string&)>& on_text,
                        const std::function<bool()>& alive) {
  GenerateResult res;
  const int context = engine.config().context;
  int limit = MaxNewTokens((int)p.prompt.size(), context);
  if (p.max_tokens >= 0) limit = std::min(limit, p.max_tokens);
  engine.Reset();
  const std::vector<float>* logits = &engine.Prefill(p.prompt);
  if (logits->empty()) {  // REQUIRES violated: nothing fed
    res.finish_reason = "length";
    return res;
  }
  TextStream ts(p.stop);
  bool stopped = false;
  while (res.tokens < limit) {
    if (alive && !alive()) {
      res.cancelled = true;
      break;
    }
    if (p.token_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(p.token_delay_ms));
    const int id = SampleToken(*logits, p.sampler, (uint64_t)res.tokens);
    ++res.tokens;
    stopped = ts.Append(tok.TokenBytes(id));
    if (stopped) break;
    const std::string piece = ts.TakeReady();
    if (!piece.empty() && !on_text(piece)) {
      res.cancelled = true;
      break;
    }
    if (res.tokens == limit || engine.full()) break;
    logits = &engine.Step(id);
  }
  if (!res.cancelled) {
    const std::string rest = ts.TakeRest();
    if (!rest.empty() && !on_text(rest)) res.cancelled = true;
  }
  res.text = ts.Text();
  res.finish_reason = stopped ? "stop" : "length";
  return res;
}

}  // namespace modelc::serve
