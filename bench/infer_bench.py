#!/usr/bin/env python3
"""Inference speed: `modelc run` against llama.cpp on the same GGUF, side by side in one run.

Run it through `./bench/run --inference` (which installs the packages and builds). llama.cpp is the
prebuilt CPU build that the npm package node-llama-cpp ships (tests/llamacpp/llamacpp.mjs drives it).
Both sides get the same model file, the same prompt tokens and the same number of generated tokens
(greedy), at 1 and 2 threads, f32 and q8_0 (`modelc quantize`). Prompt processing (the prefill of the
prompt, up to the first generated token) and generation (each further token) are timed separately.
Shared 2-core machines drift: every figure is the median of --reps repetitions, the sides interleaved;
spread = (max - min) / median, worst of the row. Writes its section of bench/RESULTS.md.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import DATA, INFER_HEADING, log, machine, median, model_toml, spread  # noqa: E402

LLAMACPP = os.path.join(ROOT, "tests", "llamacpp", "llamacpp.mjs")
# The model: the "big" training config (10.8 M parameters, like the gpt2 GGUF of the issue),
# trained for a few steps (speed does not depend on the weights).
MODEL = dict(n_layer=6, n_head=6, n_embd=384, context=256)
# The same shape as a llama (--family llama): 2 kv heads, SwiGLU width 1024 (8/3 x 384).
LLAMA = dict(MODEL, family="llama", n_head_kv=2, ffn_hidden=1024)
PROMPT_BYTES = 64
GEN = 160


def build_model(modelc, tmp, steps, arch):
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    with open(os.path.join(src, "model.toml"), "w") as f:
        f.write(model_toml("infer-bench", arch, dict(steps=steps, batch_size=8, micro_batch_size=8,
                                                      learning_rate=0.001, warmup_steps=2)))
    subprocess.run([modelc, "build", "--pin", src], check=True, capture_output=True)
    f32 = os.path.join(tmp, "bench-f32.gguf")
    q8 = os.path.join(tmp, "bench-q8_0.gguf")
    subprocess.run([modelc, "build", src, "-q", "-o", f32], check=True, capture_output=True)
    subprocess.run([modelc, "quantize", f32, q8, "--type", "q8_0"], check=True, capture_output=True)
    return {"f32": f32, "q8_0": q8}


def run_modelc(modelc, model, prompt, threads):
    out = subprocess.run([modelc, "run", model, "--prompt", prompt, "-n", str(GEN), "--temperature", "0",
                          "-t", str(threads), "--json"], check=True, capture_output=True, text=True).stdout
    j = json.loads(out)
    return dict(pp=len(j["prompt_tokens"]) / j["prompt_s"], tg=(len(j["tokens"]) - 1) / j["gen_s"],
                n=len(j["tokens"]))


def run_llamacpp(model, prompt, threads):
    out = subprocess.run(["node", LLAMACPP, model, "--bench", json.dumps(prompt), str(GEN), str(threads)],
                         check=True, capture_output=True, text=True).stdout
    j = json.loads(out.strip().splitlines()[-1])
    return dict(pp=j["prompt_tokens"] / j["prompt_s"], tg=j["gen_tokens"] / j["gen_s"], n=j["gen_tokens"] + 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"), help="build folder (modelc)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of every measurement")
    ap.add_argument("--steps", type=int, default=6, help="training steps of the benchmark model")
    ap.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--quick", action="store_true", help="1 repetition; RESULTS.md not written")
    ap.add_argument("--family", choices=("gpt", "llama"), default="gpt",
                    help="model family of the benchmark model (its own section of RESULTS.md)")
    a, _ = ap.parse_known_args()  # bench/run passes bench.py's options too
    reps = 1 if a.quick else a.reps
    modelc = os.path.join(a.build, "modelc")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open(DATA, "rb") as f:
        prompt = f.read(4096)[1000:1000 + PROMPT_BYTES].decode("ascii", "replace")
    rows = []
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        log("building the benchmark model (6 layers, 384 embd, context 256) and its q8_0 copy")
        arch = LLAMA if a.family == "llama" else MODEL
        models = build_model(modelc, tmp, a.steps, arch)
        params_m = json.loads(subprocess.run([modelc, "inspect", models["f32"], "--json"], check=True,
                                             capture_output=True, text=True).stdout)["parameters"] / 1e6
        sizes = {k: os.path.getsize(v) for k, v in models.items()}
        for kind in ("f32", "q8_0"):
            for threads in (1, 2):
                m, l = [], []
                for r in range(reps):
                    # Interleave the sides, alternating which goes first.
                    order = [("m", run_modelc), ("l", run_llamacpp)]
                    if r % 2:
                        order.reverse()
                    for side, fn in order:
                        res = fn(modelc, models[kind], prompt, threads) if side == "m" else \
                            fn(models[kind], prompt, threads)
                        (m if side == "m" else l).append(res)
                row = dict(kind=kind, threads=threads)
                for side, v in (("modelc", m), ("llamacpp", l)):
                    for what in ("pp", "tg"):
                        row[f"{side}_{what}"] = median([x[what] for x in v])
                        row[f"{side}_{what}_spread"] = spread([x[what] for x in v])
                row["gen_tokens"] = min(x["n"] for x in m + l)
                rows.append(row)
                log(f"{kind} t{threads}: modelc pp {row['modelc_pp']:.0f} tg {row['modelc_tg']:.0f}; "
                    f"llama.cpp pp {row['llamacpp_pp']:.0f} tg {row['llamacpp_tg']:.0f} tokens/s")
    lines = ["weights threads  modelc pp  llama.cpp pp  ratio   modelc tg  llama.cpp tg  ratio  spread"]
    for r in rows:
        sp = max(r[k] for k in r if k.endswith("_spread"))
        lines.append(f"{r['kind']:7s} {r['threads']:7d} {r['modelc_pp']:10.0f} {r['llamacpp_pp']:13.0f} "
                     f"{r['modelc_pp'] / r['llamacpp_pp']:6.2f} {r['modelc_tg']:11.0f} {r['llamacpp_tg']:13.0f} "
                     f"{r['modelc_tg'] / r['llamacpp_tg']:6.2f} {sp * 100:6.0f}%")
    targets = ["target                                                     goal      measured  status"]
    for kind in ("f32", "q8_0"):
        best_l = max(r["llamacpp_tg"] for r in rows if r["kind"] == kind)
        best_m = max(r["modelc_tg"] for r in rows if r["kind"] == kind)
        m1 = next(r["modelc_tg"] for r in rows if r["kind"] == kind and r["threads"] == 1)
        m2 = next(r["modelc_tg"] for r in rows if r["kind"] == kind and r["threads"] == 2)
        v = best_m / best_l
        targets.append(f"{kind + ' generation, modelc best vs llama.cpp best threads':58s} {'>= 1.20x':9s} "
                       f"{v:7.2f}x  {'met' if v >= 1.2 else 'NOT met'}")
        targets.append(f"{kind + ' generation, modelc 2 threads / 1 thread':58s} {'> 1.00x':9s} "
                       f"{m2 / m1:7.2f}x  {'met' if m2 > m1 else 'NOT met'}")
    table = "\n".join(lines)
    load = f"load average (1 min) {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    print(table)
    print(load)
    print("\n".join(targets))
    if a.quick:
        log("--quick: RESULTS.md not written")
        return
    heading = INFER_HEADING + (" (llama)" if a.family == "llama" else "")
    layout = ("llama layout, 6 layers, 6 heads (2 kv), 384 embd, SwiGLU 1024" if a.family == "llama"
              else "gpt2 layout, 6 layers, 6 heads, 384 embd")
    section = f"""{heading}

Written by `./bench/run --inference` on {when}. Machine: {machine()}; llama.cpp: node-llama-cpp
{node_llama_version()} (its prebuilt CPU build).

Model: {layout}, context 256, byte vocabulary ({params_m:.1f} M parameters;
f32 file {sizes['f32'] / 2**20:.1f} MiB, q8_0 {sizes['q8_0'] / 2**20:.1f} MiB). Prompt: {PROMPT_BYTES} tokens of
`{DATA}`; {load} (2 cores: anything above 2 means
other jobs shared the cores); {GEN} tokens generated greedily. pp = prompt processing tokens/s (prefill up to the first
generated token), tg = generation tokens/s (every later token). ratio = modelc / llama.cpp (> 1: modelc
faster). Median of {reps} interleaved repetitions; spread = (max - min) / median, worst of the row.
llama.cpp's figures include node-llama-cpp's per-token JavaScript overhead.

```
{table}
```

```
{chr(10).join(targets)}
```
"""
    old = open(a.out).read() if os.path.exists(a.out) else "# Benchmark results\n"
    # Replace this section only (up to the next "## " heading), or append it.
    at = old.find(heading + "\n")
    if at >= 0:
        nxt = old.find("\n## ", at + len(heading))
        new = old[:at] + section + ("\n" + old[nxt + 1:] if nxt >= 0 else "")
    else:
        new = old.rstrip() + "\n\n" + section
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, a.out)
    log(f"wrote {a.out}")


def node_llama_version():
    try:
        with open(os.path.join(ROOT, "tests", "llamacpp", "node_modules", "node-llama-cpp", "package.json")) as f:
            return json.load(f)["version"]
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
