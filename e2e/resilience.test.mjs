// A bad network and a misbehaving server, as the visitor sees them: a reply that goes silent
// or never starts, a stream cut in the middle of an event, the connection lost while a reply
// streams in, a page that broke customElements.define, a page that sends many messages on the
// visitor's behalf, and a message that could not be sent when the visitor moves to another
// page. The silent and cut streams come from a small fake API in this file (the reference
// server never misbehaves); everything else runs against the real server.
// Screenshots of each failure go to e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startServer, startPageServer, launchBrowser, newPage, recordApi, waitFor, artifacts } from './support.mjs';

let server;
let pages;
let browser;
let fake;

before(async () => {
  // Slow streams (a word every 150 ms), so the connection can drop in the middle of one.
  server = await startServer({ args: ['--rate-window-s', '3', '--stream-delay-ms', '150', '--reply-delay-ms', '200'] });
  pages = await startPageServer({ API: server.url });
  fake = await startMisbehavingApi();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await fake?.stop();
  await pages?.stop();
  await server?.stop();
});

/**
 * A fake chatbots and OpenAI-compatible API that misbehaves on request, by the visitor's
 * words: "stall" sends part of the reply and then nothing (the connection stays open), "hang"
 * never sends the headers, "cut" ends the stream in the middle of an event, "break" drops the
 * connection there. The second time it hears the same words it answers in full.
 */
async function startMisbehavingApi() {
  const heard = new Map();
  const sockets = new Set();
  const openaiChunk = (text) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-9xA7', object: 'chat.completion.chunk', created: 1733300000, model: 'demo', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
  const events = {
    chatbots: {
      start: 'event: start\ndata: {"conversationId":"conv_fake","messageId":"m1"}\n\n',
      chunk: (text) => `event: delta\ndata: ${JSON.stringify({ content: text })}\n\n`,
      end: (text) => `event: done\ndata: ${JSON.stringify({ conversationId: 'conv_fake', messageId: 'm1', response: text })}\n\n`,
    },
    openai: { start: '', chunk: openaiChunk, end: () => 'data: [DONE]\n\n' },
  };
  const http = createServer(async (request, response) => {
    response.setHeader('access-control-allow-origin', '*');
    response.setHeader('access-control-allow-headers', 'authorization, content-type');
    response.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    if (request.method === 'OPTIONS') return response.writeHead(204).end();
    let body = '';
    for await (const chunk of request) body += chunk;
    const sent = JSON.parse(body || '{}');
    const dialect = request.url.startsWith('/v1/chat/completions') ? 'openai' : 'chatbots';
    const words = dialect === 'openai' ? sent.messages.at(-1).content : sent.message;
    const key = `${request.url} ${sent.model} ${words}`;
    const times = (heard.get(key) ?? 0) + 1;
    heard.set(key, times);
    const mode = times > 1 ? 'answer' : (['stall', 'hang', 'cut', 'break'].find((m) => words.includes(m)) ?? 'answer');
    if (mode === 'hang') return; // the headers never come
    const wire = events[dialect];
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.write(wire.start + wire.chunk('The first half of the answer'));
    if (mode === 'stall') return; // and then nothing, with the connection open
    if (mode === 'cut' || mode === 'break') {
      const next = wire.chunk(' and the second half');
      response.write(next.slice(0, next.indexOf('second')));
      return mode === 'cut' ? response.end() : setTimeout(() => request.socket.destroy(), 50);
    }
    response.end(wire.chunk(', and the second half.') + wire.end('The first half of the answer, and the second half.'));
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${http.address().port}`,
    stop() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => http.close(resolve));
    },
  };
}

/** e2e/pages/dialect.html for `bot` in `dialect`, against `api`; `extra` is more data-* attributes. */
function pageFor(dialect, bot, extra = '', api = server.url) {
  const query = new URLSearchParams({ DIALECT: dialect, BOT: bot.id, KEY: bot.key, EXTRA: extra, API: api });
  return `${pages.url}/pages/dialect.html?${query}`;
}

const botReplies = (page) => page.locator('.cw-msg--bot:not(.cw-msg--greeting) .cw-bubble');

async function openChat(page) {
  await page.locator('.cw-launcher').click();
  await page.locator('.cw-panel').waitFor();
}

async function type(page, text) {
  const input = page.locator('.cw-input');
  await input.fill(text);
  await input.press('Enter');
}

for (const dialect of ['chatbots', 'openai']) {
  test(`${dialect}: a reply that goes silent or never starts is given up after data-reply-timeout, and Retry gets it`, async (t) => {
    const page = await newPage(browser);
    t.after(() => page.context().close());
    await page.goto(pageFor(dialect, { id: 'silent', key: 'pk_fake' }, 'data-reply-timeout="2"', fake.url));
    await openChat(page);

    // The reply starts, then nothing more comes: the words so far stay, marked, with Retry.
    await type(page, 'Please stall');
    await botReplies(page).first().filter({ hasText: 'The first half of the answer' }).waitFor();
    const retryReply = page.locator('.cw-msg--bot .cw-retry');
    await retryReply.waitFor();
    assert.match(await page.locator('.cw-alert').innerText(), /stopped before the reply was finished/);
    assert.equal(await page.locator('.cw-typing').count(), 0, 'no endless typing');
    assert.equal(await page.locator('.cw-stop').count(), 0, 'the send button is back');
    await page.screenshot({ path: join(artifacts, `silence-stalled-${dialect}.png`) });
    await retryReply.click();
    await botReplies(page).first().filter({ hasText: 'and the second half.' }).waitFor();
    assert.equal(await botReplies(page).count(), 1, 'Retry fills the same bubble');
    await page.locator('.cw-alert').waitFor({ state: 'detached' });

    // The response never starts: the message is marked, with the reason and Retry.
    await type(page, 'Please hang');
    const failed = page.locator('.cw-msg--failed').filter({ hasText: 'Please hang' });
    await failed.locator('.cw-retry').waitFor();
    assert.match(await page.locator('.cw-alert').innerText(), /No answer came in time/);
    assert.equal(await page.locator('.cw-typing').count(), 0, 'no endless typing');
    await page.screenshot({ path: join(artifacts, `silence-hung-${dialect}.png`) });
    await failed.locator('.cw-retry').click();
    await botReplies(page).nth(1).filter({ hasText: 'and the second half.' }).waitFor();
    assert.equal(await page.locator('.cw-msg--failed').count(), 0);
    assert.equal(await page.locator('.cw-msg--visitor').count(), 2, 'nothing duplicated');
  });

  // Many pages wrap fetch (analytics, error trackers) and some wrappers pass the request on
  // without its AbortSignal: aborting then does not end the request. The widget must not
  // wait on it: a silent reply is still given up, and Stop still stops.
  test(`${dialect}: on a page whose fetch wrapper drops the abort signal, a silent reply is given up and Stop stops`, async (t) => {
    const page = await newPage(browser);
    t.after(() => page.context().close());
    await page.addInitScript(() => {
      const realFetch = window.fetch;
      window.fetch = async (input, init) => {
        if (!(input instanceof Request)) return realFetch(input, init && { ...init, signal: undefined });
        const body = input.method === 'GET' || input.method === 'HEAD' ? undefined : await input.clone().text();
        return realFetch(input.url, { method: input.method, headers: input.headers, body });
      };
    });
    await page.goto(pageFor(dialect, { id: 'unabortable', key: 'pk_fake' }, 'data-reply-timeout="2"', fake.url));
    await openChat(page);

    await type(page, 'Please stall');
    await botReplies(page).first().filter({ hasText: 'The first half of the answer' }).waitFor();
    await page.locator('.cw-msg--bot .cw-retry').waitFor();
    assert.equal(await page.locator('.cw-stop').count(), 0, 'the send button is back');

    await type(page, 'Please hang');
    await page.locator('.cw-msg--failed').filter({ hasText: 'Please hang' }).locator('.cw-retry').waitFor();
    assert.equal(await page.locator('.cw-typing').count(), 0, 'no endless typing');

    // Stop, while the reply is silent: it stops at once, and the next message goes.
    await type(page, 'Another stall please');
    await botReplies(page).nth(1).filter({ hasText: 'The first half of the answer' }).waitFor();
    await page.locator('.cw-stop').click();
    // Within the 2 s silence deadline: Stop itself ended it.
    await page.locator('.cw-stop').waitFor({ state: 'detached', timeout: 1500 });
    await type(page, 'Thanks');
    await botReplies(page).nth(2).filter({ hasText: 'and the second half.' }).waitFor();
  });

  test(`${dialect}: a stream cut in the middle of an event shows no wire text`, async (t) => {
    const page = await newPage(browser);
    t.after(() => page.context().close());
    await page.goto(pageFor(dialect, { id: 'cut', key: 'pk_fake' }, '', fake.url));
    await openChat(page);
    for (const [index, words] of ['Please cut', 'Please break'].entries()) {
      await type(page, words);
      await botReplies(page).nth(index).filter({ hasText: 'The first half of the answer' }).waitFor();
      await page.locator('.cw-stop').waitFor({ state: 'detached' });
      const shown = await botReplies(page).nth(index).innerText();
      assert.equal(shown.trim(), 'The first half of the answer', `${words}: only the reply's words`);
      assert.doesNotMatch(await page.locator('.cw-messages').innerText(), /chatcmpl|\{|"content"|data:/, `${words}: no wire text anywhere`);
      assert.equal(await page.locator('.cw-msg--bot .cw-retry').count(), index + 1, `${words}: the cut reply is marked, with Retry`);
    }
    await page.screenshot({ path: join(artifacts, `cut-stream-${dialect}.png`) });
  });

  test(`${dialect}: the connection drops while a reply streams in; once it is back, Retry and the next message work`, async (t) => {
    // The demo bot: it answers from the FAQ, in replies long enough to lose the connection in.
    const bot = { id: server.bot, key: server.key };
    const page = await newPage(browser);
    t.after(() => page.context().close());
    const api = recordApi(page, dialect === 'openai' ? /^\/v1\/chat\/completions$/ : /^\/api\/v1\/chatbots\//);
    await page.goto(pageFor(dialect, bot));
    await openChat(page);

    await type(page, 'How long does shipping take?');
    const reply = botReplies(page).first();
    await waitFor(async () => (await reply.count()) > 0 && (await reply.innerText()).trim().split(/\s+/).length >= 3, 'the reply under way');
    await page.context().setOffline(true);
    await page.locator('.cw-banner').waitFor();
    const retry = page.locator('.cw-msg--bot .cw-retry');
    await retry.waitFor();
    const partial = (await reply.innerText()).trim();
    assert.ok(partial.length > 0, 'the words so far stay');
    assert.match(await page.locator('.cw-alert').innerText(), /connection dropped/);
    assert.equal(await page.locator('.cw-stop').count(), 0, 'not stuck on the reply');
    await page.screenshot({ path: join(artifacts, `offline-mid-stream-${dialect}.png`) });

    await page.context().setOffline(false);
    await page.locator('.cw-banner').waitFor({ state: 'detached' });
    await retry.click();
    await page.locator('.cw-msg--streaming').waitFor({ state: 'detached' });
    await waitFor(async () => (await page.locator('.cw-stop').count()) === 0, 'the retried reply to end', 60000);
    assert.match(await reply.innerText(), /ship|deliver/i, 'Retry gets the whole reply');
    assert.equal(await page.locator('.cw-alert').count(), 0);

    await type(page, 'Can I return shoes?');
    await botReplies(page).nth(1).waitFor();
    await waitFor(async () => (await page.locator('.cw-stop').count()) === 0, 'the next reply to end', 60000);
    assert.match(await botReplies(page).nth(1).innerText(), /return/i, 'and the next message works');
    assert.equal(await page.locator('.cw-alert').count(), 0);
    assert.ok(api.length >= 3);
    assert.equal(api.at(-1).status, 200);
  });
}

test('a page whose customElements.define throws still gets the script-tag widget, with a console note', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const warnings = [];
  page.on('console', (message) => message.type() === 'warning' && warnings.push(message.text()));
  await page.goto(`${pages.url}/pages/broken-elements.html?BOT=${server.bot}&KEY=${server.key}`);
  await openChat(page);
  await type(page, 'Where is my order?');
  await botReplies(page).first().waitFor();
  await page.locator('.cw-stop').waitFor({ state: 'detached' });
  assert.match(await botReplies(page).first().innerText(), /order/i);
  assert.ok(warnings.some((text) => /<chat-widget> is not available/.test(text)), `a console note: ${warnings}`);
  assert.equal(await page.evaluate(() => customElements.get('chat-widget')), undefined);
  assert.deepEqual(page.consoleErrors, []);
  await page.screenshot({ path: join(artifacts, 'broken-custom-elements.png') });
});

test('send() from the page queues behind the reply and a used-up window, and every Promise says delivered', async (t) => {
  // Five messages per 3-second window: the queue runs into a used-up window and waits it out.
  const bot = server.createBot('queue', '--name', 'Queue', '--rate-limit', '5');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/api\/v1\/chatbots\//);
  await page.goto(pageFor('chatbots', bot, 'data-stream="false"'));
  // Twelve calls in a row, before the widget has even loaded.
  const outcomes = page.evaluate(() => Promise.all(Array.from({ length: 12 }, (_, i) => ChatWidget.send(`Question ${i + 1}: where is my order?`))));
  await page.locator('.cw-panel').waitFor();
  await waitFor(async () => (await page.locator('.cw-status--muted').filter({ hasText: 'Waiting to be sent' }).count()) > 0, 'messages waiting their turn');
  await page.screenshot({ path: join(artifacts, 'send-queue-waiting.png') });
  const results = await outcomes;
  assert.deepEqual(results, Array.from({ length: 12 }, () => ({ delivered: true })));
  assert.deepEqual(
    api.map((call) => call.sent.message),
    Array.from({ length: 12 }, (_, i) => `Question ${i + 1}: where is my order?`),
    'all of them, in order, once each',
  );
  assert.ok(api.every((call) => call.status === 200), `never refused: ${api.map((c) => c.status)}`);
  assert.equal(await botReplies(page).count(), 12);
  assert.equal(await page.locator('.cw-msg--failed').count(), 0);
  assert.deepEqual(page.consoleErrors, []);
});

test('chataibot on a shared computer: after logout() the next visitor starts clean, with an id of their own', async (t) => {
  const bot = server.createBot('shared', '--name', 'Shared');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const api = recordApi(page, /^\/api\/v1\/conversation/);
  const starts = () => api.filter((call) => call.method === 'POST' && call.path === '/api/v1/conversations');
  await page.goto(pageFor('chataibot', bot));
  await page.evaluate(() => {
    ChatWidget.identify({ userId: 'visitor_a', name: 'Ada Lovelace', email: 'ada@example.com' });
    ChatWidget.setContext({ plan: 'analytical-engine' });
  });
  await openChat(page);
  await type(page, 'Where is my order, for Ada?');
  await botReplies(page).first().waitFor();
  await waitFor(() => starts()[0]?.received, 'A\'s conversation started');
  const first = starts()[0];
  const visitorA = first.sent.from.user_external_id;
  const conversationA = first.received.conversation.id;

  await page.evaluate(() => ChatWidget.logout());
  await waitFor(async () => (await page.locator('.cw-msg--visitor').count()) === 0, 'an empty conversation');
  const shadow = await page.evaluate(() => document.querySelector('[data-chat-widget]').shadowRoot.innerHTML);
  for (const trace of ['Ada', visitorA, conversationA, 'order']) assert.ok(!shadow.includes(trace), `no ${trace} in the widget`);
  const stored = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
  for (const trace of ['Ada', visitorA, conversationA]) assert.ok(!stored.includes(trace), `no ${trace} in storage`);
  await page.screenshot({ path: join(artifacts, 'logout-next-visitor.png') });

  await type(page, 'Hello, I am someone else');
  await botReplies(page).first().waitFor();
  await waitFor(() => starts()[1]?.received, 'B\'s conversation started');
  const second = starts()[1];
  const sentByB = JSON.stringify(api.slice(api.indexOf(second)).map((call) => [call.path, call.sent]));
  for (const trace of ['Ada', 'ada@example.com', 'analytical-engine', visitorA, conversationA]) {
    assert.ok(!sentByB.includes(trace), `B's requests carry no ${trace}: ${sentByB}`);
  }
  assert.notEqual(second.received.conversation.id, conversationA, 'a conversation of their own');
  assert.deepEqual(page.consoleErrors, []);
});

for (const dialect of ['chatbots', 'chataibot']) {
  test(`${dialect}: a message that could not reach the server, and a half-typed one, are there after a reload`, async (t) => {
    const bot = { id: server.bot, key: server.key };
    const page = await newPage(browser);
    t.after(() => page.context().close());
    const api = recordApi(page, /^\/api\/v1\//);
    await page.goto(pageFor(dialect, bot));
    await openChat(page);

    // The chat service cannot be reached: the message fails (and keeps failing its retries).
    const unreachable = (route) => route.abort('connectionrefused');
    await page.route(`${server.url}/**`, unreachable);
    await type(page, 'Can you call me back tomorrow?');
    const failed = page.locator('.cw-msg--failed').filter({ hasText: 'Can you call me back tomorrow?' });
    await failed.waitFor();
    await page.locator('.cw-input').fill('And one more thing about my');
    await page.waitForTimeout(200);

    // The visitor goes to another page of the site (here: the same page again).
    await page.unroute(`${server.url}/**`, unreachable);
    await page.reload();
    await openChat(page);
    await failed.locator('.cw-retry').waitFor();
    assert.equal(await page.locator('.cw-msg--visitor').count(), 1);
    assert.equal(await page.locator('.cw-input').inputValue(), 'And one more thing about my', 'the draft is back');
    assert.match(await page.locator('.cw-alert').innerText(), /couldn't be sent/);
    const posts = () => api.filter((call) => call.method === 'POST').length;
    const tried = posts(); // the attempts that could not get through
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(artifacts, `unsent-after-reload-${dialect}.png`) });
    assert.equal(posts(), tried, 'nothing goes out without the visitor');

    await failed.locator('.cw-retry').click();
    await botReplies(page).first().waitFor();
    await page.locator('.cw-msg--failed').waitFor({ state: 'detached' });
    assert.equal(posts(), tried + 1, 'sent once');
    assert.equal(await page.locator('.cw-msg--visitor').count(), 1, 'shown once');
    assert.equal(await page.locator('.cw-input').inputValue(), 'And one more thing about my', 'the draft stays in the input');
    assert.deepEqual(page.consoleErrors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  });
}
