// WCAG 2.1 A and AA, checked by axe-core inside the widget's shadow root in the states a
// visitor meets, and a keyboard-only journey from the page to a quick reply and back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startServer, startPageServer, launchBrowser, newPage, waitFor, root } from './support.mjs';

const axeSource = readFileSync(join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');
let server;
let pages;
let browser;

before(async () => {
  server = await startServer({ args: ['--stream-delay-ms', '60'] });
  pages = await startPageServer({ API: server.url, BOT: server.bot, KEY: server.key });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await server?.stop();
});

/** Runs axe on the widget (inside its shadow root) and returns the violations, described. */
async function violations(page, host = '[data-chat-widget]') {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ content: axeSource });
  // Let opening animations finish: a half-faded element has no contrast to speak of.
  await page.waitForTimeout(400);
  return page.evaluate(async (host) => {
    const result = await window.axe.run(
      { include: [[host]] },
      { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] },
    );
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  }, host);
}

async function check(page, state) {
  assert.deepEqual(await violations(page), [], `axe violations: ${state}`);
}

async function send(page, text) {
  await page.locator('.cw-input').fill(text);
  await page.locator('.cw-input').press('Enter');
}

const finished = (page) => page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming)');

test('no WCAG 2.1 A/AA violations in any state a visitor meets', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/greeting.html`);
  await page.locator('.cw-launcher').waitFor();
  await check(page, 'launcher closed');
  await page.locator('.cw-greeting').waitFor({ timeout: 5000 });
  await check(page, 'greeting bubble');

  await page.locator('.cw-launcher').click();
  await page.locator('.cw-panel').waitFor();
  await page.waitForTimeout(250);
  await check(page, 'panel open and empty');

  await send(page, 'Show me what Markdown looks like');
  await page.locator('.cw-msg--streaming .cw-bubble > *').first().waitFor();
  await check(page, 'while streaming');
  await finished(page).first().waitFor();
  await page.locator('.cw-actions').waitFor();
  assert.ok((await page.locator('.cw-msg--bot a').count()) > 0 && (await page.locator('.cw-msg--bot code').count()) > 0);
  await check(page, 'a conversation with markdown, code, links and quick replies');

  server.admin('--bot', server.bot, '--rate-limit', '0');
  t.after(() => server.admin('--bot', server.bot, '--rate-limit', '30'));
  await send(page, 'One more question');
  await page.locator('.cw-cooldown').waitFor();
  await page.locator('.cw-alert').waitFor();
  await check(page, 'an error and a rate-limit countdown');
});

test('no violations in the dark theme and right to left', async (t) => {
  for (const [query, state] of [['LOCALE=en', 'light'], ['LOCALE=ar', 'RTL']]) {
    const page = await newPage(browser, { colorScheme: 'dark' });
    t.after(() => page.context().close());
    await page.goto(`${pages.url}/pages/plain.html?${query}`);
    await page.locator('.cw-launcher').click();
    await page.locator('.cw-panel').waitFor();
    await send(page, 'Can I return shoes?');
    await page.locator('.cw-actions').waitFor();
    await check(page, state);
  }
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/elements.html`);
  await page.locator('#support .cw-launcher').click();
  await page.evaluate(() => document.getElementById('support').send('Where is my order?'));
  await page.locator('#support .cw-actions').waitFor();
  assert.deepEqual(await violations(page, '#support'), [], 'dark theme (data-theme="dark")');
});

test('a keyboard-only visitor reaches the chat, picks a quick reply and gets back to the page', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/plain.html`);
  await page.locator('.cw-launcher').waitFor();
  const focused = () => page.evaluate(() => {
    const host = document.activeElement;
    const inner = host?.shadowRoot?.activeElement;
    return inner ? inner.className : host?.tagName;
  });
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = /cw-launcher/.test(await focused());
  }
  assert.ok(reached, 'Tab reaches the launcher');
  const ring = await page.locator('.cw-launcher').evaluate((el) => getComputedStyle(el).outlineStyle);
  assert.notEqual(ring, 'none', 'the focus indicator is visible');
  await page.keyboard.press('Enter');
  await waitFor(async () => (await focused()) === 'cw-input', 'focus in the input');
  await page.keyboard.type('Can I return shoes?');
  await page.keyboard.press('Enter');
  await page.locator('.cw-actions').waitFor();
  let onAction = false;
  for (let i = 0; i < 15 && !onAction; i++) {
    await page.keyboard.press('Shift+Tab');
    onAction = /cw-action/.test(await focused());
  }
  assert.ok(onAction, 'Shift+Tab reaches a quick reply');
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.querySelector('[data-chat-widget]').shadowRoot.activeElement).outlineStyle), 'none');
  await page.keyboard.press('Enter');
  await finished(page).nth(1).waitFor();
  await page.keyboard.press('Escape');
  await page.locator('.cw-panel').waitFor({ state: 'hidden' });
  await waitFor(async () => /cw-launcher/.test(await focused()), 'focus back on the launcher');
});

test('in forced colours (a Windows contrast theme) the launcher, the panel and the bubbles keep visible edges', async (t) => {
  // Forced colours paint every background in the theme's one background colour and drop
  // shadows: what only a background or a shadow marked disappears into the page.
  const page = await newPage(browser, { forcedColors: 'active', colorScheme: 'dark' });
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/plain.html`);
  await page.locator('.cw-launcher').click();
  await send(page, 'Hello');
  await finished(page).first().waitFor();
  await page.waitForTimeout(400);
  const parts = {
    launcher: '.cw-launcher',
    panel: '.cw-panel',
    'the visitor\'s message': '.cw-msg--visitor .cw-bubble',
    'the reply': '.cw-msg--bot:not(.cw-msg--greeting) .cw-bubble',
  };
  for (const [what, selector] of Object.entries(parts)) {
    const box = await page.locator(selector).last().boundingBox();
    // A row of pixels across the left edge, halfway down: 3 px outside to 2 px inside.
    const x = Math.round(box.x);
    const row = PNG.sync.read(await page.screenshot({ clip: { x: x - 3, y: Math.round(box.y + box.height / 2), width: 6, height: 1 } }));
    const levels = Array.from({ length: row.width }, (_, i) => (row.data[4 * i] + row.data[4 * i + 1] + row.data[4 * i + 2]) / 3);
    // Without an edge the six are one colour: the theme's background.
    assert.ok(Math.max(...levels) - Math.min(...levels) > 80, `${what}: its edge is drawn (pixels across it: ${levels.map(Math.round).join(', ')})`);
  }
});

test('with reduced motion asked for, nothing animates', async (t) => {
  const page = await newPage(browser, { reducedMotion: 'reduce' });
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/plain.html`);
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-panel').waitFor();
  const animated = await page.evaluate(() => {
    const root = document.querySelector('[data-chat-widget]').shadowRoot;
    return [...root.querySelectorAll('*')]
      .map((el) => getComputedStyle(el))
      .filter((style) => style.animationName !== 'none' || parseFloat(style.transitionDuration) > 0).length;
  });
  assert.equal(animated, 0, 'no animation or transition');
});
