// Shared set-up for the end-to-end tests: the real reference server on a free port with a
// fresh SQLite data dir, a host page on another origin, and Debian's Chromium via
// playwright-core. Nothing here is mocked.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });

const serverBinary = process.env.CHAT_WIDGET_SERVER || join(root, 'target', 'debug', 'chat-widget-server');

/** Starts the reference server; resolves once it printed its address and demo key. */
export async function startServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-widget-e2e-'));
  const child = spawn(serverBinary, ['--addr', '127.0.0.1:0', '--data-dir', dataDir, '--dist-dir', join(root, 'dist')], {
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
    const exchange = { sent: request.postDataJSON(), status: response.status(), received: null };
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
 * in), the widget build under /widget/ (so pages can self-host it, as a strict CSP needs),
 * and React's UMD files under /vendor/. csp*.html is served with the strict CSP header.
 */
export async function startPageServer(values) {
  const { readFileSync, existsSync } = await import('node:fs');
  const { extname, normalize } = await import('node:path');
  const fill = (text) => text.replace(/\{\{(\w+)\}\}/g, (_, name) => values[name] ?? '');
  const server = createServer((request, response) => {
    const path = new URL(request.url, 'http://x').pathname;
    let file = null;
    if (path.startsWith('/pages/')) file = join(root, 'e2e', normalize(path));
    else if (path.startsWith('/widget/')) file = join(root, 'dist', normalize(path.slice('/widget/'.length)));
    else if (path.startsWith('/leptos-app/')) {
      const rest = normalize(path.slice('/leptos-app/'.length)) || 'index.html';
      file = join(root, 'examples', 'leptos-app', 'dist', rest === '.' ? 'index.html' : rest);
    }
    else if (path === '/vendor/react.production.min.js') file = join(root, 'node_modules/react/umd/react.production.min.js');
    else if (path === '/vendor/react-dom.production.min.js') file = join(root, 'node_modules/react-dom/umd/react-dom.production.min.js');
    if (!file || !file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end('not found');
      return;
    }
    const headers = { 'content-type': contentTypes[extname(file)] || 'application/octet-stream' };
    let body = readFileSync(file);
    if (extname(file) === '.html') {
      body = fill(body.toString());
      if (path.startsWith('/pages/csp')) headers['content-security-policy'] = strictCsp(values.API);
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
