#!/usr/bin/env python3
"""PyTorch reference for modelc's Llama model, loss and AdamW (tests/llama_model_test.cpp);
the reading, optimizer steps and writing are tests/reference/parity_harness.py.

Usage: llama_reference.py DIR
Reads from DIR (written by the C++ test):
  spec.json     config (vocab, context, n_layer, n_head, n_head_kv, n_embd,
                ffn_hidden, rope_theta, rms_eps, tie_embeddings), tensor table
                (name, shape, offset, decay), optimizer settings and the
                learning rate of each step
  params.f32    initial parameters, float32, modelc's buffer layout
  batches.i32   steps x 2 x B x T int32: tokens then targets of each step
Writes to DIR:
  ref_logits.f32   logits of the first batch at the initial parameters
  ref_grads.f32    gradient of the mean loss there (modelc's layout)
  ref_params.f32   parameters after all steps (modelc's layout)
  ref.json         {"loss0": ..., "step_losses": [...]}

Written from the definitions (Llama; llama.cpp's `llama` graph), not from
modelc's code, functionally so that each line can be read on its own:
  - token embedding only (positions enter through RoPE);
  - pre-norm blocks, RMSNorm  y = x / sqrt(mean(x^2) + eps) * w  (no bias);
  - q = h Wq^T, k = h Wk^T, v = h Wv^T (no biases), Wq [NH*hs, C],
    Wk/Wv [NKV*hs, C] in PyTorch's [out, in] order;
  - rotary embedding in llama.cpp's "normal" mode (ggml_rope mode 0, the
    `llama` architecture): in each head the ADJACENT pairs (x[2i], x[2i+1])
    rotate by t * theta^(-2i/hs) -- not HuggingFace's rotate_half, which
    pairs x[i] with x[i + hs/2];
  - grouped-query causal attention: query head h reads kv head h // (NH/NKV),
    scale 1/sqrt(hs);
  - SwiGLU MLP: (silu(h Wgate^T) * (h Wup^T)) Wdown^T;
  - final RMSNorm, LM head = output.weight, or token_embd.weight when tied;
  - mean cross-entropy; AdamW with decay on the 2-D weights only,
    global-norm clipping.
"""
import math

import torch
import torch.nn.functional as F

import parity_harness


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * w


def rope_tables(T, hs, theta):
    # angle(t, i) = t * theta^(-2i/hs), in float64, rounded once to float32
    i = torch.arange(hs // 2, dtype=torch.float64)
    inv_freq = theta ** (-(2.0 * i) / hs)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]  # [T, hs/2]
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope_adjacent(x, cos, sin):
    # x [B, T, heads, hs]; pairs (x[..., 2i], x[..., 2i+1])
    B, T, NHx, hs = x.shape
    xp = x.reshape(B, T, NHx, hs // 2, 2)
    x0, x1 = xp[..., 0], xp[..., 1]
    c = cos[None, :T, None, :]
    s = sin[None, :T, None, :]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    return torch.stack((y0, y1), dim=-1).reshape(B, T, NHx, hs)


def forward(p, cfg, tok, cos, sin):
    B, T = tok.shape
    C, NH, NKV, L = cfg["n_embd"], cfg["n_head"], cfg["n_head_kv"], cfg["n_layer"]
    hs = C // NH
    G = NH // NKV
    eps = cfg["rms_eps"]
    x = p["token_embd.weight"][tok]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for l in range(L):
        b = f"blk.{l}."
        h = rms_norm(x, p[b + "attn_norm.weight"], eps)
        q = (h @ p[b + "attn_q.weight"].T).view(B, T, NH, hs)
        k = (h @ p[b + "attn_k.weight"].T).view(B, T, NKV, hs)
        v = (h @ p[b + "attn_v.weight"].T).view(B, T, NKV, hs)
        q = rope_adjacent(q, cos, sin).transpose(1, 2)  # [B, NH, T, hs]
        k = rope_adjacent(k, cos, sin).transpose(1, 2)  # [B, NKV, T, hs]
        v = v.transpose(1, 2)
        k = k.repeat_interleave(G, dim=1)  # head h -> kv head h // G
        v = v.repeat_interleave(G, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, NH * hs)
        x = x + y @ p[b + "attn_output.weight"].T
        h = rms_norm(x, p[b + "ffn_norm.weight"], eps)
        u = F.silu(h @ p[b + "ffn_gate.weight"].T) * (h @ p[b + "ffn_up.weight"].T)
        x = x + u @ p[b + "ffn_down.weight"].T
    x = rms_norm(x, p["output_norm.weight"], eps)
    head = p["token_embd.weight"] if cfg["tie_embeddings"] else p["output.weight"]
    return x @ head.T


def make_forward(spec):
    cfg = spec["config"]
    names = {t["name"] for t in spec["tensors"]}
    assert ("output.weight" in names) == (not cfg["tie_embeddings"])
    hs = cfg["n_embd"] // cfg["n_head"]
    cos, sin = rope_tables(cfg["context"], hs, cfg["rope_theta"])
    return lambda p, tok: forward(p, cfg, tok, cos, sin)


if __name__ == "__main__":
    parity_harness.run(make_forward)
