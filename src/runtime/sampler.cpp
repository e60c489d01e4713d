#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/rng.h"
#include "layers/scalar_math.h"

namespace modelc {

namespace {

// Lowest index of the largest logit; NaN never wins. All NaN: 0.
int Argmax(const std::vector<float>& z) {
  int best = -1;
  for (int i = 0; i < (int)z.size(); ++i) {
    if (std::isnan(z[i])) continue;
    if (best < 0 || z[i] > z[best]) best = i;
  }
  return best < 0 ? 0 : best;
}

struct Entry {
  double p;
  int i;
};

}  // namespace

int SampleToken(const std::vector<float>& logits, const SamplerOptions& o, uint64_t draw_index) {
  const int V = (int)logits.size();
  if (V == 0) return -1;
  if (!(o.temperature > 0) || !(o.top_p > 0) || o.top_k == 1) return Argmax(logits);
  const int amax = Argmax(logits);
  const double mx = logits[amax];
  if (std::isnan(mx) || std::isinf(mx)) return amax;  // all NaN, or +inf dominates
  thread_local std::vector<Entry> e;
  e.resize(V);
  for (int i = 0; i < V; ++i) {
    const float z = logits[i];
    // z <= mx; NaN and -inf give probability 0.
    const double p = std::isnan(z) ? 0.0 : Exp(((double)z - mx) / o.temperature);
    e[i] = Entry{p, i};
  }
  auto before = [](const Entry& a, const Entry& b) { return a.p > b.p || (a.p == b.p && a.i < b.i); };
  int n = V;
  if (o.top_k > 0 && o.top_k < V) {
    n = o.top_k;
    std::partial_sort(e.begin(), e.begin() + n, e.end(), before);
  } else {
    std::sort(e.begin(), e.end(), before);
  }
  // Mass of the kept set, summed in sorted order.
  double total = 0;
  for (int k = 0; k < n; ++k) total += e[k].p;
  if (o.top_p < 1) {
    const double want = o.top_p * total;
    double cum = 0;
    int m = 0;
    while (m < n) {
      cum += e[m].p;
      ++m;
      if (cum >= want) break;
    }
    n = m;
    total = cum;
  }
  const double u = RandomUniform(o.seed, kSamplerStream, draw_index) * total;
  double cum = 0;
  for (int k = 0; k < n; ++k) {
    cum += e[k].p;
    if (u < cum) return e[k].i;
  }
  // u rounds to >= total only through floating-point edge cases: the last
  // kept token with nonzero probability.
  for (int k = n - 1; k > 0; --k)
    if (e[k].p > 0) return e[k].i;
  return e[0].i;
}

}  // namespace modelc
