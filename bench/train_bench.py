#!/usr/bin/env python3
"""Training throughput: modelc build against the PyTorch reference model
(tests/reference/gpt_reference.py, same GPT, loss, AdamW and clipping) on the
same machine in one run. Prints tokens/s and ratios.

Usage: python3 bench/train_bench.py [--steps N] [--modelc build/modelc]
Run with Debian's python3 (/usr/bin/python3, python3-torch installed).
PyTorch rows: "default" = torch as installed (this machine's environment, all
threads); "tuned" = OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset and
torch.set_num_threads(T). The OpenMP OpenBLAS build suggested in issue 3 is not
tried yet.
"""
import argparse
import os
import re
import statistics
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONFIGS = {
    "small": dict(n_layer=4, n_head=4, n_embd=128, context=64, batch=32),
    "big": dict(n_layer=6, n_head=6, n_embd=384, context=256, batch=16),
}
DATA = "/usr/share/games/fortunes/computers"


def modelc_source(dirname, cfg, steps):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "model.toml"), "w") as f:
        f.write(f"""[model]
name = "bench"
license = "BSD-3-Clause"
[architecture]
family = "gpt"
n_layer = {cfg['n_layer']}
n_head = {cfg['n_head']}
n_embd = {cfg['n_embd']}
context = {cfg['context']}
[train]
steps = {steps}
batch_size = {cfg['batch']}
learning_rate = 0.001
warmup_steps = 2
min_lr = 0.0001
weight_decay = 0.1
seed = 1
eval_every = 0
eval_batches = 1
[[data]]
path = "{DATA}"
split = 0.05
""")


def run_modelc(modelc, cfg, steps, threads, tmp):
    src = os.path.join(tmp, "src")
    modelc_source(src, cfg, steps)
    subprocess.run([modelc, "build", "--pin", src], check=True, capture_output=True)
    out = subprocess.run([modelc, "build", src, "-t", str(threads), "-o", os.path.join(tmp, "b.gguf")],
                         check=True, capture_output=True, text=True)
    # modelc's own figure: tokens / wall time of the whole training loop
    # (includes the first steps and one final evaluation; not yet steady state).
    m = re.search(r"wall time\s+([\d.]+) s \((\d+) tokens/s\)", out.stdout)
    return float(m.group(2))


def run_torch(cfg, steps, threads, tuned):
    env = dict(os.environ)
    if tuned:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    code = f"""
import sys, time, math, torch, torch.nn.functional as F
sys.path.insert(0, {os.path.join(ROOT, 'tests', 'reference')!r})
from gpt_reference import forward
if {tuned}: torch.set_num_threads({threads})
cfg = dict(vocab=256, n_layer={cfg['n_layer']}, n_head={cfg['n_head']}, n_embd={cfg['n_embd']}, context={cfg['context']})
C, T, B, L = cfg['n_embd'], cfg['context'], {cfg['batch']}, cfg['n_layer']
data = torch.tensor(list(open({DATA!r}, 'rb').read()), dtype=torch.long)
g = torch.Generator().manual_seed(1)
p = {{'token_embd.weight': torch.randn(256, C) * 0.02, 'position_embd.weight': torch.randn(T, C) * 0.01,
     'output_norm.weight': torch.ones(C), 'output_norm.bias': torch.zeros(C)}}
for l in range(L):
    b = f'blk.{{l}}.'
    for n, shape in [('attn_qkv', (3*C, C)), ('attn_output', (C, C)), ('ffn_up', (4*C, C)), ('ffn_down', (C, 4*C))]:
        p[b+n+'.weight'] = torch.randn(*shape) * 0.02; p[b+n+'.bias'] = torch.zeros(shape[0])
    for n in ['attn_norm', 'ffn_norm']:
        p[b+n+'.weight'] = torch.ones(C); p[b+n+'.bias'] = torch.zeros(C)
for t in p.values(): t.requires_grad_(True)
dec = [t for t in p.values() if t.dim() == 2]; nod = [t for t in p.values() if t.dim() < 2]
opt = torch.optim.AdamW([{{'params': dec, 'weight_decay': 0.1}}, {{'params': nod, 'weight_decay': 0.0}}], lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
def step():
    ix = torch.randint(len(data) - T - 1, (B,), generator=g)
    x = torch.stack([data[i:i+T] for i in ix]); y = torch.stack([data[i+1:i+T+1] for i in ix])
    loss = F.cross_entropy(forward(p, cfg, x).view(-1, 256), y.view(-1))
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0); opt.step()
for _ in range(2): step()
t0 = time.perf_counter()
for _ in range({steps}): step()
print(B * T * {steps} / (time.perf_counter() - t0))
"""
    out = subprocess.run(["/usr/bin/python3", "-c", code], check=True, capture_output=True, text=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=0, help="steps per measurement (default: 40 small, 8 big)")
    ap.add_argument("--modelc", default=os.path.join(ROOT, "build", "modelc"))
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    print("config threads  modelc tok/s  torch-default  torch-tuned  vs default  vs tuned  (median of %d; spread)" % a.repeat)
    for name, cfg in CONFIGS.items():
        steps = a.steps or (40 if name == "small" else 8)
        for threads in (1, 2):
            r = {"m": [], "d": [], "t": []}
            for _ in range(a.repeat):
                with tempfile.TemporaryDirectory() as tmp:
                    r["m"].append(run_modelc(a.modelc, cfg, steps + 2, threads, tmp))
                r["t"].append(run_torch(cfg, steps, threads, True))
                if threads == 2:
                    r["d"].append(run_torch(cfg, steps, threads, False))
            med = {k: statistics.median(v) if v else float("nan") for k, v in r.items()}
            spread = max((max(v) - min(v)) / statistics.median(v) for v in r.values() if v)
            print(f"{name:6s} {threads:7d} {med['m']:13.0f} {med['d']:14.0f} {med['t']:12.0f} "
                  f"{med['m'] / med['d']:10.2f} {med['m'] / med['t']:9.2f}  ({100 * spread:.0f}%)", flush=True)


if __name__ == "__main__":
    main()
