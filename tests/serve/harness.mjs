// Shared helpers for the `modelc serve` end-to-end tests: the tiny model the
// tests serve (built once by make_model.mjs, the ctest fixture) and starting
// / stopping a server on a free port.
//   MODELC_BIN         the modelc executable under test
//   MODELC_SERVE_WORK  folder for the model source and binary
import {spawn, spawnSync} from "node:child_process";
import {createHash} from "node:crypto";
import {existsSync, mkdirSync, readFileSync, writeFileSync} from "node:fs";
import {join} from "node:path";
import {createInterface} from "node:readline";

export const modelcBin = process.env.MODELC_BIN;
export const workDir = process.env.MODELC_SERVE_WORK;
if (!modelcBin || !workDir) {
  console.error("set MODELC_BIN and MODELC_SERVE_WORK (ctest does)");
  process.exit(2);
}
export const modelPath = join(workDir, "model.gguf");
export const CONTEXT = 64;

// English-like words from a fixed-seed generator (a 32-bit LCG).
function corpus(bytes) {
  const words = ["the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was",
                 "for", "on", "are", "with", "as", "they", "at", "one", "have", "this", "from",
                 "river", "garden", "house", "night", "light", "story", "small", "quiet", "old"];
  let s = 12345;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  let text = "";
  while (text.length < bytes) {
    const n = 4 + (next() % 9);
    const line = [];
    for (let i = 0; i < n; i++) line.push(words[next() % words.length]);
    line[0] = line[0][0].toUpperCase() + line[0].slice(1);
    text += line.join(" ") + ".\n";
  }
  return text;
}

function run(args) {
  const r = spawnSync(modelcBin, args, {encoding: "utf8", env: {...process.env, OMP_WAIT_POLICY: "passive"}});
  if (r.status !== 0) throw new Error(`modelc ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// Builds the test model (byte tokenizer, 2 layers, 32 embd, context 64).
export function buildModel() {
  const src = join(workDir, "src");
  mkdirSync(src, {recursive: true});
  writeFileSync(join(src, "corpus.txt"), corpus(30000));
  writeFileSync(join(src, "model.toml"), `[model]
name = "serve-test"
description = "A tiny model for the modelc serve tests"
license = "MIT"
authors = ["modelc tests"]

[architecture]
family = "gpt"
n_layer = 2
n_head = 2
n_embd = 32
context = ${CONTEXT}

[tokenizer]
kind = "byte"

[train]
steps = 30
batch_size = 4
micro_batch_size = 2
learning_rate = 0.003
warmup_steps = 2
lr_schedule = "cosine"
seed = 7
eval_every = 10
eval_batches = 2

[[data]]
path = "corpus.txt"
title = "Generated words"
author = "modelc tests"
license = "CC0-1.0"
source_url = "https://example.invalid/generated-words"
split = 0.1
`);
  run(["build", "--pin", src]);
  run(["build", src, "-o", modelPath, "--threads", "1"]);
}

export function fileSha256(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

export function modelcRun(args) { return run(args); }

// Starts `modelc serve MODEL --port 0 --json ARGS...`; resolves to
// {url, baseURL, info, proc, stderr(), stop()} once it listens.
export function startServer(args = [], env = {}) {
  if (!existsSync(modelPath)) throw new Error(`${modelPath} is missing (the Serve.Model fixture builds it)`);
  const proc = spawn(modelcBin, ["serve", modelPath, "--port", "0", "--json", "--quiet", ...args],
                     {env: {...process.env, OMP_WAIT_POLICY: "passive", ...env},
                      stdio: ["ignore", "pipe", "pipe"]});
  let err = "";
  proc.stderr.on("data", (d) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill("SIGKILL"); reject(new Error("serve did not start:\n" + err)); }, 30000);
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`serve exited (${code}):\n${err}`)); });
    const rl = createInterface({input: proc.stdout});
    rl.once("line", (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line);
      resolve({
        url: info.url, baseURL: info.url + "/v1", info, proc,
        stderr: () => err,
        stop: () => new Promise((res) => {
          proc.removeAllListeners("exit");
          if (proc.exitCode !== null) return res(proc.exitCode);
          proc.once("exit", (code, sig) => res(code ?? sig));
          proc.kill("SIGTERM");
        }),
      });
    });
  });
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
