#!/usr/bin/env python3
"""PyTorch reference for modelc's GPT, loss and AdamW (tests/parity_test.cpp);
the reading, optimizer steps and writing are tests/reference/parity_harness.py.

Usage: gpt_reference.py DIR
Reads from DIR (written by the C++ test):
  spec.json     config, tensor table (name, shape, offset, decay), optimizer
                settings and the learning rate of each step
  params.f32    initial parameters, float32, modelc's buffer layout
  batches.i32   steps x 2 x B x T int32: tokens then targets of each step
Writes to DIR:
  ref_logits.f32   logits of the first batch at the initial parameters
  ref_grads.f32    gradient of the mean loss there (modelc's layout)
  ref_params.f32   parameters after all steps (modelc's layout)
  ref.json         {"loss0": ..., "step_losses": [...]}
The model is written out functionally so that each line can be read against
src/layers and src/model: pre-LayerNorm blocks, fused QKV, causal attention
scaled by 1/sqrt(head size), tanh-GELU MLP (4x), final LayerNorm, LM head tied
to the token embedding, mean cross-entropy; AdamW with decay on 2-D weights
only, global-norm clipping.
"""
import math

import torch
import torch.nn.functional as F

import parity_harness


def forward(p, cfg, tok):
    B, T = tok.shape
    C, NH, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hs = C // NH
    x = p["token_embd.weight"][tok] + p["position_embd.weight"][:T]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for l in range(L):
        b = f"blk.{l}."
        h = F.layer_norm(x, (C,), p[b + "attn_norm.weight"], p[b + "attn_norm.bias"], eps=1e-5)
        qkv = h @ p[b + "attn_qkv.weight"].T + p[b + "attn_qkv.bias"]
        q, k, v = qkv.split(C, dim=2)
        q, k, v = [t.view(B, T, NH, hs).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + (y @ p[b + "attn_output.weight"].T + p[b + "attn_output.bias"])
        h = F.layer_norm(x, (C,), p[b + "ffn_norm.weight"], p[b + "ffn_norm.bias"], eps=1e-5)
        u = F.gelu(h @ p[b + "ffn_up.weight"].T + p[b + "ffn_up.bias"], approximate="tanh")
        x = x + (u @ p[b + "ffn_down.weight"].T + p[b + "ffn_down.bias"])
    x = F.layer_norm(x, (C,), p["output_norm.weight"], p["output_norm.bias"], eps=1e-5)
    return x @ p["token_embd.weight"].T


def make_forward(spec):
    cfg = spec["config"]
    return lambda p, tok: forward(p, cfg, tok)


if __name__ == "__main__":
    parity_harness.run(make_forward)
