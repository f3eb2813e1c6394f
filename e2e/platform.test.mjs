// The reference server as a chatbot platform, end to end in the browser: a site owner trains
// the demo bot from a new Markdown file through POST /v1/bots/{id}/train and a visitor on
// another origin gets the answer only that file has; and a bot backed by an AI model (the
// fake OpenAI-compatible upstream, a second process on loopback) streams into the widget,
// where Stop aborts the model's request and keeps the words that came, marked as stopped,
// and closing the page aborts it too.
// Screenshots go to e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startServer, startPageServer, launchBrowser, newPage, recordApi, waitFor, artifacts, root } from './support.mjs';

const ADMIN_TOKEN = 'e2e-platform-admin-token';

let server;
let pages;
let browser;
let upstream;

before(async () => {
  server = await startServer({ args: ['--admin-token', ADMIN_TOKEN, '--stream-delay-ms', '10'] });
  pages = await startPageServer({ API: server.url });
  upstream = await startFakeUpstream();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await upstream?.stop();
  await pages?.stop();
  await server?.stop();
});

/**
 * server/tests/support/fake_upstream.mjs on a free port: `url` is its OpenAI base URL,
 * `log()` its GET /log (`requests`, and how many streams it `completed` or saw `aborted`).
 */
async function startFakeUpstream() {
  const child = spawn(process.execPath, [join(root, 'server', 'tests', 'support', 'fake_upstream.mjs'), '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the fake upstream exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      const match = line.match(/^listening (\d+)$/);
      if (match) resolve(Number(match[1]));
      else reject(new Error(`unexpected first line from the fake upstream: ${line}`));
    });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/v1`,
    log: async () => (await fetch(`${base}/log`)).json(),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** e2e/pages/dialect.html (another origin than the server) for `bot` in the chatbots dialect. */
function pageFor(bot) {
  const query = new URLSearchParams({ DIALECT: 'chatbots', BOT: bot.id, KEY: bot.key, EXTRA: '' });
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

/** Sends `text`, waits for the bot's next finished reply and returns its text. */
async function ask(page, text) {
  const earlier = await finishedReplies(page).count();
  await type(page, text);
  await finishedReplies(page).nth(earlier).waitFor();
  return finishedReplies(page).nth(earlier).innerText();
}

/** A call to the server's own API with the admin token as the bearer key. */
async function asAdmin(path, init = {}) {
  const response = await fetch(server.url + path, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...init.headers },
  });
  return { status: response.status, body: await response.json() };
}

// ---------------------------------------------------------------------------------------------

test('the demo bot trained with a new Markdown file answers a visitor from it in the widget', async (t) => {
  const bot = { id: server.bot, key: server.key };
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chats = recordApi(page, /^\/api\/v1\/chatbots\//);
  await page.goto(pageFor(bot));
  await openChat(page);

  // Before training, nothing the bot knows mentions the kettle.
  const question = 'How do I descale the Zephyr kettle?';
  const before = await ask(page, question);
  assert.doesNotMatch(before, /citric acid/i, `the demo FAQ cannot answer this yet: ${before}`);

  // The site owner uploads the file, as README's curl does (multipart `file` + `metadata`).
  const markdown = readFileSync(join(root, 'e2e', 'fixtures', 'zephyr-kettle.md'));
  const form = new FormData();
  form.append('file', new Blob([markdown], { type: 'text/markdown' }), 'zephyr-kettle.md');
  form.append('metadata', JSON.stringify({ title: 'Zephyr kettle care', category: 'products' }));
  const trained = await asAdmin(`/v1/bots/${bot.id}/train`, { method: 'POST', body: form });
  assert.equal(trained.status, 201, JSON.stringify(trained.body));
  const document = trained.body.document;
  assert.match(document.id, /^doc_/);
  assert.equal(document.title, 'Zephyr kettle care');
  assert.ok(document.chunks >= 2, `one passage per section at least: ${JSON.stringify(document)}`);
  const listed = await asAdmin(`/v1/bots/${bot.id}/documents`);
  assert.ok(listed.body.documents.some((d) => d.id === document.id), 'the new document is listed');

  // The same question on the same page now gets the file's answer, with its follow-up.
  const after = await ask(page, question);
  assert.match(after, /citric acid/i, `answered from the new file: ${after}`);
  assert.match(after, /twenty minutes/i);
  const followUp = page.locator('.cw-actions .cw-action').filter({ hasText: 'Which water filter fits the Zephyr kettle?' });
  await followUp.waitFor();
  await page.waitForTimeout(300); // the quick replies' fade-in is over, for the screenshot
  await page.screenshot({ path: join(artifacts, 'platform-trained-answer.png') });
  await followUp.click();
  await finishedReplies(page).nth(2).filter({ hasText: 'ZF-7' }).waitFor();

  // The answers came from the server over the widget's own requests.
  await waitFor(() => chats.length === 3 && chats.every((call) => call.status === 200), 'three answered chats');

  // Deleting the document takes its answers away again.
  const deleted = await asAdmin(`/v1/bots/${bot.id}/documents/${document.id}`, { method: 'DELETE' });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
  const afterDelete = await ask(page, question);
  assert.doesNotMatch(afterDelete, /citric acid/i, `the deleted file answers no more: ${afterDelete}`);
  assert.deepEqual(page.consoleErrors, []);
});

test("Stop in the widget aborts the AI model's request and keeps the partial reply, marked stopped", async (t) => {
  const bot = server.createBot('storyteller', '--name', 'Storyteller', '--upstream-url', upstream.url, '--upstream-model', 'slow');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(pageFor(bot));
  await openChat(page);

  // The model ("slow") streams w0, w1, … one word at a time; the widget shows them as they come.
  const question = 'Tell me a very long story';
  await type(page, question);
  const streaming = page.locator('.cw-msg--bot.cw-msg--streaming .cw-bubble');
  await streaming.filter({ hasText: 'w3' }).waitFor();
  const log = await upstream.log();
  assert.equal(log.requests.length, 1, 'one request to the model');
  assert.equal(log.requests[0].model, 'slow');
  assert.equal(log.requests[0].body.stream, true, 'the model is asked to stream');
  assert.equal(log.requests[0].body.messages.at(-1).content, question, "the visitor's message reaches the model");

  await page.locator('.cw-stop').click();

  // The model's request is closed before its end: the fake counts it aborted, never completed.
  await waitFor(async () => (await upstream.log()).aborted === 1, 'the fake upstream to see its request aborted');
  assert.equal((await upstream.log()).completed, 0, 'the model did not finish the reply');

  // The words that came stay, as a finished (not streaming) reply marked "Stopped.".
  const reply = page.locator('.cw-msg--bot:not(.cw-msg--greeting)');
  await reply.locator('.cw-status--muted').filter({ hasText: 'Stopped.' }).waitFor();
  assert.equal(await page.locator('.cw-msg--streaming').count(), 0, 'no longer streaming');
  assert.equal(await page.locator('.cw-stop').count(), 0, 'the send button is back');
  const shown = (await reply.locator('.cw-bubble').innerText()).trim();
  assert.match(shown, /^w0 w1 w2 w3\b/, `the partial reply stays shown: ${shown}`);
  assert.doesNotMatch(shown, /w199/, 'not the whole reply');
  await page.screenshot({ path: join(artifacts, 'platform-upstream-stopped.png') });

  // The server stored what it had, marked partial (read back in jelytech's history, which
  // serves the same conversations), and the widget did not lose it meanwhile.
  const stored = await page.evaluate(() => Object.values(localStorage).join('\n'));
  const conversationId = stored.match(/conv_[A-Za-z0-9_-]+/)?.[0];
  assert.ok(conversationId, `the widget keeps the conversation id: ${stored}`);
  let history;
  await waitFor(async () => {
    const response = await fetch(`${server.url}/v1/chat/history/${conversationId}`, { headers: { authorization: `Bearer ${bot.key}` } });
    history = await response.json();
    return history.messages?.length === 2 && history.messages[1].partial === true;
  }, 'the partial reply stored');
  assert.equal(history.messages[0].content, question);
  assert.ok(history.messages[1].content.startsWith(shown), `stored as far as it was sent: ${history.messages[1].content}`);
  assert.equal((await reply.locator('.cw-bubble').innerText()).trim(), shown, 'the partial reply is still shown');
  assert.deepEqual(page.consoleErrors, []);
});

test('a visitor who closes the page while the AI model writes aborts its request too', async (t) => {
  const bot = server.createBot('narrator', '--name', 'Narrator', '--upstream-url', upstream.url, '--upstream-model', 'slow');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(pageFor(bot));
  await openChat(page);
  const { aborted, completed, requests } = await upstream.log();

  await type(page, 'Another very long story, please');
  await page.locator('.cw-msg--bot.cw-msg--streaming .cw-bubble').filter({ hasText: 'w2' }).waitFor();
  assert.equal((await upstream.log()).requests.length, requests.length + 1, 'the model was asked');
  await page.close();

  await waitFor(async () => (await upstream.log()).aborted === aborted + 1, 'the fake upstream to see the request aborted');
  assert.equal((await upstream.log()).completed, completed, 'the model did not finish the reply');
});

test('a chataibot visitor who goes to another page before the AI model has answered finds the answer there', async (t) => {
  const bot = server.createBot('chronicler', '--name', 'Chronicler', '--upstream-url', upstream.url, '--upstream-model', 'slow');
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const query = new URLSearchParams({ DIALECT: 'chataibot', BOT: bot.id, KEY: bot.key, EXTRA: '' });
  await page.goto(`${pages.url}/pages/dialect.html?${query}`);
  await openChat(page);
  const asked = (await upstream.log()).requests.length;
  const api = recordApi(page, /^\/api\//);

  // The model ("slow") takes 20 s; the visitor moves on after it is asked.
  const question = 'Tell me the whole saga';
  await type(page, question);
  await waitFor(async () => (await upstream.log()).requests.length === asked + 1, 'the model to be asked');
  assert.equal(api.filter((r) => r.method === 'POST').length, 1, 'the question posted');
  await page.reload();

  // The next page shows the question from the server, waits for its answer, and posts nothing.
  await openChat(page);
  await page.locator('.cw-msg--visitor').filter({ hasText: question }).waitFor();
  const answer = finishedReplies(page).filter({ hasText: 'w199' });
  await answer.waitFor({ timeout: 40_000 });
  assert.ok((await answer.innerText()).startsWith('w0 w1 w2'), 'the whole answer');
  assert.equal(await page.locator('.cw-msg--visitor').count(), 1, 'the question once');
  assert.equal(api.filter((r) => r.method === 'POST').length, 1, 'nothing posted again');
  assert.ok(
    api.some((r) => r.method === 'GET' && r.query.get('after')),
    `the answer awaited after the question: ${api.map((r) => `${r.method} ${r.path}?${r.query}`).join(', ')}`,
  );
  assert.equal((await upstream.log()).requests.length, asked + 1, 'the model was asked once');
  await page.screenshot({ path: join(artifacts, 'platform-chataibot-answer-after-reload.png') });
  assert.deepEqual(page.consoleErrors, []);
});
