// Load test (ctest Serve.Load): `modelc serve` in its own process, this
// process sends REQUESTS completions (half of them streamed) with CONCURRENCY
// in flight through the openai client, with no retries. Fails on any failed
// or malformed response; prints latency percentiles and throughput.
//   node load.mjs [REQUESTS=200] [CONCURRENCY=16] [-- serve args...]
import OpenAI from "openai";

import {percentile, startServer} from "./harness.mjs";

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const [requests = 200, concurrency = 16] = (sep < 0 ? argv : argv.slice(0, sep)).map(Number);
const serveArgs = sep < 0 ? ["--parallel", "2"] : argv.slice(sep + 1);
const MAX_TOKENS = 24;

const srv = await startServer(serveArgs);
const client = new OpenAI({apiKey: "load", baseURL: srv.baseURL, maxRetries: 0, timeout: 60000});
const latencies = [];
const failures = [];
let tokens = 0;
let next = 0;

async function one(i) {
  const body = {model: "serve-test", prompt: `Request ${i}: the `, max_tokens: MAX_TOKENS,
                temperature: 0.8, seed: i};
  const t0 = performance.now();
  if (i % 2 === 0) {
    const r = await client.completions.create(body);
    if (r.choices.length !== 1 || r.usage.completion_tokens !== MAX_TOKENS)
      throw new Error("unexpected response " + JSON.stringify(r));
    tokens += r.usage.completion_tokens;
  } else {
    const stream = await client.completions.create({...body, stream: true, stream_options: {include_usage: true}});
    let usage = null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    if (!usage || usage.completion_tokens !== MAX_TOKENS) throw new Error("stream without usage");
    tokens += usage.completion_tokens;
  }
  latencies.push(performance.now() - t0);
}

async function worker() {
  while (next < requests) {
    const i = next++;
    try {
      await one(i);
    } catch (e) {
      failures.push(`request ${i}: ${e}`);
    }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({length: concurrency}, worker));
const wall = (performance.now() - t0) / 1000;
const code = await srv.stop();
latencies.sort((a, b) => a - b);
const summary = {
  requests, concurrency, serve_args: serveArgs.join(" "), failures: failures.length,
  wall_s: +wall.toFixed(3), requests_per_s: +(requests / wall).toFixed(1),
  tokens_per_s: +(tokens / wall).toFixed(0),
  latency_ms: {p50: +percentile(latencies, 50).toFixed(1), p90: +percentile(latencies, 90).toFixed(1),
               p99: +percentile(latencies, 99).toFixed(1), max: +latencies[latencies.length - 1].toFixed(1)},
};
console.log(`load: ${requests} requests, ${concurrency} concurrent (serve ${summary.serve_args}): ` +
            `${failures.length} failures, p50 ${summary.latency_ms.p50} ms, p99 ${summary.latency_ms.p99} ms, ` +
            `${summary.requests_per_s} req/s, ${summary.tokens_per_s} tokens/s`);
console.log(JSON.stringify(summary));
for (const f of failures.slice(0, 10)) console.error(f);
if (failures.length > 0 || latencies.length !== requests) process.exit(1);
if (code !== 0) {
  console.error(`serve exited with ${code}:\n${srv.stderr()}`);
  process.exit(1);
}
