// Server throughput benchmark (a script, not a test): JSON chat (chatbots dialect,
// `"stream": false`, each client continuing its own conversation) against the real server
// binary on loopback. For each server and backend, with 0 and with N stored messages (seeded
// with SQL, not HTTP: server/examples/seed.rs), it prints req/s, p50 and p99 at concurrency
// 1/16/128 without and with a monthly quota, chat at c=16 while analytics are read in a loop,
// and the latency of one analytics call alone. Then the goals as ratios. With 0 stored
// messages it also loads `GET /healthz` (no database): the ceiling of req/s that this machine
// and this load generator reach at all; each row prints the load generator's own CPU per
// request next to the server's.
//
//   cargo build --release -p chat-widget-server --bin chat-widget-server --example seed
//   PG_DURABLE=1 scripts/with-postgres.sh node bench/server.mjs --old /path/to/previous/chat-widget-server
//
// --old: a server binary built from the commit before the sqlx store (SQLite only); its rows
//        are the baseline. Without it, only the current server is measured.
// PostgreSQL rows need CHAT_TEST_DATABASE_URL (scripts/with-postgres.sh sets it; PG_DURABLE=1
// keeps fsync on, as in production) or --postgres.
// --baseline: another build of the sqlx server (e.g. before a change), measured on both
//        backends next to --new; --baseline-seed: the seeder built with it (its migrations).
// Other options: --new BINARY, --seed BINARY, --messages 1000000, --seconds 4, --rounds 3 (the
// servers of one data size run side by side and take turns; each row is the median round).
// Every server is started with RUST_LOG=warn (no per-request log line) and rate limits (the
// bot's and, where the server has one, each visitor's) and credits that never refuse. The
// load generator is this one Node process: on a small machine
// it competes with the server for the CPU, so compare rows of one run, not across machines.
// A disk that flushes for real: run it under bench/slow-fsync.c (LD_PRELOAD; its header says
// how), and the title says so.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const newBinary = arg('new', join(root, 'target', 'release', 'chat-widget-server'));
const seedBinary = arg('seed', join(root, 'target', 'release', 'examples', 'seed'));
const oldBinary = arg('old', null);
const baselineBinary = arg('baseline', null);
const baselineSeed = arg('baseline-seed', null);
const seeded = Number(arg('messages', 1_000_000));
const seconds = Number(arg('seconds', 4));
const rounds = Math.max(1, Number(arg('rounds', 3)));
const postgres = arg('postgres', process.env.CHAT_TEST_DATABASE_URL || null);
const ADMIN = 'bench-admin-token';
for (const [what, path] of [['server', newBinary], ['seeder', seedBinary], ['old server', oldBinary], ['baseline server', baselineBinary]]) {
  if (path && !existsSync(path)) {
    console.error(`no ${what} at ${path} (cargo build --release -p chat-widget-server --bin chat-widget-server --example seed)`);
    process.exit(1);
  }
}

const configs = [];
for (const size of [0, seeded]) {
  if (oldBinary) configs.push({ name: 'before (rusqlite)', binary: oldBinary, backend: 'sqlite', size, legacy: true });
  for (const [name, binary, seed] of [['sqlx (baseline)', baselineBinary, baselineSeed || seedBinary], ['sqlx', newBinary, seedBinary]]) {
    if (!binary) continue;
    configs.push({ name, binary, seed, backend: 'sqlite', size });
    if (postgres) configs.push({ name, binary, seed, backend: 'postgres', size });
  }
}
if (!postgres) console.error('(no PostgreSQL: run under scripts/with-postgres.sh for its rows)');
const slowFsync = /slow-fsync/.test(process.env.LD_PRELOAD || '');
console.log(slowFsync
  ? `# Chat throughput, every fsync/fdatasync slowed by ${Number(process.env.SLOW_FSYNC_US || 2000) / 1000} ms (bench/slow-fsync.c)`
  : '# Chat throughput, on this machine\'s disk as it is');

let databases = 0;
const results = [];

// The servers of one data size run side by side and take turns: each measurement is made on
// every server in a row, `rounds` times, and the round with the median req/s is kept. A busy
// machine then slows all of them alike, not whichever ran while another job was compiling.
for (const size of [0, seeded]) {
  const running = [];
  try {
    for (const config of configs.filter((c) => c.size === size)) running.push(await prepare(config));
    const measure = async (scenario, c, run) => {
      const rows = new Map(running.map((r) => [r, []]));
      for (let round = 0; round < rounds; round++) {
        for (const r of running) rows.get(r).push(await run(r));
      }
      for (const r of running) {
        const byRps = rows.get(r).sort((a, b) => a.rps - b.rps);
        results.push({ ...r.label, scenario, c, ...byRps[Math.floor(byRps.length / 2)] });
      }
    };
    for (const r of running) await chatLoad(r.server, 16, 1); // warm-up
    if (size === 0) await measure('GET /healthz (ceiling)', 16, (r) => ceilingLoad(r.server, 16, seconds));
    for (const quota of [false, true]) {
      for (const r of running) r.admin('--quota', quota ? '1000000000' : 'unlimited');
      for (const c of [1, 16, 128]) {
        await measure(quota ? 'quota' : 'no quota', c, (r) => chatLoad(r.server, c, seconds));
      }
    }
    for (const r of running) r.admin('--quota', 'unlimited');
    await measure('analytics running', 16, async (r) => {
      const alone = await analyticsAlone(r.server, 20);
      const [chat, analytics] = await Promise.all([chatLoad(r.server, 16, seconds), analyticsLoad(r.server, seconds)]);
      return { ...chat, analytics, alone };
    });
  } finally {
    for (const r of running) {
      r.server.child.kill('SIGTERM');
      await new Promise((resolve) => r.server.child.once('exit', resolve));
      rmSync(r.dataDir, { recursive: true, force: true });
    }
  }
  printTable(results.filter((r) => r.stored === size));
}

/** A server of `config` on its own database (seeded), started. */
async function prepare(config) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-widget-bench-'));
  let dbArgs = [];
  if (config.backend === 'postgres') {
    const url = execFileSync(seedBinary, ['create-db', postgres, `bench_${process.pid}_${databases++}`], { encoding: 'utf8' }).trim();
    dbArgs = ['--database-url', url];
  }
  const admin = (...settings) => execFileSync(config.binary, ['bot', '--data-dir', dataDir, ...dbArgs, '--bot', 'demo', ...settings], { stdio: 'ignore' });
  // Creates the schema (and the demo bot) the way this server does, then the settings.
  // The server before sqlx has no per-visitor limit to lift.
  const visitorLimit = config.legacy ? [] : ['--visitor-rate-limit', '1000000000'];
  admin('--rate-limit', '1000000000', ...visitorLimit, '--credits', 'unlimited', '--quota', 'unlimited', '--stream-default', 'false');
  if (config.size > 0) {
    const started = performance.now();
    const where = dbArgs.length ? dbArgs : ['--data-dir', dataDir];
    execFileSync(config.seed || seedBinary, ['messages', ...where, String(config.size), ...(config.legacy ? ['--legacy'] : [])], { stdio: 'inherit' });
    console.error(`seeded ${config.size.toLocaleString('en')} messages for ${config.name} ${config.backend} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const server = await start(config.binary, dataDir, dbArgs, config.legacy);
  return { config, server, admin, dataDir, label: { server: config.name, backend: config.backend, stored: config.size } };
}

console.log('\n## All runs\n');
printTable(results);
printGoals();

// ---------------------------------------------------------------------------------------------

async function start(binary, dataDir, dbArgs, legacy) {
  // The server before the sqlx store has no header read timeout to lengthen.
  const timeout = legacy ? [] : ['--header-timeout-s', '300'];
  const child = spawn(binary, ['--addr', '127.0.0.1:0', '--data-dir', dataDir, ...dbArgs, '--dist-dir', join(dataDir, 'none'),
    '--admin-token', ADMIN, ...timeout], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUST_LOG: 'warn' } });
  const lines = createInterface({ input: child.stdout });
  const printed = [];
  for await (const line of lines) {
    printed.push(line);
    if (printed.length === 4) break;
  }
  const [host, port] = printed[0].replace('chat-widget-server listening on http://', '').split(':');
  return { child, host, port: Number(port), key: printed[2].replace('publishable key: ', '') };
}

function request(server, agent, method, path, token, body) {
  return new Promise((resolve) => {
    const payload = body ? JSON.stringify(body) : '';
    const req = http.request({ host: server.host, port: server.port, method, path, agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(payload) } },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', () => resolve({ status: 0, text: '' }));
    });
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end(payload);
  });
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function summary(latencies, errors, elapsed) {
  const sorted = latencies.sort((a, b) => a - b);
  return { requests: sorted.length, rps: sorted.length / elapsed, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), errors };
}

/** The server process's CPU time so far (user + system), ms. */
function cpuMs(server) {
  const fields = readFileSync(`/proc/${server.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** `c` clients, each continuing its own conversation, for `secs` seconds. */
async function chatLoad(server, c, secs) {
  const cpu0 = cpuMs(server);
  const client0 = process.cpuUsage();
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  const end = started + secs * 1000;
  await Promise.all(Array.from({ length: c }, async (_, client) => {
    let conversationId;
    let n = 0;
    while (performance.now() < end) {
      const body = { message: n++ % 2 ? 'How long does shipping take?' : `where is my order ${client}`, stream: false, ...(conversationId ? { conversationId } : {}) };
      const t0 = performance.now();
      const res = await request(server, agent, 'POST', '/api/v1/chatbots/demo/chat', server.key, body);
      latencies.push(performance.now() - t0);
      if (res.status === 200) conversationId = JSON.parse(res.text).data?.conversationId;
      else errors++;
    }
  }));
  agent.destroy();
  const result = summary(latencies, errors, (performance.now() - started) / 1000);
  const client = process.cpuUsage(client0);
  return { ...result, cpuUs: ((cpuMs(server) - cpu0) * 1000) / Math.max(1, result.requests),
    clientUs: (client.user + client.system) / Math.max(1, result.requests) };
}

/** `c` clients reading `GET /healthz` (no database, no JSON) for `secs` seconds: the most
 * requests per second this machine, this load generator and the HTTP stack allow. */
async function ceilingLoad(server, c, secs) {
  const cpu0 = cpuMs(server);
  const client0 = process.cpuUsage();
  const agent = new http.Agent({ keepAlive: true, maxSockets: c });
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  const end = started + secs * 1000;
  await Promise.all(Array.from({ length: c }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const res = await request(server, agent, 'GET', '/healthz', server.key);
      latencies.push(performance.now() - t0);
      if (res.status !== 200) errors++;
    }
  }));
  agent.destroy();
  const result = summary(latencies, errors, (performance.now() - started) / 1000);
  const client = process.cpuUsage(client0);
  return { ...result, cpuUs: ((cpuMs(server) - cpu0) * 1000) / Math.max(1, result.requests),
    clientUs: (client.user + client.system) / Math.max(1, result.requests) };
}

/** One client reading the bot's analytics (all time) in a loop, for `secs` seconds. */
async function analyticsLoad(server, secs) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  const end = started + secs * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    const res = await request(server, agent, 'GET', '/v1/bots/demo/analytics', ADMIN);
    latencies.push(performance.now() - t0);
    if (res.status !== 200) errors++;
  }
  agent.destroy();
  return summary(latencies, errors, (performance.now() - started) / 1000);
}

/** Up to `n` analytics calls (and 15 s) one after another, nothing else running. */
async function analyticsAlone(server, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  for (let i = 0; i < n && performance.now() - started < 15_000; i++) {
    const t0 = performance.now();
    const res = await request(server, agent, 'GET', '/v1/bots/demo/analytics', ADMIN);
    latencies.push(performance.now() - t0);
    if (res.status !== 200) errors++;
  }
  agent.destroy();
  return summary(latencies, errors, (performance.now() - started) / 1000);
}

function ms(x) { return Number.isFinite(x) ? x.toFixed(1) : '-'; }

function printTable(rows) {
  console.log('\n| server | backend | stored messages | scenario | c | chat req/s | p50 ms | p99 ms | errors | server CPU µs/req | load generator CPU µs/req | analytics alone p50 / p99 ms | analytics calls/s while chatting |');
  console.log('|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const alone = r.alone ? `${ms(r.alone.p50)} / ${ms(r.alone.p99)}` : '';
    const during = r.analytics ? `${r.analytics.rps.toFixed(1)} (p50 ${ms(r.analytics.p50)} ms)` : '';
    console.log(`| ${r.server} | ${r.backend} | ${r.stored.toLocaleString('en')} | ${r.scenario} | ${r.c} | ${r.rps.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors} | ${r.cpuUs.toFixed(0)} | ${r.clientUs === undefined ? '-' : r.clientUs.toFixed(0)} | ${alone} | ${during} |`);
  }
}

function printGoals() {
  const find = (server, backend, stored, scenario, c) => results.find((r) => r.server === server && r.backend === backend && r.stored === stored && r.scenario === scenario && r.c === c);
  console.log('\n## Goals (c=16)\n');
  console.log('| server | backend | stored | quota cost (req/s lost) | p99 with analytics / without | req/s vs before (SQLite, same data) |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const config of configs) {
    const base = find(config.name, config.backend, config.size, 'no quota', 16);
    const quota = find(config.name, config.backend, config.size, 'quota', 16);
    const analytics = find(config.name, config.backend, config.size, 'analytics running', 16);
    const before = find('before (rusqlite)', 'sqlite', config.size, 'no quota', 16);
    if (!base) continue;
    const cost = quota ? `${((1 - quota.rps / base.rps) * 100).toFixed(0)} %` : '-';
    const p99 = analytics ? `${(analytics.p99 / base.p99).toFixed(2)}x` : '-';
    const speed = before && config.name !== before.server ? `${(base.rps / before.rps).toFixed(1)}x` : '-';
    console.log(`| ${config.name} | ${config.backend} | ${config.size.toLocaleString('en')} | ${cost} | ${p99} | ${speed} |`);
  }
}
