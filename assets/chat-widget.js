/*! chat-widget loader: reads this script tag's data-* settings, then loads the widget's
 * WebAssembly from next to this file and mounts it on a fresh element at the end of <body>.
 * Plain ES5-compatible JS, no dependencies, no inline code added to the page. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) {
    console.error('chat-widget: load chat-widget.js with a <script src="..."> tag');
    return;
  }
  // Files sit next to this script, wherever it is hosted.
  var base = new URL('.', script.src).href;
  var settings = {};
  for (var key in script.dataset) settings[key] = script.dataset[key];
  var fallbackApiUrl = new URL(script.src).origin;

  function start() {
    var host = document.createElement('div');
    host.setAttribute('data-chat-widget', settings.botId || '');
    document.body.appendChild(host);
    import(base + 'core/chat-widget.js')
      .then(function (module) {
        return module.default({ module_or_path: base + 'core/chat-widget_bg.wasm' }).then(function () {
          host.chatWidget = module.mountWidget(host, settings, fallbackApiUrl);
          host.dispatchEvent(new CustomEvent('chat-widget:ready', { bubbles: true, composed: true }));
        });
      })
      .catch(function (error) {
        console.error('chat-widget: could not start (' + (error && error.message ? error.message : error) + ')');
      });
  }

  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
})();
