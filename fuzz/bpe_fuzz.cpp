// Fuzz target: the byte-level BPE tokenizer (tokenizer/).
//
// Properties, for arbitrary bytes x:
//   - Decode(Encode(x)) == x, every id in range, with a vocabulary of 400
//     tokens trained once at start-up (TrainBpe, deterministic) on a fixed
//     text mixing English, UTF-8 of several scripts, digits and whitespace;
//   - the same with the 256-token byte vocabulary (one id per byte);
//   - the pre-tokenizer's words are non-empty and concatenate to x;
//   - GPT-2 byte-to-unicode text: Gpt2TextToBytes(BytesToGpt2Text(x)) == x,
//     and Gpt2TextToBytes on arbitrary text either fails or round-trips.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/gpt2_text.h"
#include "tokenizer/pretokenize.h"

using namespace modelc;

namespace {

const Bpe& Trained() {
  static const Bpe* bpe = [] {
    std::string text;
    const char* parts[] = {
        "The quick brown fox jumps over the lazy dog. ",
        "It's a truth universally acknowledged, that they'll've done what we'd said! ",
        "  indented\tcode(x, y) { return x + y; }\n\n",
        "1234567890 3.14159 2024-01-01 0xdeadbeef ",
        "na\xc3\xafve caf\xc3\xa9 \xc3\xbc" "ber Stra\xc3\x9f" "e ",
        "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80 ",
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe6\x96\x87 ",
        "\xf0\x9f\x98\x80\xf0\x9f\x98\x81 emoji ",
        "fortune: A journey of a thousand miles begins with a single step.\n",
    };
    for (int rep = 0; rep < 40; ++rep)
      for (const char* p : parts) text += p;
    auto* b = new Bpe();
    Status st = TrainBpe({std::string_view(text)}, 400, b);
    if (!st.ok()) modelc_fuzz::Fail("TrainBpe", st.message());
    return b;
  }();
  return *bpe;
}

void RoundTrip(const Bpe& bpe, std::string_view x) {
  const std::vector<int> ids = bpe.Encode(x);
  for (int id : ids) FUZZ_CHECK(id >= 0 && id < bpe.size());
  FUZZ_CHECK(ids.size() <= x.size());
  FUZZ_CHECK(bpe.Decode(ids) == x, "Decode(Encode(x)) != x");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view x(reinterpret_cast<const char*>(data), size);
  static const Bpe bytes;
  RoundTrip(Trained(), x);
  RoundTrip(bytes, x);
  FUZZ_CHECK(bytes.Encode(x).size() == x.size());

  std::vector<std::string_view> words;
  PreTokenize(x, &words);
  std::string joined;
  for (std::string_view w : words) {
    FUZZ_CHECK(!w.empty());
    joined += w;
  }
  FUZZ_CHECK(joined == x, "pre-tokenizer words do not concatenate to the input");

  std::string back;
  FUZZ_CHECK(Gpt2TextToBytes(BytesToGpt2Text(x), &back) && back == x, "GPT-2 text round trip");
  std::string raw;
  if (Gpt2TextToBytes(x, &raw)) FUZZ_CHECK(BytesToGpt2Text(raw) == x, "GPT-2 text reverse round trip");
  return 0;
}
