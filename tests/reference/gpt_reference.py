#!/usr/bin/env python3
"""PyTorch reference for modelc's GPT, loss and AdamW (tests/parity_test.cpp).

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
import json
import math
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


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


def main():
    d = sys.argv[1]
    spec = json.load(open(f"{d}/spec.json"))
    cfg, B, T = spec["config"], spec["B"], spec["T"]
    V = cfg["vocab"]
    flat = np.fromfile(f"{d}/params.f32", dtype=np.float32)
    p = {}
    for t in spec["tensors"]:
        a = flat[t["offset"]:t["offset"] + t["size"]].reshape(t["shape"])
        p[t["name"]] = torch.tensor(a, requires_grad=True)
    steps = len(spec["lrs"])
    batches = np.fromfile(f"{d}/batches.i32", dtype=np.int32).reshape(steps, 2, B, T)
    batches = torch.tensor(batches, dtype=torch.long)

    def flatten(get):
        out = np.zeros_like(flat)
        for t in spec["tensors"]:
            out[t["offset"]:t["offset"] + t["size"]] = get(p[t["name"]]).reshape(-1)
        return out

    # 1. One forward and backward at the initial parameters.
    logits = forward(p, cfg, batches[0, 0])
    loss = F.cross_entropy(logits.view(-1, V), batches[0, 1].reshape(-1))
    loss.backward()
    logits.detach().numpy().astype(np.float32).tofile(f"{d}/ref_logits.f32")
    flatten(lambda x: x.grad.detach().numpy()).tofile(f"{d}/ref_grads.f32")
    loss0 = loss.item()

    # 2. Optimizer steps.
    o = spec["optim"]
    decay = [p[t["name"]] for t in spec["tensors"] if t["decay"]]
    no_decay = [p[t["name"]] for t in spec["tensors"] if not t["decay"]]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=spec["lrs"][0], betas=(o["beta1"], o["beta2"]), eps=o["eps"])
    step_losses = []
    for s in range(steps):
        for g in opt.param_groups:
            g["lr"] = spec["lrs"][s]
        opt.zero_grad()
        logits = forward(p, cfg, batches[s, 0])
        loss = F.cross_entropy(logits.view(-1, V), batches[s, 1].reshape(-1))
        loss.backward()
        if o["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(list(p.values()), o["grad_clip"])
        opt.step()
        step_losses.append(loss.item())
    flatten(lambda x: x.detach().numpy()).tofile(f"{d}/ref_params.f32")
    json.dump({"loss0": loss0, "step_losses": step_losses}, open(f"{d}/ref.json", "w"))


if __name__ == "__main__":
    main()
