#include "compile/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "compile/exact_sum.h"
#include "compile/optimizer.h"
#include "compile/schedule.h"
#include "kernels/fpenv.h"
#include "kernels/rng.h"

namespace modelc {

ModelConfig ConfigFromRecipe(const Recipe& r) {
  ModelConfig c;
  c.family = r.arch.family;
  c.vocab = r.tokenizer.vocab_size;  // 256 for the byte tokenizer
  c.context = r.arch.context;
  c.n_layer = r.arch.n_layer;
  c.n_head = r.arch.n_head;
  c.n_embd = r.arch.n_embd;
  if (c.family == "llama") {
    c.n_head_kv = r.arch.n_head_kv;
    c.ffn_hidden = r.arch.ffn_hidden;
    // As the binary stores them (f32), so that run, serve and eval, which
    // read them back, use the tables and epsilon the training used.
    c.rope_theta = (float)r.arch.rope_theta;
    c.rms_eps = (float)r.arch.rms_eps;
    c.tie_embeddings = r.arch.tie_embeddings;
  }
  return c;
}

std::vector<float> InitParams(const ModelConfig& c, uint64_t seed) {
  auto specs = ModelParamSpecs(c);
  std::vector<float> p(specs.back().offset + specs.back().size);
  for (size_t t = 0; t < specs.size(); ++t) {
    const ParamSpec& s = specs[t];
    float* dst = p.data() + s.offset;
    switch (s.init) {
      case ParamSpec::Init::kZeros:
        for (int64_t i = 0; i < s.size; ++i) dst[i] = 0.0f;
        break;
      case ParamSpec::Init::kOnes:
        for (int64_t i = 0; i < s.size; ++i) dst[i] = 1.0f;
        break;
      case ParamSpec::Init::kNormal:
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < s.size; ++i)
          dst[i] = (float)(s.init_std * RandomNormal(seed, kStreamInit + t, (uint64_t)i));
        break;
    }
  }
  return p;
}

uint64_t WindowStart(uint64_t seed, uint64_t stream, uint64_t index, uint64_t n, int context) {
  // REQUIRES: n >= context + 1
  return RandomBelow(seed, stream, index, n - (uint64_t)context);
}

namespace {

// Adds the overlap of [s, s+len) with each source's part of the stream.
void CountSourceTokens(const std::vector<uint64_t>& offsets, uint64_t total, uint64_t s,
                       uint64_t len, std::vector<uint64_t>* counts) {
  for (size_t i = 0; i < offsets.size(); ++i) {
    const uint64_t lo = offsets[i], hi = i + 1 < offsets.size() ? offsets[i + 1] : total;
    const uint64_t a = std::max(lo, s), b = std::min(hi, s + len);
    if (b > a) (*counts)[i] += b - a;
  }
}

// Fills tokens/targets [mb, T] with windows index0 .. index0+mb-1 of `stream`.
// If `starts` is given, it receives the window start offsets.
void FillWindows(const std::vector<uint16_t>& data, uint64_t seed, uint64_t stream,
                 uint64_t index0, int mb, int Tn, int* tokens, int* targets,
                 std::vector<uint64_t>* starts = nullptr) {
  if (starts) starts->clear();
  for (int b = 0; b < mb; ++b) {
    const uint64_t s = WindowStart(seed, stream, index0 + b, data.size(), Tn);
    if (starts) starts->push_back(s);
    for (int t = 0; t < Tn; ++t) {
      tokens[b * Tn + t] = data[s + t];
      targets[b * Tn + t] = data[s + t + 1];
    }
  }
}

}  // namespace

UpdateInfo ApplyUpdate(const std::vector<ParamSpec>& specs, const TrainConfig& tc, int64_t step,
                       float* params, float* grads, float* m, float* v) {
  const int64_t P = specs.back().offset + specs.back().size;
  UpdateInfo u;
  u.grad_norm = GlobalNorm(grads, P);
  ClipGradients(grads, P, u.grad_norm, tc.grad_clip);
  AdamWHyper h;
  h.lr = u.lr = LearningRate(tc, step);
  h.beta1 = tc.beta1;
  h.beta2 = tc.beta2;
  h.eps = tc.eps;
  h.weight_decay = tc.weight_decay;
  AdamWStep(specs, params, grads, m, v, h, step + 1);
  return u;
}

double EvaluateValLoss(LanguageModel& model, const float* params, const Recipe& r, const Dataset& d,
                       Comm* comm) {
  const int mb = r.train.micro_batch_size, Tn = r.arch.context;
  const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  std::vector<int> tok((size_t)mb * Tn), tgt((size_t)mb * Tn);
  std::vector<double> slots(r.train.eval_batches, 0.0);  // batch e is evaluated by rank e % ranks
  for (int e = rank; e < r.train.eval_batches; e += ranks) {
    FillWindows(d.val, r.train.seed, kStreamValWindows, (uint64_t)e * mb, mb, Tn, tok.data(),
                tgt.data());
    slots[e] = model.Forward(params, tok.data(), tgt.data(), mb, Tn);
  }
  if (comm) comm->SumSlots(slots.data(), slots.size());
  double sum = 0;
  for (double x : slots) sum += x;  // batch order, whatever the rank count
  return sum / r.train.eval_batches;
}

double TokensPerByte(uint64_t tokens, uint64_t bytes) {
  return bytes > 0 && tokens > 0 ? (double)tokens / (double)bytes : 1.0;
}

double SteadyTokensPerSecond(const std::vector<double>& step_s, int64_t tokens_per_step) {
  if (step_s.empty()) return 0;
  std::vector<double> t(step_s.size() >= 4 ? step_s.begin() + 2 : step_s.begin(), step_s.end());
  std::sort(t.begin(), t.end());
  const size_t n = t.size();
  const double med = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
  return med > 0 ? (double)tokens_per_step / med : 0;
}

namespace {

bool IsChainStep(const TrainConfig& tc, int64_t step) {
  return step == 0 || step == tc.steps || step % tc.chain_every == 0;
}

void AddChainLink(const std::string& source_hash, TrainState* st) {
  ChainLink l;
  l.step = st->step;
  l.state_sha256 = TrainStateHash(*st);
  l.chain_sha256 = NextChainHash(st->chain.empty() ? source_hash : st->chain.back().chain_sha256,
                                 l.step, l.state_sha256);
  st->chain.push_back(l);
}

}  // namespace

Status Train(const Recipe& r, const Dataset& d, const ProgressFn& progress,
             const TrainControl& control, TrainResult* out) {
  const auto t0 = std::chrono::steady_clock::now();
  const TrainConfig& tc = r.train;
  TrainResult res;
  res.config = ConfigFromRecipe(r);
  const ModelConfig& cfg = res.config;
  const auto specs = ModelParamSpecs(cfg);
  const std::string source_hash = r.SourceHash();
  const size_t P = (size_t)specs.back().offset + specs.back().size;

  // Round to nearest, no FTZ/DAZ on every worker; checked again every step
  // (another library in the process could change a thread's MXCSR).
  MODELC_RETURN_IF_ERROR(SetFpEnvOnAllThreads());

  TrainState st;
  if (control.resume || control.resume_take) {
    if (control.resume_take)
      st = std::move(*control.resume_take);
    else
      st = *control.resume;
    if (st.params.size() != P || st.m.size() != P || st.v.size() != P ||
        st.tokens_per_source.size() != d.sources.size() || st.step < 0 || st.step > tc.steps)
      return Status::Error("checkpoint does not fit this model source");
    res.resumed_from = st.step;
    res.saved_step = st.step;
  } else {
    if (control.initial_params) {
      if (control.initial_params->size() != P) return Status::Error("base model weights do not fit this model source");
      st.params = *control.initial_params;
    } else {
      st.params = InitParams(cfg, tc.seed);
    }
    st.m.assign(P, 0.0f);
    st.v.assign(P, 0.0f);
    st.tokens_per_source.assign(d.sources.size(), 0);
    AddChainLink(source_hash, &st);
    if (control.on_checkpoint) {
      MODELC_RETURN_IF_ERROR(control.on_checkpoint(st));
      res.saved_step = st.step;
    }
  }
  const int64_t last = control.stop_after >= 0 ? std::min(control.stop_after, tc.steps) : tc.steps;
  std::vector<float> grads(P);
  std::unique_ptr<LanguageModel> model_owner = MakeModel(cfg);
  LanguageModel& model = *model_owner;
  Comm* comm = control.comm;
  const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;

  const int Tn = cfg.context, mb = tc.micro_batch_size;
  const int n_micro = tc.batch_size / mb;
  std::vector<int> tok((size_t)mb * Tn), tgt((size_t)mb * Tn);
  std::vector<uint64_t> starts, step_tokens(d.sources.size());
  std::vector<double> loss_slots(n_micro);
  ExactSum gsum;
  const float loss_scale = 1.0f / (float)((int64_t)tc.batch_size * Tn);
  const int64_t first = st.step;
  // Whether any rank was asked to stop (collective: every rank calls it at
  // the same points, so all get the same answer).
  auto stop_now = [&]() {
    if (!control.stop_requested) return false;
    uint64_t stop = control.stop_requested() ? 1 : 0;
    if (comm) comm->SumU64(&stop, 1);
    return stop != 0;
  };
  bool stopped = false;

  for (int64_t step = st.step; step < last; ++step) {
    if (stop_now()) {
      stopped = true;
      break;
    }
    const auto ts = std::chrono::steady_clock::now();
    MODELC_RETURN_IF_ERROR(CheckFpEnvOnAllThreads());
    // Micro-batch u of this step runs on rank u % ranks. Each one's gradient
    // is added into an exact fixed-point sum (compile/exact_sum.h), so the
    // total does not depend on how micro-batches are split over ranks.
    std::fill(loss_slots.begin(), loss_slots.end(), 0.0);
    std::fill(step_tokens.begin(), step_tokens.end(), 0);
    // One process and one micro-batch: the sum has one term; quantizing in
    // place gives the same bits without the 16-byte-per-parameter accumulator.
    const bool one_term = n_micro == 1 && ranks == 1;
    uint64_t nonfinite = 0;
    if (!one_term) gsum.Reset(P);
    for (int u = rank; u < n_micro; u += ranks) {
      const uint64_t index0 = (uint64_t)step * tc.batch_size + (uint64_t)u * mb;
      FillWindows(d.train, tc.seed, kStreamTrainWindows, index0, mb, Tn, tok.data(), tgt.data(),
                  &starts);
      for (uint64_t s : starts) CountSourceTokens(d.train_offsets, d.train.size(), s, Tn, &step_tokens);
      std::fill(grads.begin(), grads.end(), 0.0f);
      loss_slots[u] = model.Forward(st.params.data(), tok.data(), tgt.data(), mb, Tn);
      model.Backward(st.params.data(), grads.data(), tok.data(), tgt.data(), loss_scale);
      if (one_term)
        nonfinite = ExactSum::Quantize(grads.data(), grads.size());
      else
        gsum.Add(grads.data());
    }
    if (comm && !one_term) {
      comm->SumExact(&gsum);
      comm->SumSlots(loss_slots.data(), loss_slots.size());
      comm->SumU64(step_tokens.data(), step_tokens.size());
    }
    if (!one_term) nonfinite = gsum.nonfinite();
    if (nonfinite > 0)
      return Status::Error("step " + std::to_string(step + 1) + ": " + std::to_string(nonfinite) +
                           " gradient values are NaN, infinite or above 2^" +
                           std::to_string(kExactSumIntBits) +
                           ": training diverged (try a lower learning_rate or grad_clip)");
    if (!one_term) gsum.ToFloat(grads.data());
    for (size_t i = 0; i < step_tokens.size(); ++i) st.tokens_per_source[i] += step_tokens[i];
    double loss = 0;
    for (double x : loss_slots) loss += x;  // micro-batch order, whatever the rank count
    loss /= n_micro;
    const UpdateInfo up = ApplyUpdate(specs, tc, step, st.params.data(), grads.data(), st.m.data(),
                                      st.v.data());
    res.step_s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count());
    st.step = step + 1;
    st.train_curve.push_back({step + 1, loss});

    StepInfo info;
    info.step = step + 1;
    info.steps = last;  // where this run stops (all steps, or a verify segment's end)
    info.first_step = first;
    info.loss = loss;
    info.lr = up.lr;
    info.grad_norm = up.grad_norm;
    info.train_tokens_per_byte = TokensPerByte(d.train.size(), d.train_bytes);
    info.val_tokens_per_byte = TokensPerByte(d.val.size(), d.val_bytes);
    const bool final_step = step + 1 == tc.steps;
    if (final_step || (tc.eval_every > 0 && (step + 1) % tc.eval_every == 0)) {
      info.has_val = true;
      info.val_loss = EvaluateValLoss(model, st.params.data(), r, d, comm);
      st.val_curve.push_back({step + 1, info.val_loss});
    }
    const bool link = IsChainStep(tc, st.step);
    if (link) AddChainLink(source_hash, &st);
    if (control.on_checkpoint &&
        (link || (control.checkpoint_every > 0 && st.step % control.checkpoint_every == 0))) {
      MODELC_RETURN_IF_ERROR(control.on_checkpoint(st));
      res.saved_step = st.step;
    }
    info.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    info.tokens_per_s = (double)(step + 1 - first) * tc.batch_size * Tn / info.elapsed_s;
    if (progress) progress(info);
  }
  if (!stopped) stopped = stop_now();  // a signal during the last step
  if (stopped) {
    res.stopped = true;
    if (control.on_checkpoint && res.saved_step != st.step) {
      const Status cs = control.on_checkpoint(st);
      if (cs.ok())
        res.saved_step = st.step;
      else
        res.save_error = cs.message();
    }
  }
  res.steps = st.step;
  res.tokens_seen = st.step * tc.batch_size * (int64_t)Tn;
  res.train_loss = st.train_curve.empty() ? 0 : st.train_curve.back().loss;
  res.val_loss = st.val_curve.empty() ? 0 : st.val_curve.back().loss;
  res.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.params = std::move(st.params);
  res.train_curve = std::move(st.train_curve);
  res.val_curve = std::move(st.val_curve);
  res.tokens_per_source = std::move(st.tokens_per_source);
  res.chain = std::move(st.chain);
  *out = std::move(res);
  return Status::OK();
}

}  // namespace modelc
