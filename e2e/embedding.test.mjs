// Embedding on pages nobody on this project controls: a hostile stylesheet, a strict CSP,
// the JavaScript API, custom elements, React, themes, the greeting bubble and unread badge.
// Every README example is one of these pages (e2e/pages), served from another origin than
// the API, with the real widget build and the real reference server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startServer, startPageServer, launchBrowser, newPage, recordChat, waitFor, artifacts } from './support.mjs';

let server;
let pages;
let browser;
let bot2;

before(async () => {
  server = await startServer();
  const created = server.admin('--create', 'sales', '--name', 'Sales');
  bot2 = { id: 'sales', key: created.match(/publishable key: (\S+)/)[1] };
  pages = await startPageServer({ API: server.url, BOT: server.bot, KEY: server.key, BOT2: bot2.id, KEY2: bot2.key });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await server?.stop();
});

const inWidget = (page, selector, host = '[data-chat-widget]') => page.locator(`${host} ${selector}`);

async function finishedReplies(page, count, host = '[data-chat-widget]') {
  const replies = page.locator(`${host} .cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming) .cw-bubble`);
  await replies.nth(count - 1).waitFor();
  return replies;
}

/** Screenshot of the open widget's panel and launcher, inside their rounded edges. */
async function widgetPixels(page) {
  const panel = await page.locator('.cw-panel').boundingBox();
  const launcher = await page.locator('.cw-launcher').boundingBox();
  const shots = [];
  for (const box of [
    { x: panel.x + 16, y: panel.y + 16, width: panel.width - 32, height: panel.height - 32 },
    { x: launcher.x + 14, y: launcher.y + 14, width: launcher.width - 28, height: launcher.height - 28 },
  ]) {
    shots.push(PNG.sync.read(await page.screenshot({ clip: box })));
  }
  return { shots, panel, launcher };
}

function differingPixels(a, b) {
  let differing = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    const delta = Math.abs(a.data[i] - b.data[i]) + Math.abs(a.data[i + 1] - b.data[i + 1]) + Math.abs(a.data[i + 2] - b.data[i + 2]);
    if (delta > 24) differing += 1;
  }
  return differing / (a.data.length / 4);
}

async function openAndChat(page) {
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-input').fill('Can I return shoes?');
  await page.locator('.cw-input').press('Enter');
  await finishedReplies(page, 1);
  await page.locator('.cw-actions').waitFor();
  await page.waitForTimeout(300); // the panel's opening animation is over
}

test('on a hostile page the widget looks exactly as on a plain page and stays on top', async (t) => {
  const plain = await newPage(browser);
  t.after(() => plain.context().close());
  await plain.goto(`${pages.url}/pages/plain.html`);
  await openAndChat(plain);
  const reference = await widgetPixels(plain);
  await plain.screenshot({ path: join(artifacts, 'plain-page.png') });

  const hostile = await newPage(browser);
  t.after(() => hostile.context().close());
  await hostile.goto(`${pages.url}/pages/hostile.html`);
  await openAndChat(hostile);
  const attacked = await widgetPixels(hostile);
  await hostile.screenshot({ path: join(artifacts, 'hostile-page.png') });

  assert.deepEqual(attacked.panel, reference.panel, 'same size and place');
  assert.deepEqual(attacked.launcher, reference.launcher);
  for (const [i, shot] of attacked.shots.entries()) {
    const share = differingPixels(shot, reference.shots[i]);
    assert.ok(share < 0.005, `${i === 0 ? 'panel' : 'launcher'}: ${(share * 100).toFixed(2)}% of pixels differ`);
  }
  // On top of the page's own max-z-index overlay: the launcher is what a click there hits.
  const topmost = await hostile.evaluate(([x, y]) => document.elementFromPoint(x, y)?.hasAttribute('data-chat-widget'), [
    reference.launcher.x + reference.launcher.width / 2,
    reference.launcher.y + reference.launcher.height / 2,
  ]);
  assert.equal(topmost, true, 'the widget is above the overlay');
  assert.deepEqual(hostile.consoleErrors, []);
});

// Old libraries (Prototype, MooTools and their plugins) add enumerable members to the built-in
// prototypes, some with names no attribute may have. The loader and the widget must not trip
// over them: the launcher is drawn, and a visitor chats as anywhere else.
test('on a page whose old libraries add to Object.prototype and Array.prototype, the widget works', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.addInitScript(() => {
    Object.prototype.$family = function () { return 'object'; };
    Object.prototype['each item'] = 1;
    Array.prototype.each = function (f) { for (let i = 0; i < this.length; i++) f(this[i]); };
    Array.prototype['$ map'] = 2;
  });
  await page.goto(`${pages.url}/pages/plain.html`);
  await openAndChat(page);
  assert.match(await page.locator('.cw-msg--bot .cw-bubble').last().innerText(), /return/i);
  assert.equal(await page.locator('.cw-root').getAttribute('each item'), null, 'nothing of them on the widget');
  assert.deepEqual(page.consoleErrors, []);
});

// "ChatWidget" is a common name: another product's global of that name is left alone (the
// widget's element has the same methods), where an element with that id is not a global.
test('another script\'s window.ChatWidget is left alone; the widget works through its element', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const warnings = [];
  page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
  await page.addInitScript(() => {
    window.ChatWidget = { vendor: 'another chat product', open() { window.__otherOpened = true; } };
  });
  await page.goto(`${pages.url}/pages/plain.html`);
  await page.locator('.cw-launcher').waitFor();
  assert.equal(await page.evaluate(() => window.ChatWidget.vendor), 'another chat product');
  assert.ok(warnings.some((w) => /window\.ChatWidget is another script's/.test(w)), JSON.stringify(warnings));
  await page.evaluate(() => document.querySelector('[data-chat-widget]').open());
  await page.locator('.cw-panel').waitFor();
  assert.equal(await page.evaluate(() => window.__otherOpened), undefined);
  assert.deepEqual(page.consoleErrors, []);

  const named = await newPage(browser);
  t.after(() => named.context().close());
  await named.route('**/pages/plain.html', async (route) => {
    const response = await route.fetch();
    route.fulfill({ response, body: (await response.text()).replace('<body>', '<body><div id="ChatWidget"></div>') });
  });
  await named.goto(`${pages.url}/pages/plain.html`);
  await named.locator('.cw-launcher').waitFor();
  assert.equal(await named.evaluate(() => window.ChatWidget.loader), 'chat-widget');
  await named.evaluate(() => window.ChatWidget.open());
  await named.locator('.cw-panel').waitFor();
});

test('a site owner who sets a z-index can put their own overlay above the widget', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.route('**/pages/hostile.html', async (route) => {
    const response = await route.fetch();
    route.fulfill({ response, body: (await response.text()).replace('{{EXTRA}}', '').replace('data-greeting-delay="off"', 'data-greeting-delay="off" data-z-index="10"') });
  });
  await page.goto(`${pages.url}/pages/hostile.html`);
  const launcher = await page.locator('.cw-launcher').boundingBox();
  const topmost = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.className, [launcher.x + 20, launcher.y + 20]);
  assert.equal(topmost, 'overlay');
});

test('under a strict Content-Security-Policy the widget works with zero violations', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
  });
  const response = await page.goto(`${pages.url}/pages/csp.html`);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);
  await openAndChat(page);
  assert.match(await page.locator('.cw-msg--bot .cw-bubble').last().innerText(), /return/i);
  const styled = await page.locator('.cw-launcher').evaluate((el) => getComputedStyle(el).borderRadius);
  assert.equal(styled, '50%', 'the stylesheet applied');
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(page.consoleErrors, []);
});

test('on a page that enforces Trusted Types, replies are drawn through the widget\'s policy, with zero violations', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective}: ${e.blockedURI}`));
  });
  const response = await page.goto(`${pages.url}/pages/csp-trusted-types.html`);
  assert.match(response.headers()['content-security-policy'], /require-trusted-types-for 'script'; trusted-types chat-widget/);
  await openAndChat(page);
  const reply = page.locator('.cw-msg--bot .cw-bubble').last();
  assert.match(await reply.innerText(), /return/i);
  assert.ok((await reply.locator('strong, li').count()) > 0, 'formatted, not plain text');
  // A restart (a changed setting) empties the shadow root without HTML either.
  await page.evaluate(() => { document.querySelector('script[data-bot-id]').dataset.theme = 'dark'; });
  await waitFor(async () => (await page.locator('.cw-root--dark .cw-panel').count()) === 1, 'the widget, dark and open');
  assert.ok((await page.locator('.cw-msg--bot .cw-bubble').last().locator('strong, li').count()) > 0, 'the reply drawn again');
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(page.consoleErrors, []);

  // A page whose policy list leaves the widget's out: the reply's words, and a console error
  // that names the fix.
  const other = await newPage(browser);
  t.after(() => other.context().close());
  await other.goto(`${pages.url}/pages/csp-trusted-types.html?POLICY=other`);
  await openAndChat(other);
  assert.match(await other.locator('.cw-msg--bot .cw-bubble').last().innerText(), /return/i);
  assert.ok(other.consoleErrors.some((text) => /add chat-widget to the trusted-types directive/.test(text)), other.consoleErrors.join('\n'));
});

test('the JavaScript API queues calls made before the widget is ready and reports events', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  await page.goto(`${pages.url}/pages/api.html`);
  await finishedReplies(page, 1);
  await waitFor(async () => (await page.locator('#log li').count()) >= 4, 'the events');
  const events = await page.locator('#log li').allInnerTexts();
  assert.deepEqual(events.slice(0, 3), ['ready', 'open', 'sent: Where is my order?'], 'queued calls ran in order once ready');
  assert.match(events[3], /^received in conv_/);
  assert.equal(await page.locator('.cw-panel').isVisible(), true, 'open() ran');
  assert.deepEqual(chat[0].sent.metadata, { userId: 'user_42', name: 'Ada', email: 'ada@example.com', plan: 'pro', page: '/pages/api.html' });

  // Per-instance API on the host element, and the page's own button.
  await page.click('#help');
  await finishedReplies(page, 2);
  assert.equal(chat[1].sent.conversationId, chat[0].received.conversationId);
  await page.evaluate(() => document.querySelector('[data-chat-widget]').close());
  await page.locator('.cw-panel').waitFor({ state: 'hidden' });
  await page.evaluate(() => ChatWidget.toggle());
  await page.locator('.cw-panel').waitFor();

  // reset() starts over; logout() also forgets what was stored for the bot.
  await page.evaluate(() => ChatWidget.reset());
  await waitFor(async () => (await page.locator('.cw-msg--visitor').count()) === 0, 'an empty conversation');
  await page.evaluate(() => ChatWidget.send('Hello again'));
  await finishedReplies(page, 1);
  assert.equal(chat[2].sent.conversationId, undefined, 'a new conversation after reset');
  assert.ok(await page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('chat-widget:'))));
  await page.evaluate(() => ChatWidget.logout());
  await waitFor(async () => !(await page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('chat-widget:')))), 'storage forgotten');
  await page.evaluate(() => ChatWidget.send('Who am I?'));
  await waitFor(() => chat.length === 4 && chat[3].received, 'the message after logout');
  assert.equal(chat[3].sent.metadata, undefined, 'the identity is forgotten');
  assert.deepEqual(page.consoleErrors, []);
});

test('the JavaScript API answers a wrong argument with a clear console message and keeps working', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  await page.goto(`${pages.url}/pages/api.html`);
  await finishedReplies(page, 1);

  // send() takes a string: anything else is refused in its Promise, and the widget lives on.
  for (const wrong of [42, { text: 'hi' }, null]) {
    const outcome = await page.evaluate((value) => ChatWidget.send(value), wrong);
    assert.equal(outcome.delivered, false, JSON.stringify(wrong));
    assert.equal(outcome.error.code, 'INVALID_REQUEST');
    assert.match(outcome.error.message, /takes the message's text, a string/);
  }
  assert.equal(await page.locator('.cw-msg--visitor').count(), 1, 'nothing was added to the conversation');

  // identify() takes an object; a numeric user id is the site's id all the same.
  const thrown = await page.evaluate(() => {
    try { ChatWidget.identify('user_42'); } catch (error) { return String(error); }
  });
  assert.match(thrown, /identify takes an object/);
  await page.evaluate(() => ChatWidget.identify({ userId: 42, name: 'Ada' }));

  // on() without a function says so at once, instead of an uncaught error at the next reply.
  await page.evaluate(() => ChatWidget.on('message-received'));

  await page.evaluate(() => ChatWidget.send('And my refund?'));
  await finishedReplies(page, 2);
  assert.equal(chat[1].sent.message, 'And my refund?');
  assert.equal(chat[1].sent.metadata.userId, '42');
  assert.equal(chat[1].sent.metadata.name, 'Ada');
  const errors = page.consoleErrors.map((e) => e.replace(/ \(.*\)$/, ''));
  assert.deepEqual(errors, [
    ...Array(3).fill("chat-widget: send() takes the message's text, a string"),
    'chat-widget: on("message-received", listener) takes a function',
  ]);
});

test('two <chat-widget> elements for two bots keep separate state and storage', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  await page.goto(`${pages.url}/pages/elements.html`);
  await page.locator('#sales .cw-launcher').waitFor();
  await page.locator('#support .cw-launcher').waitFor();
  const sales = await page.locator('#sales .cw-launcher').boundingBox();
  const support = await page.locator('#support .cw-launcher').boundingBox();
  assert.ok(sales.x < 640 && support.x > 640, 'each in its own corner');
  assert.equal(await page.locator('#support .cw-root').evaluate((el) => el.classList.contains('cw-root--dark')), true);

  await page.evaluate(() => document.getElementById('sales').send('Do you have gift cards?'));
  await finishedReplies(page, 1, '#sales');
  assert.equal(await page.locator('#support .cw-msg--visitor').count(), 0, 'the other widget is untouched');
  assert.match(chat[0].sent.message, /gift cards/);
  const keys = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('chat-widget:')));
  assert.deepEqual(keys.sort(), ['chat-widget:sales:conversation', 'chat-widget:sales:transcript']);
  await page.evaluate(() => document.getElementById('support').send('Hi'));
  await finishedReplies(page, 1, '#support');
  assert.equal((await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('chat-widget:')))).length, 4);
  await page.screenshot({ path: join(artifacts, 'two-elements.png') });

  // Removing an element removes its widget.
  await page.evaluate(() => document.getElementById('sales').remove());
  await waitFor(async () => (await page.locator('.cw-launcher').count()) === 1, 'one launcher left');
  assert.deepEqual(page.consoleErrors, []);
});

test('changing a <chat-widget> attribute restarts it with the new settings, keeping the conversation, the draft and the identity', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  await page.goto(`${pages.url}/pages/elements.html`);
  const support = '#support';
  await page.locator(`${support} .cw-launcher`).waitFor();
  await page.evaluate(() => {
    const element = document.getElementById('support');
    element.identify({ userId: 'user_42' });
    element.send('Where is my order?');
  });
  await page.locator(`${support} .cw-msg--streaming`).waitFor();
  await page.locator(`${support} .cw-input`).fill('half-typed');
  const colour = () => page.locator(`${support} .cw-launcher`).evaluate((el) => getComputedStyle(el).backgroundColor);
  const before = await colour();
  assert.equal(await page.locator(`${support} .cw-root`).evaluate((el) => el.classList.contains('cw-root--dark')), true);

  // Two attributes changed in one go, while the reply streams in: one restart, with both,
  // once the reply is complete (it is not cut off).
  await page.evaluate(() => {
    const element = document.getElementById('support');
    element.setAttribute('theme', 'light');
    element.setAttribute('primary-color', '#b45309');
  });
  await waitFor(async () => (await page.locator(`${support} .cw-root--light`).count()) === 1, 'the light theme');
  await waitFor(async () => (await colour()) !== before, 'the new colour on the launcher');
  await page.locator(`${support} .cw-panel`).waitFor();
  assert.match(await page.locator(`${support} .cw-msg--visitor`).first().innerText(), /Where is my order/);
  assert.equal(await page.locator(`${support} .cw-msg--bot:not(.cw-msg--greeting)`).count(), 1, 'the reply is still there');
  assert.equal(await page.locator(`${support} .cw-status`).count(), 0, 'and it was not cut off');
  assert.equal(chat.length, 1, 'nothing was sent twice');
  assert.equal(await page.locator(`${support} .cw-input`).inputValue(), 'half-typed', 'the draft is kept');

  // Another bot: the next message goes to it, still with the visitor's identity.
  await page.evaluate(({ id, key }) => {
    const element = document.getElementById('support');
    element.setAttribute('api-key', key);
    element.setAttribute('bot-id', id);
  }, bot2);
  await waitFor(async () => (await page.locator(`${support} .cw-msg--visitor`).count()) === 0, 'the other bot\'s (empty) conversation');
  await page.evaluate(() => document.getElementById('support').send('Do you have gift cards?'));
  await finishedReplies(page, 1, support);
  const last = chat[chat.length - 1];
  assert.match(last.url, /\/chatbots\/sales\//);
  assert.equal(last.status, 200);
  assert.equal(last.sent.metadata?.userId, 'user_42');
  await page.screenshot({ path: join(artifacts, 'attribute-change.png') });
  assert.deepEqual(page.consoleErrors, []);
});

test('a <chat-widget> changed while out of the page comes back with its new settings, and print leaves the floating widget out', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/elements.html`);
  const launcher = page.locator('#sales .cw-launcher');
  await launcher.waitFor();
  const colour = () => launcher.evaluate((el) => getComputedStyle(el).backgroundColor);
  const before = await colour();
  await page.evaluate(() => {
    const element = document.getElementById('sales');
    element.remove();
    element.setAttribute('primary-color', '#b45309');
    document.body.append(element);
  });
  await waitFor(async () => (await launcher.count()) === 1 && (await colour()) !== before, 'the launcher in the new colour');

  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('.cw-launcher:visible').count(), 0, 'no launcher on paper');
  await page.emulateMedia({ media: 'screen' });
  assert.equal(await page.locator('.cw-launcher:visible').count(), 2);
  assert.deepEqual(page.consoleErrors, []);
});

test("a page's keyboard shortcuts, scroll-jacking and clipboard bans do not reach into the chat", async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: pages.url });
  // A documentation site's shortcuts: "/" and "s" focus its search, unless typed in a field.
  // And a full-page slider's wheel handler, which cancels every wheel turn.
  await page.addInitScript(() => {
    window.__shortcuts = 0;
    document.addEventListener('keydown', (event) => {
      const target = event.target;
      const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target.isContentEditable;
      if ((event.key === '/' || event.key === 's') && !typing) {
        event.preventDefault();
        window.__shortcuts += 1;
      }
    });
    window.addEventListener('wheel', (event) => event.preventDefault(), { passive: false });
    // And a page that forbids pasting and copying.
    for (const name of ['paste', 'copy']) document.addEventListener(name, (event) => event.preventDefault());
  });
  await page.goto(`${pages.url}/pages/plain.html`);
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-input').click();
  await page.keyboard.type('see https://example.com/docs/s');
  assert.equal(await page.locator('.cw-input').inputValue(), 'see https://example.com/docs/s');
  assert.equal(await page.evaluate(() => window.__shortcuts), 0);
  await page.evaluate(() => navigator.clipboard.writeText(' ACM-123456'));
  await page.keyboard.press('Control+V');
  assert.equal(await page.locator('.cw-input').inputValue(), 'see https://example.com/docs/s ACM-123456', 'pasted');
  // On the page itself the shortcut still works.
  await page.locator('h1').click();
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => window.__shortcuts), 1);

  // A conversation longer than the list: the wheel scrolls it.
  await page.locator('.cw-input').fill('Show me what Markdown looks like');
  await page.locator('.cw-input').press('Enter');
  await finishedReplies(page, 1);
  await page.locator('.cw-input').fill('What are your shipping options?');
  await page.locator('.cw-input').press('Enter');
  await finishedReplies(page, 2);
  const list = page.locator('.cw-messages');
  const scrollTop = () => list.evaluate((el) => el.scrollTop);
  assert.ok(await list.evaluate((el) => el.scrollHeight > el.clientHeight + 200), 'the list overflows');
  await waitFor(async () => (await list.evaluate((el) => el.scrollHeight - el.clientHeight - el.scrollTop)) < 2, 'at the bottom');
  const bottom = await scrollTop();
  const box = await list.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -300);
  await waitFor(async () => (await scrollTop()) < bottom - 100, 'the list scrolled up');
  assert.deepEqual(page.consoleErrors, []);
});

test('a page that swaps its whole body (Turbo) or transforms it keeps the widget in place, with its conversation and open panel', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/plain.html`);
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-input').fill('Where is my order?');
  await page.locator('.cw-input').press('Enter');
  await page.locator('.cw-msg--streaming').waitFor();
  // Turbo Drive's navigation: the new page's <body> replaces the old one.
  await page.evaluate(() => {
    const next = document.createElement('body');
    next.innerHTML = '<h1>Another page</h1>';
    document.body.replaceWith(next);
  });
  await finishedReplies(page, 1);
  assert.equal(await page.locator('h1').innerText(), 'Another page');
  assert.equal(await page.locator('[data-chat-widget]').count(), 1);
  assert.ok(await page.locator('.cw-panel').isVisible(), 'the panel is still open');
  assert.equal(await page.locator('.cw-status').count(), 0, 'the reply was not cut off');
  // A body with a transform (smooth scrolling, page transitions): the launcher stays in the
  // window's corner, not at the bottom of a long body.
  await page.evaluate(() => {
    document.body.style.transform = 'translateZ(0)';
    document.body.style.minHeight = '3000px';
  });
  const box = await page.locator('.cw-launcher').boundingBox();
  assert.ok(box.y + box.height <= 800 && box.y > 600, `the launcher at the bottom of the window: ${JSON.stringify(box)}`);
  assert.deepEqual(page.consoleErrors, []);
});

test('on a page without a doctype (quirks mode) a reply with a table is laid out as on any page', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/quirks.html`);
  assert.equal(await page.evaluate(() => document.compatMode), 'BackCompat');
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-input').fill('What are your shipping options?');
  await page.locator('.cw-input').press('Enter');
  const reply = (await finishedReplies(page, 1)).first();
  const lineHeight = (selector) => reply.locator(selector).first().evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
  const [cell, paragraph] = [await lineHeight('td'), await lineHeight('p')];
  assert.ok(Number.isFinite(cell) && Math.abs(cell - paragraph * 0.93) < 1, `a cell's line height follows the text's: ${cell} against ${paragraph}`);
  assert.deepEqual(page.consoleErrors, []);
});

test('the script tag pasted twice gives one widget, which window.ChatWidget drives', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  const warnings = [];
  page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
  await page.goto(`${pages.url}/pages/twice.html`);
  await page.locator('.cw-launcher').waitFor();
  await page.waitForLoadState('load');
  await page.waitForTimeout(300);
  assert.equal(await page.locator('.cw-launcher').count(), 1, 'one launcher');
  assert.ok(warnings.some((text) => /second chat-widget\.js tag/.test(text)), warnings.join('\n'));
  // Not awaited here: with no widget behind it, the Promise would never settle.
  await page.evaluate(() => { window.__sent = window.ChatWidget.send('Where is my order?'); });
  await finishedReplies(page, 1);
  assert.equal(await page.locator('.cw-msg--visitor').count(), 1);
  assert.deepEqual(await page.evaluate(() => window.__sent), { delivered: true });
  assert.equal(chat.length, 1, 'sent once');
  assert.deepEqual(page.consoleErrors, []);
});

test('a React app renders <chat-widget> and hears its events', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/react.html`);
  await page.locator('chat-widget .cw-launcher').waitFor();
  await page.click('#ask');
  await waitFor(async () => /return/i.test(await page.locator('#last-reply').innerText()), 'the reply in React state');
  assert.equal(await page.locator('chat-widget .cw-panel').isVisible(), true);
  assert.deepEqual(page.consoleErrors, []);
});

// Next.js's App Router renders and hydrates the whole document. The script tag's widget sits in
// <html>, where React 18 did not render it: the hydration mismatch makes React render the
// document again, with a new <html>, and the widget used to be gone with the old one.
test('a React app that hydrates the whole document keeps the script tag\'s widget', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/react-document.html`);
  await waitFor(() => page.evaluate(() => window.hydration?.done && window.hydration.errors.length > 0), 'the hydration mismatch React recovers from');
  await waitFor(() => page.evaluate(() => window.hydration.html !== document.documentElement), 'React rendered a new <html>');
  await page.locator('#count').click();
  assert.equal(await page.locator('#count').innerText(), 'Clicked 1', 'the app works');
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-input').fill('Can I return shoes?');
  await page.locator('.cw-input').press('Enter');
  await page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming)').waitFor();
  assert.equal(await page.locator('[data-chat-widget]').count(), 1, 'one widget');
  // (While React swaps the <head>, Chromium asks for /favicon.ico, which this page server lacks.)
  assert.deepEqual(page.consoleErrors.filter((e) => !e.includes('/favicon.ico')), []);
});

test('the greeting bubble appears, can be dismissed for good, and unread replies show a badge', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/greeting.html`);
  const bubble = page.locator('.cw-greeting');
  await bubble.waitFor({ timeout: 5000 });
  assert.match(await bubble.innerText(), /Need help choosing a size\?/);
  await page.screenshot({ path: join(artifacts, 'greeting-bubble.png') });
  await page.locator('.cw-greeting-dismiss').click();
  await bubble.waitFor({ state: 'hidden' });
  await page.reload();
  await page.locator('.cw-launcher').waitFor();
  await page.waitForTimeout(1800);
  assert.equal(await bubble.count(), 0, 'a dismissed greeting stays dismissed');

  // A reply that arrives while the panel is closed counts as unread.
  // (send() answers with a Promise of delivery: not awaited here, the panel closes first.)
  await page.evaluate(() => {
    ChatWidget.send('How long does shipping take?');
    ChatWidget.close();
  });
  await page.locator('.cw-badge').waitFor();
  assert.equal(await page.locator('.cw-badge').innerText(), '1');
  assert.equal(await page.locator('.cw-launcher').getAttribute('aria-label'), 'Open chat (1 unread message)');
  assert.equal(await page.locator('.cw-unread-status').innerText(), '1 unread message');
  await page.screenshot({ path: join(artifacts, 'unread-badge.png') });
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-badge').waitFor({ state: 'detached' });
});

test('the Leptos example app embeds <ChatWidget/> as a component', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/leptos-app/?api=${encodeURIComponent(server.url)}&key=${server.key}`);
  const launcher = page.locator('.cw-launcher');
  await launcher.waitFor();
  assert.ok((await launcher.boundingBox()).x < 640, 'Position::BottomLeft');
  assert.equal(await launcher.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(124, 58, 237)');
  await launcher.click();
  await page.locator('.cw-input').fill('What payment methods do you accept?');
  await page.locator('.cw-input').press('Enter');
  const replies = await finishedReplies(page, 1, 'body');
  assert.match(await replies.first().innerText(), /card|pay/i);
  assert.deepEqual(page.consoleErrors, []);
});

test('the Leptos example help page shows <ChatPanel> inline, bound to the page\'s open signal, with on_message', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/leptos-app/?page=help&api=${encodeURIComponent(server.url)}&key=${server.key}`);
  const panel = page.locator('.cw-panel');
  await panel.waitFor();
  await page.emulateMedia({ media: 'print' });
  assert.ok(await panel.isVisible(), 'an inline panel is part of the page, and prints');
  await page.emulateMedia({ media: 'screen' });
  assert.equal(await page.locator('.cw-launcher').count(), 0, 'inline: no launcher');
  assert.equal(await panel.getAttribute('role'), 'region', 'in the page, not a dialog');
  const box = await panel.boundingBox();
  const column = await page.locator('.help-chat').boundingBox();
  assert.ok(
    Math.abs(box.x - column.x) < 2 && Math.abs(box.width - column.width) < 2 && Math.abs(box.height - column.height) < 2,
    `the panel fills the app's column (${JSON.stringify(box)} in ${JSON.stringify(column)})`,
  );
  assert.equal(Math.round(column.height), 600, "the app's class sizes it");
  assert.equal(await page.locator('#chat-state').innerText(), 'The chat is open.');
  assert.notEqual(await page.evaluate(() => document.activeElement?.dataset?.cwPanelHost), '', 'no focus taken on page load');
  await page.locator('.cw-input').fill('What payment methods do you accept?');
  await page.locator('.cw-input').press('Enter');
  const replies = await finishedReplies(page, 1, 'body');
  assert.match(await replies.first().innerText(), /card|pay/i);
  // on_message heard both messages, with the reply's text.
  await page.locator('#message-count', { hasText: '1 sent, 1 received' }).waitFor();
  assert.match(await page.locator('#last-reply').innerText(), /card|pay/i);
  await page.screenshot({ path: join(artifacts, 'leptos-chat-panel.png') });
  // The panel's close button moves the app's signal, and the app's button moves the panel.
  await page.locator('.cw-panel [aria-label="Close chat"]').click();
  await page.locator('#chat-state', { hasText: 'The chat is closed.' }).waitFor();
  await panel.waitFor({ state: 'hidden' });
  await page.locator('#toggle-chat').click();
  await panel.waitFor({ state: 'visible' });
  assert.equal(await page.locator('#chat-state').innerText(), 'The chat is open.');
  assert.equal(await replies.count(), 1, 'the conversation is still there');
  assert.deepEqual(page.consoleErrors, []);
});

test("the auto theme follows the visitor's system, and the launcher icon and avatar are settable", async (t) => {
  const page = await newPage(browser, { colorScheme: 'dark' });
  t.after(() => page.context().close());
  await page.route('**/pages/plain.html', async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace(
      'data-greeting-delay="off"',
      `data-greeting-delay="off" data-theme="auto" data-launcher-icon="help" data-avatar-url="${pages.url}/pages/icon.svg"`,
    );
    route.fulfill({ response, body });
  });
  await page.goto(`${pages.url}/pages/plain.html`);
  await page.locator('.cw-launcher').click();
  const background = await page.locator('.cw-panel').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(background, 'rgb(24, 27, 33)', 'dark, because the system prefers dark');
  assert.equal(await page.locator('img.cw-avatar').getAttribute('src'), `${pages.url}/pages/icon.svg`);
  const icon = await page.locator('.cw-launcher .cw-icon--chat path').getAttribute('d');
  assert.match(icon, /^M12 2a10 10 0 1 0/, 'the help icon');
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await page.locator('.cw-panel').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(light, 'rgb(255, 255, 255)', 'and light when the system switches');
  await page.screenshot({ path: join(artifacts, 'auto-theme-light.png') });
});

test('a launcher picture or an avatar that does not load gives way to the chat icon and the initial', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.route('**/pages/plain.html', async (route) => {
    const response = await route.fetch();
    const body = (await response.text()).replace(
      'data-greeting-delay="off"',
      `data-greeting-delay="off" data-launcher-icon="${pages.url}/pages/missing-icon.png" data-avatar-url="${pages.url}/pages/missing-avatar.png"`,
    );
    route.fulfill({ response, body });
  });
  await page.goto(`${pages.url}/pages/plain.html`);
  const chatIcon = page.locator('.cw-launcher svg.cw-icon--chat');
  await waitFor(async () => (await chatIcon.count()) === 1 && (await chatIcon.isVisible()), "the loader's launcher: the chat icon");
  assert.match(await chatIcon.locator('path').getAttribute('d'), /^M12 3C6\.5/);
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-panel').waitFor();
  const initial = page.locator('.cw-header .cw-avatar');
  await waitFor(async () => (await initial.count()) === 1 && (await initial.isVisible()), 'the initial instead of the picture');
  assert.equal(await initial.innerText(), 'A', 'of Acme Assistant');
  await page.screenshot({ path: join(artifacts, 'missing-pictures.png') });
  await page.keyboard.press('Escape');
  await waitFor(async () => (await chatIcon.count()) === 1 && (await chatIcon.isVisible()), "the widget's launcher: the chat icon");
  assert.equal(await page.locator('img.cw-icon--image, img.cw-avatar').count(), 0, 'no broken picture');
});

test('in Hebrew the widget reads right to left, and switching data-locale switches its language', async (t) => {
  // A page served for real (not fulfilled by a route: Chromium treats such a document as
  // public and refuses its requests to a loopback API).
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(`${pages.url}/pages/plain.html?LOCALE=he`);
  const launcher = page.locator('.cw-launcher');
  await launcher.waitFor();
  assert.equal(await page.locator('.cw-root').getAttribute('dir'), 'rtl');
  assert.equal(await launcher.getAttribute('aria-label'), 'פתיחת הצ׳אט');
  assert.ok((await launcher.boundingBox()).x < 640, 'the launcher is mirrored to the left');
  await launcher.click();
  await page.locator('.cw-input').fill('מה עם ההזמנה שלי? order ACM-123');
  await page.locator('.cw-input').press('Enter');
  await page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming)').waitFor();
  const directions = await page.locator('.cw-bubble').evaluateAll((bubbles) => bubbles.map((b) => getComputedStyle(b).direction));
  assert.deepEqual(directions, ['ltr', 'rtl', 'ltr'], 'English greeting and reply stay left to right; the Hebrew question reads right to left');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(artifacts, 'rtl-hebrew.png') });

  for (const [next, label] of [['es', 'Abrir el chat'], ['fr', 'Ouvrir le chat'], ['de', 'Chat öffnen'], ['ar', 'فتح المحادثة'], ['en', 'Open chat']]) {
    await page.goto(`${pages.url}/pages/plain.html?LOCALE=${next}`);
    await launcher.waitFor();
    assert.equal(await launcher.getAttribute('aria-label'), label, next);
    assert.equal(await page.locator('.cw-root').getAttribute('lang'), next);
  }
  // A single-page app switches the language on the tag itself, without a reload.
  await page.evaluate(() => { document.querySelector('script[data-bot-id]').dataset.locale = 'fr'; });
  await waitFor(async () => (await launcher.getAttribute('aria-label')) === 'Ouvrir le chat', 'the launcher in French');
  await launcher.click();
  await page.locator('.cw-panel').waitFor();
  assert.equal(await page.locator('.cw-root').getAttribute('lang'), 'fr');
  assert.deepEqual(page.consoleErrors, []);
});
