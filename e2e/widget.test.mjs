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

const botReplies = (page) => page.locator('.cw-msg--bot:not(.cw-msg--greeting):not(.cw-msg--streaming) .cw-bubble');

/** Waits until the bot has finished `count` replies and returns the last one's text. */
async function finishedReply(page, count = 1) {
  await botReplies(page).nth(count - 1).waitFor();
  return botReplies(page).nth(count - 1).innerText();
}

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
  const firstAnswer = await finishedReply(page);
  assert.match(firstAnswer, /order/i, `a relevant answer: ${firstAnswer}`);
  await page.screenshot({ path: join(artifacts, 'demo-conversation.png') });

  assert.equal(chat.length, 1);
  assert.equal(chat[0].sent.conversationId, undefined, 'the first message starts a conversation');
  await waitFor(() => chat[0]?.received, 'the first exchange');
  const conversationId = chat[0].received.conversationId;
  assert.match(conversationId, /^conv_/);

  await page.reload();
  await page.locator('.cw-launcher').click();
  assert.equal((await finishedReply(page)).trim(), firstAnswer.trim(), 'the conversation is shown again');
  await sendMessage(page, 'How long does shipping take?');
  await waitFor(() => chat.length === 2 && chat[1].received, 'the second exchange');
  assert.equal(chat[1].sent.conversationId, conversationId, 'after a reload the widget continues the conversation');
  assert.equal(chat[1].received.conversationId, conversationId, 'the server recognised the same conversation');
  assert.match(await finishedReply(page, 2), /ship|deliver/i);
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
  assert.match(await finishedReply(page), /return/i);
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
  await finishedReply(page);
  assert.equal(await page.locator('.cw-msg--failed').count(), 0, 'delivered after retry');
});

test('a streamed reply is written out word by word, can be stopped, and offers quick replies', async (t) => {
  const page = await newPage(browser);
  t.after(() => page.context().close());
  const chat = recordChat(page);
  await page.goto(server.url + '/');
  await page.locator('.cw-launcher').click();

  // Watch the reply grow: record the bubble's text length every frame while it streams.
  await sendMessage(page, 'How do I embed the widget?');
  await page.locator('.cw-msg--streaming .cw-bubble > *').first().waitFor();
  const lengths = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const seen = [];
        const root = document.querySelector('[data-chat-widget]').shadowRoot;
        const sample = () => {
          const bubble = root.querySelector('.cw-msg--bot:last-of-type .cw-bubble');
          seen.push(bubble ? bubble.textContent.length : 0);
          if (root.querySelector('.cw-msg--streaming')) requestAnimationFrame(sample);
          else resolve(seen);
        };
        sample();
      }),
  );
  const distinct = new Set(lengths).size;
  assert.ok(distinct > 5, `the text grew in many steps, not at once (${distinct} distinct lengths)`);
  assert.ok(lengths.every((n, i) => i === 0 || n >= lengths[i - 1] || i === lengths.length - 1), 'text never vanishes while streaming');
  const answer = await finishedReply(page);
  assert.match(answer, /script/i);
  assert.equal(await page.locator('.cw-msg--bot pre code').count() > 0, true, 'the code block is rendered');
  assert.equal(chat[0].status, 200);

  // Quick replies under the finished answer, usable with the keyboard.
  const actions = page.locator('.cw-actions .cw-action');
  await actions.first().waitFor();
  const label = await actions.first().innerText();
  await actions.first().focus();
  await page.keyboard.press('Enter');
  await page.locator('.cw-msg--visitor').filter({ hasText: label }).waitFor();
  assert.equal(await page.locator('.cw-actions').count(), 0, 'the buttons go away once one is chosen');
  await finishedReply(page, 2);

  // Stop part-way keeps what arrived; the next message works normally.
  await sendMessage(page, 'What is your returns policy?');
  await page.locator('.cw-msg--streaming .cw-bubble > *').first().waitFor();
  await page.locator('.cw-stop').click();
  await page.locator('.cw-status--muted').filter({ hasText: 'Stopped' }).waitFor();
  const partial = await botReplies(page).nth(2).innerText();
  assert.ok(partial.length > 0, 'the partial text stays');
  // Cut inside "**30 days**", it shows what the Markdown would have become, not asterisks.
  assert.ok(!partial.includes('*'), `no raw Markdown markers in ${JSON.stringify(partial)}`);
  await sendMessage(page, 'Thanks!');
  assert.match(await finishedReply(page, 4), /welcome/i);
  await page.screenshot({ path: join(artifacts, 'streaming-stop-quick-replies.png') });
  assert.deepEqual(page.consoleErrors, []);
});
