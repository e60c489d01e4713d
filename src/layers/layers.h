// The layers of GPT-2 and Llama: one <layer>_forward / <layer>_backward pair
// each, templated on the scalar type (float for training, double for
// finite-difference tests).
//
// Conventions (as in llm.c):
//  - Shapes are given in comments as [rows, cols], row-major, contiguous.
//  - N = B*T rows of activations; C channels; OC output channels.
//  - Every backward ACCUMULATES (+=) into its input- and parameter-gradient
//    buffers; the caller zeroes them. linear, gelu, attention, rope and
//    attention_gqa backward can instead OVERWRITE their input gradient
//    (GradMode::kOverwrite), which saves zeroing a buffer that has one
//    writer; the bits are the same as accumulating into zeros. Reductions
//    run in fixed orders (kernels/reduce.h, kernels/gemm.h), so results do
//    not depend on threads.
#pragma once
#include <cstdint>

namespace modelc {

enum class GradMode { kAccumulate, kOverwrite };

// out[b,t,:] = wte[tok[b,t],:] + wpe[t,:]   (+ wpe only when wpe != nullptr)
// out [B*T, C], tok [B*T], wte [V, C], wpe [maxT, C] or nullptr. Backward:
// dwte (and dwpe unless nullptr) += dout by rows in order: a fixed order.
template <class T>
void encoder_forward(T* out, const int* tok, const T* wte, const T* wpe, int B, int Tn, int C);
template <class T>
void encoder_backward(T* dwte, T* dwpe, const T* dout, const int* tok, int B, int Tn, int C, int V);

// out = (x - mean) * rstd * w + b;  rstd = 1/sqrt(var + eps), var biased
// out, inp [N, C]; mean, rstd [N]; w, b [C]
constexpr double kLayerNormEps = 1e-5;
template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* inp, const T* w, const T* b, int64_t N, int C);
template <class T>
void layernorm_backward(T* dinp, T* dw, T* db, const T* dout, const T* inp, const T* w,
                        const T* mean, const T* rstd, int64_t N, int C);

// out = inp · W^T + bias
// out [N, OC], inp [N, C], W [OC, C], bias [OC] or nullptr
template <class T>
void linear_forward(T* out, const T* inp, const T* W, const T* bias, int64_t N, int C, int OC);
// dbias may be nullptr when there is no bias
template <class T>
void linear_backward(T* dinp, T* dW, T* dbias, const T* dout, const T* inp, const T* W,
                     int64_t N, int C, int OC, GradMode dinp_mode = GradMode::kAccumulate);

// Causal multi-head self-attention on packed qkv.
// out [B*T, C], att [B, NH, T, T] (softmax probabilities, 0 above the diagonal),
// qkv [B*T, 3C] = (q | k | v), head h uses channels h*hs .. (h+1)*hs of each.
template <class T>
void attention_forward(T* out, T* att, const T* qkv, int B, int Tn, int C, int NH);
template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn,
                        int C, int NH, GradMode mode = GradMode::kAccumulate);

// GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
template <class T>
void gelu_forward(T* out, const T* inp, int64_t N);
template <class T>
void gelu_backward(T* dinp, const T* inp, const T* dout, int64_t N,
                   GradMode mode = GradMode::kAccumulate);

// out = a + b
template <class T>
void residual_forward(T* out, const T* a, const T* b, int64_t N);
template <class T>
void residual_backward(T* da, T* db, const T* dout, int64_t N);

// probs = softmax(logits) per row; losses[n] = -log probs[n, target[n]]
// logits, probs [N, V]; losses [N]
template <class T>
void crossentropy_forward(T* probs, T* losses, const T* logits, const int* targets, int64_t N, int V);
// dlogits += (probs - onehot(target)) * dloss    (dloss: d total_loss / d losses[n], same for all n)
template <class T>
void crossentropy_backward(T* dlogits, const T* probs, const int* targets, T dloss, int64_t N, int V);

// ---------------------------------------------------------------------------
// Llama layers (RMSNorm, RoPE, SwiGLU, grouped-query attention)
// ---------------------------------------------------------------------------

// out = x * rstd * w;  rstd = 1/sqrt(mean(x^2) + eps). No bias.
// out, inp [N, C]; rstd [N]; w [C]. Llama uses eps = 1e-5 or 1e-6.
template <class T>
void rmsnorm_forward(T* out, T* rstd, const T* inp, const T* w, int64_t N, int C, double eps);
template <class T>
void rmsnorm_backward(T* dinp, T* dw, const T* dout, const T* inp, const T* w, const T* rstd,
                      int64_t N, int C);

// Rotary position embeddings, llama.cpp's "normal" layout (ggml_rope mode 0,
// the `llama` architecture): in every head the ADJACENT pairs
// (x[2i], x[2i+1]) rotate by angle(t, i) = t * theta^(-2i/hs), t the position
// in the sequence (0 .. T-1):
//   y[2i] = x[2i] cos - x[2i+1] sin,   y[2i+1] = x[2i] sin + x[2i+1] cos.
// (Not HuggingFace's halves (x[i], x[i+hs/2]).) Applied to q and to k
// separately; all hs dimensions rotate (n_rot = head_dim); hs even.
// rope_table: cos, sin [T, head_dim/2] from the own deterministic exp, log
// and sincos (kernels/mathfn.h) in double, rounded once to T. The largest
// angle is T - 1 (pair 0): REQUIRES T <= 2^20 (the sincos range).
template <class T>
void rope_table(T* cos, T* sin, int Tn, int head_dim, double theta);
// out, inp [B*T, NH*hs]; out == inp (in place) is allowed; cos, sin [T, hs/2]
template <class T>
void rope_forward(T* out, const T* inp, const T* cos, const T* sin, int B, int Tn, int NH, int hs);
// dinp (+)= rotation of dout by -angle. dinp, dout [B*T, NH*hs]; with
// GradMode::kOverwrite dinp == dout (in place) is allowed.
template <class T>
void rope_backward(T* dinp, const T* dout, const T* cos, const T* sin, int B, int Tn, int NH,
                   int hs, GradMode mode = GradMode::kAccumulate);

// out = silu(gate) * up;  silu(x) = x * sigmoid(x), sigmoid(x) = 1/(1 + exp(-x))
// out, gate, up [N] (N = rows * H, element-wise)
template <class T>
void swiglu_forward(T* out, const T* gate, const T* up, int64_t N);
// dgate += dout * up * silu'(gate);  dup += dout * silu(gate)
template <class T>
void swiglu_backward(T* dgate, T* dup, const T* dout, const T* gate, const T* up, int64_t N);

// Causal grouped-query self-attention on separate q, k, v; scale 1/sqrt(hs).
// NKV divides NH; query head h uses kv head h / (NH/NKV); head h of q/out
// is channels h*hs .. (h+1)*hs, kv head g of k/v channels g*hs .. (g+1)*hs.
// out [B*T, NH*hs], att [B, NH, T, T] (softmax probabilities, 0 above the
// diagonal), q [B*T, NH*hs], k, v [B*T, NKV*hs].
// NKV == NH: the same bits as attention_forward/backward on packed (q|k|v).
template <class T>
void attention_gqa_forward(T* out, T* att, const T* q, const T* k, const T* v, int B, int Tn,
                           int NH, int NKV, int hs);
// dq [B*T, NH*hs], dk, dv [B*T, NKV*hs]. dk/dv sum the group's query heads
// in head order (fixed, independent of threads). kOverwrite overwrites dq,
// dk and dv.
template <class T>
void attention_gqa_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k,
                            const T* v, const T* att, int B, int Tn, int NH, int NKV, int hs,
                            GradMode mode = GradMode::kAccumulate);

}  // namespace modelc
