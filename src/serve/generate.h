// One completion on one engine: prefill the prompt, sample token by token
// (runtime/sampler.h: a token is a pure function of logits, options and
// draw index), stream the text through TextStream. Everything a request's
// text depends on is in GenerateParams and the model: the engine is Reset()
// first, so what ran on it before cannot leak into the result.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"

namespace modelc::serve {

struct GenerateParams {
  std::vector<int> prompt;  // REQUIRES: 1 <= size < context, ids < vocab
  int max_tokens = 16;      // < 0: until the context is full
  SamplerOptions sampler;
  std::vector<std::string> stop;  // non-empty strings
  int token_delay_ms = 0;         // test hook: sleep before each token (simulates a slow machine)
};

struct GenerateResult {
  std::string text;           // cut before the stop sequence, if one was hit
  int tokens = 0;             // tokens sampled
  std::string finish_reason;  // "stop" (a stop sequence) | "length" (max_tokens or context)
  bool cancelled = false;     // on_text returned false
};

// The most tokens a completion of a `prompt_tokens` prompt can have in
// `context`: the prompt fills positions 0..P-1, each fed token one more, and
// the last token is sampled from the logits at position context-1.
inline int MaxNewTokens(int prompt_tokens, int context) { return context - prompt_tokens + 1; }

// on_text(piece): called with each piece of text that is safe to send
// (complete UTF-8, not possibly a stop sequence's start), and once at the
// end with the rest. Return false to stop (client gone): the result is then
// marked cancelled. alive(), if set, is polled before each token.
GenerateResult Generate(InferenceEngine& engine, const Tokenizer& tok, const GenerateParams& p,
                        const std::function<bool(const std::string&)>& on_text,
                        const std::function<bool()>& alive = {});

}  // namespace modelc::serve
