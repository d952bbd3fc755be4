// Putokaz playground: a Telegram-like chat with the bot, in plain JavaScript
// (no build step, nothing from the network). The API is described in
// internal/playground/playground.go.
//
// Safety: message text is the bot's trusted HTML subset, but this page still
// never assigns server text to innerHTML: renderTelegramHTML builds DOM nodes
// from a whitelist of tags, and links must be http(s), tg, mailto or tel.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  // Towns for the location picker: name, latitude, longitude.
  const TOWNS = [
    ['Belgrade', 44.8125, 20.4612], ['Novi Sad', 45.2671, 19.8335], ['Niš', 43.3209, 21.8958],
    ['Subotica', 46.1005, 19.6651], ['Šid', 45.1283, 19.2263], ['Preševo', 42.3097, 21.6494],
    ['Vranje', 42.5514, 21.9003], ['Sjenica', 43.2733, 19.9986], ['Obrenovac', 44.6549, 20.2003],
    ['Kikinda', 45.8289, 20.4653],
  ];
  // The map is an equirectangular projection of this box (degrees).
  const BOX = { n: 46.2, s: 42.2, w: 18.8, e: 23.0 };
  const PX_PER_DEG = 100;
  const MAP_W = (BOX.e - BOX.w) * PX_PER_DEG;
  const MAP_H = (BOX.n - BOX.s) * PX_PER_DEG;
  // Main rivers, schematic (lat, lon points): landmarks to click near.
  const RIVERS = {
    Danube: [[45.93, 18.85], [45.77, 18.93], [45.55, 19.0], [45.28, 19.45], [45.25, 19.85], [45.2, 20.3],
      [44.83, 20.47], [44.67, 20.93], [44.75, 21.35], [44.65, 21.63], [44.47, 22.15], [44.61, 22.61], [44.23, 22.68]],
    Sava: [[44.88, 19.08], [44.93, 19.35], [44.97, 19.61], [44.75, 19.7], [44.66, 20.2], [44.82, 20.45]],
    Tisa: [[46.12, 20.06], [45.93, 20.08], [45.6, 20.13], [45.2, 20.3]],
    Drina: [[43.6, 19.35], [43.97, 19.57], [44.53, 19.22], [44.88, 19.08]],
    'Velika Morava': [[43.67, 21.41], [43.93, 21.37], [44.35, 21.1], [44.67, 20.93]],
    'Južna Morava': [[42.45, 21.82], [42.99, 21.95], [43.32, 21.9], [43.67, 21.41]],
    'Zapadna Morava': [[43.89, 20.35], [43.72, 20.69], [43.58, 21.33], [43.67, 21.41]],
  };

  const LABEL_SHORT = 14; // like bot/render.go: two short labels share a row
  const HISTORY_MAX = 300;
  const SAFE_SCHEMES = ['http:', 'https:', 'tg:', 'mailto:', 'tel:'];

  const state = {
    user: '',
    history: [], // {who: 'bot'|'me'|'sys', ...}
    at: '',
    location: '', // label of the pending location request ('' = none)
    version: '',
    content: null, // GET /api/content
    lang: '',
  };

  // ---- storage: one person per tab -------------------------------------

  function newUser() {
    const b = new Uint8Array(8);
    crypto.getRandomValues(b);
    return 'web:' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function load() {
    try {
      state.user = sessionStorage.getItem('putokaz.user') || '';
      const saved = JSON.parse(sessionStorage.getItem('putokaz.chat') || 'null');
      if (saved && Array.isArray(saved.history)) {
        state.history = saved.history;
        state.at = saved.at || '';
        state.location = saved.location || '';
        state.lang = saved.lang || '';
      }
    } catch (e) {
      state.history = [];
    }
    if (!/^web:[0-9a-f]{8,32}$/.test(state.user)) {
      state.user = newUser();
      state.history = [];
    }
    persist();
  }

  function persist() {
    if (state.history.length > HISTORY_MAX) state.history.splice(0, state.history.length - HISTORY_MAX);
    try {
      sessionStorage.setItem('putokaz.user', state.user);
      sessionStorage.setItem('putokaz.chat', JSON.stringify(
        { history: state.history, at: state.at, location: state.location, lang: state.lang }));
    } catch (e) { /* storage full or disabled: the chat still works */ }
  }

  // ---- Telegram HTML ------------------------------------------------------

  // Tags Telegram's HTML parse mode knows, mapped to the element we build.
  const TAGS = {
    b: 'b', strong: 'b', i: 'i', em: 'i', u: 'u', ins: 'u', s: 's', strike: 's', del: 's',
    code: 'code', pre: 'pre', blockquote: 'blockquote', 'tg-spoiler': 'span', span: 'span', a: 'a',
  };
  const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"' };
  const TOKEN = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*"[^"]*")*)\s*>|&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot);/g;
  const ATTR = /([a-zA-Z-]+)\s*=\s*"([^"]*)"/g;
  const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]]/g;

  function decodeEntity(name) {
    if (name[0] === '#') {
      const n = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      try { return String.fromCodePoint(n); } catch (e) { return '\uFFFD'; }
    }
    return ENTITIES[name];
  }

  function decodeEntities(s) {
    return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot);/g, (_, n) => decodeEntity(n));
  }

  function safeURL(href) {
    try {
      const u = new URL(href);
      return SAFE_SCHEMES.includes(u.protocol) ? u.href : '';
    } catch (e) {
      return '';
    }
  }

  function link(href, text) {
    const a = document.createElement('a');
    a.href = href;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = text;
    return a;
  }

  // appendText adds text, turning bare web addresses into links as Telegram's
  // apps do (not inside links and code).
  function appendText(parent, text, plain) {
    if (plain) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    let last = 0;
    for (const m of text.matchAll(URL_IN_TEXT)) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      const href = safeURL(m[0]);
      parent.appendChild(href ? link(href, m[0]) : document.createTextNode(m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // renderTelegramHTML appends src, in Telegram's HTML subset, to parent.
  // Unknown tags are shown as text (Telegram would refuse the message; the
  // content checker keeps them out).
  function renderTelegramHTML(src, parent) {
    const stack = [{ el: parent, tag: '' }];
    const top = () => stack[stack.length - 1];
    const plain = () => stack.some((f) => f.tag === 'a' || f.tag === 'code' || f.tag === 'pre');
    let last = 0;
    TOKEN.lastIndex = 0;
    let m;
    while ((m = TOKEN.exec(src)) !== null) {
      if (m.index > last) appendText(top().el, src.slice(last, m.index), plain());
      last = TOKEN.lastIndex;
      if (m[4] !== undefined) {
        appendText(top().el, decodeEntity(m[4]), true);
        continue;
      }
      const name = m[2].toLowerCase();
      const tag = TAGS[name];
      if (!tag) {
        appendText(top().el, m[0], true);
        continue;
      }
      if (m[1] === '/') {
        for (let i = stack.length - 1; i > 0; i--) {
          if (stack[i].name === name || TAGS[stack[i].name] === tag) {
            stack.length = i;
            break;
          }
        }
        continue;
      }
      const attrs = {};
      for (const a of m[3].matchAll(ATTR)) attrs[a[1].toLowerCase()] = decodeEntities(a[2]);
      let el;
      if (tag === 'a') {
        const href = safeURL(attrs.href || '');
        el = href ? link(href, '') : document.createElement('span');
      } else {
        el = document.createElement(tag);
      }
      if (name === 'tg-spoiler' || (name === 'span' && attrs.class === 'tg-spoiler')) {
        el.className = 'spoiler';
        el.title = 'Spoiler: click to show';
        el.addEventListener('click', () => el.classList.add('shown'));
      }
      top().el.appendChild(el);
      stack.push({ el, tag, name });
    }
    if (last < src.length) appendText(top().el, src.slice(last), plain());
  }

  // ---- chat log -----------------------------------------------------------

  const log = $('log');

  function clock() {
    const d = new Date();
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function bubble(cls, lang) {
    const row = document.createElement('div');
    row.className = 'msg ' + cls;
    const wrap = document.createElement('div');
    wrap.className = 'wrap';
    const b = document.createElement('div');
    b.className = 'bubble';
    b.dir = 'auto'; // Telegram: a message takes the direction of its first strong character
    if (lang) b.lang = lang;
    wrap.appendChild(b);
    row.appendChild(wrap);
    log.appendChild(row);
    return { row, wrap, b };
  }

  function stamp(b, time) {
    const t = document.createElement('span');
    t.className = 'time';
    t.textContent = time;
    b.appendChild(t);
  }

  function keyboardRows(buttons, rtl) {
    const rows = [];
    for (let i = 0; i < buttons.length; i++) {
      const short = (b) => b && Array.from(b.label).length <= LABEL_SHORT;
      if (!rtl && short(buttons[i]) && short(buttons[i + 1])) {
        rows.push([buttons[i], buttons[i + 1]]);
        i++;
      } else {
        rows.push([buttons[i]]);
      }
    }
    return rows;
  }

  function showBot(m, time) {
    const { row, wrap, b } = bubble('in', m.lang);
    row.dataset.lang = m.lang || '';
    const text = document.createElement('div');
    text.className = 'text';
    renderTelegramHTML(m.text || '', text);
    b.appendChild(text);
    stamp(b, time);
    if (m.buttons && m.buttons.length) {
      const kbd = document.createElement('div');
      kbd.className = 'kbd';
      for (const r of keyboardRows(m.buttons, m.rtl)) {
        const line = document.createElement('div');
        line.className = 'kbdrow';
        for (const btn of r) {
          let el;
          const href = btn.url ? safeURL(btn.url) : '';
          if (href) {
            el = link(href, btn.label);
            el.className = 'kbtn url';
            el.title = href;
          } else {
            el = document.createElement('button');
            el.type = 'button';
            el.className = 'kbtn';
            el.textContent = btn.label;
            el.dataset.data = btn.data || '';
            // Old keyboards stay clickable, as on Telegram: the engine
            // answers a stale press itself.
            el.addEventListener('click', () => send({ kind: 'button', data: btn.data }, null));
          }
          el.dir = 'auto';
          line.appendChild(el);
        }
        kbd.appendChild(line);
      }
      wrap.appendChild(kbd);
    }
  }

  function showMine(h) {
    const { b } = bubble('out', '');
    const text = document.createElement('div');
    text.className = 'text';
    if (h.kind === 'location') {
      b.classList.add('location');
      const pin = document.createElement('div');
      pin.className = 'pin';
      pin.textContent = '📍';
      text.appendChild(pin);
      const cap = document.createElement('div');
      cap.textContent = (h.place ? h.place + '\n' : '') + h.lat.toFixed(4) + ', ' + h.lon.toFixed(4);
      text.appendChild(cap);
    } else if (h.kind === 'media') {
      b.classList.add('sticker');
      text.textContent = '🐻';
      text.title = 'a sticker';
    } else {
      text.textContent = h.text;
    }
    b.appendChild(text);
    stamp(b, h.time);
  }

  function showSystem(text, isError) {
    const row = document.createElement('div');
    row.className = 'msg sys' + (isError ? ' error' : '');
    const span = document.createElement('span');
    span.dir = 'auto';
    span.textContent = text;
    row.appendChild(span);
    log.appendChild(row);
  }

  function show(h) {
    if (h.who === 'bot') showBot(h.m, h.time);
    else if (h.who === 'me') showMine(h);
    else showSystem(h.text, h.error);
  }

  function record(h) {
    state.history.push(h);
    show(h);
    scrollDown();
  }

  // intro stands in the empty chat where Telegram shows a bot's description.
  function intro() {
    const card = document.createElement('div');
    card.className = 'intro';
    card.id = 'intro';
    const title = document.createElement('b');
    title.textContent = 'What can this bot do?';
    const text = document.createElement('p');
    text.textContent = 'This page shows the bot as a migrant sees it on Telegram. Press START and talk to it: ' +
      'press buttons, type words, share a location, switch language. The conversation stays in this tab; ↺ starts over as a new person.';
    card.append(title, text);
    log.appendChild(card);
  }

  function redraw() {
    log.replaceChildren();
    for (const h of state.history) show(h);
    const started = state.history.length > 0;
    if (!started) intro();
    $('startbar').hidden = started;
    $('composer').hidden = !started;
    showReplyKeyboard();
    markFlows();
    scrollDown();
  }

  // ---- sending ------------------------------------------------------------

  let queue = Promise.resolve();
  let pending = 0;

  function busy(delta) {
    pending += delta;
    document.body.dataset.busy = pending > 0 ? '1' : '0';
    $('sub').textContent = pending > 0 ? 'typing…' : 'bot';
  }

  // send posts one input; echo is what the person's own bubble shows (null
  // for a button press, which Telegram does not show). Inputs go one after
  // another so replies keep their order.
  function send(input, echo) {
    if (echo) record(Object.assign({ who: 'me', time: clock() }, echo));
    persist();
    busy(+1);
    queue = queue.then(() => post(input))
      .catch((e) => record({ who: 'sys', error: true, text: 'The page failed: ' + e.message }))
      .finally(() => busy(-1));
    return queue;
  }

  async function post(input) {
    let res;
    let body;
    try {
      res = await fetch('/api/input', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(Object.assign({ user: state.user }, input)),
      });
      body = await res.json();
    } catch (e) {
      record({ who: 'sys', error: true, text: 'The playground server does not answer (' + e.message + ').' });
      persist();
      return;
    }
    if (!res.ok) {
      record({ who: 'sys', error: true, text: body && body.error ? body.error : 'Error ' + res.status });
      persist();
      return;
    }
    const time = clock();
    let location = '';
    if (body.clear) {
      // Quick exit: Telegram deletes this chat's messages from the phone.
      state.history = [];
    }
    for (const m of body.messages) {
      record({ who: 'bot', m, time });
      if (m.requestLocation) location = m.locationLabel || '📍';
      if (m.lang) state.lang = m.lang;
    }
    if (body.clear) redraw();
    // A reply keyboard stays until a reply that does not ask again (bot/render.go).
    if (body.messages.length) state.location = location;
    state.at = body.at || '';
    persist();
    showReplyKeyboard();
    markFlows();
    showStatus(body.content);
  }

  function sendText(raw) {
    const text = raw.trim();
    if (!text) return;
    if (text.startsWith('/') && text.length > 1) {
      send({ kind: 'command', text }, { kind: 'command', text });
    } else {
      send({ kind: 'text', text: raw }, { kind: 'text', text: raw });
    }
  }

  function sendLocation(lat, lon, place) {
    closeSheet();
    send({ kind: 'location', lat, lon }, { kind: 'location', lat, lon, place: place || '' });
  }

  // ---- reply keyboard and location sheet ----------------------------------

  function showReplyKeyboard() {
    $('replykbd').hidden = !state.location;
    if (state.location) $('shareloc').textContent = state.location;
  }

  function project(lat, lon) {
    return [(lon - BOX.w) * PX_PER_DEG, (BOX.n - lat) * PX_PER_DEG];
  }

  function svg(name, attrs, parent) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (parent) parent.appendChild(el);
    return el;
  }

  function buildMap() {
    const map = svg('svg', {
      viewBox: `0 0 ${MAP_W} ${MAP_H}`, role: 'img',
      'aria-label': 'Schematic map of Serbia: click to share that point',
    });
    svg('rect', { x: 0, y: 0, width: MAP_W, height: MAP_H, class: 'land' }, map);
    for (let lat = Math.ceil(BOX.s); lat <= BOX.n; lat++) {
      const [, y] = project(lat, BOX.w);
      svg('line', { x1: 0, y1: y, x2: MAP_W, y2: y, class: 'grid' }, map);
      svg('text', { x: 4, y: y - 3, class: 'gridlabel' }, map).textContent = lat + '°N';
    }
    for (let lon = Math.ceil(BOX.w); lon <= BOX.e; lon++) {
      const [x] = project(BOX.s, lon);
      svg('line', { x1: x, y1: 0, x2: x, y2: MAP_H, class: 'grid' }, map);
      svg('text', { x: x + 3, y: MAP_H - 4, class: 'gridlabel' }, map).textContent = lon + '°E';
    }
    for (const [name, pts] of Object.entries(RIVERS)) {
      const line = svg('polyline', { points: pts.map(([la, lo]) => project(la, lo).join(',')).join(' '), class: 'river' }, map);
      svg('title', {}, line).textContent = name;
    }
    const marker = svg('circle', { r: 7, class: 'marker', visibility: 'hidden' }, map);
    for (const [name, lat, lon] of TOWNS) {
      const [x, y] = project(lat, lon);
      const g = svg('g', { class: 'town', tabindex: 0, 'data-town': name }, map);
      svg('circle', { cx: x, cy: y, r: 5 }, g);
      const label = svg('text', { x: x + 8, y: y + 4 }, g);
      label.textContent = name;
      if (x > MAP_W - 80) {
        label.setAttribute('x', x - 8);
        label.setAttribute('text-anchor', 'end');
      }
      svg('title', {}, g).textContent = `${name} (${lat}, ${lon})`;
      const pick = (ev) => {
        ev.stopPropagation();
        sendLocation(lat, lon, name);
      };
      g.addEventListener('click', pick);
      g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') pick(ev); });
    }
    map.addEventListener('click', (ev) => {
      const pt = map.createSVGPoint();
      pt.x = ev.clientX;
      pt.y = ev.clientY;
      const p = pt.matrixTransform(map.getScreenCTM().inverse());
      const lat = +(BOX.n - p.y / PX_PER_DEG).toFixed(5);
      const lon = +(BOX.w + p.x / PX_PER_DEG).toFixed(5);
      marker.setAttribute('cx', p.x);
      marker.setAttribute('cy', p.y);
      marker.setAttribute('visibility', 'visible');
      sendLocation(lat, lon, '');
    });
    $('map').appendChild(map);

    const list = $('towns');
    for (const [name, lat, lon] of TOWNS) {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.town = name;
      b.textContent = name;
      b.title = `${lat}, ${lon}`;
      b.addEventListener('click', () => sendLocation(lat, lon, name));
      li.appendChild(b);
      list.appendChild(li);
    }
  }

  function openSheet() {
    $('locsheet').hidden = false;
  }

  function closeSheet() {
    $('locsheet').hidden = true;
  }

  // ---- side panels ----------------------------------------------------------

  async function loadContent() {
    try {
      const res = await fetch('/api/content?lang=' + encodeURIComponent(state.lang || 'en'));
      if (!res.ok) return;
      state.content = await res.json();
    } catch (e) {
      return;
    }
    const sel = $('lang');
    sel.replaceChildren(new Option('🌐', ''));
    for (const l of state.content.languages) {
      const o = new Option(l.name, l.tag);
      o.dir = 'auto';
      sel.appendChild(o);
    }
    sel.value = '';
    drawFlows();
  }

  function drawFlows() {
    const list = $('flowlist');
    list.replaceChildren();
    if (!state.content) return;
    for (const f of state.content.flows) {
      const box = document.createElement('div');
      box.className = 'flow';
      box.dataset.flow = f.name;
      const head = document.createElement('button');
      head.type = 'button';
      head.className = 'flowname';
      head.title = 'Open this flow: /start ' + f.name;
      const title = document.createElement('span');
      title.dir = 'auto';
      title.textContent = f.title;
      const name = document.createElement('code');
      name.textContent = f.name + (f.emergency ? ' · emergency' : '');
      head.append(title, name);
      head.addEventListener('click', () => {
        const text = '/start ' + f.name;
        if (!state.history.length) startUI();
        send({ kind: 'command', text }, { kind: 'command', text });
      });
      box.appendChild(head);
      const steps = document.createElement('ol');
      steps.className = 'steps';
      for (const s of f.steps) {
        const li = document.createElement('li');
        li.dataset.at = f.name + '/' + s.name;
        li.textContent = s.name;
        li.title = s.kind;
        li.className = 'kind-' + s.kind;
        steps.appendChild(li);
      }
      box.appendChild(steps);
      list.appendChild(box);
    }
    markFlows();
  }

  function markFlows() {
    for (const el of document.querySelectorAll('#flowlist .current, #flowlist .flow.current')) {
      el.classList.remove('current');
      el.removeAttribute('aria-current');
    }
    drawGraph();
    if (!state.at) return;
    const list = $('flowlist');
    for (const el of list.querySelectorAll('[data-at]')) {
      if (el.dataset.at === state.at) {
        el.classList.add('current');
        el.setAttribute('aria-current', 'step');
        const flow = el.closest('.flow');
        flow.classList.add('current');
        // Scroll the list only (scrollIntoView would move the page too).
        if (flow.offsetTop < list.scrollTop || flow.offsetTop + flow.offsetHeight > list.scrollTop + list.clientHeight) {
          list.scrollTop = flow.offsetTop - 4;
        }
      }
    }
  }

  // The diagram is the person's current flow as `putokaz graph` writes it,
  // drawn by the vendored Mermaid (offline) with the current step
  // highlighted; the text stays one click away.
  let graph = { key: '', view: null, drawn: '', seq: 0 };

  async function renderGraph() {
    const box = $('graph-svg');
    if (!graph.view || typeof window.mermaid === 'undefined') {
      box.replaceChildren();
      return;
    }
    const id = state.at ? graph.view.nodes[state.at] : '';
    let src = graph.view.mermaid;
    if (id) src += '\n  class ' + id + ' current';
    if (src === graph.drawn) return;
    graph.drawn = src;
    try {
      if (!graph.ready) {
        window.mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'neutral', flowchart: { htmlLabels: false } });
        graph.ready = true;
      }
      const { svg } = await window.mermaid.render('pkgraph' + (++graph.seq), src);
      if (graph.drawn !== src) return; // a newer drawing is on its way
      // Mermaid sanitises its output (securityLevel strict); take only the
      // <svg> element out of it. (Its markup is HTML, not strict XML.)
      const doc = new DOMParser().parseFromString(svg, 'text/html');
      const el = doc.body.querySelector('svg');
      box.replaceChildren(...(el ? [document.importNode(el, true)] : []));
    } catch (e) {
      box.textContent = 'The diagram could not be drawn; its text is below.';
    }
  }

  async function drawGraph() {
    const panel = $('graphpanel');
    if (!state.content || !state.content.graph) {
      panel.hidden = true;
      return;
    }
    const flow = state.at ? state.at.split('/')[0] : 'main';
    // Labels in the person's language, except right-to-left ones: mixed
    // with the left-to-right Mermaid syntax, a line would read scrambled.
    const l = state.content.languages.find((x) => x.tag === state.lang);
    const lang = l && !l.rtl ? l.tag : 'en';
    const key = [flow, lang, state.version].join('|');
    if (key !== graph.key) {
      graph.key = key;
      try {
        const res = await fetch('/api/graph?flow=' + encodeURIComponent(flow) + '&lang=' + encodeURIComponent(lang));
        graph.view = res.ok ? await res.json() : null;
      } catch (e) {
        graph.view = null;
      }
      if (graph.key !== key) return; // a newer request is on its way
      const pre = $('graph');
      pre.replaceChildren();
      if (graph.view) {
        for (const line of graph.view.mermaid.split('\n')) {
          const span = document.createElement('span');
          span.textContent = line + '\n';
          pre.appendChild(span);
        }
        $('graph-flow').textContent = graph.view.flow;
      }
    }
    panel.hidden = !graph.view;
    markGraph();
    renderGraph();
  }

  function markGraph() {
    const id = graph.view && state.at ? graph.view.nodes[state.at] : '';
    const word = id ? new RegExp('(^|[^A-Za-z0-9_])' + id + '($|[^A-Za-z0-9_])') : null;
    const node = id ? new RegExp('^\\s*' + id + '[\\[({>/]') : null;
    let first = null;
    for (const s of document.querySelectorAll('#graph span')) {
      const line = s.textContent;
      const isNode = !!node && node.test(line);
      s.classList.toggle('current', isNode);
      s.classList.toggle('edge', !isNode && !!word && word.test(line) && line.includes('--'));
      if (isNode && !first) first = s;
    }
    const pre = $('graph');
    if (first && (first.offsetTop < pre.scrollTop || first.offsetTop > pre.scrollTop + pre.clientHeight - 20)) {
      pre.scrollTop = first.offsetTop - 40;
    }
  }

  // ---- what staff send the person -----------------------------------------

  // takeInbox shows what reached the person from staff since the last poll
  // (replies, "a staff member is with you", "the chat ended · was this
  // helpful?"). It runs in the input queue, so it never lands in the middle
  // of an answer.
  async function takeInbox() {
    const user = state.user;
    let body;
    try {
      const res = await fetch('/api/inbox?user=' + encodeURIComponent(user));
      if (!res.ok) return;
      body = await res.json();
    } catch (e) {
      return;
    }
    if (user !== state.user || !body.messages || !body.messages.length) return;
    const time = clock();
    for (const m of body.messages) {
      record({ who: 'bot', m, time });
      if (m.lang) state.lang = m.lang;
    }
    state.at = body.at || '';
    persist();
    markFlows();
  }

  function pollInbox() {
    if (!state.history.length) return;
    queue = queue.then(takeInbox).catch(() => {});
  }

  // ---- the staff pane -------------------------------------------------------

  // Each case is shown as a Telegram staff group shows it: a forum topic
  // with the case card on top, then the person's relayed messages, staff's
  // replies and internal notes, and the bot's notices. Cards are kept and
  // updated in place, so that a reply being typed survives the polling.
  const STATUS = {
    received: 'new', claimed: 'claimed', closed: 'closed', withdrawn: 'withdrawn',
  };
  const staff = { cards: new Map(), enabled: true };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) {
      e.textContent = text;
      e.dir = 'auto';
    }
    return e;
  }

  function when(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return '';
    return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  }

  function hm(iso) {
    const d = new Date(iso);
    return isNaN(d) ? '' : String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  async function pollStaff() {
    if (!staff.enabled) return;
    let body;
    try {
      const res = await fetch('/api/staff');
      if (!res.ok) return;
      body = await res.json();
    } catch (e) {
      return;
    }
    if (body.enabled === false) {
      staff.enabled = false;
      $('staff-hint').textContent = 'Referrals are not enabled in this playground: a referral or handoff step answers with an error.';
      $('noCases').hidden = true;
      return;
    }
    drawCases(body.cases || []);
  }

  function drawCases(cases) {
    const list = $('cases');
    const seen = new Set();
    cases.forEach((c, i) => {
      seen.add(c.code);
      let card = staff.cards.get(c.code);
      if (!card) {
        card = newCard(c.code);
        staff.cards.set(c.code, card);
      }
      const sig = JSON.stringify(c);
      if (card.sig !== sig) {
        card.sig = sig;
        fillCard(card, c);
      }
      if (list.children[i] !== card.root) list.insertBefore(card.root, list.children[i] || null);
    });
    for (const [code, card] of staff.cards) {
      if (!seen.has(code)) {
        card.root.remove();
        staff.cards.delete(code);
      }
    }
    $('noCases').hidden = cases.length > 0;
  }

  function newCard(code) {
    const root = el('article', 'case');
    root.dataset.code = code;
    const head = el('div', 'casehead');
    const msgs = el('div', 'casemsgs');
    msgs.setAttribute('aria-live', 'polite');
    const err = el('div', 'caseerr');
    err.hidden = true;
    const form = el('form', 'casereply');
    const text = el('textarea');
    text.rows = 1;
    text.dir = 'auto';
    text.maxLength = 4096;
    text.placeholder = 'Reply to the person…';
    text.setAttribute('aria-label', 'Reply to the person of ' + code);
    const noteLabel = el('label', 'notetoggle');
    const note = el('input');
    note.type = 'checkbox';
    noteLabel.append(note, document.createTextNode(' note (internal)'));
    noteLabel.title = 'An internal note stays with staff (/note on Telegram); the person never sees it';
    const sendBtn = el('button', 'sendreply', 'Send');
    sendBtn.type = 'submit';
    note.addEventListener('change', () => {
      form.classList.toggle('note', note.checked);
      text.placeholder = note.checked ? 'Internal note (staff only)…' : 'Reply to the person…';
      sendBtn.textContent = note.checked ? 'Add note' : 'Send';
    });
    form.append(text, noteLabel, sendBtn);
    text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey) {
        ev.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const value = text.value;
      if (!value.trim()) return;
      if (await staffAction(card, note.checked ? 'note' : 'reply', value)) text.value = '';
    });
    root.append(head, msgs, err, form);
    const card = { root, head, msgs, err, form, text, sig: '' };
    return card;
  }

  function field(dl, name, value) {
    if (!value) return;
    const row = el('div', 'field');
    row.append(el('dt', '', name), el('dd', '', value));
    dl.appendChild(row);
  }

  function fillCard(card, c) {
    const open = c.status === 'received' || c.status === 'claimed';
    card.root.dataset.status = c.status || 'expired';
    card.root.dataset.kind = c.kind || '';

    const top = el('div', 'caseline');
    const icon = el('span', 'caseicon', c.kind === 'handoff' ? '💬' : '📋');
    icon.setAttribute('aria-hidden', 'true');
    const code = el('code', 'casecode', c.code);
    const kind = el('span', 'casekind', c.kind === 'handoff' ? 'live chat' : 'referral');
    const badge = el('span', 'badge ' + (c.status || 'expired'), STATUS[c.status] || 'expired');
    top.append(icon, code, kind, badge);

    const dl = el('dl', 'fields');
    field(dl, 'Service', c.serviceName && c.serviceName !== c.service ? c.serviceName + ' (' + c.service + ')' : c.service);
    field(dl, 'Language', c.langName ? c.langName + ' (' + c.lang + ')' : c.lang);
    field(dl, 'Received', c.created ? when(c.created) : '');
    field(dl, 'Consent', c.consentAt ? when(c.consentAt) + (c.consentVersion ? ' · version ' + c.consentVersion : '') : '');
    for (const a of c.answers || []) field(dl, a.name, a.value);
    if (c.claimedAt) field(dl, 'Claimed', when(c.claimedAt));
    if (c.closedAt) field(dl, c.status === 'withdrawn' ? 'Withdrawn' : 'Closed', when(c.closedAt));

    const actions = el('div', 'caseactions');
    const claim = el('button', 'claim', 'Claim');
    claim.type = 'button';
    claim.disabled = c.status !== 'received';
    claim.addEventListener('click', () => staffAction(card, 'claim', ''));
    const close = el('button', 'close', 'Close');
    close.type = 'button';
    close.disabled = !open;
    close.addEventListener('click', () => staffAction(card, 'close', ''));
    actions.append(claim, close);

    const parts = [top, dl];
    const posted = (c.messages || []).find((m) => m.kind === 'card');
    if (posted) {
      const d = el('details', 'posted');
      const s = el('summary', '', 'Card as posted in the group');
      const t = el('div', 'postedtext');
      t.dir = 'auto';
      renderTelegramHTML(posted.text, t);
      d.append(s, t);
      parts.push(d);
    }
    parts.push(actions);
    card.head.replaceChildren(...parts);

    const stick = card.msgs.scrollTop + card.msgs.clientHeight >= card.msgs.scrollHeight - 8;
    card.msgs.replaceChildren();
    for (const m of c.messages || []) {
      if (m.kind === 'card') continue;
      card.msgs.appendChild(staffMessage(m));
    }
    card.msgs.hidden = !card.msgs.children.length;
    if (stick) card.msgs.scrollTop = card.msgs.scrollHeight;

    card.form.hidden = !open;
  }

  const LABELS = {
    relay: 'Person', reply: 'You → person', note: '🔒 Internal note', alert: '🚨 Emergency',
  };

  function staffMessage(m) {
    if (m.kind === 'claim' || m.kind === 'close' || m.kind === 'notice') {
      const row = el('div', 'smsg sys kind-' + m.kind);
      const span = el('span');
      span.dir = 'auto';
      if (m.kind === 'notice') renderTelegramHTML(m.text, span);
      else span.textContent = m.kind === 'claim' ? 'You claimed the case' : 'You closed the case';
      const t = el('span', 'stime', hm(m.at));
      row.append(span, t);
      return row;
    }
    const row = el('div', 'smsg kind-' + m.kind);
    const b = el('div', 'sbubble');
    b.dir = 'auto';
    const who = el('div', 'swho', (m.media ? '📎 ' : '') + (LABELS[m.kind] || m.kind));
    const text = el('div', 'stext');
    text.dir = 'auto';
    if (m.html) renderTelegramHTML(m.text, text);
    else text.textContent = m.text;
    const t = el('span', 'stime', hm(m.at));
    b.append(who, text, t);
    row.appendChild(b);
    return row;
  }

  async function staffAction(card, action, text) {
    card.err.hidden = true;
    let res;
    let body;
    try {
      res = await fetch('/api/staff', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ code: card.root.dataset.code, action, text }),
      });
      body = await res.json();
    } catch (e) {
      body = { error: 'The playground server does not answer.' };
    }
    const ok = res && res.ok;
    if (!ok) {
      card.err.textContent = (body && body.error) || 'Error ' + (res ? res.status : '');
      card.err.dir = 'auto';
      card.err.hidden = false;
    }
    await pollStaff();
    // What the action sent the person shows up in their chat at once.
    pollInbox();
    return ok;
  }

  // ---- reload banner ------------------------------------------------------

  function time(iso) {
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toLocaleTimeString();
  }

  function showStatus(st) {
    const banner = $('banner');
    if (!st) {
      banner.className = 'banner warn';
      banner.textContent = '⚠ The playground server does not answer.';
      return;
    }
    const changed = st.version !== state.version;
    state.version = st.version;
    banner.replaceChildren();
    const line = document.createElement('div');
    line.className = 'line';
    const problems = st.problems || [];
    if (!st.ok) {
      banner.className = 'banner bad';
      line.textContent = `⛔ Your last edit was not loaded (${time(st.at)}): the bot still runs content ${st.version}. Fix:`;
    } else {
      banner.className = 'banner ok';
      const how = st.trigger === 'start' ? 'loaded at start' : `reloaded ${time(st.at)} (${st.trigger === 'signal' ? 'SIGHUP' : st.trigger === 'file' ? 'file change' : st.trigger})`;
      line.textContent = `✅ Content ${st.version} · ${how} · ` +
        (st.reload ? `hot reload on: ${st.source}` : 'built into the binary (hot reload off; run with CONTENT_DIR=. to edit live)');
    }
    banner.appendChild(line);
    if (problems.length) {
      const list = document.createElement('ul');
      list.className = 'problems';
      for (const p of problems) {
        const li = document.createElement('li');
        if (p.includes(': warning: ')) li.className = 'warning';
        const code = document.createElement('code');
        code.dir = 'auto';
        code.textContent = p;
        li.appendChild(code);
        list.appendChild(li);
      }
      if (st.ok) {
        const d = document.createElement('details');
        const s = document.createElement('summary');
        s.textContent = problems.length + (problems.length === 1 ? ' warning' : ' warnings');
        d.append(s, list);
        banner.appendChild(d);
      } else {
        banner.appendChild(list);
      }
    }
    // On a phone the chat fills the screen below the banner (style.css).
    document.documentElement.style.setProperty('--banner-h', banner.offsetHeight + 'px');
    if (changed) loadContent();
  }

  async function poll() {
    try {
      const res = await fetch('/api/status');
      showStatus(res.ok ? await res.json() : null);
    } catch (e) {
      showStatus(null);
    }
  }

  // ---- wiring -------------------------------------------------------------

  function startUI() {
    const card = $('intro');
    if (card) card.remove();
    $('startbar').hidden = true;
    $('composer').hidden = false;
  }

  function reset() {
    state.user = newUser();
    state.history = [];
    state.at = '';
    state.location = '';
    state.lang = '';
    persist();
    closeSheet();
    redraw();
  }

  function init() {
    load();
    buildMap();
    redraw();
    $('start').addEventListener('click', () => {
      startUI();
      send({ kind: 'command', text: '/start' }, { kind: 'command', text: '/start' });
      $('text').focus();
    });
    $('composer').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = $('text');
      sendText(input.value);
      input.value = '';
    });
    $('sticker').addEventListener('click', () => send({ kind: 'media', data: 'sticker' }, { kind: 'media' }));
    $('reset').addEventListener('click', reset);
    $('lang').addEventListener('change', (ev) => {
      const tag = ev.target.value;
      ev.target.value = '';
      if (!tag) return;
      if (!state.history.length) startUI();
      // What pressing a language button does: L:<tag> (engine/engine.go).
      send({ kind: 'button', data: 'L:' + tag }, null).then(loadContent);
    });
    $('shareloc').addEventListener('click', openSheet);
    $('locclose').addEventListener('click', closeSheet);
    document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeSheet(); });
    poll();
    setInterval(poll, 3000);
    pollStaff();
    setInterval(pollStaff, 2000);
    setInterval(pollInbox, 2000);
  }

  // For the browser test: what the renderer builds, without touching the chat.
  window.putokazRender = (src) => {
    const d = document.createElement('div');
    renderTelegramHTML(src, d);
    return d.innerHTML;
  };

  init();
})();
