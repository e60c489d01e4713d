// GPT-2 layers: one <layer>_forward / <layer>_backward pair each, templated on
// the scalar type (float for training, double for finite-difference tests).
//
// Conventions (as in llm.c):
//  - Shapes are given in comments as [rows, cols], row-major, contiguous.
//  - N = B*T rows of activations; C channels; OC output channels.
//  - Every backward ACCUMULATES (+=) into its input- and parameter-gradient
//    buffers; the caller zeroes them. linear, gelu and attention backward
//    can instead OVERWRITE their input gradient (GradMode::kOverwrite), which
//    saves zeroing a buffer that has one writer; the bits are the same as
//    accumulating into zeros. Reductions run in fixed orders
//    (kernels/reduce.h, kernels/gemm.h), so results do not depend on threads.
#pragma once
#include <cstdint>

namespace modelc {

enum class GradMode { kAccumulate, kOverwrite };

// out[b,t,:] = wte[tok[b,t],:] + wpe[t,:]
// out [B*T, C], tok [B*T], wte [V, C], wpe [maxT, C]
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

}  // namespace modelc
