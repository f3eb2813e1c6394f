// A visitor's whole journey with the real widget build, the real reference server and
// Chromium: open, send, see the answer, reload, continue the same conversation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, startHostPage, launchBrowser, newPage, recordChat, waitFor, artifacts } from './support.mjs';

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

const botReplies = (page) => page.locator('.cw-msg--bot:not(.cw-msg--greeting) .cw-bubble');

async function sendMessage(page, text) {
  const input = page.locator('.cw-input');
  await input.fill(text);
  await input.press('Enter');
}

test('on the demo page a visitor chats, reloads and continues the same conversation', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  await page.goto(server.url + '/');

  const launcher = page.locator('.cw-launcher');
  await launcher.waitFor();
  assert.equal(await launcher.getAttribute('aria-label'), 'Open chat');
  await launcher.click();
  await page.locator('.cw-panel').waitFor();
  assert.match(await page.locator('.cw-msg--greeting').innerText(), /Acme assistant/i, 'the greeting is the first message');
  await waitFor(async () => (await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.className)) === 'cw-input', 'focus in the input');

  await sendMessage(page, 'Where is my order?');
  await page.locator('.cw-msg--visitor').filter({ hasText: 'Where is my order?' }).waitFor();
  await botReplies(page).first().waitFor();
  const firstAnswer = await botReplies(page).first().innerText();
  assert.match(firstAnswer, /order/i, `a relevant answer: ${firstAnswer}`);
  await page.screenshot({ path: join(artifacts, 'demo-conversation.png') });

  assert.equal(chat.length, 1);
  assert.equal(chat[0].sent.conversationId, undefined, 'the first message starts a conversation');
  const conversationId = chat[0].received.data.conversationId;
  assert.match(conversationId, /^conv_/);

  await page.reload();
  await page.locator('.cw-launcher').click();
  await sendMessage(page, 'How long does shipping take?');
  await waitFor(() => chat.length === 2 && chat[1].received, 'the second exchange');
  assert.equal(chat[1].sent.conversationId, conversationId, 'after a reload the widget continues the conversation');
  assert.equal(chat[1].received.data.conversationId, conversationId, 'the server recognised the same conversation');
  await botReplies(page).first().waitFor();
  assert.match(await botReplies(page).first().innerText(), /ship|deliver/i);
  assert.deepEqual(page.consoleErrors, []);
});

test('a site on another origin embeds the widget with one script tag', async (t) => {
  const host = await startHostPage(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Someone else's site</title><link rel="icon" href="data:,"></head>
<body>
  <h1>Plain page on another origin</h1>
  <script src="${server.url}/widget/chat-widget.js" data-bot-id="${server.bot}" data-api-url="${server.url}"
    data-api-key="${server.key}" data-position="bottom-left" data-primary-color="#0a7cff"
    data-greeting="Hi! How can I help?" async></script>
</body></html>`);
  t.after(() => host.stop());
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  await page.goto(host.url);

  const launcher = page.locator('.cw-launcher');
  await launcher.waitFor();
  const box = await launcher.boundingBox();
  assert.ok(box.x < 640, `data-position=bottom-left puts the launcher on the left (x=${box.x})`);
  const colours = await launcher.evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
  assert.equal(colours[1], 'rgb(255, 255, 255)', 'white text on the blue launcher');

  await launcher.click();
  assert.match(await page.locator('.cw-msg--greeting').innerText(), /Hi! How can I help\?/);
  await sendMessage(page, 'Can I return shoes?');
  await botReplies(page).first().waitFor();
  assert.match(await botReplies(page).first().innerText(), /return/i);
  assert.equal(chat[0].status, 200);
  await page.screenshot({ path: join(artifacts, 'foreign-origin.png') });

  // Escape closes the panel and gives focus back to the launcher.
  await page.keyboard.press('Escape');
  await page.locator('.cw-panel').waitFor({ state: 'hidden' });
  await waitFor(
    async () => /cw-launcher/.test(await page.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.className)),
    'focus back on the launcher',
  );
  assert.deepEqual(page.consoleErrors, []);
});

test('when the bot is out of credits the visitor keeps the message and can retry', async (t) => {
  server.admin('--bot', server.bot, '--credits', '0');
  t.after(() => server.admin('--bot', server.bot, '--credits', 'unlimited'));
  const page = await newPage(browser);
  t.after(() => page.context().close());
  await page.goto(server.url + '/');
  await page.locator('.cw-launcher').click();
  await sendMessage(page, 'Do you ship to Canada?');
  await page.locator('.cw-alert').waitFor();
  assert.match(await page.locator('.cw-alert').innerText(), /usage limit/i);
  assert.match(await page.locator('.cw-msg--failed').innerText(), /Do you ship to Canada\?/);
  await page.screenshot({ path: join(artifacts, 'out-of-credits.png') });

  server.admin('--bot', server.bot, '--credits', 'unlimited');
  await page.locator('.cw-retry').click();
  await botReplies(page).first().waitFor();
  assert.equal(await page.locator('.cw-msg--failed').count(), 0, 'delivered after retry');
});
