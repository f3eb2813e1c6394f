// On a phone: the open panel covers the screen and is modal, the page behind it stays put, the
// on-screen keyboard never covers the input, and touch screens get no uninvited keyboard.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, startPageServer, launchBrowser, newPage, waitFor, artifacts } from './support.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const phone = (width, height) => ({ viewport: { width, height }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });

test('on a 375x667 phone the chat is a full-screen modal over a page that stays where it was', async (t) => {
  const page = await newPage(browser, phone(375, 667));
  t.after(() => page.context().close());
  await page.goto(server.url + '/');
  await page.evaluate(() => window.scrollTo(0, 300));
  const launcher = page.locator('.cw-launcher');
  await launcher.tap();
  const panel = page.locator('.cw-panel');
  await panel.waitFor();
  assert.deepEqual(await panel.boundingBox(), { x: 0, y: 0, width: 375, height: 667 }, 'full screen');
  assert.equal(await panel.getAttribute('aria-modal'), 'true');
  assert.equal(await page.locator('.cw-input').evaluate((el) => getComputedStyle(el).fontSize), '16px', 'no zoom on focus in iOS');
  assert.equal(await page.locator('.cw-input').getAttribute('enterkeyhint'), 'send');
  await page.waitForTimeout(100);
  const focused = await page.evaluate(() => document.querySelector('[data-chat-widget]').shadowRoot.activeElement?.className);
  assert.notEqual(focused, 'cw-input', 'no keyboard popping up uninvited');
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).overflow), 'hidden', 'the page behind does not scroll');
  assert.equal(await page.evaluate(() => window.scrollY), 300);

  // Focus stays inside the modal panel.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press(i % 5 === 4 ? 'Shift+Tab' : 'Tab');
    const inside = await page.evaluate(() => {
      const root = document.querySelector('[data-chat-widget]').shadowRoot;
      return Boolean(root.activeElement && root.querySelector('.cw-panel').contains(root.activeElement));
    });
    assert.ok(inside, `Tab ${i + 1} stayed in the panel`);
  }

  // The on-screen keyboard opens: the visual viewport shrinks to 360 px; the input follows.
  await page.locator('.cw-input').tap();
  await page.evaluate(() => {
    Object.defineProperty(VisualViewport.prototype, 'height', { configurable: true, get: () => 360 });
    window.visualViewport.dispatchEvent(new Event('resize'));
  });
  await waitFor(async () => (await page.locator('.cw-input').boundingBox()).y + 40 <= 360, 'the input above the keyboard');
  const input = await page.locator('.cw-input').boundingBox();
  assert.ok(input.y + input.height <= 360, `input bottom ${input.y + input.height} is above the keyboard`);
  await page.locator('.cw-input').fill('Where is my order?');
  await page.locator('.cw-input').press('Enter');
  await page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming)').waitFor();
  await page.evaluate(() => {
    delete VisualViewport.prototype.height;
    window.visualViewport.dispatchEvent(new Event('resize'));
  });
  await page.screenshot({ path: join(artifacts, 'phone-375x667.png') });

  await page.locator('.cw-header .cw-icon-button[aria-label="Close chat"]').tap();
  await panel.waitFor({ state: 'hidden' });
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.documentElement).overflow), 'hidden', 'the page scrolls again');
  assert.equal(await page.evaluate(() => window.scrollY), 300, 'at the same place');
  assert.deepEqual(page.consoleErrors, []);
});

test('on a 390x844 phone the panel fills the screen too', async (t) => {
  const page = await newPage(browser, phone(390, 844));
  t.after(() => page.context().close());
  await page.goto(server.url + '/');
  await page.locator('.cw-launcher').tap();
  const panel = page.locator('.cw-panel');
  await panel.waitFor();
  assert.deepEqual(await panel.boundingBox(), { x: 0, y: 0, width: 390, height: 844 });
  await page.locator('.cw-input').fill('Can I return shoes?');
  await page.locator('.cw-input').press('Enter');
  await page.locator('.cw-actions').waitFor();
  await page.screenshot({ path: join(artifacts, 'phone-390x844.png') });
});

test('on a phone held sideways (844x390) the panel fills the screen and is modal too', async (t) => {
  const page = await newPage(browser, phone(844, 390));
  t.after(() => page.context().close());
  await page.goto(server.url + '/');
  await page.locator('.cw-launcher').tap();
  const panel = page.locator('.cw-panel');
  await panel.waitFor();
  assert.deepEqual(await panel.boundingBox(), { x: 0, y: 0, width: 844, height: 390 }, 'the header is on screen');
  assert.equal(await panel.getAttribute('aria-modal'), 'true');
  await page.locator('.cw-input').fill('Can I return shoes?');
  await page.locator('.cw-input').press('Enter');
  await page.locator('.cw-actions').waitFor();
  assert.ok((await page.locator('.cw-input').boundingBox()).y + 40 <= 390, 'the input on screen');
  await page.screenshot({ path: join(artifacts, 'phone-844x390.png') });
});

test('on a desktop the panel is not modal: Tab can leave it for the page', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(server.url + '/');
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-panel').waitFor();
  assert.equal(await page.locator('.cw-panel').getAttribute('aria-modal'), 'false');
  await waitFor(async () => (await page.evaluate(() => document.querySelector('[data-chat-widget]').shadowRoot.activeElement?.className)) === 'cw-input', 'focus in the input');
  let left = false;
  for (let i = 0; i < 12 && !left; i++) {
    await page.keyboard.press('Tab');
    left = await page.evaluate(() => !document.activeElement?.hasAttribute('data-chat-widget'));
  }
  assert.ok(left, 'focus reached the page');
});

// An older site without a viewport meta tag is laid out 980 px wide and shown zoomed out on a
// phone: the widget used to shrink with it to a third of its size (5 px text, 24 px launcher),
// with the small floating panel instead of the full-screen one. It is now scaled back up.
test('on a phone, a page without a viewport meta tag (shown zoomed out) gets the widget at its phone size', async (t) => {
  const pages = await startPageServer({ API: server.url, BOT: server.bot, KEY: server.key });
  t.after(() => pages.stop());
  for (const [width, height] of [[390, 844], [844, 390]]) {
    const page = await newPage(browser, phone(width, height));
    t.after(() => page.context().close());
    await page.goto(`${pages.url}/pages/plain.html`);
    const [scale, layout] = await page.evaluate(() => [visualViewport.scale, [innerWidth, innerHeight]]);
    assert.ok(scale < 0.9 && layout[0] === 980, `the page is laid out 980 px wide and shown zoomed out (${layout}, ${scale})`);
    // Sizes on screen: the page's pixels times its scale.
    const launcher = await page.locator('.cw-launcher').boundingBox();
    assert.ok(Math.abs(launcher.width * scale - 60) <= 1, `a 60 px launcher on screen at ${width}x${height}: ${launcher.width * scale}`);
    assert.ok(Math.abs((layout[0] - launcher.x - launcher.width) * scale - 20) <= 1, 'in its corner, 20 px in');
    await page.locator('.cw-launcher').tap();
    const panel = page.locator('.cw-panel');
    await panel.waitFor();
    const box = await panel.boundingBox();
    // (The height within a pixel: the visual viewport's, floored, divided by the zoom and back.)
    assert.ok(box.x === 0 && box.y === 0 && Math.round(box.width) === layout[0] && Math.abs(box.height - layout[1]) <= 1.5, `the whole screen: ${JSON.stringify(box)}`);
    assert.equal(await panel.getAttribute('aria-modal'), 'true');
    await page.locator('.cw-input').fill('Can I return shoes?');
    await page.locator('.cw-input').press('Enter');
    await page.locator('.cw-actions').waitFor();
    const input = await page.locator('.cw-input').boundingBox();
    assert.ok(input.y + input.height <= layout[1], 'the input on screen');
    const text = await page.locator('.cw-msg--visitor .cw-bubble').evaluate((bubble) => {
      const range = document.createRange();
      range.selectNodeContents(bubble);
      return range.getBoundingClientRect().height;
    });
    assert.ok(text * scale >= 16, `a line of (15 px) text is ${text * scale} px high on screen`);
    await page.screenshot({ path: join(artifacts, `phone-no-viewport-meta-${width}x${height}.png`) });
    assert.deepEqual(page.consoleErrors, []);
  }
});
