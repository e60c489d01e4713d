// Byte-level BPE: pre-tokenizer, training, encoding, round trips, the
// [tokenizer] recipe keys, and an end-to-end BPE build.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "binary/model_file.h"
#include "cli_util.h"
#include "runtime/tokenizer.h"
#include "source/dataset.h"
#include "source/recipe.h"
#include "tokenizer/bpe.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/gpt2_text.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/unicode.h"

namespace modelc {
namespace {

using namespace testutil;

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string_view> w;
  PreTokenize(text, &w);
  return std::vector<std::string>(w.begin(), w.end());
}

using V = std::vector<std::string>;

TEST(PreTokenize, Contractions) {
  EXPECT_EQ(Words("I'm can't we'll they're I've he'd it's"),
            V({"I", "'m", " can", "'t", " we", "'ll", " they", "'re", " I", "'ve", " he", "'d", " it",
               "'s"}));
  // Upper case is not a contraction (llama.cpp's gpt2 rule is case-sensitive).
  EXPECT_EQ(Words("IT'S"), V({"IT", "'", "S"}));
  EXPECT_EQ(Words("'x 'l"), V({"'", "x", " '", "l"}));
  EXPECT_EQ(Words("'"), V({"'"}));
}

TEST(PreTokenize, LettersDigitsPunctuation) {
  EXPECT_EQ(Words("Hello world"), V({"Hello", " world"}));
  EXPECT_EQ(Words("abc 123 4x 5"), V({"abc", " 123", " 4", "x", " 5"}));
  EXPECT_EQ(Words("hi!!! ?? x."), V({"hi", "!!!", " ??", " x", "."}));
  EXPECT_EQ(Words("a+b=c"), V({"a", "+", "b", "=", "c"}));
}

TEST(PreTokenize, UnicodeLettersAndNumbers) {
  // ï, é, Ω are letters; ² and ½ are numbers (No); — is punctuation.
  EXPECT_EQ(Words("na\xc3\xafve caf\xc3\xa9 \xce\xa9mega"),
            V({"na\xc3\xafve", " caf\xc3\xa9", " \xce\xa9mega"}));
  EXPECT_EQ(Words("x\xc2\xb2\xc2\xbd y\xe2\x80\x94z"), V({"x", "\xc2\xb2\xc2\xbd", " y", "\xe2\x80\x94", "z"}));
  // CJK letters, and an emoji (a symbol).
  EXPECT_EQ(Words("\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80!"),
            V({"\xe4\xbd\xa0\xe5\xa5\xbd", " \xf0\x9f\x98\x80!"}));
}

TEST(PreTokenize, WhitespaceRuns) {
  EXPECT_EQ(Words("a   b"), V({"a", "  ", " b"}));
  EXPECT_EQ(Words("a \n\nb"), V({"a", " \n", "\n", "b"}));
  EXPECT_EQ(Words("a  "), V({"a", "  "}));
  EXPECT_EQ(Words("  a"), V({" ", " a"}));
  EXPECT_EQ(Words("\tfoo"), V({"\t", "foo"}));
  EXPECT_EQ(Words("a\t\tb"), V({"a", "\t", "\t", "b"}));
  EXPECT_EQ(Words(" "), V({" "}));
  // U+00A0 and U+3000 are White_Space; U+200B (zero width space) is not.
  EXPECT_EQ(Words("a\xc2\xa0" "b"), V({"a", "\xc2\xa0", "b"}));
  EXPECT_EQ(Words("a\xe3\x80\x80\xe3\x80\x80z"), V({"a", "\xe3\x80\x80", "\xe3\x80\x80", "z"}));
  EXPECT_EQ(Words("a\xe2\x80\x8b" "b"), V({"a", "\xe2\x80\x8b", "b"}));
  EXPECT_TRUE(Words("").empty());
}

TEST(PreTokenize, InvalidUtf8IsKeptAndGroupedAsSymbols) {
  // Invalid bytes act as U+FFFD (a symbol) but stay themselves.
  EXPECT_EQ(Words("a\xff\xfe" "b"), V({"a", "\xff\xfe", "b"}));
  EXPECT_EQ(Words(" \xff" "b"), V({" \xff", "b"}));
  // A lead byte without its continuation, at the end and in the middle.
  EXPECT_EQ(Words("x\xc3"), V({"x", "\xc3"}));
  EXPECT_EQ(Words("x\xe2\x82 y"), V({"x", "\xe2\x82", " y"}));
  // A lone continuation byte between letters.
  EXPECT_EQ(Words("ab\x80" "cd"), V({"ab", "\x80", "cd"}));
}

TEST(PreTokenize, WordsCoverArbitraryBytes) {
  std::mt19937_64 rng(5);
  for (int t = 0; t < 300; ++t) {
    std::string s(rng() % 200, '\0');
    for (char& c : s) c = (char)(rng() % 256);
    std::string joined;
    for (const std::string& w : Words(s)) {
      EXPECT_FALSE(w.empty());
      joined += w;
    }
    EXPECT_EQ(joined, s);
  }
}

TEST(Unicode, ClassesFromIcu) {
  EXPECT_EQ(ClassOf('a'), CptClass::kLetter);
  EXPECT_EQ(ClassOf(0x4F60), CptClass::kLetter);   // 你
  EXPECT_EQ(ClassOf('7'), CptClass::kNumber);
  EXPECT_EQ(ClassOf(0x0663), CptClass::kNumber);   // Arabic-Indic three
  EXPECT_EQ(ClassOf(0x2167), CptClass::kNumber);   // Roman numeral eight (Nl)
  EXPECT_EQ(ClassOf(0x0301), CptClass::kOther);    // combining acute (Mn)
  EXPECT_EQ(ClassOf(0xFFFD), CptClass::kOther);
  EXPECT_EQ(ClassOf(0x110000), CptClass::kOther);
  // Exactly the 25 White_Space code points llama.cpp lists.
  int ws = 0;
  for (uint32_t c = 0; c < 0x110000; ++c) ws += ClassOf(c) == CptClass::kWhitespace;
  EXPECT_EQ(ws, 25);
  for (uint32_t c : {0x09u, 0x0Au, 0x0Bu, 0x0Cu, 0x0Du, 0x20u, 0x85u, 0xA0u, 0x1680u, 0x2000u, 0x200Au,
                     0x2028u, 0x2029u, 0x202Fu, 0x205Fu, 0x3000u})
    EXPECT_EQ(ClassOf(c), CptClass::kWhitespace) << std::hex << c;
  EXPECT_NE(ClassOf(0x1C), CptClass::kWhitespace);
}

// Random valid UTF-8 text from a mix of scripts, digits, punctuation and
// whitespace (as code points).
std::string RandomText(std::mt19937_64& rng, size_t cps) {
  static const std::vector<uint32_t> pool = {
      'a', 'b', 'e', 'n', 's', 't', 'T', 'Z', ' ', ' ', ' ', ' ', '\n', '\t', '\'', '\'', 'd', 'm',
      'l', 'r', 'v', '0', '7', '9', '.', ',', '!', '?', '-', '(', ')', '"', '$', 0xE9, 0xEF, 0x3A9,
      0x439, 0x4F60, 0x597D, 0xB2, 0xBD, 0x2014, 0xA0, 0x3000, 0x2009, 0x301, 0x1F600, 0x663,
      0x5D0, 0xFFFD, 0x85, 0x1F, 0x7F};
  std::string s;
  for (size_t i = 0; i < cps; ++i) {
    const uint32_t c = pool[rng() % pool.size()];
    if (c < 0x80) {
      s += (char)c;
    } else if (c < 0x800) {
      s += (char)(0xC0 | (c >> 6));
      s += (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      s += (char)(0xE0 | (c >> 12));
      s += (char)(0x80 | ((c >> 6) & 0x3F));
      s += (char)(0x80 | (c & 0x3F));
    } else {
      s += (char)(0xF0 | (c >> 18));
      s += (char)(0x80 | ((c >> 12) & 0x3F));
      s += (char)(0x80 | ((c >> 6) & 0x3F));
      s += (char)(0x80 | (c & 0x3F));
    }
  }
  return s;
}

std::string Hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h += d[c >> 4];
    h += d[c & 15];
  }
  return h;
}

// Against the GPT-2 regex run by Python's `regex` module (an independent
// implementation of \p{L}, \p{N}, \s and the alternation order).
TEST(PreTokenize, MatchesTheGpt2RegexInPython) {
  const std::string script = std::string(MODELC_SOURCE_DIR) + "/tests/reference/gpt2_pretokenize.py";
  if (std::system("python3 -c 'import regex' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-regex is not installed (scripts/setup installs it)";
  TempDir tmp;
  std::mt19937_64 rng(11);
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) texts.push_back(RandomText(rng, 1 + rng() % 60));
  texts.push_back("I'm here  \n\n  now's 12,345 ok?!  ");
  std::string in;
  for (const std::string& t : texts) in += Hex(t) + "\n";
  WriteText(tmp / "in.txt", in);
  const std::string cmd = "python3 " + script + " < " + (tmp / "in.txt") + " > " + (tmp / "out.txt");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::istringstream out(Slurp(tmp / "out.txt"));
  std::string line;
  for (const std::string& t : texts) {
    ASSERT_TRUE(std::getline(out, line));
    std::string mine;
    for (const std::string& w : Words(t)) mine += (mine.empty() ? "" : " ") + Hex(w);
    EXPECT_EQ(mine, line) << "text " << Hex(t);
  }
}

// --- training ---------------------------------------------------------------

TEST(BpeTrain, TieRuleOnATinyCorpusByHand) {
  // Words: "xy", " xy", " zw" x2. Counts: (x,y) 2, (' ',x) 1, (' ',z) 2, (z,w) 2.
  // Tie at 2: smallest left bytes first: ' ' < 'x' < 'z' -> (' ', z).
  // Then (" z", w) 2 and (x, y) 2: " z" < "x" -> (" z", w); then (x, y).
  Bpe v;
  ASSERT_TRUE(TrainBpe({"xy xy zw zw"}, 259, &v).ok());
  ASSERT_EQ(v.size(), 259);
  ASSERT_EQ(v.merges().size(), 3u);
  EXPECT_EQ(v.token(256), " z");
  EXPECT_EQ(v.token(257), " zw");
  EXPECT_EQ(v.token(258), "xy");
  EXPECT_EQ(v.merges()[0].left, ' ');
  EXPECT_EQ(v.merges()[0].right, 'z');
  EXPECT_EQ(v.merges()[1].left, 256);
  EXPECT_EQ(v.merges()[1].right, 'w');
  EXPECT_EQ(v.merges()[2].left, 'x');
  EXPECT_EQ(v.merges()[2].right, 'y');
  EXPECT_EQ(v.Encode("xy zw xy"), std::vector<int>({258, 257, ' ', 258}));
  // Only pairs seen once are left: a 260th token is an error.
  Status st = TrainBpe({"xy xy zw zw"}, 260, &v);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "at most vocab_size = 259")) << st.message();
  // Words never span texts: "ab" split over two texts has no pair.
  EXPECT_FALSE(TrainBpe({"a", "b", "a", "b"}, 257, &v).ok());
  ASSERT_TRUE(TrainBpe({"ab", "ab"}, 257, &v).ok());
  EXPECT_EQ(v.token(256), "ab");
}

TEST(BpeTrain, CountsTimesWordsAndOverlaps) {
  // "aaaa" x1: (a,a) occurs 3 times -> merged left to right to "aa aa";
  // then ("aa","aa") once... so with a second copy it is 2.
  Bpe v;
  ASSERT_TRUE(TrainBpe({"aaaa aaaa"}, 258, &v).ok());
  EXPECT_EQ(v.token(256), "aa");
  EXPECT_EQ(v.token(257), "aaaa");
  EXPECT_EQ(v.Encode("aaaa"), std::vector<int>({257}));
  EXPECT_EQ(v.Encode("aaa"), std::vector<int>({256, 'a'}));
}

std::string FortunesText() {
  std::string all;
  for (const char* f : {"/usr/share/games/fortunes/computers", "/usr/share/games/fortunes/people"}) {
    std::string s;
    if (ReadFile(f, &s).ok()) all += s;
  }
  if (all.size() < 100000) all = MakeCorpus(3, 400000);  // fortunes not installed
  return all;
}

TEST(BpeTrain, DeterministicAndUnique) {
  const std::string text = FortunesText();
  Bpe a, b;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(TrainBpe({text}, 1024, &a).ok());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("BPE training: %.1f KB to 1024 tokens in %.2f s\n", text.size() / 1e3, s);
  ASSERT_TRUE(TrainBpe({text}, 1024, &b).ok());
  ASSERT_EQ(a.size(), 1024);
  EXPECT_EQ(a.tokens(), b.tokens());
  ASSERT_EQ(a.merges().size(), b.merges().size());
  for (size_t i = 0; i < a.merges().size(); ++i) {
    EXPECT_EQ(a.merges()[i].left, b.merges()[i].left);
    EXPECT_EQ(a.merges()[i].right, b.merges()[i].right);
    EXPECT_EQ(a.token(a.merges()[i].result), a.token(a.merges()[i].left) + a.token(a.merges()[i].right));
  }
  std::set<std::string> uniq(a.tokens().begin(), a.tokens().end());
  EXPECT_EQ(uniq.size(), a.tokens().size());
  // Training on a prefix of the merges: the first merges of a smaller vocab
  // are the same (the greedy choice does not look ahead).
  Bpe c;
  ASSERT_TRUE(TrainBpe({text}, 600, &c).ok());
  for (size_t i = 0; i < c.merges().size(); ++i) EXPECT_EQ(c.token(c.merges()[i].result), a.token(a.merges()[i].result));
}

// --- encoding ---------------------------------------------------------------

// Naive reference BPE on strings: repeatedly merge the adjacent pair with the
// lowest rank (leftmost on ties) until none has a rule.
std::vector<int> NaiveEncode(const Bpe& v, std::string_view text) {
  std::map<std::pair<std::string, std::string>, int> rank;
  for (size_t r = 0; r < v.merges().size(); ++r)
    rank.emplace(std::make_pair(v.token(v.merges()[r].left), v.token(v.merges()[r].right)), (int)r);
  std::map<std::string, int> id;
  for (int i = 0; i < v.size(); ++i) id[v.token(i)] = i;
  std::vector<int> out;
  for (const std::string& w : Words(text)) {
    std::vector<std::string> sym;
    for (char c : w) sym.push_back(std::string(1, c));
    for (;;) {
      int best = -1, best_rank = 0;
      for (size_t i = 0; i + 1 < sym.size(); ++i) {
        auto it = rank.find({sym[i], sym[i + 1]});
        if (it != rank.end() && (best < 0 || it->second < best_rank)) {
          best = (int)i;
          best_rank = it->second;
        }
      }
      if (best < 0) break;
      sym[best] += sym[best + 1];
      sym.erase(sym.begin() + best + 1);
    }
    for (const std::string& s : sym) out.push_back(id.at(s));
  }
  return out;
}

class BpeEncode : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    text_ = new std::string(FortunesText());
    vocab_ = new Bpe();
    ASSERT_TRUE(TrainBpe({*text_}, 1024, vocab_).ok());
  }
  static void TearDownTestSuite() {
    delete vocab_;
    delete text_;
  }
  static Bpe* vocab_;
  static std::string* text_;
};
Bpe* BpeEncode::vocab_ = nullptr;
std::string* BpeEncode::text_ = nullptr;

TEST_F(BpeEncode, MatchesNaiveReferenceOnRandomText) {
  std::mt19937_64 rng(17);
  for (int t = 0; t < 200; ++t) {
    // Random windows of real text and random mixed-script text.
    std::string s;
    if (t % 2 == 0) {
      const size_t at = rng() % (text_->size() - 300);
      s = text_->substr(at, 1 + rng() % 300);
    } else {
      s = RandomText(rng, 1 + rng() % 100);
    }
    EXPECT_EQ(vocab_->Encode(s), NaiveEncode(*vocab_, s)) << Hex(s);
  }
  // A long text takes the cached path.
  const std::string big = text_->substr(1000, 20000);
  EXPECT_EQ(vocab_->Encode(big), NaiveEncode(*vocab_, big));
}

TEST_F(BpeEncode, RoundTripsArbitraryBytes) {
  std::mt19937_64 rng(23);
  for (int t = 0; t < 500; ++t) {
    std::string s(rng() % 300, '\0');
    for (char& c : s) c = (char)(t % 3 == 0 ? "ab \n\xc3\xa9\xff'"[rng() % 8] : rng() % 256);
    const std::vector<int> ids = vocab_->Encode(s);
    for (int id : ids) ASSERT_TRUE(id >= 0 && id < vocab_->size());
    EXPECT_EQ(vocab_->Decode(ids), s);
  }
  // Text compresses: fewer tokens than bytes.
  const std::string part = text_->substr(0, 50000);
  EXPECT_LT(vocab_->Encode(part).size() * 2, part.size());
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

TEST_F(BpeEncode, SpeedMBPerSecond) {
  // Measured, not asserted (the machine is shared): the best of 5 runs, in
  // wall time and in this thread's CPU time (less sensitive to other load).
  double best_wall = 1e30, best_cpu = 1e30;
  std::vector<int> ids;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = ThreadCpuSeconds();
    ids = vocab_->Encode(*text_);
    best_cpu = std::min(best_cpu, ThreadCpuSeconds() - c0);
    best_wall = std::min(best_wall,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("BPE encode: %.1f KB -> %zu tokens (%.2f bytes/token): %.1f MB/s wall, %.1f MB/s CPU\n",
              text_->size() / 1e3, ids.size(), (double)text_->size() / ids.size(),
              text_->size() / 1e6 / best_wall, text_->size() / 1e6 / best_cpu);
  EXPECT_EQ(vocab_->Decode(ids), *text_);
}

TEST(Gpt2Text, SpellsEveryByteAsOneSymbol) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += (char)b;
  const std::string t = BytesToGpt2Text(all);
  std::string back;
  ASSERT_TRUE(Gpt2TextToBytes(t, &back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(BytesToGpt2Text(" \n"), "\xc4\xa0\xc4\x8a");  // Ġ Ċ
  EXPECT_FALSE(Gpt2TextToBytes("\xc4\xa0 x", &back));      // raw space is no symbol
  EXPECT_FALSE(Gpt2TextToBytes("\xff", &back));
}

TEST(BpeCreate, RejectsBadVocabularies) {
  std::vector<std::string> t(256);
  for (int b = 0; b < 256; ++b) t[b] = std::string(1, (char)b);
  Bpe v;
  auto dup = t;
  dup.push_back("a");
  EXPECT_TRUE(Contains(Bpe::Create(dup, {}, "x", &v).message(), "duplicates token 97"));
  auto missing = t;
  missing[7] = "ab";
  EXPECT_TRUE(Contains(Bpe::Create(missing, {}, "x", &v).message(), "no token for byte 7"));
  EXPECT_TRUE(Contains(Bpe::Create(t, {{'a', 'b'}}, "x", &v).message(), "merged text is not a token"));
  EXPECT_TRUE(Contains(Bpe::Create(t, {{'a', 999}}, "x", &v).message(), "out of range"));
  auto ok = t;
  ok.push_back("ab");
  EXPECT_TRUE(Bpe::Create(ok, {{'a', 'b'}}, "x", &v).ok());
  EXPECT_EQ(v.Encode("abab"), std::vector<int>({256, 256}));
}

// --- recipe -----------------------------------------------------------------

class TokenizerRecipe : public ::testing::Test {
 protected:
  Status Load(const std::string& tokenizer_table, Recipe* r) {
    SourceSpec s;
    std::string toml = ModelToml(s);
    const std::string from = "[tokenizer]\nkind = \"byte\"\n";
    EXPECT_NE(toml.find(from), std::string::npos);
    toml.replace(toml.find(from), from.size(), tokenizer_table);
    WriteText(dir_ / "corpus.txt", "hello world\n");
    WriteText(dir_ / "model.toml", toml);
    line_ = toml.find("vocab_size") == std::string::npos ? 0 : LineOf(toml, "vocab_size");
    return LoadRecipe(dir_.path(), r);
  }
  TempDir dir_;
  int line_ = 0;
};

TEST_F(TokenizerRecipe, BpeWithVocabSize) {
  Recipe r;
  ASSERT_TRUE(Load("[tokenizer]\nkind = \"bpe\"\nvocab_size = 512\n", &r).ok());
  EXPECT_EQ(r.tokenizer.kind, "bpe");
  EXPECT_EQ(r.tokenizer.vocab_size, 512);
  EXPECT_TRUE(Contains(r.NormalizedJson(), "\"tokenizer\":{\"kind\":\"bpe\",\"vocab_size\":512}"));
  const std::string h512 = r.SourceHash();
  ASSERT_TRUE(Load("[tokenizer]\nkind = \"bpe\"\nvocab_size = 513\n", &r).ok());
  EXPECT_NE(r.SourceHash(), h512);
  // Byte models: no vocab_size in the normalized recipe (hashes unchanged).
  ASSERT_TRUE(Load("[tokenizer]\nkind = \"byte\"\n", &r).ok());
  EXPECT_EQ(r.tokenizer.vocab_size, 256);
  EXPECT_TRUE(Contains(r.NormalizedJson(), "\"tokenizer\":{\"kind\":\"byte\"}"));
}

TEST_F(TokenizerRecipe, Errors) {
  Recipe r;
  const std::string f = dir_ / "model.toml";
  Status st = Load("[tokenizer]\nkind = \"bpe\"\n", &r);
  EXPECT_TRUE(Contains(st.message(), "[tokenizer] vocab_size: missing required key")) << st.message();
  EXPECT_TRUE(Contains(st.message(), f + ":")) << st.message();
  st = Load("[tokenizer]\nkind = \"bpe\"\nvocab_size = 100\n", &r);
  EXPECT_TRUE(Contains(st.message(), f + ":" + std::to_string(line_) + ":14: [tokenizer] vocab_size: must be >= 256 (got 100)"))
      << st.message();
  st = Load("[tokenizer]\nkind = \"bpe\"\nvocab_size = 70000\n", &r);
  EXPECT_TRUE(Contains(st.message(), "vocab_size: must be <= 65536 (got 70000)")) << st.message();
  st = Load("[tokenizer]\nkind = \"bpe\"\nvocab_size = \"512\"\n", &r);
  EXPECT_TRUE(Contains(st.message(), "vocab_size: expected an integer, got a string")) << st.message();
  st = Load("[tokenizer]\nkind = \"byte\"\nvocab_size = 512\n", &r);
  EXPECT_TRUE(Contains(st.message(), f + ":" + std::to_string(line_) + ":14: [tokenizer] vocab_size: only for kind = \"bpe\""))
      << st.message();
  st = Load("[tokenizer]\nkind = \"wordpiece\"\n", &r);
  EXPECT_TRUE(Contains(st.message(), "[tokenizer] kind: unknown tokenizer 'wordpiece'")) << st.message();
  st = Load("[tokenizer]\nkind = \"bpe\"\nvocab = 512\n", &r);
  EXPECT_TRUE(Contains(st.message(), "[tokenizer] vocab: unknown key")) << st.message();
}

TEST_F(TokenizerRecipe, DatasetCountsBpeTokensAndTooLargeVocabIsAnError) {
  Recipe r;
  SourceSpec s;
  ASSERT_TRUE(Load("[tokenizer]\nkind = \"bpe\"\nvocab_size = 400\n", &r).ok());
  WriteText(dir_ / "corpus.txt", MakeCorpus(1, 20000));
  Dataset d;
  ASSERT_TRUE(LoadDataset(r, &d).ok());
  EXPECT_EQ(d.tokenizer.size(), 400);
  EXPECT_EQ(d.train_bytes + d.val_bytes, 20000u + (MakeCorpus(1, 20000).size() - 20000));
  EXPECT_LT(d.train.size(), d.train_bytes / 2);
  EXPECT_EQ(d.sources[0].train_tokens, d.train.size());
  EXPECT_EQ(d.sources[0].val_tokens, d.val.size());
  // The streams decode to the data: train part then val part.
  std::vector<int> ids(d.train.begin(), d.train.end());
  std::vector<int> vids(d.val.begin(), d.val.end());
  EXPECT_EQ(d.tokenizer.Decode(ids) + d.tokenizer.Decode(vids), MakeCorpus(1, 20000));
  ASSERT_TRUE(Load("[tokenizer]\nkind = \"bpe\"\nvocab_size = 60000\n", &r).ok());
  WriteText(dir_ / "corpus.txt", MakeCorpus(1, 20000));
  Status st = LoadDataset(r, &d);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Contains(st.message(), "[tokenizer] vocab_size = 60000: BPE training: after")) << st.message();
}

// --- end to end ---------------------------------------------------------------

TEST(BpeBuild, BuildsRunsAndIsTheSameOnOneAndTwoThreads) {
  TempDir tmp;
  SourceSpec s;
  s.name = "tiny-bpe";
  s.corpus_bytes = 40000;
  s.steps = 12;
  std::string toml = ModelToml(s);
  const std::string from = "kind = \"byte\"\n";
  toml.replace(toml.find(from), from.size(), "kind = \"bpe\"\nvocab_size = 320\n");
  WriteText(tmp / "src/corpus.txt", MakeCorpus(s.corpus_seed, s.corpus_bytes));
  WriteText(tmp / "src/model.toml", toml);
  Proc pin = RunModelc({"build", "--pin", tmp / "src"});
  ASSERT_TRUE(pin.exited && pin.code == 0) << pin;

  Proc b1 = RunModelc({"build", tmp / "src", "-o", tmp / "a.gguf", "--threads", "1"});
  ASSERT_TRUE(b1.exited && b1.code == 0) << b1;
  Proc b2 = RunModelc({"build", tmp / "src", "-o", tmp / "b.gguf", "--threads", "2", "--json", "--force"});
  ASSERT_TRUE(b2.exited && b2.code == 0) << b2;
  EXPECT_EQ(FileSha(tmp / "a.gguf"), FileSha(tmp / "b.gguf"));
  // Losses also in nats per byte: per token x tokens per byte of the split.
  {
    const auto j = nlohmann::json::parse(b2.out);
    const double bpt = j["val_bytes_per_token"].get<double>();
    EXPECT_GT(bpt, 1.2) << "BPE tokens should average more than a byte";
    EXPECT_NEAR(j["val_nats_per_byte"].get<double>(), j["val_loss"].get<double>() / bpt, 1e-12);
    EXPECT_NEAR(j["unigram_val_nats_per_byte"].get<double>(), j["unigram_val_loss"].get<double>() / bpt, 1e-12);
    EXPECT_GT(j["train_nats_per_byte"].get<double>(), 0.0);
    EXPECT_TRUE(Contains(b1.out, "nats/byte")) << b1;
  }

  // The binary holds the trained vocabulary, spelled in GPT-2's alphabet.
  LoadedModel m;
  ASSERT_TRUE(LoadModelFile(tmp / "a.gguf", &m).ok());
  EXPECT_EQ(m.config.vocab, 320);
  ASSERT_EQ(m.tokens.size(), 320u);
  std::vector<std::string> merges;
  ASSERT_TRUE(m.file->GetStringArray("tokenizer.ggml.merges", &merges).ok());
  EXPECT_EQ(merges.size(), 64u);  // 256 + 64 = 320 (no duplicate results on this corpus)
  std::vector<int32_t> types;
  ASSERT_TRUE(m.file->GetI32Array("tokenizer.ggml.token_type", &types).ok());
  EXPECT_EQ(types, std::vector<int32_t>(320, 1));
  std::string pre;
  ASSERT_TRUE(m.file->GetString("tokenizer.ggml.pre", &pre).ok());
  EXPECT_EQ(pre, "gpt-2");
  // The runtime tokenizer read from the file encodes as the one trained.
  Recipe r;
  ASSERT_TRUE(LoadRecipe(tmp / "src", &r).ok());
  Dataset d;
  ASSERT_TRUE(LoadDataset(r, &d).ok());
  Tokenizer tok;
  ASSERT_TRUE(Tokenizer::FromModel(m, &tok).ok());
  EXPECT_EQ(tok.vocab_size(), 320);
  const std::string text = MakeCorpus(99, 3000) + "\xff\xfe odd bytes \xc3";
  EXPECT_EQ(tok.Encode(text), d.tokenizer.Encode(text));
  EXPECT_EQ(tok.Decode(tok.Encode(text)), text);
  for (int i = 0; i < 320; ++i) EXPECT_EQ(tok.TokenBytes(i), d.tokenizer.token(i));
  // tokens_used in the manifest counts BPE tokens: 12 steps x 4 x 32.
  std::string manifest;
  ASSERT_TRUE(m.file->GetString("modelc.data_manifest", &manifest).ok());
  EXPECT_TRUE(Contains(manifest, "\"tokens_used\":1536")) << manifest;

  Proc run = RunModelc({"run", tmp / "a.gguf", "--prompt", "The house", "-n", "20", "--temperature", "0"});
  ASSERT_TRUE(run.exited && run.code == 0) << run;
  EXPECT_EQ(run.out.rfind("The house", 0), 0u) << run.out;
  EXPECT_GT(run.out.size(), std::string("The house").size() + 20) << run.out;  // 20 tokens, most longer than a byte
  Proc run2 = RunModelc({"run", tmp / "a.gguf", "--prompt", "The house", "-n", "20", "--temperature", "0"});
  EXPECT_EQ(run2.out, run.out);
}


// The vocabulary is retrained (deterministically) on resume and on every MPI
// rank: an interrupted build resumed, and a 2-rank build, give the bytes of
// an uninterrupted single-process build.
TEST(BpeBuild, ResumeAndMpiGiveTheSameBytes) {
  TempDir tmp;
  SourceSpec s;
  s.name = "tiny-bpe-resume";
  s.corpus_bytes = 40000;
  s.steps = 80;
  std::string toml = ModelToml(s);
  const std::string from = "kind = \"byte\"\n";
  toml.replace(toml.find(from), from.size(), "kind = \"bpe\"\nvocab_size = 300\n");
  WriteText(tmp / "src/corpus.txt", MakeCorpus(s.corpus_seed, s.corpus_bytes));
  WriteText(tmp / "src/model.toml", toml);
  Proc pin = RunModelc({"build", "--pin", tmp / "src"});
  ASSERT_TRUE(pin.exited && pin.code == 0) << pin;
  Proc ref = RunModelc({"build", tmp / "src", "-o", tmp / "ref.gguf", "--threads", "2"});
  ASSERT_TRUE(ref.exited && ref.code == 0) << ref;
  const std::string want = FileSha(tmp / "ref.gguf");

  {
    Spawned sp = SpawnModelc({"build", tmp / "src", "-o", tmp / "r.gguf", "--threads", "1",
                              "--checkpoint-every", "2"});
    const bool seen = WaitForStderr(sp, "step ([1-6][0-9])/");
    if (seen) ::kill(sp.pid, SIGKILL);
    Proc p = WaitModelc(sp);
    ASSERT_TRUE(seen) << p;
  }
  if (!fs::exists(tmp / "r.gguf")) {  // (a fast machine may have finished)
    Proc p = RunModelc({"build", tmp / "src", "-o", tmp / "r.gguf", "--threads", "2"});
    ASSERT_TRUE(p.exited && p.code == 0) << p;
    EXPECT_TRUE(Contains(p.err, "resuming from step")) << p;
  }
  EXPECT_EQ(FileSha(tmp / "r.gguf"), want);

  if (std::string(MODELC_MPIRUN).empty()) return;  // built without MPI
  Spawned sp = SpawnProgram(MODELC_MPIRUN,
                            {"--allow-run-as-root", "--oversubscribe", "-np", "2", "--mca", "btl",
                             "self,vader", MODELC_BIN, "build", tmp / "src", "-o", tmp / "m.gguf",
                             "--threads", "1"},
                            {{"OMPI_MCA_rmaps_base_oversubscribe", "1"}, {"OMP_WAIT_POLICY", "passive"}});
  Proc p = WaitModelc(sp);
  ASSERT_TRUE(p.exited && p.code == 0) << p;
  EXPECT_EQ(FileSha(tmp / "m.gguf"), want);
}

}  // namespace
}  // namespace modelc
