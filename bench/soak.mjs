// Server soak (a script, not a test): the real server binary on loopback, 200 idle sockets held
// open, then 1,000 concurrent streamed chats (chatbots dialect, SSE read to `event: done`),
// each a different visitor. Prints errors (anything but a 200 that ends with `done`), the
// time the run took, and the server's resident memory (VmRSS) before, at the peak and after.
// Bounded: one run of `--streams` streams, a 120 s deadline, loopback only, a temp data dir.
// Usage: node bench/soak.mjs [--binary target/release/chat-widget-server] [--streams 1000]
//                            [--idle 200] [--stream-delay-ms 25]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import net from 'node:net';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const binary = arg('binary', ['release', 'debug'].map((p) => join(root, 'target', p, 'chat-widget-server')).find(existsSync));
const streams = Number(arg('streams', 1000));
const idleCount = Number(arg('idle', 200));
const streamDelay = arg('stream-delay-ms', '25');
const deadlineMs = 120_000;
if (!binary || !existsSync(binary)) {
  console.error('no server binary: cargo build --release -p chat-widget-server');
  process.exit(1);
}

const dataDir = mkdtempSync(join(tmpdir(), 'chat-widget-soak-'));
// Room for the whole run in the bot's own limit (the soak measures the server, not the limit).
execFileSync(binary, ['bot', '--data-dir', dataDir, '--bot', 'demo', '--rate-limit', '1000000', '--visitor-rate-limit', '1000000'], { stdio: 'ignore' });
const server = spawn(binary, ['--addr', '127.0.0.1:0', '--data-dir', dataDir, '--dist-dir', join(dataDir, 'none'),
  '--stream-delay-ms', streamDelay, '--header-timeout-s', '300'], { stdio: ['ignore', 'pipe', 'ignore'] });
const lines = createInterface({ input: server.stdout });
const printed = [];
for await (const line of lines) {
  printed.push(line);
  if (printed.length === 4) break;
}
const [host, port] = printed[0].replace('chat-widget-server listening on http://', '').split(':');
const key = printed[2].replace('publishable key: ', '');

const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? NaN);
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

/** One streamed chat: resolves to null on success, else the reason. */
function chat(i) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ message: `where is my order ${i}`, stream: true });
    const request = http.request({ host, port, method: 'POST', path: '/api/v1/chatbots/demo/chat', agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': Buffer.byteLength(body) } },
    (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => resolve(response.statusCode === 200 && text.includes('event: done') ? null : `status ${response.statusCode}: ${text.slice(0, 120)}`));
      response.on('error', (err) => resolve(String(err)));
    });
    request.setTimeout(deadlineMs, () => request.destroy(new Error('timed out')));
    request.on('error', (err) => resolve(String(err)));
    request.end(body);
  });
}

const before = rssKiB();
const idle = await Promise.all(Array.from({ length: idleCount }, () => new Promise((resolve, reject) => {
  const socket = net.connect({ host, port }, () => resolve(socket));
  socket.on('error', reject);
})));
let peak = rssKiB();
const sampler = setInterval(() => { peak = Math.max(peak, rssKiB()); }, 100);
const started = performance.now();
const results = await Promise.all(Array.from({ length: streams }, (_, i) => chat(i)));
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const stillOpen = idle.filter((s) => !s.destroyed && s.readyState === 'open').length;
idle.forEach((s) => s.destroy());
// Let the server notice the closed sockets before the last figure.
await new Promise((r) => setTimeout(r, 1000));
const after = rssKiB();
const errors = results.filter(Boolean);

const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
console.log(`server: ${binary}`);
console.log(`${streams} concurrent streams (stream delay ${streamDelay} ms) + ${idleCount} idle sockets (${stillOpen} still open at the end)`);
console.log(`errors: ${errors.length}${errors.length ? ` (first: ${errors[0]})` : ''}`);
console.log(`all streams done in ${seconds.toFixed(1)} s`);
console.log(`server RSS: before ${mib(before)}, peak ${mib(peak)}, after ${mib(after)}`);

server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
process.exit(errors.length ? 1 : 0);
