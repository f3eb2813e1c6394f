// Hydrates the whole document once the widget's element is in it. React 18 finds an element
// it did not render in <html>, reports a hydration mismatch, and renders the document again
// on the client: a new <html> takes the place of the one the widget was put in.
const h = React.createElement;
const { api, bot, key } = document.getElementById('app').dataset;

function App() {
  const [count, setCount] = React.useState(0);
  return h('html', { lang: 'en' },
    h('head', null,
      h('meta', { charSet: 'utf-8' }),
      h('title', null, 'React document'),
      h('link', { rel: 'icon', href: 'data:,' }),
      h('script', { src: '/vendor/react.production.min.js' }),
      h('script', { src: '/vendor/react-dom.production.min.js' }),
      h('script', { src: '/pages/react-document.js', defer: true })),
    h('body', null,
      h('main', { id: 'app', 'data-api': api, 'data-bot': bot, 'data-key': key },
        h('h1', null, 'React shop'),
        h('button', { id: 'count', onClick: () => setCount(count + 1) }, `Clicked ${count}`)),
      h('script', { src: '/widget/chat-widget.js', 'data-bot-id': bot, 'data-api-url': api, 'data-api-key': key, 'data-greeting-delay': 'off', async: true })));
}

window.hydration = { errors: [], done: false };
function hydrate() {
  if (!document.querySelector('[data-chat-widget]')) return setTimeout(hydrate, 20);
  window.hydration.html = document.documentElement;
  ReactDOM.hydrateRoot(document, h(App), { onRecoverableError: (error) => window.hydration.errors.push(String(error.message || error)) });
  window.hydration.done = true;
}
hydrate();
