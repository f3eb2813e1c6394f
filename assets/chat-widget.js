/*! chat-widget loader. Put it on a page with <script src=".../chat-widget.js" data-bot-id="..." async>.
 * It reads the tag's data-* settings, draws the launcher at once in its own shadow root with the
 * widget's stylesheet, and gives the page `window.ChatWidget` and the <chat-widget> element.
 * The widget itself (WebAssembly) is fetched only when it is needed: when the visitor points
 * at, focuses or presses the launcher, when the page calls open() / toggle() / send(), when a
 * greeting bubble is due, or when the browser is idle after load with data-preload="idle"
 * (data-preload="eager" loads it at once). Calls made before the widget is ready wait in a
 * queue and run in order. No dependencies, no inline code or styles added to the page, so a
 * strict CSP needs nothing extra.
 *
 * This is the source: scripts/bundle.mjs puts in the stylesheet and the content-hashed file
 * names, minifies it and writes dist/chat-widget.js. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src) {
    console.error('chat-widget: load chat-widget.js with a <script src="..."> tag');
    return;
  }
  // Filled in by scripts/bundle.mjs.
  var CSS = '__CW_CSS__';
  // The widget is built once per dialect, { dialect: hash }, the default first (its files are
  // core/chat-widget.<hash>.js and .wasm): a page downloads only the code of the API it talks to.
  var BUILDS = '__CW_BUILDS__';
  // Files sit next to this script, wherever it is hosted.
  var base = new URL('.', script.src).href;
  var fallbackApiUrl = new URL(script.src).origin;
  var started = Date.now();
  var METHODS = ['open', 'close', 'toggle', 'send', 'reset', 'identify', 'logout', 'setContext'];
  // The settings (src/config.rs reads them, preload is the loader's): a change to one of these
  // attributes after the widget started restarts it with the new settings (`restart`).
  var SETTINGS = ('bot-id api-url api-key position primary-color greeting greeting-delay bot-name avatar-url ' +
    'launcher-icon theme offset-x offset-y z-index stream reply-timeout dialect user-id modal preload locale lang language').split(' ');
  // Calls that show the widget, so it must be loaded for them.
  var WAKING = { open: 1, toggle: 1, send: 1 };
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
  // The launcher's name in each language of the widget (src/text.rs `open_chat`).
  var OPEN_CHAT = {
    en: 'Open chat',
    es: 'Abrir el chat',
    de: 'Chat öffnen',
    fr: 'Ouvrir le chat',
    ar: 'فتح المحادثة',
    he: 'פתיחת הצ׳אט'
  };
  // Said next to the launcher when the widget could not be fetched after the visitor pressed
  // it (offline, a flaky network, a blocked file).
  var NOT_LOADED = {
    en: 'The chat could not load. Try again.',
    es: 'No se pudo cargar el chat. Inténtalo de nuevo.',
    de: 'Der Chat konnte nicht geladen werden. Bitte erneut versuchen.',
    fr: 'Le chat n’a pas pu se charger. Réessayez.',
    ar: 'تعذّر تحميل المحادثة. أعد المحاولة.',
    he: 'לא ניתן לטעון את הצ׳אט. נסו שוב.'
  };
  var SVG = 'http://www.w3.org/2000/svg';
  var ICONS = {
    chat: 'M12 3C6.5 3 2 6.9 2 11.7c0 2.3 1 4.4 2.8 6L4 21.5a.5.5 0 0 0 .7.6l4.4-2.1c.9.2 1.9.4 2.9.4 5.5 0 10-3.9 10-8.7S17.5 3 12 3Zm-4.5 10a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Zm4.5 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6Z',
    help: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20Zm1 17h-2v-2h2v2Zm2.1-7.7-.9.9c-.7.7-1.2 1.3-1.2 2.8h-2v-.5c0-1.1.5-2.1 1.2-2.8l1.2-1.3c.4-.3.6-.8.6-1.4a2 2 0 0 0-4 0H8a4 4 0 0 1 8 0c0 .9-.4 1.7-.9 2.3Z',
    message: 'M20 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2Zm0 4-8 5-8-5V6l8 5 8-5v2Z',
    close: 'M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6Z'
  };
  var ICON_ALIASES = { question: 'help', mail: 'message', envelope: 'message' };

  function describe(error) {
    return error && error.message ? error.message : String(error);
  }

  // --- Settings, read as the widget reads them (src/config.rs) -----------------------------

  /** `data-bot-id`, `bot-id` and `botId` all become `bot-id`. */
  function settingName(name) {
    return String(name).trim().replace(/^data-/, '').replace(/[A-Z]/g, function (c) {
      return '-' + c.toLowerCase();
    });
  }

  function readSettings(entries) {
    var out = {};
    entries.forEach(function (entry) { out[settingName(entry[0])] = String(entry[1]); });
    return out;
  }

  function lower(value) {
    return String(value || '').trim().toLowerCase();
  }

  function locale(s) {
    var wanted = [s.locale || s.lang || s.language].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < wanted.length; i++) {
      var tag = lower(wanted[i]).split(/[-_]/)[0];
      if (tag === 'iw') tag = 'he';
      if (OPEN_CHAT[tag]) return tag;
      // An unusable data-locale falls back to the browser's languages, as in the widget.
    }
    return 'en';
  }

  // --- Colours, as src/theme.rs computes them (WCAG relative luminance) --------------------

  function parseHex(value) {
    var hex = String(value || '').trim().replace(/^#+/, '');
    if (!/^[0-9a-f]+$/i.test(hex)) return null;
    if (hex.length === 3) hex = hex.replace(/./g, '$&$&');
    if (hex.length !== 6) return null;
    return [0, 2, 4].map(function (i) { return parseInt(hex.substr(i, 2), 16); });
  }
  function luminance(c) {
    var weights = [0.2126, 0.7152, 0.0722];
    return c.reduce(function (sum, channel, i) {
      var v = channel / 255;
      return sum + weights[i] * (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    }, 0);
  }
  function contrast(a, b) {
    var x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  function mix(a, b, t) {
    return a.map(function (v, i) { return Math.round(v + (b[i] - v) * t); });
  }
  /** `color` shaded towards `away` in 5 % steps until `text` on it reaches `ratio`. */
  function shade(color, text, away, ratio) {
    var out = color;
    for (var step = 1; step <= 20 && contrast(out, text) < ratio; step++) out = mix(color, away, step * 0.05);
    return out;
  }
  function hex(c) {
    return '#' + c.map(function (v) { return (v < 16 ? '0' : '') + v.toString(16); }).join('');
  }
  var WHITE = [255, 255, 255], BLACK = [0, 0, 0], DARK_TEXT = [17, 24, 39];
  /** The launcher's custom properties: surface, text on it, and the brand as ink on white. */
  function palette(value) {
    var brand = parseHex(value) || [10, 92, 214];
    var text = contrast(brand, WHITE) >= 3 ? WHITE : DARK_TEXT;
    var surface = shade(brand, text, text === WHITE ? BLACK : WHITE, 4.5);
    return {
      '--cw-primary-ink': hex(shade(surface, WHITE, BLACK, 4.5)),
      '--cw-primary': hex(surface),
      '--cw-on-primary': hex(text)
    };
  }

  // --- The launcher, drawn before the widget is loaded ------------------------------------

  var sheet = null;
  function adoptStyles(shadow) {
    try {
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
      }
      shadow.adoptedStyleSheets = [sheet];
    } catch (error) {
      // No constructable stylesheets (old Safari): a <style> element in the shadow root.
      var style = document.createElement('style');
      style.textContent = CSS;
      shadow.appendChild(style);
    }
  }

  function svgIcon(className, path, size) {
    var svg = document.createElementNS(SVG, 'svg');
    var attrs = { class: className, viewBox: '0 0 24 24', width: size, height: size, 'aria-hidden': 'true', focusable: 'false' };
    // Own keys only (here and below): old libraries add enumerable members to Object.prototype.
    Object.keys(attrs).forEach(function (name) { svg.setAttribute(name, attrs[name]); });
    var shape = document.createElementNS(SVG, 'path');
    shape.setAttribute('fill', 'currentColor');
    shape.setAttribute('d', path);
    svg.appendChild(shape);
    return svg;
  }

  function launcherIcon(s) {
    var value = String(s['launcher-icon'] || '').trim();
    var name = ICON_ALIASES[lower(value)] || lower(value) || 'chat';
    if (ICONS[name] && name !== 'close') return svgIcon('cw-icon cw-icon--chat', ICONS[name], 28);
    if (/^https?:\/\//i.test(value)) {
      var img = document.createElement('img');
      img.className = 'cw-icon cw-icon--chat cw-icon--image';
      img.src = value;
      img.alt = '';
      img.width = img.height = 34;
      // A picture that does not load gives way to the chat icon, as in the widget.
      img.addEventListener('error', function () {
        img.replaceWith(svgIcon('cw-icon cw-icon--chat', ICONS.chat, 28));
      });
      return img;
    }
    return svgIcon('cw-icon cw-icon--chat', ICONS.chat, 28);
  }

  /** A page without a viewport meta tag is laid out 980 px wide and shown zoomed out on a
   * phone, which would shrink the widget to a third. `--cw-zoom` (widget CSS `zoom`) scales it
   * back to the size it has on a phone-ready page: the layout viewport's width over the
   * screen's visible width, which pinch-zooming leaves alone. Where they match it is unset. */
  function fitZoom(host) {
    var view = window.visualViewport;
    var zoom = view ? innerWidth / (view.width * view.scale) : 1;
    if (zoom > 1.1) host.style.setProperty('--cw-zoom', zoom.toFixed(3));
    else host.style.removeProperty('--cw-zoom');
  }

  /** Draws the launcher into `host`'s shadow root, looking exactly as the widget will. */
  function drawLauncher(host, s) {
    var shadow = host.shadowRoot || host.attachShadow({ mode: 'open' });
    if (shadow.firstChild) return;
    fitZoom(host);
    // Once per element: a restart draws the launcher again.
    if (!host.__cwZoom) {
      host.__cwZoom = true;
      addEventListener('resize', function () { fitZoom(host); });
    }
    adoptStyles(shadow);
    var lang = locale(s);
    var rtl = lang === 'ar' || lang === 'he';
    var position = lower(s.position).replace(/^(left|right)$/, 'bottom-$1');
    if (position !== 'bottom-left' && position !== 'bottom-right') position = rtl ? 'bottom-left' : 'bottom-right';
    var theme = lower(s.theme).replace('system', 'auto');
    if (theme !== 'dark' && theme !== 'auto') theme = 'light';

    var root = document.createElement('div');
    root.className = 'cw-root cw-root--' + position + ' cw-root--' + theme;
    root.setAttribute('data-cw-placeholder', '');
    root.dir = rtl ? 'rtl' : 'ltr';
    root.lang = lang;
    var vars = palette(s['primary-color']);
    ['x', 'y'].forEach(function (axis) {
      var px = parseInt(String(s['offset-' + axis] || '').replace(/px$/, ''), 10);
      vars['--cw-offset-' + axis] = (px >= 0 && px <= 400 ? px : 20) + 'px';
    });
    if (/^\s*-?\d+\s*$/.test(s['z-index'] || '')) vars['--cw-z-index'] = String(parseInt(s['z-index'], 10));
    Object.keys(vars).forEach(function (name) { root.style.setProperty(name, vars[name]); });

    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'cw-launcher';
    button.setAttribute('aria-label', OPEN_CHAT[lang]);
    button.setAttribute('aria-expanded', 'false');
    button.appendChild(launcherIcon(s));
    button.appendChild(svgIcon('cw-icon cw-icon--close', ICONS.close, 26));
    var status = document.createElement('span');
    status.className = 'cw-sr-only cw-unread-status';
    status.setAttribute('role', 'status');
    root.appendChild(button);
    root.appendChild(status);
    shadow.appendChild(root);

    // Pointing at or focusing the launcher starts the download, so that by the click it is
    // (nearly) there; a click before it is ready opens the panel as soon as it is.
    var wake = function () { activate(host); };
    button.addEventListener('pointerenter', wake);
    button.addEventListener('focus', wake);
    button.addEventListener('touchstart', wake, { passive: true });
    var press = function () {
      var state = equip(host);
      state.openWhenReady = true;
      button.setAttribute('aria-busy', 'true');
      var notice = root.querySelector('.cw-load-failed');
      if (notice) root.removeChild(notice);
      activate(host);
    };
    button.addEventListener('click', press);
    // A press that could not load it is tried again when the connection comes back (a moment
    // after the browser says so: the network is not always usable at once).
    addEventListener('online', function () {
      setTimeout(function () {
        if (root.querySelector('.cw-load-failed')) press();
      }, 500);
    });
    // A press (pointer, or the space bar, which clicks on release) that is under way when the
    // widget arrives holds the swap until it ends: replacing the button between press and
    // release would swallow the click.
    var hold = function (event) {
      if (event.type === 'keydown' && event.key !== ' ') return;
      var state = equip(host);
      state.held = true;
      var ends = ['pointerup', 'pointercancel', 'keyup', 'blur'];
      var release = function () {
        ends.forEach(function (type) { window.removeEventListener(type, release, true); });
        // After the click that this release causes, which is dispatched right after it.
        setTimeout(function () {
          state.held = false;
          mountLoaded(host);
        }, 0);
      };
      ends.forEach(function (type) { window.addEventListener(type, release, true); });
    };
    button.addEventListener('pointerdown', hold);
    button.addEventListener('keydown', hold);
  }

  // --- Loading the widget -----------------------------------------------------------------

  /** The build for the settings' data-dialect, spelled as the widget reads it (trimmed, any
   * case, "open-ai" for "openai"). The default build warns about an unknown one. */
  function dialect(s) {
    var name = lower(s.dialect).replace(/^open[-_]ai$/, 'openai');
    return BUILDS[name] ? name : Object.keys(BUILDS)[0];
  }

  var modules = {};
  function loadModule(name) {
    if (!modules[name]) {
      // The wasm download starts at once, beside the JS glue; instantiateStreaming compiles it
      // while it arrives (the glue falls back to a plain instantiate when a server sends the
      // wrong MIME type).
      var file = base + 'core/chat-widget.' + BUILDS[name];
      var wasm = fetch(file + '.wasm', { credentials: 'omit' });
      modules[name] = import(file + '.js')
        .then(function (module) {
          return module.default({ module_or_path: wasm }).then(function () { return module; });
        })
        .catch(function (error) {
          modules[name] = null; // the next interaction tries again
          throw error;
        });
    }
    return modules[name];
  }

  /** send() answers with a Promise even while its call waits in a queue: it settles as the
   * widget's own once the call runs. */
  function promised(call) {
    if (call[0] === 'send') return new Promise(function (resolve) { call[2] = resolve; });
  }
  function run(target, call) {
    var result = target[call[0]].apply(target, call[1]);
    if (call[2]) call[2](result);
  }

  function eventName(name) {
    name = String(name).replace(/^chat-widget:/, '');
    return 'chat-widget:' + (ALIASES[name] || name);
  }

  /** Gives `host` the widget API. Until the widget is mounted, calls are queued. */
  function equip(host) {
    if (host.__chatWidget) return host.__chatWidget;
    var state = { widget: null, queue: [], listeners: [], settings: null, loading: false, openWhenReady: false, kept: {} };
    host.__chatWidget = state;
    METHODS.forEach(function (method) {
      host[method] = function () {
        // Who the visitor is and the page's context outlive a restart; logout forgets them.
        if (method === 'identify' || method === 'setContext') state.kept[method] = arguments;
        if (method === 'logout') state.kept = {};
        if (state.widget) return state.widget[method].apply(state.widget, arguments);
        var call = [method, arguments];
        state.queue.push(call);
        if (WAKING[method]) activate(host);
        return promised(call);
      };
    });
    host.on = function (name, listener) {
      if (typeof listener !== 'function') {
        console.error('chat-widget: on(' + JSON.stringify(String(name)) + ', listener) takes a function');
        return host;
      }
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

  /** Gets `host` ready to load: its launcher is drawn, its triggers are set. */
  function prepare(host, s) {
    var state = equip(host);
    state.settings = s;
    drawLauncher(host, s);
    var preload = lower(s.preload);
    if (preload === 'eager') return activate(host);
    // The rest reads localStorage, whose first access can wait on the browser's disk: it runs
    // in a task of its own, so the launcher is painted without waiting for it.
    setTimeout(function () {
      if (preload === 'idle' || returning(s) || lookFromServer(s)) whenIdle(function () { activate(host); });
      var due = greetingDueInMs(s);
      if (due !== null) setTimeout(function () { activate(host); }, due);
    }, 0);
  }

  function stored(s, name) {
    try {
      return localStorage.getItem('chat-widget:' + String(s['bot-id']).trim() + ':' + name);
    } catch (error) {
      return null; // storage blocked: the widget carries on in memory
    }
  }

  /** A visitor in the middle of a conversation: restore it before they open the chat. */
  function returning(s) {
    return !!(stored(s, 'conversation') || stored(s, 'transcript'));
  }

  /** A jelytech bot brings its colour and corner from the server unless the page sets them. */
  function lookFromServer(s) {
    return dialect(s) === 'jelytech' && !(s['primary-color'] && s.position);
  }

  /** Seconds until the greeting bubble is due, or null when there will be none. */
  function greetingDelay(s) {
    var value = lower(s['greeting-delay'] || '5').replace(/s$/, '');
    if (!/^\d+$/.test(value)) return null;
    var hasGreeting = String(s.greeting || '').trim() || dialect(s) === 'jelytech';
    if (!hasGreeting || stored(s, 'greeting-dismissed') === '1' || returning(s)) return null;
    return Number(value);
  }

  /** Milliseconds until the greeting bubble is due, counted from page load, or null. */
  function greetingDueInMs(s) {
    var delay = greetingDelay(s);
    return delay === null ? null : Math.max(0, delay * 1000 - (Date.now() - started));
  }

  function whenIdle(run) {
    var idle = function () {
      if (window.requestIdleCallback) requestIdleCallback(run, { timeout: 3000 });
      else setTimeout(run, 200);
    };
    if (document.readyState === 'complete') idle();
    else window.addEventListener('load', idle, { once: true });
  }

  /** Loads the widget (once) and mounts it over the drawn launcher. */
  function activate(host) {
    var state = equip(host);
    if (state.widget || state.loading || !state.settings) return;
    state.loading = true;
    var name = dialect(state.settings);
    loadModule(name)
      .then(function (module) {
        state.loading = false;
        // The settings changed to another dialect while this one loaded.
        if (name !== dialect(state.settings)) return activate(host);
        state.module = module;
        mountLoaded(host);
      })
      .catch(function (error) {
        state.loading = false;
        couldNotStart(host, error);
      });
  }

  function couldNotStart(host, error) {
    var state = equip(host);
    var root = host.shadowRoot && host.shadowRoot.querySelector('[data-cw-placeholder]');
    var button = root && root.querySelector('.cw-launcher');
    if (button) button.removeAttribute('aria-busy');
    console.error('chat-widget: could not start (' + describe(error) + ')');
    // The visitor pressed the launcher and nothing opens: tell them, beside it, and wait for
    // their next press (or the connection) instead of opening the panel later by surprise.
    if (button && state.openWhenReady && !root.querySelector('.cw-load-failed')) {
      state.openWhenReady = false;
      var notice = document.createElement('p');
      notice.className = 'cw-load-failed';
      notice.setAttribute('role', 'alert');
      notice.textContent = NOT_LOADED[root.lang] || NOT_LOADED.en;
      root.appendChild(notice);
    }
  }

  /** Mounts the loaded widget over the drawn launcher, unless a press on it is under way. */
  function mountLoaded(host) {
    var state = equip(host);
    var module = state.module;
    if (!module || state.held || state.widget || !host.isConnected) return;
    var settings = {};
    Object.keys(state.settings).forEach(function (key) { settings[key] = state.settings[key]; });
    // The greeting bubble is timed from page load, not from when the widget arrived.
    var due = greetingDueInMs(settings);
    if (due !== null) settings['greeting-delay'] = String(Math.ceil(due / 1000));
    try {
      state.widget = module.mountWidget(host, settings, fallbackApiUrl);
    } catch (error) {
      couldNotStart(host, error);
      return;
    }
    var queued = state.queue;
    state.queue = [];
    if (state.openWhenReady && !queued.some(function (call) { return WAKING[call[0]]; })) queued.unshift(['open', []]);
    queued.forEach(function (call) {
      try {
        run(state.widget, call);
      } catch (error) {
        console.error('chat-widget: ' + call[0] + '() failed: ' + describe(error));
        if (call[2]) call[2]({ delivered: false, error: { code: 'NOT_DELIVERED', message: describe(error) } });
      }
    });
  }

  function unmount(host) {
    var state = host.__chatWidget;
    if (state && state.widget) {
      state.widget.unmount();
      state.widget = null;
    }
  }

  /** Starts `host`'s widget again with the settings `read()` gives, once however many
   * attributes changed, when they differ from the ones it runs with. A reply on its way is
   * waited for first. The conversation and the draft come back from storage as after a
   * reload, the panel stays open if it was, and what identify() and setContext() attached is
   * attached again. */
  function restart(host, read) {
    var state = equip(host);
    if (!state.settings || state.restarting) return;
    state.restarting = true;
    setTimeout(function attempt() {
      if (state.widget && state.widget.isBusy()) return setTimeout(attempt, 250);
      state.restarting = false;
      var s = read();
      if (!host.isConnected || JSON.stringify(s) === JSON.stringify(state.settings)) return;
      var loaded = !!state.widget;
      if (loaded && state.widget.isOpen()) state.openWhenReady = true;
      unmount(host);
      if (host.shadowRoot) host.shadowRoot.replaceChildren();
      state.module = null;
      var kept = state.kept;
      Object.keys(kept).forEach(function (method) { state.queue.unshift([method, kept[method]]); });
      prepare(host, s);
      if (loaded) activate(host);
    }, 0);
  }

  // The <chat-widget> element: attributes mirror the data-* settings (bot-id, api-url, ...).
  // A page whose customElements.define throws (patched, or a polyfill) still gets the script
  // tag's widget, which needs no custom element.
  try {
    if (window.customElements && !window.customElements.get('chat-widget')) defineElement();
  } catch (error) {
    console.warn('chat-widget: <chat-widget> is not available on this page (' + describe(error) + '); the script tag works without it');
  }
  function elementSettings(element) {
    var entries = [];
    for (var i = 0; i < element.attributes.length; i++) entries.push([element.attributes[i].name, element.attributes[i].value]);
    return readSettings(entries);
  }
  function defineElement() {
    window.customElements.define(
      'chat-widget',
      class extends HTMLElement {
        static get observedAttributes() {
          return SETTINGS;
        }
        connectedCallback() {
          var state = equip(this);
          if (state.widget) return;
          // Put back after removal, it is drawn again and loads (from cache) when needed; a
          // launcher kept from before is drawn anew if its attributes changed meanwhile.
          var s = elementSettings(this);
          if (state.settings && JSON.stringify(s) !== JSON.stringify(state.settings)) this.shadowRoot.replaceChildren();
          prepare(this, s);
        }
        attributeChangedCallback() {
          var host = this;
          restart(host, function () { return elementSettings(host); });
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
  function scriptSettings() {
    return readSettings(Object.keys(script.dataset).map(function (key) { return [key, script.dataset[key]]; }));
  }
  var settings = scriptSettings();
  function startScriptWidget() {
    scriptHost = document.createElement('div');
    scriptHost.setAttribute('data-chat-widget', String(settings['bot-id']).trim());
    equip(scriptHost);
    // After the <body>, not in it: a body with a transform, filter or `contain` (set for smooth
    // scrolling, page transitions or a dark mode) would hold the widget's fixed launcher and
    // panel at its own bottom instead of the window's, and a page that swaps its whole body
    // (Turbo and other single-page navigations) would take the widget away with it.
    document.documentElement.appendChild(scriptHost);
    // A framework that renders the whole document (React's hydrateRoot(document) after a
    // mismatch) puts a new <html> in place of the one the widget was in: the widget follows,
    // as it was (a host taken out of <html> on purpose stays out).
    if (window.MutationObserver) {
      new MutationObserver(function () {
        if (!scriptHost.isConnected && document.documentElement) document.documentElement.appendChild(scriptHost);
      }).observe(document, { childList: true });
    }
    flushGlobal();
    prepare(scriptHost, settings);
    // The tag's data-* settings can change later too (a single-page app that signs a user in).
    if (window.MutationObserver) {
      new MutationObserver(function () {
        scriptHost.setAttribute('data-chat-widget', String(scriptSettings()['bot-id'] || '').trim());
        restart(scriptHost, scriptSettings);
      }).observe(script, {
        attributes: true,
        attributeFilter: SETTINGS.map(function (name) { return 'data-' + name; })
      });
    }
  }

  // window.ChatWidget drives the script tag's widget, or else the page's first widget (another
  // tag's, or a <chat-widget>).
  var globalQueue = [];
  function defaultHost() {
    return scriptHost || document.querySelector('[data-chat-widget], chat-widget');
  }
  function flushGlobal() {
    var host = defaultHost();
    if (!host || !host.open) return;
    var queued = globalQueue;
    globalQueue = [];
    queued.forEach(function (call) { run(host, call); });
  }
  var api = {};
  METHODS.concat(['on', 'off']).forEach(function (method) {
    api[method] = function () {
      var host = defaultHost();
      if (host && host[method]) return host[method].apply(host, arguments);
      var call = [method, arguments];
      globalQueue.push(call);
      return method === 'on' || method === 'off' ? api : promised(call);
    };
  });
  // The script on a page twice (a theme and a tag manager both add it): the first one's
  // window.ChatWidget stays, and a second tag for the same bot draws no second launcher.
  // Another product's own `ChatWidget` global is left alone (the host elements have the same
  // methods); an element with id="ChatWidget" (window's named access) is no such global.
  var taken = Object.prototype.hasOwnProperty.call(window, 'ChatWidget');
  var earlier = taken && window.ChatWidget && window.ChatWidget.loader === 'chat-widget';
  if (!taken) window.ChatWidget = api;
  else if (!earlier) console.warn('chat-widget: window.ChatWidget is another script\'s and is left alone; the widget\'s element ([data-chat-widget]) has the same methods');
  api.loader = 'chat-widget';

  /** Whether another tag on the page drew a widget for this tag's bot already. */
  function twin() {
    var bot = String(settings['bot-id']).trim();
    var hosts = document.querySelectorAll('[data-chat-widget]');
    for (var i = 0; i < hosts.length; i++) {
      if (hosts[i].getAttribute('data-chat-widget') === bot) {
        console.warn('chat-widget: a second chat-widget.js tag for bot "' + bot + '" is ignored (the page already has one)');
        return true;
      }
    }
    return false;
  }
  function start() {
    if (settings['bot-id'] && !twin()) startScriptWidget();
    else if (globalQueue.length) setTimeout(flushGlobal, 0);
  }
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
})();
