// What a visitor sees after a reload, and on another page of the same site, in every dialect:
// the real widget build on a host page of another origin, the real reference server and
// Chromium. jelytech and chataibot read the conversation back from the server; chatbots,
// jombot and openai show the transcript the widget keeps in localStorage. Each keeps the
// messages' texts, times and Markdown, shows quick replies under the last bot message only,
// and forgets everything after logout(). A screenshot per dialect is left in e2e/artifacts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, startPageServer, launchBrowser, newPage, recordApi, waitFor, artifacts } from './support.mjs';

let server;
let pages;
let browser;

before(async () => {
  server = await startServer({ args: ['--stream-delay-ms', '5', '--reply-delay-ms', '100'] });
  pages = await startPageServer({ API: server.url });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await server?.stop();
});

/** e2e/pages/dialect.html for `bot` in `dialect`; `page` tells two pages of the site apart. */
function pageFor(dialect, bot, page = 'home') {
  const query = new URLSearchParams({ DIALECT: dialect, BOT: bot.id, KEY: bot.key, EXTRA: '', page });
  return `${pages.url}/pages/dialect.html?${query}`;
}

const finishedReplies = (page) => page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming) .cw-bubble');

async function openChat(page) {
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-panel').waitFor();
}

async function ask(page, text) {
  const earlier = await finishedReplies(page).count();
  const input = page.locator('.cw-input');
  await input.fill(text);
  await input.press('Enter');
  await finishedReplies(page).nth(earlier).waitFor();
}

/** What the visitor sees in the list: who, the text (HTML for the bot), the time, the quick replies. */
async function conversation(page) {
  return page.evaluate(() => {
    const root = document.querySelector('[data-chat-widget]')?.shadowRoot ?? document.querySelector('chat-widget')?.shadowRoot;
    const rows = [...root.querySelectorAll('.cw-msg:not(.cw-msg--greeting)')];
    return rows.map((row) => ({
      from: row.classList.contains('cw-msg--visitor') ? 'visitor' : 'bot',
      html: row.querySelector('.cw-bubble')?.innerHTML ?? '',
      at: Date.parse(row.querySelector('.cw-time')?.getAttribute('datetime') ?? ''),
      actions: [...row.querySelectorAll('.cw-action')].map((a) => a.textContent.trim()),
    }));
  });
}

/** The same conversation: texts and Markdown alike, times alike (to the ms where the widget kept them). */
function assertSameConversation(after, before, { exactTimes, what, actions }) {
  if (actions) assert.deepEqual(after.map((m) => m.actions), before.map((m) => m.actions), `${what}: the same quick replies`);
  assert.deepEqual(after.map((m) => [m.from, m.html]), before.map((m) => [m.from, m.html]), `${what}: the same messages, rendered alike`);
  after.forEach((m, i) => {
    assert.ok(Number.isFinite(m.at), `${what}: message ${i} has a time`);
    // The server's own clock stamps what it keeps; the widget stamped what the visitor saw.
    const slack = exactTimes ? 0 : 5000;
    assert.ok(Math.abs(m.at - before[i].at) <= slack, `${what}: message ${i} keeps its time (${new Date(m.at).toISOString()} vs ${new Date(before[i].at).toISOString()})`);
  });
  const withActions = after.map((m, i) => [i, m.actions.length]).filter(([, n]) => n > 0).map(([i]) => i);
  assert.ok(withActions.length <= 1, `${what}: quick replies under one message at most`);
  if (withActions.length === 1) {
    assert.equal(withActions[0], after.length - 1, `${what}: under the last message`);
    assert.equal(after.at(-1).from, 'bot');
  }
}

// `actions`: the dialect's wire format carries quick replies both live and restored (jelytech's
// history has none; OpenAI's format has none at all).
const dialects = [
  { dialect: 'chatbots', keeps: 'transcript', actions: true },
  { dialect: 'jombot', keeps: 'transcript', actions: true },
  { dialect: 'jelytech', keeps: 'server', actions: false },
  { dialect: 'chataibot', keeps: 'server', actions: true },
  { dialect: 'openai', keeps: 'transcript', actions: false },
];

for (const { dialect, keeps, actions } of dialects) {
  test(`${dialect}: a reload and another page show the same conversation; logout() forgets it`, async (t) => {
    const bot = server.createBot(`restore-${dialect}`, '--name', 'Acme');
    const page = await newPage(browser);
    t.after(() => page.context().close());
    const history = recordApi(page, /^\/(v1\/chat\/history|api\/v1\/conversation\/)/);
    await page.goto(pageFor(dialect, bot));
    await openChat(page);
    await ask(page, 'Where is my order?');
    await ask(page, 'Show me what Markdown looks like');
    const before = await conversation(page);
    assert.equal(before.length, 4);
    assert.match(before[3].html, /<strong>|<code>|<li>/, 'the second answer has Markdown');
    if (actions) assert.ok(before[3].actions.length > 0, 'the last answer offers quick replies');
    const stored = await page.evaluate((id) => localStorage.getItem(`chat-widget:${id}:transcript`), bot.id);
    assert.equal(stored !== null, keeps === 'transcript', `the ${keeps} keeps it`);

    await page.reload();
    await waitFor(async () => (await finishedReplies(page).count()) === 2, 'the conversation shown again');
    assert.equal(await page.locator('.cw-panel').isVisible(), false, 'restored before the visitor opens the chat');
    await openChat(page);
    assertSameConversation(await conversation(page), before, { exactTimes: keeps === 'transcript', what: `${dialect} after a reload`, actions });
    if (keeps === 'server') {
      const read = history.filter((call) => call.method === 'GET' && !call.query.get('after'));
      assert.ok(read.length >= 1, 'read back from the server');
    }
    const gap = () => page.locator('.cw-messages').evaluate((list) => list.scrollHeight - list.scrollTop - list.clientHeight);
    await waitFor(async () => (await gap()) <= 2, 'the newest message in view', 3000).catch(async (error) => {
      throw new Error(`${error.message}: ${await gap()} px below`);
    });
    await page.waitForTimeout(300); // the panel's opening animation is over
    await page.screenshot({ path: join(artifacts, `restore-${dialect}.png`) });
    assert.deepEqual(page.consoleErrors, []);

    // Another page of the same site.
    await page.goto(pageFor(dialect, bot, 'shipping'));
    await waitFor(async () => (await finishedReplies(page).count()) === 2, 'the conversation on the other page');
    await openChat(page);
    assertSameConversation(await conversation(page), before, { exactTimes: keeps === 'transcript', what: `${dialect} on another page`, actions });
    await ask(page, 'How long does shipping take?');
    assert.equal((await conversation(page)).length, 6, 'the conversation goes on');

    // logout(): the next person on this computer sees nothing.
    await page.evaluate(() => window.ChatWidget.logout());
    await page.reload();
    await page.locator('.cw-launcher').waitFor();
    await page.waitForTimeout(500);
    await openChat(page);
    assert.equal((await conversation(page)).length, 0, 'nothing comes back after logout()');
    const left = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('chat-widget:')));
    assert.deepEqual(left.filter((k) => k.endsWith(':transcript') || k.endsWith(':conversation')), []);
    assert.deepEqual(page.consoleErrors, []);
  });
}

// Two tabs of the same site share what is kept: neither overwrites what the other kept, and
// each shows the same conversation without a reload. Before, the tab that saved last wrote
// its own list over the other's, so a reload lost the other tab's messages; and a logout in
// one tab left the previous visitor's conversation in the other, which wrote it back.
/** Two tabs of one browser on `bot`'s page, each with the chat open. */
async function twoTabs(t, dialect, bot) {
  const first = await newPage(browser);
  t.after(() => first.context().close());
  const second = await first.context().newPage();
  second.consoleErrors = [];
  second.on('pageerror', (error) => second.consoleErrors.push(`uncaught: ${error.message}`));
  for (const page of [first, second]) {
    await page.goto(pageFor(dialect, bot));
    await openChat(page);
  }
  return [first, second];
}

for (const dialect of ['chatbots', 'openai']) {
  test(`${dialect}: two tabs of the same site keep and show each other's messages; a Reset or logout in one reaches the other`, async (t) => {
    const bot = server.createBot(`tabs-${dialect}`, '--name', 'Acme');
    const [first, second] = await twoTabs(t, dialect, bot);
    const texts = async (page) => (await conversation(page)).map((m) => m.html.replace(/<[^>]+>/g, '').trim().slice(0, 24));
    const same = async (what, count) => {
      await waitFor(async () => (await texts(second)).length === count && (await texts(first)).length === count, `${what}: ${count} messages in both tabs`).catch(async (error) => {
        throw new Error(`${error.message}: ${JSON.stringify([await texts(first), await texts(second)])}`);
      });
      assert.deepEqual(await texts(second), await texts(first), `${what}: the same conversation in both tabs`);
    };

    await ask(first, 'Where is my order?');
    await same('a message in the first tab', 2);

    // The first tab's next reply is held back while the second tab asks and is answered: both
    // save the conversation at the end, and neither loses the other's exchange.
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    const sent = [];
    await first.route((url) => url.href.startsWith(server.url), async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      sent.push(route.request().postData());
      const response = await route.fetch();
      await held;
      await route.fulfill({ response });
    });
    const input = first.locator('.cw-input');
    await input.fill('What about shipping?');
    await input.press('Enter');
    await ask(second, 'Can I pay by card?');
    release();
    await same('both tabs asked at once', 6);
    const both = await texts(first);
    assert.ok(both.some((t) => t.startsWith('Can I pay by card?')) && both.some((t) => t.startsWith('What about shipping?')), JSON.stringify(both));
    for (const page of [first, second]) {
      await page.reload();
      await openChat(page);
      await waitFor(async () => (await texts(page)).length === 6, 'the six messages after a reload');
      assert.deepEqual(await texts(page), both, 'a reload shows what both tabs said');
    }
    if (dialect === 'openai') {
      // The model is sent what the other tab said too.
      await ask(first, 'Thanks');
      const body = JSON.parse(sent.at(-1));
      const said = body.messages.map((m) => m.content);
      assert.ok(said.includes('Can I pay by card?'), `the history sent has the other tab's message: ${JSON.stringify(said)}`);
      await same('one more', 8);
    }
    await first.unroute(() => true);

    // "New conversation" in one tab starts the other over too.
    await second.evaluate(() => window.ChatWidget.reset());
    await waitFor(async () => (await texts(first)).length === 0, 'the first tab starts over');
    await ask(first, 'Hello again');
    await same('the new conversation', 2);

    // logout() in one tab: the other forgets the previous visitor and does not write them back.
    await first.evaluate(() => window.ChatWidget.logout());
    await waitFor(async () => (await texts(second)).length === 0, 'the second tab forgets too');
    await ask(second, 'I am someone else');
    await first.reload();
    await openChat(first);
    await waitFor(async () => (await texts(first)).length === 2, 'the new visitor\'s conversation');
    assert.ok(!(await texts(first)).some((t) => t.startsWith('Hello again')), 'nothing of the previous visitor');
    assert.deepEqual([...first.consoleErrors, ...second.consoleErrors], []);
  });

  // A message on its way in one tab shows in the other as being sent from there, without a
  // Retry that would send it twice; once that tab is done, both show the answer. Before, the
  // other tab showed it failed ("Not sent") with Retry while it was still on its way.
  test(`${dialect}: a message on its way in one tab is shown as such in the other, without Retry`, async (t) => {
    const bot = server.createBot(`going-${dialect}`, '--name', 'Acme');
    const [first, second] = await twoTabs(t, dialect, bot);
    const posts = { first: 0, second: 0 };
    await second.route((url) => url.href.startsWith(server.url), (route) => {
      if (route.request().method() === 'POST') posts.second++;
      return route.continue();
    });
    let release;
    const hold = async () => {
      const held = new Promise((resolve) => { release = resolve; });
      await first.route((url) => url.href.startsWith(server.url), async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        posts.first++;
        const response = await route.fetch();
        await held;
        await route.fulfill({ response }).catch(() => {}); // the page may be gone
      });
    };
    const row = (page, text) => page.locator('.cw-msg--visitor', { hasText: text });
    await hold();
    const input = first.locator('.cw-input');
    await input.fill('What about shipping?');
    await input.press('Enter');
    const going = row(second, 'What about shipping?');
    await going.locator('.cw-status', { hasText: 'Sending from another tab' }).waitFor();
    assert.equal(await going.locator('.cw-retry').count(), 0, 'no Retry for a message the other tab is sending');
    assert.ok(await going.evaluate((el) => el.classList.contains('cw-msg--sending')));
    release();
    await first.unroute(() => true);
    await finishedReplies(first).first().waitFor();
    await finishedReplies(second).first().waitFor();
    assert.equal(await going.locator('.cw-status').count(), 0, 'delivered in both tabs');
    assert.deepEqual(posts, { first: 1, second: 0 }, 'sent once, by the tab it was written in');

    // The tab that was sending goes away before the answer: the other tab no longer waits for
    // it. Both dialects keep the conversation in the page, which never got the answer: as
    // after a reload, the message shows failed, and Retry sends it, once.
    await hold();
    await input.fill('And returns?');
    await input.press('Enter');
    const left = row(second, 'And returns?');
    await left.locator('.cw-status', { hasText: 'Sending from another tab' }).waitFor();
    await first.goto('about:blank');
    release();
    await left.locator('.cw-retry').click();
    await finishedReplies(second).nth(1).waitFor();
    assert.equal(posts.second, 1, 'Retry sent it once');
    assert.equal(await left.locator('.cw-status').count(), 0);
    assert.equal(await row(second, 'And returns?').count(), 1, 'the message shows once');
    assert.deepEqual([...first.consoleErrors, ...second.consoleErrors], []);
  });
}
