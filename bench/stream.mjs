// Streaming benchmark (a script, not a test): streams replies of 200, 2,000 and 20,000 tokens
// of realistic Markdown into the real widget build (dist/) in headless Chromium, from a local
// server that sends as fast as it can, and reports per size:
//   - last byte -> final paint: from the moment the page received the response's last chunk
//     to just after the frame that paints the completed reply (checked once per frame, so
//     "final DOM" is the start of that frame's work);
//   - network end -> final DOM: the same, from when the browser's network stack had the last
//     byte (Resource Timing's responseEnd). A page that reads the stream later (it was busy
//     drawing) gets a later "last byte"; this figure does not move with that;
//   - the longest main-thread task and the total blocking time (sum of task time over 50 ms)
//     between sending and the final paint (Long Tasks API);
//   - the wasm memory size and JS heap at the end.
// With --shapes it streams instead a reply that is one block all along, in four shapes (one
// long list, one long paragraph, one long code block, one long table) at 10 KB, 100 KB and
// 1 MB, and reports last byte -> final DOM and the longest task: a block that never ends
// must not be rendered whole again on every frame.
// With --burst the server writes each reply in one piece, as a proxy that buffers the stream
// delivers it: the page gets the whole reply in one or two network chunks.
// Usage: node bench/stream.mjs [runs per size, default 3] [--serve] [--shapes] [--burst] [--dist=DIR]
//   (needs dist/ from scripts/build-widget.sh; --dist=DIR measures another build, e.g. a copy
//   of the previous one, for a before/after comparison)
import { createServer } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distArg = process.argv.find((a) => a.startsWith('--dist='));
const dist = distArg ? resolve(distArg.slice('--dist='.length)) : join(root, 'dist');
const manifestPath = join(dist, 'manifest.json');
const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : {};
const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) || 3);
const sizes = [200, 2000, 20000];
const burst = process.argv.includes('--burst');
// The replies stream in the default (chatbots) dialect: its build is the one the page loads.
const glue = manifest.builds?.chatbots?.glue;
if (!existsSync(join(dist, 'chat-widget.js')) || !glue) {
  console.error('dist/ is missing: run scripts/build-widget.sh first');
  process.exit(1);
}

/** Realistic Markdown of exactly `count` tokens (a token is one word with its spacing). */
function markdownTokens(count) {
  const words = 'the widget streams every reply token by token so visitors can read along while the answer is still being written and nothing they typed is ever lost'.split(' ');
  const tokens = [];
  let w = 0;
  const word = () => words[w++ % words.length];
  let section = 0;
  while (tokens.length < count) {
    tokens.push(`## Section ${++section}\n\n`);
    for (let i = 0; i < 45; i++) tokens.push(`${i % 9 === 4 ? `**${word()}**` : word()}${i === 44 ? '.\n\n' : ' '}`);
    for (let item = 0; item < 4; item++) {
      tokens.push('- ');
      for (let i = 0; i < 7; i++) tokens.push(`${i === 3 ? `\`${word()}\`` : word()}${i === 6 ? '\n' : ' '}`);
    }
    tokens.push('\n```rust\n');
    for (let line = 0; line < 6; line++) tokens.push(`let value_${line} = compute(${line});\n`);
    tokens.push('```\n\n');
    for (let item = 1; item <= 3; item++) {
      tokens.push(`${item}. `);
      for (let i = 0; i < 6; i++) tokens.push(`${word()}${i === 5 ? '\n' : ' '}`);
    }
    tokens.push('\n');
  }
  return tokens.slice(0, count);
}

/** A reply of about `bytes` bytes that is one block of the given shape, cut into tokens of a
 * word or so (as a model streams it). */
function shapeTokens(shape, bytes) {
  const words = 'the widget streams every reply token by token so visitors can read along'.split(' ');
  const pieces = [];
  let size = 0;
  const push = (piece) => {
    pieces.push(piece);
    size += piece.length;
  };
  let i = 0;
  if (shape === 'table') push('| # | item | price | note |\n|---:|:---|---:|:-:|\n');
  if (shape === 'code') push('```rust\n');
  while (size < bytes) {
    const word = words[i % words.length];
    if (shape === 'list') push(`- item ${i} ${word} **${words[(i + 3) % words.length]}** and \`code\`\n`);
    else if (shape === 'paragraph') push(`${i % 7 === 3 ? `*${word}*` : word} ${i % 11 === 5 ? `[link](https://example.com/${i}) ` : ''}`);
    else if (shape === 'code') push(`let value_${i} = compute(${i}, "${word}"); // <${word}> & more\n`);
    else push(`| ${i} | ${word} **${words[(i + 5) % words.length]}** | ${i * 3}.00 | ok |\n`);
    i++;
  }
  if (shape === 'code') push('```\n');
  // Tokens of about 8 bytes: split every piece at spaces, keeping the spaces.
  return pieces.join('').match(/\S*\s*/g).filter((token) => token.length > 0);
}

function sse(name, payload) {
  return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const server = createServer((request, response) => {
  const url = new URL(request.url, 'http://localhost');
  if (url.pathname === '/') {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>bench</title><link rel="icon" href="data:,"></head>
<body><h1>Streaming benchmark</h1><script src="/widget/chat-widget.js" data-bot-id="bench" data-api-url="${url.origin.replace('localhost', request.headers.host)}"></script></body></html>`);
    return;
  }
  if (url.pathname.startsWith('/widget/')) {
    const path = join(dist, url.pathname.slice('/widget/'.length));
    if (!path.startsWith(dist) || !existsSync(path)) return response.writeHead(404).end();
    response.writeHead(200, { 'content-type': types[extname(path)] || 'application/octet-stream' });
    return response.end(readFileSync(path));
  }
  if (request.method === 'POST' && url.pathname === '/api/v1/chatbots/bench/chat') {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const words = JSON.parse(body).message.split(' ');
      const tokens = words.length === 3 ? shapeTokens(words[1], Number(words[2])) : markdownTokens(Number(words[1]));
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.write(sse('start', { conversationId: 'bench', messageId: 'm' }));
      if (burst) {
        const events = tokens.map((token) => sse('delta', { content: token })).join('');
        response.end(events + sse('done', { conversationId: 'bench', messageId: 'm', response: tokens.join('') }));
        return;
      }
      let i = 0;
      // As fast as the server can: write every token, yielding to the event loop now and then
      // so the bytes leave in many network chunks rather than one.
      const pump = () => {
        const until = Math.min(i + 50, tokens.length);
        for (; i < until; i++) response.write(sse('delta', { content: tokens[i] }));
        if (i < tokens.length) setImmediate(pump);
        else response.end(sse('done', { conversationId: 'bench', messageId: 'm', response: tokens.join('') }));
      };
      pump();
    });
    return;
  }
  response.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
if (process.argv.includes('--serve')) {
  // Keep serving the benchmark page for manual profiling; "bench 2000" in the chat streams 2,000 tokens.
  console.log(`benchmark page: ${origin}/`);
  await new Promise(() => {});
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function measure(request) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Time-stamp each chunk as the page receives it (an identity TransformStream around the
  // body), so "last byte" is when the page had it, not when the network stack did.
  await page.addInitScript(() => {
    const realFetch = window.fetch;
    window.fetch = async (...args) => {
      const response = await realFetch(...args);
      if (!(response.headers.get('content-type') || '').startsWith('text/event-stream')) return response;
      const stamp = new TransformStream({
        transform(chunk, controller) {
          window.__benchLastChunk = performance.now();
          controller.enqueue(chunk);
        },
      });
      return new Response(response.body.pipeThrough(stamp), { status: response.status, headers: response.headers });
    };
  });
  await page.goto(origin + '/');
  await page.locator('.cw-launcher').click();
  // Warm up: one short reply first, so one-time costs (first fetch, first use of each code
  // path) are not counted against the streaming figures.
  await page.locator('.cw-input').fill('bench 20');
  await page.locator('.cw-input').press('Enter');
  await page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming)').waitFor();
  await page.locator('.cw-input').fill(`bench ${request}`);
  // Arm the measurement, then press Enter as a real key press (its own task, as for a visitor).
  await page.evaluate(() => {
    const root = document.querySelector('[data-chat-widget]').shadowRoot;
    window.__bench = { longTasks: [], start: performance.now() };
    window.__benchObserver = new PerformanceObserver((list) => window.__bench.longTasks.push(...list.getEntries()));
    window.__benchObserver.observe({ type: 'longtask' });
    // Check once per frame (cheap, and no observer work inside the widget's own tasks) for
    // the reply to be marked complete; then wait for the paint of that frame.
    window.__benchDone = new Promise((resolve) => {
      const check = () => {
        const replies = root.querySelectorAll('.cw-msg--bot:not(.cw-msg--greeting)');
        const reply = replies.length === 2 ? replies[1] : null;
        // Complete, and its final HTML drawn (the end of a long reply that came in a burst
        // is drawn over a few frames after it ended; the bubble is aria-busy until then).
        if (reply && !reply.classList.contains('cw-msg--streaming') && reply.querySelector('.cw-bubble').getAttribute('aria-busy') !== 'true') {
          const domFinal = performance.now();
          const channel = new MessageChannel();
          channel.port1.onmessage = () => resolve({ paint: performance.now(), domFinal });
          channel.port2.postMessage(null);
        } else {
          requestAnimationFrame(check);
        }
      };
      requestAnimationFrame(check);
    });
  });
  await page.locator('.cw-input').press('Enter');
  const result = await page.evaluate(async (gluePath) => {
    const root = document.querySelector('[data-chat-widget]').shadowRoot;
    const { paint, domFinal } = await window.__benchDone;
    await new Promise((r) => setTimeout(r, 100)); // let the observer deliver the last entries
    window.__benchObserver.disconnect();
    const { longTasks, start } = window.__bench;
    const entry = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/chatbots/')).pop();
    const inWindow = longTasks.filter((t) => t.startTime >= start && t.startTime <= paint);
    const glue = await import(gluePath);
    const wasm = await glue.default();
    return {
      lastByteToPaint: paint - window.__benchLastChunk,
      lastByteToDom: domFinal - window.__benchLastChunk,
      networkEndToDom: domFinal - entry.responseEnd,
      longTaskStarts: inWindow.map((t) => `${(t.startTime - window.__benchLastChunk).toFixed(0)}+${t.duration.toFixed(0)}`).join(' '),
      streamMs: entry.responseEnd - entry.responseStart,
      longestTask: Math.max(0, ...inWindow.map((t) => t.duration)),
      totalBlocking: inWindow.reduce((sum, t) => sum + Math.max(0, t.duration - 50), 0),
      longTasks: inWindow.length,
      // The exports have short names (scripts/bundle.mjs): find the memory by its type.
      wasmMemory: Object.values(wasm).find((value) => value instanceof WebAssembly.Memory).buffer.byteLength,
      jsHeap: performance.memory ? performance.memory.usedJSHeapSize : 0,
      textLength: root.querySelectorAll('.cw-msg--bot:not(.cw-msg--greeting) .cw-bubble')[1].textContent.length,
    };
  }, `/widget/${glue}`);
  await page.close();
  return result;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const mb = (bytes) => (bytes / 1048576).toFixed(1);
if (process.argv.includes('--shapes')) {
  console.log(`Streaming benchmark, one-block replies${burst ? ', each in one burst' : ''}: ${runs} runs per size, medians (max in brackets); Chromium headless, no throttling\n`);
  console.log('| shape | size | stream duration | last byte -> final DOM | network end -> final DOM | longest task | total blocking time | long tasks |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  // BENCH_SHAPES=list,table and BENCH_SIZES=10000,100000 pick a subset.
  const shapes = process.env.BENCH_SHAPES ? process.env.BENCH_SHAPES.split(',') : ['list', 'paragraph', 'code', 'table'];
  const bytesList = process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(',').map(Number) : [10_000, 100_000, 1_000_000];
  for (const shape of shapes) {
    for (const bytes of bytesList) {
      const results = [];
      for (let run = 0; run < runs; run++) results.push(await measure(`${shape} ${bytes}`));
      if (process.env.BENCH_DEBUG) console.error(shape, bytes, results.map((r) => r.longTaskStarts));
      const pick = (key) => results.map((r) => r[key]);
      const fmt = (key, digits = 1) => `${median(pick(key)).toFixed(digits)} ms (${Math.max(...pick(key)).toFixed(digits)})`;
      console.log(
        `| ${shape} | ${bytes / 1000} KB | ${median(pick('streamMs')).toFixed(0)} ms | ${fmt('lastByteToDom')} | ${fmt('networkEndToDom')} | ${fmt('longestTask', 0)} | ${fmt('totalBlocking', 0)} | ${median(pick('longTasks'))} |`,
      );
    }
  }
  await browser.close();
  server.close();
  process.exit(0);
}
console.log(`Streaming benchmark${burst ? ', each reply in one burst' : ''}: ${runs} runs per size, medians (max in brackets); Chromium headless, no throttling\n`);
console.log('| tokens | stream duration | last byte -> final DOM | network end -> final DOM | last byte -> final paint | longest task | total blocking time | long tasks | wasm memory | JS heap |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const tokens of sizes) {
  const results = [];
  for (let run = 0; run < runs; run++) results.push(await measure(tokens));
  if (process.env.BENCH_DEBUG) console.error(tokens, results.map((r) => r.longTaskStarts));
  const pick = (key) => results.map((r) => r[key]);
  const fmt = (key, digits = 1) => `${median(pick(key)).toFixed(digits)} ms (${Math.max(...pick(key)).toFixed(digits)})`;
  console.log(
    `| ${tokens} | ${median(pick('streamMs')).toFixed(0)} ms | ${fmt('lastByteToDom')} | ${fmt('networkEndToDom')} | ${fmt('lastByteToPaint')} | ${fmt('longestTask', 0)} | ${fmt('totalBlocking', 0)} | ${median(pick('longTasks'))} | ${mb(median(pick('wasmMemory')))} MiB | ${mb(median(pick('jsHeap')))} MiB |`,
  );
}
await browser.close();
server.close();
