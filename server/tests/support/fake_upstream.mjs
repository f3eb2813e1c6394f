// A fake OpenAI-compatible chat-completions server for the upstream tests: a second process
// on loopback, started by server/tests/upstream.rs (and usable by hand for the README's demo:
// `node server/tests/support/fake_upstream.mjs 8790`).
//
// POST /v1/chat/completions answers by the requested `model`:
//   echo       streams "You said: <last user message>" word by word, then a usage chunk
//              (total_tokens 42) and [DONE]
//   slow       streams 200 words, 100 ms apart (for Stop and hang-up: the log counts a
//              connection the client closed before the end as aborted)
//   json       ignores `stream` and answers one chat.completion object
//   fail-500   500 with an OpenAI error body
//   fail-429   429 with Retry-After: 7
//   stall      sends the headers, then nothing
//   hang       never answers at all
//   malformed  one delta, then a data: line that is not JSON
//   drop       two deltas, then the connection is destroyed without [DONE]
//   endless    streams the same words for as long as the client reads (a model in a loop)
//   endless-json  answers application/json whose reply text never ends
//   usage:N    as echo, but reports N tokens (its digits sent as they are, so numbers past
//              what a JSON double holds exactly, like 18446744073709551615, arrive intact)
// GET /log answers {"requests":[{"model","authorization","body"}],"aborted":N,"completed":N}.
// The port is the first argument (0 or none: any free port); the first stdout line is
// "listening <port>".

import http from "node:http";

const log = { requests: [], aborted: 0, completed: 0 };

function chunk(content, extra = {}) {
  return {
    id: "chatcmpl-fake",
    object: "chat.completion.chunk",
    created: 1700000000,
    model: "fake",
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: null }],
    ...extra,
  };
}

function send(res, value) {
  res.write(`data: ${typeof value === "string" ? value : JSON.stringify(value)}\n\n`);
}

function startStream(req, res) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let finished = false;
  res.on("close", () => {
    if (!finished) log.aborted += 1;
  });
  return () => {
    finished = true;
    log.completed += 1;
  };
}

async function streamWords(req, res, words, delayMs, totalTokens = "42") {
  const done = startStream(req, res);
  send(res, { ...chunk(null), choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] });
  for (const word of words) {
    if (res.destroyed) return;
    send(res, chunk(word));
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  }
  if (res.destroyed) return;
  send(res, { ...chunk(null), choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
  const usage = totalTokens === "42"
    ? `{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}`
    : `{"prompt_tokens":${totalTokens},"completion_tokens":${totalTokens},"total_tokens":${totalTokens}}`;
  send(res, `{"id":"chatcmpl-fake","object":"chat.completion.chunk","choices":[],"usage":${usage}}`);
  send(res, "[DONE]");
  done();
  res.end();
}

/** Writes `text` again and again, as fast as the client reads, until it hangs up. */
function pump(res, text) {
  const more = () => {
    while (!res.destroyed && res.write(text)) {}
    if (!res.destroyed) res.once("drain", more);
  };
  more();
}

function pieces(text) {
  return text.match(/\S+\s*/g) ?? [];
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/log") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(log));
    return;
  }
  if (req.method !== "POST" || !req.url.endsWith("/chat/completions")) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "not found" } }));
    return;
  }
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (d) => (raw += d));
  req.on("end", async () => {
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "bad json" } }));
      return;
    }
    log.requests.push({ model: body.model, authorization: req.headers.authorization ?? null, body });
    const last = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
    const question = last ? last.content : "";
    switch (body.model) {
      case "echo":
        return streamWords(req, res, pieces(`You said: ${question}`), 5);
      case "slow":
        return streamWords(req, res, Array.from({ length: 200 }, (_, i) => `w${i} `), 100);
      case "json":
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({
          id: "chatcmpl-fake", object: "chat.completion", created: 1700000000, model: "fake",
          choices: [{ index: 0, message: { role: "assistant", content: `Plainly: ${question}` }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
        }));
        log.completed += 1;
        return;
      case "fail-500":
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "the model crashed", type: "server_error" } }));
        return;
      case "fail-429":
        res.writeHead(429, { "content-type": "application/json", "retry-after": "7" });
        res.end(JSON.stringify({ error: { message: "slow down", type: "rate_limit" } }));
        return;
      case "stall":
        startStream(req, res);
        res.flushHeaders();
        return;
      case "hang":
        res.on("close", () => (log.aborted += 1));
        return;
      case "malformed": {
        startStream(req, res);
        send(res, chunk("Partly "));
        res.write("data: {this is not json\n\n");
        setTimeout(() => res.end(), 50);
        return;
      }
      case "drop": {
        startStream(req, res);
        send(res, chunk("Half "));
        send(res, chunk("a reply "));
        setTimeout(() => res.socket.destroy(), 50);
        return;
      }
      case "endless": {
        startStream(req, res);
        pump(res, `data: ${JSON.stringify(chunk("again and again "))}\n\n`);
        return;
      }
      case "endless-json": {
        res.on("close", () => (log.aborted += 1));
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"id":"chatcmpl-fake","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"');
        pump(res, "again and again ".repeat(4096));
        return;
      }
      default: {
        const reported = /^usage:(\d+)$/.exec(body.model ?? "");
        if (reported) return streamWords(req, res, pieces(`You said: ${question}`), 5, reported[1]);
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `no model ${body.model}` } }));
      }
    }
  });
});

server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
