// The README's JavaScript API example. Runs right after the loader, before the widget's
// WebAssembly is ready: these calls wait in a queue and run in order.
const log = (text) => {
  const item = document.createElement('li');
  item.textContent = text;
  document.getElementById('log').append(item);
};

ChatWidget.on('ready', () => log('ready'));
ChatWidget.on('open', () => log('open'));
ChatWidget.on('close', () => log('close'));
ChatWidget.on('message-sent', (detail) => log(`sent: ${detail.text}`));
ChatWidget.on('message.received', (detail) => log(`received in ${detail.conversationId}`));
ChatWidget.on('error', (detail) => log(`error: ${detail.code}`));

ChatWidget.identify({ userId: 'user_42', name: 'Ada', email: 'ada@example.com' });
ChatWidget.setContext({ plan: 'pro', page: location.pathname });
ChatWidget.open();
ChatWidget.send('Where is my order?');

document.getElementById('help').addEventListener('click', () => ChatWidget.send('How long does shipping take?'));
