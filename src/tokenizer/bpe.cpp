#include "tokenizer/bpe.h"

#include <queue>

#include "tokenizer/pretokenize.h"

namespace modelc {

Bpe::Bpe() {
  tokens_.resize(256);
  for (int b = 0; b < 256; ++b) {
    tokens_[b] = std::string(1, (char)b);
    byte_id_[b] = b;
    id_of_[tokens_[b]] = b;
  }
}

Status Bpe::Create(std::vector<std::string> tokens, const std::vector<std::pair<int, int>>& merges,
                   const std::string& what, Bpe* out) {
  Bpe v;
  v.tokens_.clear();
  v.id_of_.clear();
  for (int b = 0; b < 256; ++b) v.byte_id_[b] = -1;
  v.tokens_ = std::move(tokens);
  const int n = (int)v.tokens_.size();
  for (int i = 0; i < n; ++i) {
    const std::string& t = v.tokens_[i];
    if (t.empty()) return Status::Error(what + ": token " + std::to_string(i) + " is empty");
    if (!v.id_of_.emplace(t, i).second)
      return Status::Error(what + ": token " + std::to_string(i) + " duplicates token " +
                           std::to_string(v.id_of_[t]));
    if (t.size() == 1) v.byte_id_[(unsigned char)t[0]] = i;
  }
  for (int b = 0; b < 256; ++b)
    if (v.byte_id_[b] < 0)
      return Status::Error(what + ": no token for byte " + std::to_string(b) +
                           " (a byte-level vocabulary has all 256)");
  v.merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto [a, b] = merges[r];
    const std::string where = what + ": merge " + std::to_string(r);
    if (a < 0 || a >= n || b < 0 || b >= n) return Status::Error(where + ": token id out of range");
    auto it = v.id_of_.find(v.tokens_[a] + v.tokens_[b]);
    if (it == v.id_of_.end())
      return Status::Error(where + ": the merged text is not a token");
    // A later duplicate of a rule never applies (the earlier rank wins).
    v.rank_.emplace(Key(a, b), (int)r);
    v.merges_.push_back({a, b, it->second});
  }
  *out = std::move(v);
  return Status::OK();
}

int Bpe::Find(std::string_view bytes) const {
  auto it = id_of_.find(std::string(bytes));
  return it == id_of_.end() ? -1 : it->second;
}

void Bpe::EncodeWord(std::string_view word, std::vector<int>* ids) const {
  const int n = (int)word.size();
  if (n == 0) return;
  if (n == 1 || merges_.empty()) {
    for (unsigned char c : word) ids->push_back(byte_id_[c]);
    return;
  }
  // Symbols in a linked list over byte positions; a symbol is identified by
  // the position of its first byte.
  struct Sym {
    int id, prev, next;
  };
  std::vector<Sym> s(n);
  for (int i = 0; i < n; ++i) s[i] = {byte_id_[(unsigned char)word[i]], i - 1, i + 1 < n ? i + 1 : -1};
  struct Cand {
    int rank, left, left_id, right_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> q;
  auto push = [&](int l) {
    if (l < 0) return;
    const int r = s[l].next;
    if (r < 0) return;
    auto it = rank_.find(Key(s[l].id, s[r].id));
    if (it != rank_.end()) q.push({it->second, l, s[l].id, s[r].id});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!q.empty()) {
    const Cand c = q.top();
    q.pop();
    const int l = c.left;
    const int r = s[l].next;
    // Stale: the left symbol was absorbed or changed, or its right neighbour did.
    if (s[l].id != c.left_id || r < 0 || s[r].id != c.right_id) continue;
    s[l].id = merges_[c.rank].result;
    s[l].next = s[r].next;
    if (s[r].next >= 0) s[s[r].next].prev = l;
    s[r].id = -1;
    push(s[l].prev);
    push(l);
  }
  for (int i = 0; i >= 0; i = s[i].next) ids->push_back(s[i].id);
}

std::vector<int> Bpe::Encode(std::string_view text) const {
  std::vector<std::string_view> words;
  words.reserve(text.size() / 4 + 1);
  PreTokenize(text, &words);
  std::vector<int> ids;
  ids.reserve(text.size() / 2 + 1);
  if (text.size() < 4096) {
    for (std::string_view w : words) EncodeWord(w, &ids);
    return ids;
  }
  // word -> [begin, end) in `store`
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  std::vector<int> store;
  for (std::string_view w : words) {
    auto it = cache.find(w);
    if (it == cache.end()) {
      const uint32_t b = (uint32_t)store.size();
      EncodeWord(w, &store);
      it = cache.emplace(w, std::make_pair(b, (uint32_t)store.size())).first;
    }
    ids.insert(ids.end(), store.begin() + it->second.first, store.begin() + it->second.second);
  }
  return ids;
}

std::string Bpe::Decode(const std::vector<int>& ids) const {
  std::string s;
  for (int id : ids) s += tokens_[id];
  return s;
}

}  // namespace modelc
