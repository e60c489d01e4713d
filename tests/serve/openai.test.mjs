// `modelc serve` driven by the official openai npm package (and plain fetch
// where the client cannot send what we test: bad JSON, wrong methods).
// Run by ctest as Serve.OpenAI: node --test tests/serve/openai.test.mjs
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";

import OpenAI from "openai";

import {CONTEXT, fileSha256, modelPath, modelcRun, startServer} from "./harness.mjs";

const MODEL = "serve-test";
let main;    // --parallel 4
let client;

before(async () => {
  main = await startServer(["--parallel", "4"]);
  client = new OpenAI({apiKey: "unused", baseURL: main.baseURL, maxRetries: 0});
});
after(async () => {
  const code = await main.stop();
  assert.equal(code, 0, "serve exits 0 on SIGTERM\n" + main.stderr());
});

const complete = (body) => client.completions.create({model: MODEL, ...body});

async function streamText(body) {
  const stream = await client.completions.create({model: MODEL, ...body, stream: true});
  const parts = [];
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, "text_completion");
    for (const c of chunk.choices) {
      parts[c.index] = (parts[c.index] ?? "") + c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return {texts: parts, finish};
}

describe("models and health", () => {
  test("GET /v1/models lists the model with its source hash and file sha256", async () => {
    const list = await client.models.list();
    assert.equal(list.data.length, 1);
    const m = list.data[0];
    assert.equal(m.id, MODEL);
    assert.equal(m.object, "model");
    assert.equal(m.owned_by, "modelc");
    assert.match(m.source_hash, /^[0-9a-f]{64}$/);
    assert.equal(m.sha256, fileSha256(modelPath));
    assert.equal(m.context_length, CONTEXT);
    const inspect = JSON.parse(modelcRun(["inspect", modelPath, "--json"]));
    assert.equal(m.source_hash, inspect.metadata["modelc.source_hash"]);
    const one = await client.models.retrieve(MODEL);
    assert.equal(one.sha256, m.sha256);
  });

  test("GET /health", async () => {
    const r = await fetch(main.url + "/health");
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.status, "ok");
    assert.equal(j.slots.total, 4);
  });
});

describe("completions", () => {
  test("greedy text equals `modelc run --temperature 0`, usage counts tokens", async () => {
    const r = await complete({prompt: "The ", max_tokens: 12, temperature: 0});
    assert.equal(r.object, "text_completion");
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.model, MODEL);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].finish_reason, "length");
    assert.deepEqual(r.usage, {prompt_tokens: 4, completion_tokens: 12, total_tokens: 16});
    const out = modelcRun(["run", modelPath, "--prompt", "The ", "-n", "12", "--temperature", "0"]);
    assert.equal("The " + r.choices[0].text + "\n", out);
  });

  test("same seed, same text; seeded sampling equals `modelc run --seed`", async () => {
    const body = {prompt: "In the ", max_tokens: 20, temperature: 0.9, seed: 11};
    const a = await complete(body);
    const b = await complete(body);
    assert.equal(a.choices[0].text, b.choices[0].text);
    const out = modelcRun(["run", modelPath, "--prompt", "In the ", "-n", "20", "--temperature", "0.9",
                           "--seed", "11"]);
    assert.equal("In the " + a.choices[0].text + "\n", out);
    const others = await Promise.all([12, 13, 14].map((seed) => complete({...body, seed})));
    assert.ok(others.some((o) => o.choices[0].text !== a.choices[0].text), "other seeds give other text");
  });

  test("n choices: choice i is the single request with seed + i", async () => {
    const r = await complete({prompt: "A ", max_tokens: 8, temperature: 1, seed: 100, n: 3});
    assert.equal(r.choices.length, 3);
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1, 2]);
    assert.equal(r.usage.completion_tokens, 24);
    assert.equal(r.usage.prompt_tokens, 2);
    for (let i = 0; i < 3; i++) {
      const single = await complete({prompt: "A ", max_tokens: 8, temperature: 1, seed: 100 + i});
      assert.equal(r.choices[i].text, single.choices[0].text, `choice ${i}`);
    }
  });

  test("stop sequences cut the text before them", async () => {
    const full = (await complete({prompt: "The ", max_tokens: 30, temperature: 0})).choices[0].text;
    const stop = full.slice(10, 13);
    const at = full.indexOf(stop);
    const r = await complete({prompt: "The ", max_tokens: 30, temperature: 0, stop: [stop, "\u0001"]});
    assert.equal(r.choices[0].text, full.slice(0, at));
    assert.equal(r.choices[0].finish_reason, "stop");
    const s = await streamText({prompt: "The ", max_tokens: 30, temperature: 0, stop});
    assert.equal(s.texts[0], full.slice(0, at));
    assert.equal(s.finish, "stop");
  });

  test("max_tokens beyond the context: stops at the context (finish_reason length)", async () => {
    const r = await complete({prompt: "The ", max_tokens: 1000, temperature: 0.8, seed: 1});
    assert.equal(r.usage.completion_tokens, CONTEXT - 4 + 1);
    assert.equal(r.choices[0].finish_reason, "length");
  });

  test("streaming: SSE chunks add up to the non-streamed text, then [DONE]", async () => {
    const body = {prompt: "The river ", max_tokens: 25, temperature: 0.7, seed: 3};
    const whole = await complete(body);
    const s = await streamText(body);
    assert.equal(s.texts[0], whole.choices[0].text);
    assert.equal(s.finish, "length");
    const n = await streamText({...body, n: 2});
    assert.equal(n.texts.length, 2);
    assert.equal(n.texts[0], whole.choices[0].text);
    // Raw: content type and the final event.
    const r = await fetch(main.baseURL + "/completions", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({...body, stream: true, stream_options: {include_usage: true}})});
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^text\/event-stream/);
    const text = await r.text();
    assert.ok(text.endsWith("data: [DONE]\n\n"), text.slice(-100));
    const events = text.split("\n\n").filter((e) => e).map((e) => e.replace(/^data: /, ""));
    const usage = JSON.parse(events[events.length - 2]);
    assert.deepEqual(usage.choices, []);
    assert.deepEqual(usage.usage, {prompt_tokens: 10, completion_tokens: 25, total_tokens: 35});
  });
});

describe("chat", () => {
  const messages = [{role: "system", content: "You tell stories."}, {role: "user", content: "Tell one."}];
  const rendered = "system: You tell stories.\nuser: Tell one.\nassistant: ";

  test("chat = completion of the rendered template, ending at the turn's newline", async () => {
    const r = await client.chat.completions.create({model: MODEL, messages, max_tokens: 40, seed: 9,
                                                    temperature: 0.8});
    assert.equal(r.object, "chat.completion");
    assert.match(r.id, /^chatcmpl-/);
    const c = r.choices[0];
    assert.equal(c.message.role, "assistant");
    assert.ok(!c.message.content.includes("\n"));
    const same = await complete({prompt: rendered, max_tokens: 40, seed: 9, temperature: 0.8, stop: "\n"});
    assert.equal(c.message.content, same.choices[0].text);
    assert.equal(c.finish_reason, same.choices[0].finish_reason);
    assert.equal(r.usage.prompt_tokens, Buffer.byteLength(rendered));
  });

  test("chat streaming: role first, deltas add up, usage at the end", async () => {
    const body = {model: MODEL, messages, max_tokens: 30, seed: 4, temperature: 0.8};
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({...body, stream: true,
                                                         stream_options: {include_usage: true}});
    let text = "";
    let first = null;
    let usage = null;
    let finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (first === null) first = c.delta;
        text += c.delta.content ?? "";
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.deepEqual(first, {role: "assistant", content: ""});
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.deepEqual(usage, whole.usage);
  });
});

describe("errors", () => {
  const raw = (path, init) => fetch(main.url + path, init);
  const post = (path, body) => raw(path, {method: "POST", headers: {"Content-Type": "application/json"}, body});

  async function expectError(promise, status, code, param) {
    await assert.rejects(promise, (e) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.equal(e.status, status, e.message);
      if (code !== undefined) assert.equal(e.code, code, e.message);
      if (param !== undefined) assert.equal(e.param, param, e.message);
      assert.equal(typeof e.error.message, "string");
      return true;
    });
  }

  test("400: wrong types, out of range, unknown fields, prompt too long", async () => {
    await expectError(complete({prompt: 5}), 400, "invalid_type", "prompt");
    await expectError(complete({prompt: "x", max_tokens: "5"}), 400, "invalid_type", "max_tokens");
    await expectError(complete({prompt: "x", temperature: 3}), 400, "invalid_value", "temperature");
    await expectError(complete({prompt: "x", n: 0}), 400, "invalid_value", "n");
    await expectError(complete({prompt: "x", stop: ["a", "b", "c", "d", "e"]}), 400, "array_above_max_length");
    await expectError(complete({prompt: "x", bogus: 1}), 400, "unknown_parameter", "bogus");
    await expectError(complete({prompt: "x".repeat(CONTEXT)}), 400, "context_length_exceeded", "prompt");
    await expectError(complete({prompt: ""}), 400, "invalid_value", "prompt");
    await expectError(client.chat.completions.create({model: MODEL, messages: [{role: "robot", content: "x"}]}),
                      400, "invalid_value", "messages[0].role");
    await expectError(client.chat.completions.create({model: MODEL, messages: []}), 400, "empty_array");
  });

  test("400: bad JSON and a body that is not an object", async () => {
    for (const body of ["{", "{\"prompt\": \"x\",}", "[1]", ""]) {
      const r = await post("/v1/completions", body);
      assert.equal(r.status, 400, body);
      const j = await r.json();
      assert.equal(j.error.code, "invalid_json");
      assert.equal(j.error.type, "invalid_request_error");
    }
  });

  test("404: unknown route and unknown model", async () => {
    const r = await raw("/v1/nope");
    assert.equal(r.status, 404);
    const j = await r.json();
    assert.equal(j.error.message, "Invalid URL (GET /v1/nope)");
    assert.equal(j.error.type, "invalid_request_error");
    await expectError(client.models.retrieve("gpt-4"), 404, "model_not_found");
    await expectError(client.completions.create({model: "gpt-4", prompt: "x"}), 404, "model_not_found", "model");
  });

  test("405: wrong method on a known route", async () => {
    for (const [method, path, allow] of [["GET", "/v1/completions", "POST"], ["POST", "/v1/models", "GET"],
                                         ["DELETE", "/v1/chat/completions", "POST"], ["PUT", "/health", "GET"]]) {
      const r = await raw(path, {method});
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.get("allow"), allow);
      const j = await r.json();
      assert.equal(j.error.code, "method_not_allowed");
    }
  });
});

describe("authentication", () => {
  let srv;
  before(async () => { srv = await startServer(["--parallel", "1", "--api-key", "sekrit"]); });
  after(async () => { await srv.stop(); });

  test("401 without the key or with a wrong one; the right key works", async () => {
    const wrong = new OpenAI({apiKey: "nope", baseURL: srv.baseURL, maxRetries: 0});
    await assert.rejects(wrong.completions.create({model: MODEL, prompt: "x", max_tokens: 1}), (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
      assert.equal(e.status, 401);
      assert.equal(e.code, "invalid_api_key");
      return true;
    });
    const none = await fetch(srv.baseURL + "/models");
    assert.equal(none.status, 401);
    assert.match((await none.json()).error.message, /didn't provide an API key/);
    // 401 comes before 404 / 405 on /v1/*.
    assert.equal((await fetch(srv.baseURL + "/nope")).status, 401);
    const good = new OpenAI({apiKey: "sekrit", baseURL: srv.baseURL, maxRetries: 0});
    const r = await good.completions.create({model: MODEL, prompt: "x", max_tokens: 2});
    assert.equal(r.usage.completion_tokens, 2);
    assert.equal((await fetch(srv.url + "/health")).status, 200, "health needs no key");
  });

  test("MODELC_API_KEY sets the key", async () => {
    const s = await startServer(["--parallel", "1"], {MODELC_API_KEY: "from-env"});
    try {
      assert.equal((await fetch(s.baseURL + "/models")).status, 401);
      const ok = await fetch(s.baseURL + "/models", {headers: {Authorization: "Bearer from-env"}});
      assert.equal(ok.status, 200);
    } finally {
      await s.stop();
    }
  });
});

describe("concurrency", () => {
  test("same request, same seed: same text alone and among 16 concurrent others", async () => {
    const body = {prompt: "The garden ", max_tokens: 30, temperature: 1.0, seed: 77};
    const alone = (await complete(body)).choices[0].text;
    const load = [];
    for (let i = 0; i < 16; i++)
      load.push(i % 2 ? complete({prompt: `Other ${i} `, max_tokens: 40, temperature: 0.9, seed: i})
                      : streamText({prompt: `Stream ${i} `, max_tokens: 40, temperature: 0.9, seed: i}));
    const mine = [complete(body), streamText(body), complete(body)];
    const [a, s, b] = await Promise.all(mine);
    await Promise.all(load);
    assert.equal(a.choices[0].text, alone);
    assert.equal(s.texts[0], alone);
    assert.equal(b.choices[0].text, alone);
  });

  describe("slots (slow tokens: --debug-token-delay-ms 10)", () => {
    let slow;
    let sc;
    before(async () => {
      slow = await startServer(["--parallel", "2", "--debug-token-delay-ms", "10"]);
      sc = new OpenAI({apiKey: "x", baseURL: slow.baseURL, maxRetries: 0});
    });
    after(async () => { await slow.stop(); });
    const health = async () => (await (await fetch(slow.url + "/health")).json()).slots;
    const waitFor = async (cond, ms) => {
      const t0 = Date.now();
      while (Date.now() - t0 < ms) {
        if (await cond()) return Date.now() - t0;
        await new Promise((r) => setTimeout(r, 10));
      }
      return -1;
    };

    test("two requests decode at the same time; a third waits in the queue", async () => {
      const req = () => sc.completions.create({model: MODEL, prompt: "The ", max_tokens: 60, temperature: 0});
      const t0 = Date.now();
      const p = [req(), req(), req()];
      assert.ok(await waitFor(async () => { const h = await health(); return h.busy === 2 && h.queued === 1; }, 300) >= 0,
                "2 busy, 1 queued: " + JSON.stringify(await health()));
      const [a, b, c] = await Promise.all(p);
      const wall = Date.now() - t0;
      assert.equal(a.choices[0].text, b.choices[0].text);
      assert.equal(a.choices[0].text, c.choices[0].text);
      // 60 tokens take >= 600 ms; the first two in parallel, the third after: ~1200 ms, not ~1800.
      assert.ok(wall >= 1190 && wall < 1700, `3 requests on 2 slots took ${wall} ms`);
      assert.deepEqual(await health(), {total: 2, busy: 0, queued: 0});
    });

    test("a client that disconnects mid-stream frees its slot", async () => {
      const controllers = [];
      for (let i = 0; i < 2; i++) {
        const stream = await sc.completions.create({model: MODEL, prompt: "The ", max_tokens: 60, temperature: 0,
                                                    stream: true});
        // (60 tokens at 10 ms each: 600 ms if nobody hangs up.)
        controllers.push(stream);
      }
      // Read a couple of chunks from each, then hang up (60 tokens would take 600 ms).
      for (const stream of controllers) {
        let n = 0;
        for await (const _ of stream) if (++n === 2) break;  // break aborts the request
      }
      const t = await waitFor(async () => (await health()).busy === 0, 400);
      assert.ok(t >= 0, "slots still busy after the clients left: " + JSON.stringify(await health()));
      // Both slots are usable at once again.
      const t0 = Date.now();
      await Promise.all([1, 2].map(() => sc.completions.create({model: MODEL, prompt: "A", max_tokens: 5})));
      assert.ok(Date.now() - t0 < 400, `follow-up took ${Date.now() - t0} ms`);
    });
  });
});
