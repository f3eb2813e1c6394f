// Shared set-up for the end-to-end tests: the real reference server on a free port with a
// fresh SQLite data dir, a host page on another origin, and Debian's Chromium via
// playwright-core. Nothing here is mocked.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });

const serverBinary = process.env.CHAT_WIDGET_SERVER || join(root, 'target', 'debug', 'chat-widget-server');
/** The widget build the tests load: dist/, or another build's directory in CHAT_WIDGET_DIST. */
export const distDir = process.env.CHAT_WIDGET_DIST || join(root, 'dist');

/**
 * Starts the reference server; resolves once it printed its address and demo key.
 * `options.args` are extra serve flags, e.g. `['--admin-token', 't', '--rate-window-s', '3']`.
 */
export async function startServer(options = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-widget-e2e-'));
  const args = ['--addr', '127.0.0.1:0', '--data-dir', dataDir, '--dist-dir', options.distDir ?? distDir, ...(options.args ?? [])];
  const child = spawn(serverBinary, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const printed = {};
  await new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${buffer}`)), 15000);
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${buffer}`)));
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      for (const line of buffer.split('\n')) {
        const [label, value] = line.split(/:\s(.+)/);
        if (value) printed[label.trim()] = value.trim();
      }
      if (printed['demo page']) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const url = printed['demo page'].replace(/\/$/, '');
  return {
    url,
    key: printed['publishable key'],
    bot: printed['demo bot'],
    dataDir,
    /** Runs the server's admin command on this server's data dir. */
    admin: (...args) => execFileSync(serverBinary, ['bot', '--data-dir', dataDir, ...args], { encoding: 'utf8' }),
    /**
     * Creates a bot with the admin command (and its SETTINGS flags), trained with the demo
     * bot's FAQ entries (`--train`), so it answers as the demo bot does; returns its id and key.
     */
    createBot(id, ...settings) {
      const printed = execFileSync(serverBinary, ['bot', '--data-dir', dataDir, '--create', id, '--train', faqEntries(dataDir), ...settings], { encoding: 'utf8' });
      return { id, key: printed.match(/publishable key: (\S+)/)[1] };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** server/faq.md's entries without its preamble (which describes the format), as a file. */
function faqEntries(dataDir) {
  const file = join(dataDir, 'faq-entries.md');
  if (!existsSync(file)) {
    const faq = readFileSync(join(root, 'server', 'faq.md'), 'utf8');
    writeFileSync(file, faq.slice(faq.indexOf('\n## ') + 1));
  }
  return file;
}

/** Serves one HTML page (and nothing else) from another origin. */
export async function startHostPage(html) {
  const server = createServer((request, response) => {
    response.writeHead(request.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end(request.url === '/' ? html : 'not found');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // "localhost" and "127.0.0.1" are different origins, and the port differs too.
  const stop = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://localhost:${server.address().port}/`, stop };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A new page that fails the test on any uncaught page error and records console errors. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.consoleErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') page.consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => page.consoleErrors.push(`uncaught: ${error.message}`));
  return page;
}

/**
 * Records the chat requests the widget makes and what the server answered: for a JSON reply
 * its body, for a stream the events' data merged (so `conversationId` is there either way).
 */
export function recordChat(page) {
  const exchanges = [];
  page.on('response', async (response) => {
    const request = response.request();
    if (request.method() !== 'POST' || !request.url().includes('/api/v1/chatbots/')) return;
    const exchange = { url: request.url(), sent: request.postDataJSON(), status: response.status(), received: null };
    exchanges.push(exchange);
    try {
      const text = await response.text();
      if ((response.headers()['content-type'] || '').startsWith('text/event-stream')) {
        const events = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
        exchange.received = Object.assign({ streamed: true }, ...events);
      } else {
        const body = JSON.parse(text);
        exchange.received = body.data || body;
      }
    } catch {
      exchange.received = {};
    }
  });
  return exchanges;
}

/**
 * Records the API calls whose path matches `pathPattern` (CORS preflights left out), in the
 * order the page made them: `{ method, path, query, headers, sent, status, received }`.
 * `sent` is the JSON body; `received` the JSON reply, or for a finished event stream its
 * events' JSON merged, with `text` the reply put together from its deltas (chatbots
 * `content`, OpenAI `choices[0].delta.content`). A listening stream (a GET answered with
 * `text/event-stream`) is not read: `received` is `{ listening: true }`.
 */
// Event streams are UTF-8, but Chromium hands Playwright a stream without a charset decoded
// as windows-1252 ("→" arrives as "â†’"). asUtf8 undoes that when the bytes make valid UTF-8.
// (Bytes 0x80-0x9f are where windows-1252 differs from Latin-1; Node's own decoder does not know.)
const windows1252 = new Map(
  [...'€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ'].map((c, i) => [c, 0x80 + i]),
);
function asUtf8(text) {
  const bytes = [];
  for (const c of text) {
    const byte = windows1252.get(c) ?? (c.charCodeAt(0) < 256 ? c.charCodeAt(0) : undefined);
    if (byte === undefined) return text; // not windows-1252: decoded right already
    bytes.push(byte);
  }
  const repaired = Buffer.from(bytes).toString('utf8');
  return repaired.includes('\ufffd') ? text : repaired;
}

export function recordApi(page, pathPattern) {
  const calls = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (request.method() === 'OPTIONS' || !pathPattern.test(url.pathname)) return;
    let sent;
    try {
      sent = request.postDataJSON() ?? undefined;
    } catch {
      sent = request.postData();
    }
    const call = { method: request.method(), path: url.pathname, query: url.searchParams, headers: request.headers(), sent, status: null, received: null };
    calls.push(call);
    request
      .response()
      .then(async (response) => {
        if (!response) {
          call.status = 0;
          return;
        }
        call.status = response.status();
        const streamed = (response.headers()['content-type'] || '').startsWith('text/event-stream');
        if (streamed && request.method() === 'GET') {
          call.received = { listening: true };
          return;
        }
        let text = await response.text();
        if (streamed) {
          text = asUtf8(text);
          const events = text
            .split(/\r?\n/)
            .filter((line) => line.startsWith('data:'))
            .map((line) => {
              try {
                return JSON.parse(line.slice(5));
              } catch {
                return {};
              }
            });
          const deltas = events.map((e) => e.content ?? e.choices?.[0]?.delta?.content ?? '').join('');
          call.received = Object.assign({ streamed: true }, ...events, { text: deltas });
        } else {
          call.received = JSON.parse(text);
        }
      })
      .catch(() => {
        call.status ??= 0;
        call.received ??= {};
      });
  });
  return calls;
}

export async function waitFor(condition, what, timeout = 10000) {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The strict policy a site owner can serve the widget under (README, "Content Security Policy"). */
export function strictCsp(apiOrigin) {
  return `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self' ${apiOrigin}`;
}

const contentTypes = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.wasm': 'application/wasm' };

/**
 * Serves the example pages in e2e/pages, the built Leptos example under /leptos-app/ (placeholders {{API}}, {{BOT}}, {{KEY}}, ... filled
 * in from `values`, or from the page's query string, which wins), the widget build under /widget/ (so pages can self-host it, as a strict CSP needs),
 * and React's UMD files under /vendor/. csp*.html is served with the strict CSP header, and
 * csp-trusted-types.html also with Trusted Types enforced.
 */
export async function startPageServer(values) {
  const { readFileSync, existsSync } = await import('node:fs');
  const { extname, normalize } = await import('node:path');
  // A page's query string fills placeholders too, per request: /pages/dialect.html?DIALECT=jombot
  const fill = (text, query = {}) => text.replace(/\{\{(\w+)\}\}/g, (_, name) => query[name] ?? values[name] ?? '');
  const server = createServer((request, response) => {
    const requestUrl = new URL(request.url, 'http://x');
    const path = requestUrl.pathname;
    let file = null;
    if (path.startsWith('/pages/')) file = join(root, 'e2e', normalize(path));
    else if (path.startsWith('/widget/')) file = join(distDir, normalize(path.slice('/widget/'.length)));
    else if (path.startsWith('/leptos-app/')) {
      const rest = normalize(path.slice('/leptos-app/'.length)) || 'index.html';
      file = join(root, 'examples', 'leptos-app', 'dist', rest === '.' ? 'index.html' : rest);
    }
    else if (path === '/vendor/react.production.min.js') file = join(root, 'node_modules/react/umd/react.production.min.js');
    else if (path === '/vendor/react-dom.production.min.js') file = join(root, 'node_modules/react-dom/umd/react-dom.production.min.js');
    if (!file || !(file.startsWith(root) || file.startsWith(distDir)) || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    const headers = { 'content-type': contentTypes[extname(file)] || 'application/octet-stream' };
    let body = readFileSync(file);
    if (extname(file) === '.html') {
      body = fill(body.toString(), Object.fromEntries(requestUrl.searchParams));
      if (path.startsWith('/pages/csp')) headers['content-security-policy'] = strictCsp(values.API);
      // Trusted Types enforced, allowing the policy named by ?POLICY= (the widget's by default).
      if (path.startsWith('/pages/csp-trusted-types')) {
        headers['content-security-policy'] += `; require-trusted-types-for 'script'; trusted-types ${requestUrl.searchParams.get('POLICY') || 'chat-widget'}`;
      }
    }
    response.writeHead(200, headers).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://localhost:${server.address().port}`, stop };
}
