// The chat template modelc writes into every model binary as
// tokenizer.chat_template (the key llama.cpp and Hugging Face tools read).
//
// It is Jinja (so other tools render it as they render any template), and it
// is deliberately simple, so that `modelc serve` renders it natively without
// a template engine (serve/openai_api.h RenderChat; README "modelc serve"):
// one line per message, "ROLE: CONTENT\n", then "assistant: " for the reply.
// The assistant's turn ends at the next newline.
#pragma once

namespace modelc {

inline constexpr const char kChatTemplate[] =
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";

}  // namespace modelc
