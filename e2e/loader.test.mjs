// The loader: a page that embeds the widget downloads only chat-widget.js until the widget is
// needed; the launcher it draws is the widget's own, pixel for pixel; pointing at, focusing or
// clicking it loads the widget, a click made before it is ready opens the panel when it is,
// and keyboard focus survives the swap. With the real build and the real reference server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startServer, startHostPage, launchBrowser, newPage, waitFor, distDir, artifacts } from './support.mjs';

let server;
let browser;
const hosts = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const host of hosts) await host.stop();
  await server?.stop();
});

/** A host page on another origin with the script tag and these extra data-* attributes. */
async function hostPage(attributes = '', body = '') {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,"></head>
<body><main><h1>Acme Store</h1><p>Everything you need.</p>${body}</main>
<script src="${server.url}/widget/chat-widget.js" data-bot-id="${server.bot}" data-api-key="${server.key}"
  data-api-url="${server.url}" ${attributes} async></script></body></html>`;
  const host = await startHostPage(html);
  hosts.push(host);
  return host.url;
}

/** Every request the page makes to the widget's files. */
function widgetRequests(page) {
  const seen = [];
  page.on('request', (request) => {
    if (request.url().includes('/widget/')) seen.push(new URL(request.url()).pathname);
  });
  return seen;
}

const isWidgetFile = (path) => /\/core\/chat-widget\.[0-9a-f]+\.(js|wasm)$/.test(path);
const launcher = (page) => page.locator('[data-chat-widget] .cw-launcher');
const placeholder = (page) => page.locator('[data-chat-widget] [data-cw-placeholder]');
const mounted = (page) => page.locator('[data-chat-widget] .cw-root:not([data-cw-placeholder])');

async function launcherPixels(page) {
  const box = await launcher(page).boundingBox();
  const clip = { x: box.x - 8, y: box.y - 8, width: box.width + 16, height: box.height + 24 };
  return { box, png: PNG.sync.read(await page.screenshot({ clip })) };
}

function differingPixels(a, b) {
  let differ = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    if (Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]) > 12) differ++;
  }
  return differ;
}

/** What a visitor and a screen reader get from the launcher. */
function launcherFacts(page) {
  return launcher(page).evaluate((button) => {
    const style = getComputedStyle(button);
    const root = button.closest('.cw-root');
    return {
      label: button.getAttribute('aria-label'),
      expanded: button.getAttribute('aria-expanded'),
      background: style.backgroundColor,
      color: style.color,
      right: style.right,
      left: style.left,
      bottom: style.bottom,
      dir: root.dir,
      lang: root.lang,
    };
  });
}

test('a page load fetches only the loader, and the launcher shows at once', async () => {
  const page = await newPage(browser);
  const requests = widgetRequests(page);
  await page.goto(await hostPage());
  await launcher(page).waitFor();
  assert.equal(await placeholder(page).count(), 1, 'the launcher is the loader’s');
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(1500);
  assert.deepEqual(requests, ['/widget/chat-widget.js'], 'nothing but the loader before the visitor shows interest');
  assert.equal(await page.evaluate(() => typeof WebAssembly.Memory), 'function');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

for (const [name, attributes] of [
  ['default', ''],
  ['a mid-blue brand colour that needs shading, bottom-left, offsets', 'data-primary-color="#0a7cff" data-position="left" data-offset-x="40" data-offset-y="32"'],
  ['a yellow brand colour, help icon, dark theme', 'data-primary-color="#ffeb3b" data-launcher-icon="help" data-theme="dark"'],
  ['Hebrew (right to left)', 'data-locale="he" data-primary-color="#7c3aed" data-launcher-icon="message"'],
]) {
  test(`the loader's launcher is the widget's, pixel for pixel: ${name}`, async () => {
    const page = await newPage(browser);
    await page.goto(await hostPage(attributes));
    await launcher(page).waitFor();
    const before = await launcherFacts(page);
    const beforePixels = await launcherPixels(page);
    // As if pointed at (a real hover would change the launcher's look on both sides).
    await launcher(page).dispatchEvent('pointerenter');
    await mounted(page).waitFor({ state: 'attached' });
    assert.equal(await placeholder(page).count(), 0, 'the loader’s launcher is gone');
    assert.equal(await launcher(page).count(), 1, 'one launcher');
    const afterFacts = await launcherFacts(page);
    assert.deepEqual(afterFacts, before, 'same colours, place, name and language');
    const afterPixels = await launcherPixels(page);
    assert.deepEqual(afterPixels.box, beforePixels.box, 'no jump');
    const differ = differingPixels(beforePixels.png, afterPixels.png);
    assert.ok(differ === 0, `${differ} pixels differ around the launcher`);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  });
}

/** Holds the wasm download until the returned function is called. */
async function holdWasm(page) {
  let release;
  const held = new Promise((resolve) => (release = resolve));
  await page.route(/\/core\/chat-widget\.[0-9a-f]+\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  return release;
}

/** Waits until the loader has the widget's module in hand (mounted or not). */
async function moduleLoaded(page, requests) {
  await waitFor(() => requests.filter(isWidgetFile).length === 2, 'glue and wasm requested');
  await waitFor(
    () => page.evaluate(() => document.querySelector('[data-chat-widget]').__chatWidget.loading === false),
    'the widget has loaded',
  );
}

async function panelOpensWithFocus(page) {
  const input = page.locator('[data-chat-widget] .cw-input');
  await page.locator('[data-chat-widget] .cw-panel:not([hidden])').waitFor();
  await waitFor(() => input.evaluate((el) => el.getRootNode().activeElement === el), 'the input has focus');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
}

test('hovering the launcher loads the widget; a click before it is ready opens the panel when it is', async () => {
  const page = await newPage(browser);
  const requests = widgetRequests(page);
  // Hold the wasm back so the click certainly comes first.
  const release = await holdWasm(page);
  await page.goto(await hostPage());
  await launcher(page).hover();
  await waitFor(() => requests.some(isWidgetFile), 'hovering starts the download');
  await launcher(page).click();
  assert.equal(await placeholder(page).count(), 1, 'still the loader’s launcher');
  assert.equal(await launcher(page).getAttribute('aria-busy'), 'true', 'the launcher says it is busy');
  // And shows it (a slow network can take seconds): its icon pulses.
  const opacities = await launcher(page).evaluate(async (button) => {
    const icon = button.querySelector('.cw-icon--chat');
    const seen = [];
    for (let i = 0; i < 15; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen.push(Number(getComputedStyle(icon).opacity));
    }
    return seen;
  });
  assert.ok(Math.min(...opacities) < 0.8, `the icon pulses while it loads: ${opacities.join(', ')}`);
  release();
  const input = page.locator('[data-chat-widget] .cw-input');
  await input.waitFor();
  await waitFor(() => input.evaluate((el) => el.getRootNode().activeElement === el), 'the input has focus');
  assert.equal(await launcher(page).getAttribute('aria-expanded'), 'true');
  await input.fill('Where is my order?');
  await input.press('Enter');
  await page.locator('[data-chat-widget] .cw-msg--bot:not(.cw-msg--greeting) .cw-bubble').first().waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('with reduced motion asked for, a launcher waiting for the widget is dimmed, not pulsing', async () => {
  const page = await newPage(browser, { reducedMotion: 'reduce' });
  const release = await holdWasm(page);
  await page.goto(await hostPage());
  await launcher(page).click();
  const icon = await launcher(page).evaluate(async (button) => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const chat = button.querySelector('.cw-icon--chat');
    return { opacity: getComputedStyle(chat).opacity, animations: chat.getAnimations().length };
  });
  assert.deepEqual(icon, { opacity: '0.6', animations: 0 });
  release();
  await page.locator('[data-chat-widget] .cw-input').waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

// The visitor presses the launcher, the widget arrives, then they let go: the click must not
// be lost between the loader's button and the widget's.
for (const [name, press, letGo] of [
  [
    'a mouse press',
    async (page) => {
      const box = await launcher(page).boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2); // starts the download
      await page.mouse.down();
    },
    (page) => page.mouse.up(),
  ],
  [
    'a space-bar press',
    async (page) => {
      await launcher(page).waitFor();
      await page.keyboard.press('Tab'); // the launcher: focus starts the download
      await page.keyboard.down(' ');
    },
    (page) => page.keyboard.up(' '),
  ],
]) {
  test(`${name} under way when the widget arrives still opens the panel on release`, async () => {
    const page = await newPage(browser);
    const requests = widgetRequests(page);
    const release = await holdWasm(page);
    await page.goto(await hostPage());
    await press(page);
    release();
    await moduleLoaded(page, requests);
    await letGo(page);
    await panelOpensWithFocus(page);
    assert.equal(await launcher(page).count(), 1, 'one launcher');
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  });
}

test('a keyboard visitor keeps focus on the launcher through the swap, and Enter opens the panel', async () => {
  const page = await newPage(browser);
  await page.goto(await hostPage('', '<a href="#top">Top</a>'));
  await launcher(page).waitFor();
  await page.keyboard.press('Tab'); // the page's link
  await page.keyboard.press('Tab'); // the launcher: focus starts the download
  await mounted(page).waitFor({ state: 'attached' });
  const focused = await page.evaluate(() => {
    const shadow = document.querySelector('[data-chat-widget]').shadowRoot;
    return shadow.activeElement && shadow.activeElement.className;
  });
  assert.match(focused || '', /cw-launcher/, 'the widget’s launcher has focus after the swap');
  assert.equal(await page.evaluate(() => document.activeElement.matches('[data-chat-widget]')), true);
  await page.keyboard.press('Enter');
  const input = page.locator('[data-chat-widget] .cw-input');
  await input.waitFor();
  await waitFor(() => input.evaluate((el) => el.getRootNode().activeElement === el), 'the input has focus');
  await page.context().close();
});

test('ChatWidget.open() loads the widget and opens it; data-preload="idle" loads it after page load', async () => {
  const page = await newPage(browser);
  const requests = widgetRequests(page);
  await page.goto(await hostPage());
  await launcher(page).waitFor();
  await page.waitForTimeout(500);
  assert.equal(requests.filter(isWidgetFile).length, 0);
  await page.evaluate(() => window.ChatWidget.open());
  await page.locator('[data-chat-widget] .cw-panel:not([hidden])').waitFor();

  const idle = await newPage(browser);
  const idleRequests = widgetRequests(idle);
  await idle.goto(await hostPage('data-preload="idle"'));
  await mounted(idle).waitFor({ state: 'attached' });
  assert.equal(idleRequests.filter(isWidgetFile).length, 2, 'glue and wasm, without any interaction');
  assert.equal(await idle.locator('[data-chat-widget] .cw-panel:not([hidden])').count(), 0, 'preloading does not open it');
  assert.deepEqual([...page.consoleErrors, ...idle.consoleErrors], []);
  await page.context().close();
  await idle.context().close();
});

test('a page downloads only the build for its dialect, and two dialects on one page each get their own', async () => {
  const { builds } = JSON.parse(readFileSync(join(distDir, 'manifest.json'), 'utf8'));
  const files = (dialect) => [builds[dialect].glue, builds[dialect].wasm].map((file) => `/widget/${file}`).sort();
  const page = await newPage(browser);
  const requests = widgetRequests(page);
  const posts = [];
  page.on('request', (request) => request.method() === 'POST' && posts.push(new URL(request.url()).pathname));
  const element = `<chat-widget bot-id="${server.bot}" api-key="${server.key}" api-url="${server.url}" dialect="jelytech" position="left" primary-color="#0a7cff" greeting-delay="off"></chat-widget>`;
  await page.goto(await hostPage('data-dialect=" Open-AI "', element));
  await page.evaluate(() => window.ChatWidget.open());
  await mounted(page).waitFor({ state: 'attached' });
  assert.deepEqual(requests.filter(isWidgetFile).sort(), files('openai'), 'the script tag’s widget: the openai build alone');

  await page.evaluate(() => document.querySelector('chat-widget').send('Hello from the element'));
  const reply = page.locator('chat-widget .cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming) .cw-bubble');
  await reply.first().waitFor();
  assert.deepEqual(requests.filter(isWidgetFile).sort(), [...files('openai'), ...files('jelytech')].sort(), 'then the jelytech build, for the element');
  assert.ok(posts.includes('/v1/chat/send'), `the element speaks jelytech: ${posts.join(', ')}`);

  const input = page.locator('[data-chat-widget] .cw-input');
  await input.fill('Hello from the tag');
  await input.press('Enter');
  await page.locator('[data-chat-widget] .cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming) .cw-bubble').first().waitFor();
  assert.ok(posts.includes('/v1/chat/completions'), `the script tag's widget speaks openai: ${posts.join(', ')}`);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a build asked to speak a dialect it lacks says so and draws nothing', async () => {
  const { builds } = JSON.parse(readFileSync(join(distDir, 'manifest.json'), 'utf8'));
  const page = await newPage(browser);
  await page.goto(await hostPage('data-preload="off"'));
  const outcome = await page.evaluate(async ([glue, wasm, bot]) => {
    const module = await import(glue);
    await module.default({ module_or_path: wasm });
    const host = document.createElement('div');
    document.body.appendChild(host);
    try {
      module.mountWidget(host, { botId: bot, dialect: 'jombot' }, location.origin);
      return { mounted: true };
    } catch (error) {
      return { error: String(error), drawn: host.shadowRoot ? host.shadowRoot.childElementCount : 0 };
    }
  }, [`${server.url}/widget/${builds.chatbots.glue}`, `${server.url}/widget/${builds.chatbots.wasm}`, server.bot]);
  assert.match(outcome.error || '', /does not speak the jombot dialect/, JSON.stringify(outcome));
  assert.equal(outcome.drawn, 0, 'nothing drawn');
  await page.context().close();
});

test('in forced colours the notice that the widget could not load keeps a visible edge', async () => {
  // Forced colours paint backgrounds in the theme's one colour and drop shadows: a notice
  // marked only by those would be text floating on the page.
  const page = await newPage(browser, { forcedColors: 'active', colorScheme: 'dark' });
  await page.route(/\/core\/chat-widget\.[0-9a-f]+\.(wasm|js)$/, (route) => route.abort('internetdisconnected'));
  await page.goto(await hostPage());
  await launcher(page).click();
  const box = await page.locator('[data-chat-widget] .cw-load-failed').boundingBox();
  // A row of pixels across its left edge, halfway down: 3 px outside to 2 px inside.
  const row = PNG.sync.read(await page.screenshot({ clip: { x: Math.round(box.x) - 3, y: Math.round(box.y + box.height / 2), width: 6, height: 1 } }));
  const levels = Array.from({ length: row.width }, (_, i) => (row.data[4 * i] + row.data[4 * i + 1] + row.data[4 * i + 2]) / 3);
  assert.ok(Math.max(...levels) - Math.min(...levels) > 80, `its edge is drawn (pixels across it: ${levels.map(Math.round).join(', ')})`);
  await page.context().close();
});

test('a launcher press that cannot load the widget says so beside it; a press or the connection coming back opens it', async () => {
  const page = await newPage(browser);
  const core = /\/core\/chat-widget\.[0-9a-f]+\.(wasm|js)$/;
  await page.route(core, (route) => route.abort('internetdisconnected'));
  await page.goto(await hostPage());
  await launcher(page).click();
  const notice = page.locator('[data-chat-widget] .cw-load-failed');
  await notice.waitFor();
  assert.equal(await notice.getAttribute('role'), 'alert', 'read out at once');
  assert.match(await notice.textContent(), /could not load\. Try again/);
  assert.equal(await launcher(page).getAttribute('aria-busy'), null, 'no longer busy');
  const [box, button] = [await notice.boundingBox(), await launcher(page).boundingBox()];
  assert.ok(box.y + box.height <= button.y && box.x + box.width <= 1280 && box.x >= 0, 'above the launcher, on screen');
  await page.screenshot({ path: join(artifacts, 'load-failed.png') });

  // Back online by itself, nothing opens; the visitor's next press does, and the notice goes.
  await page.unroute(core);
  await page.waitForTimeout(300);
  assert.equal(await mounted(page).count(), 0, 'no surprise panel');
  await launcher(page).click();
  await page.locator('[data-chat-widget] .cw-panel').waitFor();
  assert.equal(await page.locator('[data-chat-widget] .cw-load-failed').count(), 0);
  await page.context().close();

  // A visitor who pressed it while offline gets the panel when the connection is back.
  const offline = await newPage(browser);
  await offline.route(core, (route) => route.abort('internetdisconnected'));
  await offline.goto(await hostPage('data-locale="de"'));
  await launcher(offline).click();
  const notiz = offline.locator('[data-chat-widget] .cw-load-failed');
  await notiz.waitFor();
  assert.match(await notiz.textContent(), /konnte nicht geladen werden/);
  await offline.context().setOffline(true);
  await offline.waitForFunction(() => !navigator.onLine);
  await offline.unroute(core);
  await offline.context().setOffline(false);
  await offline.locator('[data-chat-widget] .cw-panel').waitFor();
  await offline.context().close();
});

test('the widget still starts when the server sends the wasm with the wrong MIME type', async () => {
  const page = await newPage(browser);
  const warnings = [];
  page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
  await page.route(/\/core\/chat-widget\.[0-9a-f]+\.wasm$/, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-type': 'application/octet-stream' } });
  });
  await page.goto(await hostPage());
  await launcher(page).click();
  await page.locator('[data-chat-widget] .cw-input').waitFor();
  assert.ok(warnings.some((text) => /MIME/.test(text)), 'the fallback was taken (and said so)');
  await page.context().close();
});
