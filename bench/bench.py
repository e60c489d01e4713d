#!/usr/bin/env python3
"""modelc against its anchors, side by side in one run; writes bench/RESULTS.md.

Run it through ./bench/run (which installs the packages and builds). Measures:
  - the FMA peak of this machine (an FMA loop, bench/gemm_bench.cpp --peak);
  - GEMM: modelc's deterministic GEMM against OpenBLAS cblas_sgemm on the
    shapes of a training step (bench/gemm_bench.cpp);
  - training: steady-state tokens/s of `modelc build` against the PyTorch
    reference (bench/torch_train.py) on the same model, batch and optimizer,
    with PyTorch tuned (OpenMP OpenBLAS first on LD_LIBRARY_PATH,
    OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, torch.set_num_threads(T)) and
    as installed; model FLOPs utilisation; peak RSS against the arithmetic
    minimum.
Shared 2-core machines drift: every figure is the median of --reps
repetitions, the sides are interleaved, and the spread ((max - min) / median,
worst of the row) is printed beside each row.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = "/usr/share/games/fortunes/computers"
OPENMP_BLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
VOCAB = 256
CONFIGS = {
    "small": dict(n_layer=4, n_head=4, n_embd=128, context=64, batch=32),
    "big": dict(n_layer=6, n_head=6, n_embd=384, context=256, batch=16),
}
# Timed steps per measurement (after warm-up); --quick divides them.
STEPS = {"small": 30, "big": 8}
# Heading of the section bench/infer_bench.py writes into RESULTS.md.
INFER_HEADING = "## Inference: modelc run vs llama.cpp"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def median(v):
    return statistics.median(v) if v else float("nan")


def spread(v):
    return (max(v) - min(v)) / statistics.median(v) if len(v) > 1 else 0.0


# ---------------------------------------------------------------------------
# Arithmetic of the model (documented in bench/RESULTS.md).

def param_count(c):
    C, L, T = c["n_embd"], c["n_layer"], c["context"]
    return VOCAB * C + T * C + L * (12 * C * C + 13 * C) + 2 * C


def flops_per_token(c):
    """Model FLOPs per trained token: 6 x (matmul weights, incl. the tied LM
    head) + causal attention (QK^T and PV forward 2*C*T per layer on average,
    backward twice that)."""
    C, L, T = c["n_embd"], c["n_layer"], c["context"]
    return 6 * (L * 12 * C * C + VOCAB * C) + 6 * L * T * C


def min_memory_bytes(c):
    """fp32 weights + grads + 2 Adam moments + the activations one micro-batch
    must keep for its backward pass: per layer ln1, qkv, attention
    probabilities (B*H*T*T), attention output, res2, ln2, fc, gelu(fc), res3
    and the LayerNorm statistics; the embedding output, final LayerNorm and
    the softmax probabilities."""
    C, L, T, B, H = c["n_embd"], c["n_layer"], c["context"], c["batch"], c["n_head"]
    N = B * T
    per_layer = 16 * N * C + 4 * N + B * H * T * T
    acts = N * C + L * per_layer + N * C + 2 * N + N * VOCAB
    return 4 * (4 * param_count(c) + acts)


# ---------------------------------------------------------------------------
# Runners.

def model_toml(name, arch, train):
    """model.toml of a benchmark model: `arch` (n_layer, n_head, n_embd, context; optional family and
    its keys, default gpt), `train` ([train] keys), trained on the fortunes file DATA (BSD-3-Clause,
    so the licence check passes)."""
    lines = [f'[model]\nname = "{name}"\nlicense = "BSD-3-Clause"\n[architecture]\n'
             f'family = "{arch.get("family", "gpt")}"']
    lines += [f"{k} = {arch[k]}" for k in ("n_layer", "n_head", "n_embd", "context")]
    lines += [f"{k} = {arch[k]}" for k in ("n_head_kv", "ffn_hidden") if k in arch]
    lines.append("[train]")
    lines += [f"{k} = {v}" for k, v in dict(train, seed=1, eval_every=0, eval_batches=1).items()]
    lines.append(f'[[data]]\npath = "{DATA}"\nsplit = 0.05\ntitle = "Fortunes about computers"\n'
                 f'author = "Ken Arnold and the fortune-mod contributors"\nlicense = "BSD-3-Clause"')
    return "\n".join(lines) + "\n"


def tuned_env():
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env["LD_LIBRARY_PATH"] = OPENMP_BLAS + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def run_modelc(modelc, cfg, steps, threads, micro=None, np=1):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        with open(os.path.join(src, "model.toml"), "w") as f:
            f.write(model_toml("bench", cfg, dict(steps=steps + 2, batch_size=cfg["batch"],
                                                  micro_batch_size=micro or cfg["batch"], learning_rate=0.001,
                                                  warmup_steps=2, min_lr=0.0001, weight_decay=0.1)))
        subprocess.run([modelc, "build", "--pin", src], check=True, capture_output=True)
        cmd = [modelc, "build", src, "-t", str(threads), "-q", "--json", "-o", os.path.join(tmp, "b.gguf")]
        if np > 1:
            cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(np), "--mca", "btl", "self,vader"] + cmd
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)


def run_torch(cfg, steps, threads, env):
    cmd = ["/usr/bin/python3", os.path.join(HERE, "torch_train.py"), "--data", DATA, "--steps", str(steps),
           "--n-layer", str(cfg["n_layer"]), "--n-head", str(cfg["n_head"]), "--n-embd", str(cfg["n_embd"]),
           "--context", str(cfg["context"]), "--batch", str(cfg["batch"])]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fma_peak(gemm_bench):
    out = subprocess.run([gemm_bench, "--peak"], check=True, capture_output=True, text=True).stdout
    peak = {}
    for line in out.splitlines():
        _, t, g = line.split()
        peak[int(t)] = float(g) * 1e9
    return peak


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = open("/proc/cpuinfo").read()
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"

    def pkg(name):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True)
        return r.stdout.strip() or "?"
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "?"
    return (f"{cpu} ({isa}), {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
            f"python3-torch {pkg('python3-torch')}, OpenBLAS {pkg('libopenblas0-openmp')}; modelc {rev}")


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"), help="build folder (modelc, gemm_bench)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of every training measurement")
    ap.add_argument("--gemm-reps", type=int, default=7, help="interleaved pairs per GEMM shape")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, few steps, no file written")
    ap.add_argument("--no-gemm", action="store_true", help="skip the GEMM table")
    ap.add_argument("--no-mpi", action="store_true", help="skip the MPI scaling table")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    a = ap.parse_args()
    modelc = os.path.join(a.build, "modelc")
    gemm_bench = os.path.join(a.build, "gemm_bench")
    reps = 1 if a.quick else a.reps
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mach = machine()
    log(f"machine: {mach}")
    peak = fma_peak(gemm_bench)
    log(f"FMA peak: {peak[1] / 1e9:.0f} GFLOP/s on 1 thread, {peak[2] / 1e9:.0f} on 2")

    # GEMM --------------------------------------------------------------------
    gemm_text, gemm = "", None
    if not a.no_gemm:
        log("GEMM: modelc vs OpenBLAS ...")
        with tempfile.NamedTemporaryFile(suffix=".json") as jf:
            env = dict(os.environ)  # the system OpenBLAS, with its best kernel:
            env.pop("OPENBLAS_CORETYPE", None)
            env.pop("OPENBLAS_L2_SIZE", None)
            gemm_text = subprocess.run([gemm_bench, "--reps", str(1 if a.quick else a.gemm_reps), "--json",
                                        jf.name], check=True, capture_output=True, text=True, env=env).stdout
            gemm = json.load(open(jf.name))
        print(gemm_text, flush=True)

    # Training ----------------------------------------------------------------
    rows, mem = [], []
    for name, cfg in CONFIGS.items():
        steps = max(3, STEPS[name] // (4 if a.quick else 1))
        r = {t: {"m": [], "tuned": []} for t in (1, 2)}
        default, rss_m, rss_t = [], [], []
        for rep in range(reps):
            log(f"training {name}, repetition {rep + 1}/{reps} ...")
            for t in (1, 2):
                j = run_modelc(modelc, cfg, steps, t)
                r[t]["m"].append(j["steady_tokens_per_s"])
                if t == 2:
                    rss_m.append(j["peak_rss_mb"])
                jt = run_torch(cfg, steps, t, tuned_env())
                r[t]["tuned"].append(jt["tokens_per_s"])
                if t == 2:
                    rss_t.append(jt["peak_rss_mb"])
            default.append(run_torch(cfg, steps, 0, dict(os.environ))["tokens_per_s"])
        fpt = flops_per_token(cfg)
        for t in (1, 2):
            m, tu, de = median(r[t]["m"]), median(r[t]["tuned"]), median(default)
            rows.append(dict(config=name, threads=t, modelc=m, tuned=tu, default=de,
                             vs_tuned=m / tu, vs_default=m / de, mfu=m * fpt / peak[t],
                             torch_mfu=tu * fpt / peak[t],
                             spread=max(spread(r[t]["m"]), spread(r[t]["tuned"]), spread(default))))
        mem.append(dict(config=name, params=param_count(cfg), minimum_mb=min_memory_bytes(cfg) / 2**20,
                        modelc_mb=median(rss_m), torch_mb=median(rss_t)))

    # Data-parallel scaling (issue 5): micro-batch = batch / 2, so that two
    # ranks each get one micro-batch per step. Same bytes in every setting.
    mpi_lines = []
    if shutil.which("mpirun") and not a.no_mpi:
        mpi_lines.append("config  1 rank x 1 thread  1 rank x 2 threads  2 ranks x 1 thread  2x1 / 1x1  efficiency  spread")
        for name, cfg in CONFIGS.items():
            steps = max(3, STEPS[name] // (4 if a.quick else 1))
            micro = cfg["batch"] // 2
            r = {k: [] for k in ("11", "12", "21")}
            hashes = set()
            for rep in range(reps):
                log(f"MPI scaling {name}, repetition {rep + 1}/{reps} ...")
                for key, th, np in (("11", 1, 1), ("12", 2, 1), ("21", 1, 2)):
                    j = run_modelc(modelc, cfg, steps, th, micro=micro, np=np)
                    r[key].append(j["steady_tokens_per_s"])
                    hashes.add(j["sha256"])
            m = {k: median(v) for k, v in r.items()}
            sc = m["21"] / m["11"]
            mpi_lines.append(f"{name:6s} {m['11']:18.0f} {m['12']:19.0f} {m['21']:19.0f} {sc:10.2f}x {100 * sc / 2:10.0f}% "
                             f"{100 * max(spread(v) for v in r.values()):6.0f}%" + ("" if len(hashes) == 1 else "  HASHES DIFFER"))
            rows.append(dict(config=name, mpi_scaling=sc))
        print("\n".join(mpi_lines))
        print()

    train_lines = [
        "config threads  modelc tok/s  torch tuned  torch default  vs tuned  vs default  MFU modelc  MFU torch  spread",
    ]
    for x in rows:
        if "mpi_scaling" in x:
            continue
        train_lines.append(
            f"{x['config']:6s} {x['threads']:7d} {x['modelc']:13.0f} {x['tuned']:12.0f} {x['default']:14.0f} "
            f"{x['vs_tuned']:9.2f} {x['vs_default']:11.2f} {100 * x['mfu']:10.0f}% {100 * x['torch_mfu']:9.0f}% "
            f"{100 * x['spread']:6.0f}%")
    mem_lines = ["config  parameters  minimum MiB  modelc peak RSS MiB  ratio  torch peak RSS MiB"]
    for x in mem:
        mem_lines.append(f"{x['config']:6s} {x['params']:11d} {x['minimum_mb']:12.0f} {x['modelc_mb']:20.0f} "
                         f"{x['modelc_mb'] / x['minimum_mb']:6.2f} {x['torch_mb']:19.0f}")
    print("\n".join(train_lines))
    print()
    print("\n".join(mem_lines))

    # Targets (issue 3) ---------------------------------------------------------
    def row(cfg, t):
        return next(x for x in rows if x["config"] == cfg and x.get("threads") == t)
    targets = [
        ("training big, 2 threads, vs tuned PyTorch", ">= 1.00x", row("big", 2)["vs_tuned"], 1.0),
        ("training small, 2 threads, vs tuned PyTorch", ">= 1.50x", row("small", 2)["vs_tuned"], 1.5),
        ("training big, 2 threads, vs PyTorch defaults", ">= 2.00x", row("big", 2)["vs_default"], 2.0),
        ("training small, 2 threads, vs PyTorch defaults", ">= 2.00x", row("small", 2)["vs_default"], 2.0),
    ]
    if gemm:
        r1 = gemm["runs"][0]
        r2 = gemm["runs"][1]
        targets += [
            ("GEMM vs OpenBLAS, 1 thread, mean over shapes", ">= 0.90x", r1["mean_ratio"], 0.9),
            ("GEMM 2 threads / 1 thread, mean over shapes", ">= 1.80x", r2["mean_scaling"], 1.8),
        ]
    big_mpi = [x["mpi_scaling"] for x in rows if x.get("mpi_scaling") and x["config"] == "big"]
    if big_mpi:
        targets.append(("big, 2 ranks x 1 thread / 1 rank x 1 thread", ">= 1.80x", big_mpi[0], 1.8))
    worst_mem = max(x["modelc_mb"] / x["minimum_mb"] for x in mem)
    target_lines = ["target                                              goal       measured  status"]
    for what, goal, val, need in targets:
        target_lines.append(f"{what:51s} {goal:9s} {val:8.2f}x  {'met' if val >= need else 'NOT met'}")
    target_lines.append(f"{'peak RSS / arithmetic minimum (worst config)':51s} {'<= 1.50x':9s} {worst_mem:8.2f}x  "
                        f"{'met' if worst_mem <= 1.5 else 'NOT met'}")
    if gemm:
        lo = gemm["runs"][0]["min_ratio"]
        target_lines.append(f"{'GEMM vs OpenBLAS, 1 thread, lowest shape (info)':51s} {'':9s} {lo:8.2f}x")
    print()
    print("\n".join(target_lines))

    if a.quick:
        log("--quick: RESULTS.md not written")
        return
    md = f"""# Benchmark results

Written by `./bench/run` on {when}.
Machine: {mach}.

Every training figure is the median of {reps} repetitions; spread = (max - min) / median of the
repetitions, worst of the row's measurements. Only ratios taken in the same run mean anything on these
shared machines.

## Training throughput (steady state)

Same model, loss, AdamW (betas 0.9/0.95, weight decay 0.1 on matrices), gradient clipping 1.0 and batch on
both sides; data: random windows of `{DATA}`. small = 4 layers, 4 heads, 128 embd, context 64, batch 32;
big = 6 layers, 6 heads, 384 embd, context 256, batch 16. tokens/s = batch x context / median step time,
the first two steps left out ({STEPS['small']} timed steps on small, {STEPS['big']} on big).

- **torch tuned**: OpenMP build of OpenBLAS (`libopenblas0-openmp`) first on `LD_LIBRARY_PATH`,
  `OPENBLAS_CORETYPE` / `OPENBLAS_L2_SIZE` unset, `torch.set_num_threads(threads)`.
- **torch default**: PyTorch as installed, this machine's environment unchanged (the same measurement
  on both rows of a config).
- **MFU**: model FLOPs per second / FMA peak at that thread count (peak: {peak[1] / 1e9:.0f} GFLOP/s on
  1 thread, {peak[2] / 1e9:.0f} on 2, measured by an FMA loop in this run). Model FLOPs per token =
  6 x (12 C^2 L + V C) + 6 L T C (causal attention).

```
{chr(10).join(train_lines)}
```

## Data-parallel scaling (MPI)

`mpirun -np 2` against one process, micro-batch = batch / 2 (so each of two ranks trains one micro-batch
per step); steady-state tokens/s, median of the repetitions. efficiency = (2 ranks x 1 thread) /
(1 rank x 1 thread) / 2. Every setting builds the same bytes (checked in the run: a row would say
HASHES DIFFER otherwise).

```
{chr(10).join(mpi_lines) if mpi_lines else "(mpirun not found: skipped)"}
```

## Memory

Peak RSS of `modelc build` (2 threads) against the arithmetic minimum: fp32 weights, gradients and two
Adam moments, plus the activations one micro-batch keeps for its backward pass (per layer: ln1, qkv,
attention probabilities, attention output, res2, ln2, fc, gelu(fc), res3 and the LayerNorm statistics;
the embedding output, the final LayerNorm and the softmax probabilities).

```
{chr(10).join(mem_lines)}
```

## Targets (issue 3)

```
{chr(10).join(target_lines)}
```
"""
    if gemm:
        md += f"""
## GEMM: modelc vs OpenBLAS

OpenBLAS `cblas_sgemm` from Debian's libopenblas-dev with `OPENBLAS_CORETYPE`/`OPENBLAS_L2_SIZE`
unset (its best kernel). Shapes: every linear layer of a training step (fwd = X W^T, dX = dY W,
dW = dY^T X) for small (C 128, 32 x 64 tokens) and big (C 384, 16 x 256 tokens). ratio = median over
{gemm['reps']} repetitions of (OpenBLAS time / modelc time), > 1 means modelc is faster (1 thread: interleaved
pairs; 2 threads: one block per library after a warm-up call, because each library's idle workers spin for a
while after a call and would steal a core from the other); %peak =
modelc against the FMA peak; vs 1 thread = modelc's 2-thread speed over its 1-thread speed.

```
{gemm_text.rstrip()}
```
"""
    # The inference section is written by bench/infer_bench.py: keep it.
    if os.path.exists(a.out):
        old = open(a.out).read()
        at = old.find(INFER_HEADING)
        if at >= 0:
            md += "\n" + old[at:]
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(md)
    os.replace(tmp, a.out)
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
