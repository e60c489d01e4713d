#!/usr/bin/env python3
"""PyTorch side of the training benchmark: the reference GPT of
tests/reference/gpt_reference.py (same model, loss, AdamW and clipping as
modelc) trained on random windows of one file. Prints one JSON line:
median step time after the warm-up steps, tokens/s, and peak RSS.

Run by bench/bench.py with Debian's python3 (python3-torch). The thread
setting is the caller's: --threads N calls torch.set_num_threads(N); without
it torch keeps its defaults. OpenBLAS's build and variables come from the
environment the caller sets up.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from gpt_reference import forward  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-layer", type=int, required=True)
    ap.add_argument("--n-head", type=int, required=True)
    ap.add_argument("--n-embd", type=int, required=True)
    ap.add_argument("--context", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True, help="timed steps (after 2 warm-up steps)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--data", required=True)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    C, T, B, L, V = a.n_embd, a.context, a.batch, a.n_layer, 256
    cfg = dict(vocab=V, n_layer=L, n_head=a.n_head, n_embd=C, context=T)
    with open(a.data, "rb") as f:
        data = torch.tensor(list(f.read()), dtype=torch.long)
    p = {"token_embd.weight": torch.randn(V, C) * 0.02, "position_embd.weight": torch.randn(T, C) * 0.01,
         "output_norm.weight": torch.ones(C), "output_norm.bias": torch.zeros(C)}
    for layer in range(L):
        b = f"blk.{layer}."
        for n, shape in [("attn_qkv", (3 * C, C)), ("attn_output", (C, C)), ("ffn_up", (4 * C, C)),
                         ("ffn_down", (C, 4 * C))]:
            p[b + n + ".weight"] = torch.randn(*shape) * 0.02
            p[b + n + ".bias"] = torch.zeros(shape[0])
        for n in ["attn_norm", "ffn_norm"]:
            p[b + n + ".weight"] = torch.ones(C)
            p[b + n + ".bias"] = torch.zeros(C)
    for t in p.values():
        t.requires_grad_(True)
    decay = [t for t in p.values() if t.dim() == 2]
    no_decay = [t for t in p.values() if t.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)

    def step():
        ix = torch.randint(len(data) - T - 1, (B,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + T + 1] for i in ix])
        loss = F.cross_entropy(forward(p, cfg, x).view(-1, V), y.view(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()

    for _ in range(2):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"step_s": med, "tokens_per_s": B * T / med, "threads": torch.get_num_threads(),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
