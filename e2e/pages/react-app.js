// The README's React example, written without JSX so it runs without a build step.
// With JSX: <chat-widget ref={ref} bot-id="demo" api-url="..." api-key="..." />
const { createElement: h, useEffect, useRef, useState } = React;
const { api, bot, key } = document.getElementById('root').dataset;

function Support() {
  const ref = useRef(null);
  const [lastReply, setLastReply] = useState('');
  useEffect(() => {
    const widget = ref.current;
    const onReply = (event) => setLastReply(event.detail.text);
    widget.addEventListener('chat-widget:message-received', onReply);
    return () => widget.removeEventListener('chat-widget:message-received', onReply);
  }, []);
  return h(
    'main',
    null,
    h('h1', null, 'React shop'),
    h('button', { id: 'ask', onClick: () => ref.current.send('Can I return shoes?') }, 'Ask about returns'),
    h('p', { id: 'last-reply' }, lastReply),
    h('chat-widget', { ref, 'bot-id': bot, 'api-url': api, 'api-key': key, 'greeting-delay': 'off' }),
  );
}

ReactDOM.createRoot(document.getElementById('root')).render(h(Support));
