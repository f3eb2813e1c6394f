// Every API dialect the widget speaks, end to end: the real widget build on a host page of
// another origin, the real reference server (which serves all five dialects) and Chromium.
// For each dialect a visitor chats, reloads the page and carries on with the same
// conversation, kept the way that dialect keeps it. Then: a jelytech bot whose own
// configuration dresses the launcher, messages sent too quickly, a dropped connection, and a
// bot whose plan is used up, each as the visitor sees it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, startPageServer, launchBrowser, newPage, recordApi, waitFor, artifacts } from './support.mjs';

const ADMIN_TOKEN = 'e2e-admin-token';

let server;
let pages;
let browser;

before(async () => {
  // Rate-limit windows of 3 s, so a 429 ends within a test; quick streams and answers.
  server = await startServer({
    args: ['--admin-token', ADMIN_TOKEN, '--rate-window-s', '3', '--stream-delay-ms', '10', '--reply-delay-ms', '200'],
  });
  pages = await startPageServer({ API: server.url });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await pages?.stop();
  await server?.stop();
});

/** e2e/pages/dialect.html for `bot` in `dialect`; `extra` is more data-* attributes. */
function pageFor(dialect, bot, extra = '') {
  const query = new URLSearchParams({ DIALECT: dialect, BOT: bot.id, KEY: bot.key, EXTRA: extra });
  return `${pages.url}/pages/dialect.html?${query}`;
}

const finishedReplies = (page) => page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming) .cw-bubble');

async function openChat(page) {
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-panel').waitFor();
}

async function type(page, text) {
  const input = page.locator('.cw-input');
  await input.fill(text);
  await input.press('Enter');
}

/** Sends `text` with Enter, waits for the bot's next finished reply and returns its text. */
async function ask(page, text) {
  const earlier = await finishedReplies(page).count();
  await type(page, text);
  await page.locator('.cw-msg--visitor').filter({ hasText: text }).last().waitFor();
  await finishedReplies(page).nth(earlier).waitFor();
  return finishedReplies(page).nth(earlier).innerText();
}

/** Waits until the recorded call has its answer, and returns the call. */
async function answered(call, what) {
  await waitFor(() => call?.received, what);
  return call;
}

/** The user and assistant turns of an OpenAI `messages` array. */
const turns = (messages) =>
  messages.filter((m) => m.role === 'user' || m.role === 'assistant').map(({ role, content }) => ({ role, content: content.trim() }));

/** Everything the page keeps in localStorage, as one text. */
const storedText = (page) => page.evaluate(() => Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`).join('\n'));

async function startNewConversation(page) {
  await page.locator('.cw-new-conversation').click();
  await page.locator('.cw-confirm-yes').click();
  await waitFor(async () => (await page.locator('.cw-msg--visitor').count()) === 0, 'the list is cleared');
  assert.equal(await finishedReplies(page).count(), 0);
}

// ---------------------------------------------------------------------------------------------
// One conversation across a reload, in each dialect.

test('chatbots: a visitor chats, reloads, and the next message continues the same conversation', async (t) => {
  const bot = server.createBot('polly', '--name', 'Polly');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/api\/v1\/chatbots\//);
  await page.goto(pageFor('chatbots', bot));
  await openChat(page);

  assert.match(await ask(page, 'Where is my order?'), /order/i);
  const first = await answered(api[0], 'the first answer');
  assert.equal(first.path, `/api/v1/chatbots/${bot.id}/chat`);
  assert.equal(first.headers.authorization, `Bearer ${bot.key}`);
  assert.equal(first.sent.message, 'Where is my order?');
  assert.equal(first.sent.conversationId, undefined, 'the first message starts a conversation');
  const conversationId = first.received.data?.conversationId ?? first.received.conversationId;
  assert.match(conversationId, /^conv_/);

  await page.reload();
  await openChat(page);
  assert.match(await ask(page, 'How long does shipping take?'), /ship|deliver/i);
  assert.equal(api.length, 2);
  const second = await answered(api[1], 'the second answer');
  assert.equal(second.sent.conversationId, conversationId, 'after the reload the widget continues the conversation');
  assert.equal(second.received.data?.conversationId ?? second.received.conversationId, conversationId, 'the server answered in it');
  assert.deepEqual(page.consoleErrors, []);
});

test('jombot: a visitor chats, reloads, and the next message carries the conversation id', async (t) => {
  const bot = server.createBot('jom', '--name', 'Jom');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/v1\/chat\/message$/);
  await page.goto(pageFor('jombot', bot, 'data-user-id="visitor-42"'));
  await openChat(page);

  assert.match(await ask(page, 'Where is my order?'), /order/i);
  const first = await answered(api[0], 'the first answer');
  assert.equal(first.status, 200);
  assert.equal(first.headers.authorization, `Bearer ${bot.key}`);
  assert.equal(first.sent.message, 'Where is my order?');
  assert.equal(first.sent.bot_id, bot.id);
  assert.equal(first.sent.user_id, 'visitor-42', 'data-user-id is the jombot user_id');
  assert.equal(first.sent.conversation_id, undefined, 'the first message starts a conversation');
  assert.equal(first.received.bot_id, bot.id);
  const conversationId = first.received.conversation_id;
  assert.match(conversationId, /^conv_/);

  await page.reload();
  await openChat(page);
  assert.match(await ask(page, 'How long does shipping take?'), /ship|deliver/i);
  assert.equal(api.length, 2);
  const second = await answered(api[1], 'the second answer');
  assert.equal(second.sent.conversation_id, conversationId, 'after the reload the widget continues the conversation');
  assert.equal(second.received.conversation_id, conversationId, 'the server answered in it');
  assert.equal(second.sent.user_id, 'visitor-42');
  assert.deepEqual(page.consoleErrors, []);
});

test('jelytech: after a reload the conversation is read back from the server before the visitor opens the chat', async (t) => {
  const bot = server.createBot('jely', '--name', 'Jely');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/v1\/(chat|bots)\//);
  const sends = () => api.filter((call) => call.path === '/v1/chat/send');
  await page.goto(pageFor('jelytech', bot, 'data-user-id="visitor-7"'));
  await openChat(page);

  const firstAnswer = await ask(page, 'Where is my order?');
  assert.match(firstAnswer, /order/i);
  const first = await answered(sends()[0], 'the first answer');
  assert.equal(first.status, 200);
  assert.equal(first.headers.authorization, `Bearer ${bot.key}`);
  assert.equal(first.sent.botId, bot.id);
  assert.equal(first.sent.userId, 'visitor-7', 'data-user-id is the jelytech userId');
  assert.equal(first.sent.message, 'Where is my order?');
  assert.equal(first.sent.conversationId, undefined, 'the first message starts a conversation');
  const conversationId = first.received.conversationId;
  assert.match(conversationId, /^conv_/);

  await page.reload();
  const history = `/v1/chat/history/${conversationId}`;
  await waitFor(() => api.some((call) => call.path === history && call.status === 200), 'the history read on load');
  assert.equal(await page.locator('.cw-panel').isVisible(), false, 'the visitor has not opened the chat');
  await waitFor(async () => (await finishedReplies(page).count()) === 1, 'the earlier reply restored');
  await openChat(page);
  await page.locator('.cw-msg--visitor').filter({ hasText: 'Where is my order?' }).waitFor();
  assert.equal((await finishedReplies(page).first().innerText()).trim(), firstAnswer.trim(), 'the same answer as before the reload');
  await page.waitForTimeout(300); // the panel's opening animation is over
  await page.screenshot({ path: join(artifacts, 'jelytech-history-restored.png') });

  assert.match(await ask(page, 'How long does shipping take?'), /ship|deliver/i);
  assert.equal(sends().length, 2);
  const second = await answered(sends()[1], 'the second answer');
  assert.equal(second.sent.conversationId, conversationId, 'the restored conversation continues');
  assert.equal(second.received.conversationId, conversationId, 'the server answered in it');
  assert.deepEqual(page.consoleErrors, []);
});

test('chataibot: the answer arrives apart from the message, and a reload keeps the conversation and the visitor', async (t) => {
  const bot = server.createBot('aibot', '--name', 'Aibot');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/api\/v1\/conversation/);
  const starts = () => api.filter((call) => call.method === 'POST' && call.path === '/api/v1/conversations');
  await page.goto(pageFor('chataibot', bot));
  await openChat(page);

  assert.match(await ask(page, 'Where is my order?'), /order/i);
  const start = await answered(starts()[0], 'the conversation started');
  assert.equal(start.status, 200);
  assert.equal(start.headers.authorization, `Bearer ${bot.key}`);
  assert.equal(start.sent.channel, 'API');
  assert.equal(start.sent.bot_key, bot.id);
  assert.deepEqual(start.sent.message, { data: { body: 'Where is my order?' }, type: 'text' });
  assert.equal(start.sent.from.type, 'VISITOR');
  const visitor = start.sent.from.user_external_id;
  assert.ok(typeof visitor === 'string' && visitor.length > 0, `a visitor id: ${visitor}`);
  assert.ok(start.sent.variables?.system?.browserLanguage, 'variables.system comes from the browser');
  const conversationId = start.received.conversation.id;
  assert.match(conversationId, /^conv_/);
  // The bot's answer is not in that reply: the widget read it from the conversation.
  const messagesPath = `/api/v1/conversation/${conversationId}/messages`;
  const reads = api.filter((call) => call.method === 'GET' && call.path === messagesPath);
  assert.ok(reads.length > 0, 'the answer was listened or polled for');
  assert.ok(reads[0].query.get('after'), `reads name the last message seen: ${reads[0].query}`);

  await page.reload();
  assert.ok((await storedText(page)).includes(visitor), 'the visitor id is kept in localStorage');
  await openChat(page);
  assert.match(await ask(page, 'How long does shipping take?'), /ship|deliver/i);
  assert.equal(starts().length, 1, 'no new conversation after the reload');
  const next = api.find((call) => call.method === 'POST' && call.path === messagesPath);
  assert.ok(next, `the next message went to ${messagesPath}`);
  await answered(next, 'the next message accepted');
  assert.equal(next.status, 200);
  assert.deepEqual(next.sent.message, { data: { body: 'How long does shipping take?' }, type: 'text' });
  assert.equal(next.sent.user.type, 'VISITOR');
  assert.equal(next.received.ok, true);

  // A new conversation: the list is cleared, and the same visitor starts another one.
  await startNewConversation(page);
  assert.match(await ask(page, 'Can I return shoes?'), /return/i);
  assert.equal(starts().length, 2);
  const again = await answered(starts()[1], 'the second conversation started');
  assert.equal(again.sent.from.user_external_id, visitor, 'the visitor id is stable');
  assert.notEqual(again.received.conversation.id, conversationId, 'a new conversation');
  assert.deepEqual(page.consoleErrors, []);
});

test('openai: the widget keeps the history, shows it after a reload and sends all of it', async (t) => {
  const bot = server.createBot('gpt', '--name', 'Assistant');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/v1\/chat\/completions$/);
  await page.goto(pageFor('openai', bot));
  await openChat(page);

  assert.match(await ask(page, 'Where is my order?'), /order/i);
  const first = await answered(api[0], 'the first completion');
  assert.equal(first.status, 200);
  assert.equal(first.headers.authorization, `Bearer ${bot.key}`);
  assert.equal(first.sent.model, bot.id, 'the bot is the model');
  assert.deepEqual(turns(first.sent.messages), [{ role: 'user', content: 'Where is my order?' }]);
  const firstAnswer = (first.received.streamed ? first.received.text : first.received.choices[0].message.content).trim();
  assert.match(firstAnswer, /order/i);

  await page.reload();
  await openChat(page);
  await page.locator('.cw-msg--visitor').filter({ hasText: 'Where is my order?' }).waitFor();
  await finishedReplies(page).first().waitFor();
  assert.match(await finishedReplies(page).first().innerText(), /order/i, 'the earlier answer is there again');
  assert.equal(api.length, 1, 'shown from what the widget kept, without asking again');

  assert.match(await ask(page, 'How long does shipping take?'), /ship|deliver/i);
  const second = await answered(api[1], 'the second completion');
  assert.deepEqual(
    turns(second.sent.messages),
    [
      { role: 'user', content: 'Where is my order?' },
      { role: 'assistant', content: firstAnswer },
      { role: 'user', content: 'How long does shipping take?' },
    ],
    'the whole history goes with the next message',
  );

  // A new conversation forgets the history, also across a reload.
  await startNewConversation(page);
  await page.reload();
  await openChat(page);
  assert.equal(await page.locator('.cw-msg--visitor').count(), 0, 'nothing comes back after the reload');
  assert.match(await ask(page, 'Can I return shoes?'), /return/i);
  const third = await answered(api[2], 'the third completion');
  assert.deepEqual(turns(third.sent.messages), [{ role: 'user', content: 'Can I return shoes?' }]);
  assert.deepEqual(page.consoleErrors, []);
});

// ---------------------------------------------------------------------------------------------
// A jelytech bot's own configuration.

test('jelytech: a bot created over the API brings its greeting, colour and corner, and the page still wins', async (t) => {
  const response = await fetch(`${server.url}/v1/bots`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Jely Shop',
      description: 'Answers questions about orders',
      configuration: { greeting: 'Welcome to Jely Shop! Ask me anything.', theme: { primaryColor: '#e11d48', position: 'bottom-left' } },
    }),
  });
  assert.equal(response.status, 201);
  const created = await response.json();
  const bot = { id: created.bot.id, key: created.publishableKey };

  // A page that sets none of them: the bot's configuration decides.
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/v1\/bots\//);
  await page.goto(pageFor('jelytech', bot));
  const launcher = page.locator('.cw-launcher');
  await launcher.waitFor();
  await waitFor(() => api.some((call) => call.path === `/v1/bots/${bot.id}` && call.status === 200), 'the bot configuration read');
  const background = () => launcher.evaluate((el) => getComputedStyle(el).backgroundColor);
  await waitFor(async () => (await background()) === 'rgb(225, 29, 72)', "the bot's colour on the launcher");
  await waitFor(async () => (await launcher.boundingBox()).x < 640, 'the launcher in the bottom-left corner');
  await launcher.click();
  assert.match(await page.locator('.cw-msg--greeting').innerText(), /Welcome to Jely Shop! Ask me anything\./);
  await page.waitForTimeout(300); // the panel's opening animation is over
  await page.screenshot({ path: join(artifacts, 'jelytech-bot-configuration.png') });
  assert.deepEqual(page.consoleErrors, []);

  // A page that sets the corner and the colour keeps them; the greeting still comes from the bot.
  const own = await newPage(browser);
  t.after(() => own.context().close());
  const ownApi = recordApi(own, /^\/v1\/bots\//);
  await own.goto(pageFor('jelytech', bot, 'data-position="bottom-right" data-primary-color="#7c3aed"'));
  const ownLauncher = own.locator('.cw-launcher');
  await ownLauncher.waitFor();
  // Nothing about its look is left to the server, so the widget loads when it is wanted.
  await ownLauncher.click();
  await waitFor(() => ownApi.some((call) => call.status === 200), 'the bot configuration read');
  await own.locator('.cw-msg--greeting').filter({ hasText: 'Welcome to Jely Shop!' }).waitFor();
  assert.ok((await ownLauncher.boundingBox()).x > 640, 'data-position="bottom-right" wins');
  assert.equal(await ownLauncher.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(124, 58, 237)', 'data-primary-color wins');
  assert.deepEqual(own.consoleErrors, []);
});

// ---------------------------------------------------------------------------------------------
// When the bot cannot answer now.

test('too many messages: a countdown pauses sending, then one retry delivers the kept message', async (t) => {
  // Two messages per 3-second window; answered as JSON, so the window is far from over.
  const bot = server.createBot('hasty', '--name', 'Hasty', '--rate-limit', '2');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/api\/v1\/chatbots\//);
  await page.goto(pageFor('chatbots', bot, 'data-stream="false"'));
  await openChat(page);
  assert.match(await ask(page, 'Where is my order?'), /order/i);
  assert.equal(await page.locator('.cw-cooldown').count(), 0, 'one message is left in this window');

  // Another visitor of the same bot takes the last one, so the widget cannot know.
  const other = await fetch(`${server.url}/api/v1/chatbots/${bot.id}/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bot.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message: 'Hello', stream: false }),
  });
  assert.equal(other.status, 200);

  await type(page, 'How long does shipping take?');
  await page.locator('.cw-alert').waitFor();
  assert.match(await page.locator('.cw-alert').innerText(), /too quickly/i);
  assert.match(await page.locator('.cw-msg--failed').innerText(), /How long does shipping take\?/);
  await answered(api[1], 'the refusal');
  assert.equal(api[1].status, 429);
  const cooldown = page.locator('.cw-cooldown');
  await cooldown.waitFor();
  const shown = (await cooldown.innerText()).match(/You can send again in (\d+) s\./);
  assert.ok(shown, `a countdown: ${await cooldown.innerText()}`);
  assert.ok(Number(shown[1]) >= 1 && Number(shown[1]) <= 3, `counts down from the server's retry time: ${shown[0]}`);

  // Sending is paused: a typed message cannot go, and neither can the retry.
  await page.locator('.cw-input').fill('Thanks!');
  assert.equal(await page.locator('.cw-send').isDisabled(), true, 'send is disabled during the countdown');
  assert.equal(await page.locator('.cw-retry').isDisabled(), true, 'retry is disabled during the countdown');
  await page.screenshot({ path: join(artifacts, 'rate-limit-countdown.png') });

  // The countdown ends by itself and sending comes back, without sending anything.
  await cooldown.waitFor({ state: 'hidden', timeout: 6000 });
  await waitFor(async () => !(await page.locator('.cw-send').isDisabled()), 'send enabled again', 2000);
  assert.equal(await page.locator('.cw-retry').isDisabled(), false, 'retry enabled again');
  assert.equal(api.length, 2, 'nothing was sent while waiting');

  await page.locator('.cw-retry').click();
  await finishedReplies(page).nth(1).waitFor();
  assert.match(await finishedReplies(page).nth(1).innerText(), /ship|deliver/i);
  assert.equal(await page.locator('.cw-msg--failed').count(), 0, 'delivered by one retry');
  assert.equal(api.length, 3);
  assert.equal(api[2].sent.message, 'How long does shipping take?');
  assert.equal((await answered(api[2], 'the retry')).status, 200);
});

test('a used-up window: the widget waits it out before sending instead of being refused', async (t) => {
  // One message per 3-second window: the first answer says none is left.
  const bot = server.createBot('thrifty', '--name', 'Thrifty', '--rate-limit', '1');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/api\/v1\/chatbots\//);
  await page.goto(pageFor('chatbots', bot, 'data-stream="false"'));
  await openChat(page);
  assert.match(await ask(page, 'Where is my order?'), /order/i);

  const cooldown = page.locator('.cw-cooldown');
  await cooldown.waitFor();
  assert.match(await cooldown.innerText(), /Messages go out again in [1-3] s\./);
  // A message written meanwhile is taken, waits, and goes by itself when the window reopens.
  await type(page, 'How long does shipping take?');
  await page.locator('.cw-msg--visitor').filter({ hasText: 'Waiting to be sent…' }).waitFor();
  assert.equal(await page.locator('.cw-input').inputValue(), '', 'the message left the input');
  assert.equal(api.length, 1, 'nothing is sent during the pause');
  await page.screenshot({ path: join(artifacts, 'used-up-window-waiting.png') });

  // (Its answer uses up the next window at once: the countdown may be back before it is seen gone.)
  await finishedReplies(page).nth(1).waitFor({ timeout: 8000 });
  assert.match(await finishedReplies(page).nth(1).innerText(), /ship|deliver/i);
  assert.deepEqual(api.map((call) => call.status), [200, 200], 'never refused');
  assert.equal(await page.locator('.cw-alert').count(), 0, 'no error to read');
});

test('offline: a banner says so, and a message written meanwhile waits and goes when the connection is back', async (t) => {
  const bot = server.createBot('roaming', '--name', 'Roaming');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/api\/v1\/chatbots\//);
  await page.goto(pageFor('chatbots', bot));
  await openChat(page);
  assert.match(await ask(page, 'Where is my order?'), /order/i);

  await page.context().setOffline(true);
  const banner = page.locator('.cw-banner');
  await banner.waitFor();
  assert.match(await banner.innerText(), /You're offline/);
  await type(page, 'How long does shipping take?');
  const waiting = page.locator('.cw-msg--visitor').filter({ hasText: 'How long does shipping take?' });
  await waiting.filter({ hasText: 'Waiting for the connection…' }).waitFor();
  await page.waitForTimeout(500);
  assert.equal(api.length, 1, 'nothing is sent while offline');
  assert.equal(await page.locator('.cw-msg--failed').count(), 0, 'waiting is not failing');
  await page.screenshot({ path: join(artifacts, 'offline-waiting.png') });

  await page.context().setOffline(false);
  await banner.waitFor({ state: 'hidden' });
  await finishedReplies(page).nth(1).waitFor();
  assert.match(await finishedReplies(page).nth(1).innerText(), /ship|deliver/i);
  assert.equal(await page.getByText('Waiting for the connection…').count(), 0);
  assert.equal(api.length, 2);
  assert.equal(api[1].sent.message, 'How long does shipping take?');
  assert.equal(api[1].sent.conversationId, (await answered(api[0], 'the first answer')).received.conversationId, 'in the same conversation');
});

test('jombot: out of credits, the visitor reads why, keeps the message, and retries once the bot is topped up', async (t) => {
  const bot = server.createBot('broke', '--name', 'Broke', '--credits', '0');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/v1\/chat\/message$/);
  await page.goto(pageFor('jombot', bot));
  await openChat(page);

  await type(page, 'Where is my order?');
  await page.locator('.cw-alert').waitFor();
  assert.match(await page.locator('.cw-alert').innerText(), /usage limit/i);
  assert.match(await page.locator('.cw-msg--failed').innerText(), /Where is my order\?/);
  const refused = await answered(api[0], 'the refusal');
  assert.equal(refused.status, 402);
  assert.equal(refused.received.error.code, 'INSUFFICIENT_CREDITS');
  await page.screenshot({ path: join(artifacts, 'jombot-out-of-credits.png') });

  server.admin('--bot', bot.id, '--credits', 'unlimited');
  await page.locator('.cw-retry').click();
  await finishedReplies(page).first().waitFor();
  assert.match(await finishedReplies(page).first().innerText(), /order/i);
  assert.equal(await page.locator('.cw-msg--failed').count(), 0, 'delivered after the retry');
});

test('every dialect tells the visitor in plain words why the bot cannot answer', async (t) => {
  const cases = [
    { dialect: 'jelytech', settings: ['--quota', '0'], status: 403, says: /usage limit/i, why: 'monthly quota used up' },
    { dialect: 'chataibot', settings: ['--key-active', 'false'], status: 401, says: /unavailable/i, why: 'deactivated key' },
    { dialect: 'openai', settings: ['--origins', 'https://elsewhere.test'], status: 403, says: /unavailable/i, why: 'page origin not allowed' },
    { dialect: 'jombot', settings: ['--quota', '0'], status: 403, says: /usage limit/i, why: 'monthly quota used up' },
  ];
  for (const [i, { dialect, settings, status, says, why }] of cases.entries()) {
    const bot = server.createBot(`refused${i}`, '--name', 'Refused', ...settings);
    const page = await newPage(browser);
    t.after(() => page.context().close());
    const api = recordApi(page, /^\/(api\/)?v1\//);
    await page.goto(pageFor(dialect, bot));
    await openChat(page);
    await type(page, 'Where is my order?');
    await page.locator('.cw-alert').waitFor();
    const alert = await page.locator('.cw-alert').innerText();
    assert.match(alert, says, `${dialect}, ${why}: ${alert}`);
    assert.match(await page.locator('.cw-msg--failed').innerText(), /Where is my order\?/, `${dialect}: the message is kept`);
    const refused = api.find((call) => call.method === 'POST');
    assert.equal((await answered(refused, `${dialect}: the refusal`)).status, status, `${dialect}, ${why}`);
  }
});
