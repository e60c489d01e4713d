// Loads a GGUF model in llama.cpp (node-llama-cpp's prebuilt CPU build) and
// prints one JSON object to stdout:
//   node llamacpp.mjs MODEL.gguf --tokenize TEXT...        -> {"tokens": [[ids...], ...]}
//   node llamacpp.mjs MODEL.gguf --greedy N PROMPT...       -> {"results": [{"prompt_tokens": [...], "tokens": [...], "text": "..."}, ...]}
//   node llamacpp.mjs MODEL.gguf --bench PROMPT N THREADS   -> {"prompt_tokens": P, "prompt_s": s, "gen_tokens": N, "gen_s": s}
// Text arguments are JSON strings (so any text, newlines included, passes
// through argv unchanged). Tokenization adds no BOS/EOS (modelc adds none).
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [modelPath, mode, ...rest] = process.argv.slice(2);
if (!modelPath || !mode) {
  console.error("usage: node llamacpp.mjs MODEL.gguf --tokenize|--greedy|--bench ...");
  process.exit(2);
}
const llama = await getLlama({gpu: false, build: "never", usePrebuiltBinaries: true,
                              logLevel: LlamaLogLevel.error, progressLogs: false});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const out = {};
if (mode === "--tokenize") {
  out.tokens = rest.map((t) => Array.from(model.tokenize(JSON.parse(t), false)));
} else if (mode === "--greedy" || mode === "--bench") {
  // --greedy N PROMPT...: one model load, each prompt in a fresh context.
  const greedy = mode === "--greedy";
  const n = Number(greedy ? rest[0] : rest[1]);
  const prompts = greedy ? rest.slice(1) : [rest[0]];
  const threads = greedy ? 1 : Number(rest[2]);
  out.results = [];
  for (const p of prompts) {
    const prompt = JSON.parse(p);
    const context = await model.createContext({contextSize: model.trainContextSize, threads,
                                               batchSize: model.trainContextSize});
    const seq = context.getSequence();
    const promptTokens = Array.from(model.tokenize(prompt, false));
    const tokens = [];
    const t0 = performance.now();
    let tFirst = 0;
    // Greedy (temperature 0): the first generated token comes out after the
    // prompt is processed; time it separately.
    for await (const tok of seq.evaluate(promptTokens, {temperature: 0})) {
      if (tokens.length === 0) tFirst = performance.now();
      tokens.push(tok);
      if (tokens.length >= n) break;
    }
    const t1 = performance.now();
    if (greedy) {
      out.results.push({prompt_tokens: promptTokens, tokens, text: model.detokenize(tokens, false)});
    } else {
      out.prompt_tokens = promptTokens.length;
      out.prompt_s = (tFirst - t0) / 1000;
      out.gen_tokens = tokens.length - 1;
      out.gen_s = (t1 - tFirst) / 1000;
    }
    await context.dispose();
  }
  if (!greedy) delete out.results;
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify(out) + "\n");
