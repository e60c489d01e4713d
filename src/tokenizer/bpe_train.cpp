#include "tokenizer/bpe_train.h"

#include <algorithm>
#include <queue>
#include <string>
#include <unordered_map>

#include "tokenizer/pretokenize.h"

namespace modelc {
namespace {

uint64_t Key(int a, int b) { return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b; }
int Left(uint64_t k) { return (int)(k >> 32); }
int Right(uint64_t k) { return (int)(k & 0xffffffffu); }

struct Entry {
  int64_t count;
  uint64_t pair;
};

}  // namespace

Status TrainBpe(const std::vector<std::string_view>& texts, int vocab_size, Bpe* out) {
  // Distinct words with their counts, sorted by bytes (the result does not
  // depend on this order; it only keeps the work reproducible to follow).
  std::unordered_map<std::string_view, int64_t> word_count;
  {
    std::vector<std::string_view> ws;
    for (std::string_view t : texts) {
      ws.clear();
      PreTokenize(t, &ws);
      for (std::string_view w : ws) ++word_count[w];
    }
  }
  std::vector<std::pair<std::string_view, int64_t>> sorted(word_count.begin(), word_count.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<int>> words(sorted.size());
  std::vector<int64_t> cnt(sorted.size());
  for (size_t w = 0; w < sorted.size(); ++w) {
    for (unsigned char c : sorted[w].first) words[w].push_back(c);
    cnt[w] = sorted[w].second;
  }

  std::vector<std::string> tok(256);
  std::unordered_map<std::string, int> id_of;
  for (int b = 0; b < 256; ++b) {
    tok[b] = std::string(1, (char)b);
    id_of[tok[b]] = b;
  }

  std::unordered_map<uint64_t, int64_t> pc;           // pair -> count
  std::unordered_map<uint64_t, std::vector<int>> where;  // pair -> words that may hold it
  for (size_t w = 0; w < words.size(); ++w) {
    const std::vector<int>& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = Key(s[i], s[i + 1]);
      pc[k] += cnt[w];
      std::vector<int>& lst = where[k];
      if (lst.empty() || lst.back() != (int)w) lst.push_back((int)w);
    }
  }

  // Max-heap: higher count first; ties: smaller (left bytes, right bytes).
  auto lower = [&tok](const Entry& x, const Entry& y) {
    if (x.count != y.count) return x.count < y.count;
    const std::string& xl = tok[Left(x.pair)];
    const std::string& yl = tok[Left(y.pair)];
    if (xl != yl) return xl > yl;
    return tok[Right(x.pair)] > tok[Right(y.pair)];
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower)> heap(lower);
  for (const auto& [k, c] : pc) heap.push({c, k});

  std::vector<std::pair<int, int>> merges;
  std::vector<int> stamp(words.size(), -1);
  std::vector<uint64_t> changed;
  std::vector<int> merged;
  while ((int)tok.size() < vocab_size) {
    // The best pair whose heap entry is current.
    while (!heap.empty()) {
      const Entry& e = heap.top();
      auto it = pc.find(e.pair);
      if (it != pc.end() && it->second == e.count) break;
      heap.pop();
    }
    if (heap.empty() || heap.top().count < 2)
      return Status::Error("BPE training: after " + std::to_string(merges.size()) +
                           " merges no pair of tokens occurs twice in the training data; it "
                           "supports at most vocab_size = " + std::to_string(tok.size()) +
                           " (asked for " + std::to_string(vocab_size) + ")");
    const uint64_t key = heap.top().pair;
    heap.pop();
    const int a = Left(key), b = Right(key);
    const std::string text = tok[a] + tok[b];
    int id;
    auto found = id_of.find(text);
    if (found != id_of.end()) {
      id = found->second;
    } else {
      id = (int)tok.size();
      tok.push_back(text);
      id_of.emplace(text, id);
    }
    const int m = (int)merges.size();
    merges.push_back({a, b});

    std::vector<int> list = std::move(where[key]);
    where.erase(key);
    changed.clear();
    for (int w : list) {
      if (stamp[w] == m) continue;
      stamp[w] = m;
      std::vector<int>& s = words[w];
      bool has = false;
      for (size_t i = 0; i + 1 < s.size() && !has; ++i) has = s[i] == a && s[i + 1] == b;
      if (!has) continue;
      const int64_t c = cnt[w];
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = Key(s[i], s[i + 1]);
        pc[k] -= c;
        changed.push_back(k);
      }
      merged.clear();
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          merged.push_back(id);
          i += 2;
        } else {
          merged.push_back(s[i]);
          i += 1;
        }
      }
      s.swap(merged);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = Key(s[i], s[i + 1]);
        pc[k] += c;
        changed.push_back(k);
        // Pairs without the new token were in this word before: listed already.
        if (s[i] == id || s[i + 1] == id) {
          std::vector<int>& lst = where[k];
          if (lst.empty() || lst.back() != w) lst.push_back(w);
        }
      }
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    for (uint64_t k : changed) {
      auto it = pc.find(k);
      if (it == pc.end()) continue;
      if (it->second <= 0) {
        pc.erase(it);
        continue;
      }
      heap.push({it->second, k});
    }
  }
  return Bpe::Create(std::move(tok), merges, "BPE training", out);
}

}  // namespace modelc
