/*! chat-widget loader. Put it on a page with <script src=".../chat-widget.js" data-bot-id="..." async>.
 * It reads the tag's data-* settings, gives the page `window.ChatWidget` and the
 * <chat-widget> element, loads the widget's WebAssembly from next to this file, and mounts
 * each widget in its own shadow root. Calls made before the widget is ready wait in a queue
 * and run in order. No dependencies, no inline code added to the page (strict-CSP safe). */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) {
    console.error('chat-widget: load chat-widget.js with a <script src="..."> tag');
    return;
  }
  // Files sit next to this script, wherever it is hosted.
  var base = new URL('.', script.src).href;
  var fallbackApiUrl = new URL(script.src).origin;
  var METHODS = ['open', 'close', 'toggle', 'send', 'reset', 'identify', 'logout', 'setContext'];
  // Event names: ours ("message-received"), with or without the "chat-widget:" prefix, and
  // the vendors' webhook spellings ("message.received", "bot.response", "widget.opened").
  var ALIASES = {
    'message.sent': 'message-sent',
    'message.received': 'message-received',
    'bot.response': 'message-received',
    'conversation.started': 'conversation-started',
    'widget.opened': 'open',
    'widget.closed': 'close',
    'widget.ready': 'ready'
  };

  function describe(error) {
    return error && error.message ? error.message : String(error);
  }

  var modulePromise = null;
  function loadModule() {
    if (!modulePromise) {
      modulePromise = import(base + 'core/chat-widget.js').then(function (module) {
        return module.default({ module_or_path: base + 'core/chat-widget_bg.wasm' }).then(function () {
          return module;
        });
      });
    }
    return modulePromise;
  }

  function eventName(name) {
    name = String(name).replace(/^chat-widget:/, '');
    return 'chat-widget:' + (ALIASES[name] || name);
  }

  /** Gives `host` the widget API. Until the widget is mounted, calls are queued. */
  function equip(host) {
    if (host.__chatWidget) return host.__chatWidget;
    var state = { widget: null, queue: [], listeners: [] };
    host.__chatWidget = state;
    METHODS.forEach(function (method) {
      host[method] = function () {
        if (state.widget) return state.widget[method].apply(state.widget, arguments);
        state.queue.push([method, arguments]);
      };
    });
    host.on = function (name, listener) {
      var wrapped = function (event) { listener(event.detail, event); };
      state.listeners.push([name, listener, wrapped]);
      host.addEventListener(eventName(name), wrapped);
      return host;
    };
    host.off = function (name, listener) {
      state.listeners = state.listeners.filter(function (entry) {
        if (entry[0] !== name || entry[1] !== listener) return true;
        host.removeEventListener(eventName(name), entry[2]);
        return false;
      });
      return host;
    };
    return state;
  }

  function mount(host, settings) {
    var state = equip(host);
    return loadModule()
      .then(function (module) {
        if (state.widget || !host.isConnected) return;
        state.widget = module.mountWidget(host, settings, fallbackApiUrl);
        var queued = state.queue;
        state.queue = [];
        queued.forEach(function (call) {
          try {
            state.widget[call[0]].apply(state.widget, call[1]);
          } catch (error) {
            console.error('chat-widget: ' + call[0] + '() failed: ' + describe(error));
          }
        });
      })
      .catch(function (error) {
        console.error('chat-widget: could not start (' + describe(error) + ')');
      });
  }

  function unmount(host) {
    var state = host.__chatWidget;
    if (state && state.widget) {
      state.widget.unmount();
      state.widget = null;
    }
  }

  // The <chat-widget> element: attributes mirror the data-* settings (bot-id, api-url, ...).
  if (window.customElements && !window.customElements.get('chat-widget')) {
    window.customElements.define(
      'chat-widget',
      class extends HTMLElement {
        connectedCallback() {
          equip(this);
          if (this.__chatWidget.widget) return;
          var settings = {};
          for (var i = 0; i < this.attributes.length; i++) settings[this.attributes[i].name] = this.attributes[i].value;
          mount(this, settings);
        }
        disconnectedCallback() {
          var host = this;
          // Moving the element elsewhere in the page keeps its widget; removing it unmounts.
          Promise.resolve().then(function () {
            if (!host.isConnected) unmount(host);
          });
        }
      }
    );
  }

  // The script tag's own widget, when it names a bot.
  var scriptHost = null;
  var settings = {};
  for (var key in script.dataset) settings[key] = script.dataset[key];
  function startScriptWidget() {
    scriptHost = document.createElement('div');
    scriptHost.setAttribute('data-chat-widget', settings.botId);
    equip(scriptHost);
    document.body.appendChild(scriptHost);
    flushGlobal();
    mount(scriptHost, settings);
  }

  // window.ChatWidget drives the script tag's widget, or else the page's first <chat-widget>.
  var globalQueue = [];
  function defaultHost() {
    return scriptHost || document.querySelector('chat-widget');
  }
  function flushGlobal() {
    var host = defaultHost();
    if (!host || !host.open) return;
    var queued = globalQueue;
    globalQueue = [];
    queued.forEach(function (call) { host[call[0]].apply(host, call[1]); });
  }
  var api = {};
  METHODS.concat(['on', 'off']).forEach(function (method) {
    api[method] = function () {
      var host = defaultHost();
      if (host && host[method]) return host[method].apply(host, arguments);
      globalQueue.push([method, arguments]);
      return method === 'on' || method === 'off' ? api : undefined;
    };
  });
  window.ChatWidget = api;

  function start() {
    if (settings.botId) startScriptWidget();
    else if (globalQueue.length) setTimeout(flushGlobal, 0);
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
})();
