// The console's page. Every value from the service is put in the page as
// text (textContent, text nodes, attribute values), never as HTML, so data
// such as a customer named "<script>" shows as typed.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const state = { csrf: '', stores: [], store: '', operator: false, tab: 'setup', statusTimer: 0 };

  // el builds an element; strings and numbers among children become text.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const clear = (node) => { node.replaceChildren(); return node; };

  // safeURL keeps only http(s) links, so no data can make a javascript: link.
  function safeURL(u) {
    try {
      const p = new URL(u, location.href);
      return p.protocol === 'http:' || p.protocol === 'https:' ? p.href : '';
    } catch (_) { return ''; }
  }
  function link(u, text) {
    const href = safeURL(u);
    return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text) : el('span', {}, text);
  }

  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET') {
      opts.headers['X-CSRF-Token'] = state.csrf;
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body || {});
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      return { ok: false, status: 0, data: { error: 'the service did not answer: ' + e.message } };
    }
    let data = {};
    try { data = await res.json(); } catch (_) { data = { error: 'unexpected answer (' + res.status + ')' }; }
    if (res.status === 401 && !path.endsWith('/signin')) showSignIn();
    return { ok: res.ok, status: res.status, data };
  }
  const storeAPI = (p) => '/console/api/stores/' + encodeURIComponent(state.store) + p;

  function copyButton(text, label) {
    const b = el('button', { type: 'button', class: 'copy', 'data-copy': text }, label || 'Copy');
    b.addEventListener('click', () => copy(b, b.getAttribute('data-copy')));
    return b;
  }
  async function copy(button, text) {
    let done = false;
    try {
      await navigator.clipboard.writeText(text);
      done = true;
    } catch (_) {
      const t = el('textarea', {}, text);
      document.body.append(t);
      t.select();
      try { done = document.execCommand('copy'); } catch (_) { done = false; }
      t.remove();
    }
    const was = button.textContent;
    button.textContent = done ? 'Copied' : 'Select and copy by hand';
    setTimeout(() => { button.textContent = was; }, 1500);
  }

  const fmtTime = (t) => (t ? new Date(t).toLocaleString() : '');
  function fmtAge(seconds) {
    if (seconds < 90) return Math.round(seconds) + ' s';
    if (seconds < 5400) return Math.round(seconds / 60) + ' min';
    return (seconds / 3600).toFixed(1) + ' h';
  }
  function money(v, currency) {
    if (typeof v !== 'number') return '';
    try { return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'USD' }).format(v); } catch (_) { return v.toFixed(2) + ' ' + (currency || ''); }
  }

  // Sign-in.

  async function start() {
    const r = await api('GET', '/console/api/session');
    state.csrf = r.data.csrf || '';
    if (r.data.signed_in) showApp(r.data); else showSignIn();
  }

  function showSignIn() {
    clearInterval(state.statusTimer);
    $('app').hidden = true;
    $('session-bar').hidden = true;
    $('signin').hidden = false;
    $('signin-password').value = '';
  }

  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!state.csrf) {
      const s = await api('GET', '/console/api/session');
      state.csrf = s.data.csrf || '';
    }
    $('signin-submit').disabled = true;
    const r = await api('POST', '/console/api/signin', { store: $('signin-store').value.trim(), password: $('signin-password').value });
    $('signin-submit').disabled = false;
    if (!r.ok) {
      $('signin-error').textContent = r.data.error || 'sign-in failed';
      return;
    }
    $('signin-error').textContent = '';
    showApp(r.data);
  });

  $('signout').addEventListener('click', async () => {
    await api('POST', '/console/api/signout');
    state.csrf = '';
    const s = await api('GET', '/console/api/session');
    state.csrf = s.data.csrf || '';
    showSignIn();
  });

  function showApp(info) {
    state.csrf = info.csrf;
    state.operator = !!info.operator;
    state.stores = info.stores || [];
    state.store = state.stores.includes(state.store) ? state.store : (state.stores[0] || '');
    $('signin').hidden = true;
    $('app').hidden = false;
    $('session-bar').hidden = false;
    $('who').textContent = state.operator ? 'Operator' : 'Store ' + state.store;
    const sel = clear($('store-select'));
    for (const s of state.stores) sel.append(el('option', { value: s }, s));
    sel.value = state.store;
    $('store-pick').hidden = state.stores.length < 2;
    showTab(state.tab);
  }

  $('store-select').addEventListener('change', () => {
    state.store = $('store-select').value;
    resetStore();
    showTab(state.tab);
  });

  function resetStore() {
    $('public-url').value = '';
    for (const id of ['preview-search', 'preview-panel', 'preview-ai', 'products-normal', 'products-ai', 'webhook-result']) clear($(id));
    clear($('check')).append(el('p', { class: 'hint' }, 'Not run yet.'));
  }

  // Tabs.

  for (const b of document.querySelectorAll('.tabs button')) {
    b.addEventListener('click', () => showTab(b.getAttribute('data-tab')));
  }
  function showTab(name) {
    state.tab = name;
    for (const b of document.querySelectorAll('.tabs button')) b.classList.toggle('active', b.getAttribute('data-tab') === name);
    for (const t of ['setup', 'status', 'preview']) $('tab-' + t).hidden = t !== name;
    clearInterval(state.statusTimer);
    if (name === 'setup') loadSetup();
    if (name === 'status') {
      loadStatus();
      state.statusTimer = setInterval(loadStatus, 5000);
    }
  }

  // Setup.

  const setupQuery = () => '?' + new URLSearchParams({ public_url: $('public-url').value.trim(), method: $('method').value, auth: $('auth').value });

  async function loadSetup() {
    const r = await api('GET', storeAPI('/setup') + setupQuery());
    $('setup-error').textContent = r.ok ? '' : (r.data.error || 'cannot load the settings');
    if (!r.ok) return;
    const s = r.data.settings;
    if (!$('public-url').value) $('public-url').value = s.public_url;
    const warn = clear($('setup-warnings'));
    for (const w of s.warnings || []) warn.append(el('li', {}, w));
    const body = clear($('urls').tBodies[0]);
    for (const u of s.urls) {
      body.append(el('tr', { 'data-endpoint': u.endpoint },
        el('td', {}, u.endpoint), el('td', { class: 'url' }, u.url), el('td', {}, copyButton(u.url))));
    }
    const facts = clear($('setup-facts'));
    const fact = (k, v) => facts.append(el('dt', {}, k), el('dd', {}, v));
    fact('Method', s.method === 'POST' ? 'POST, body JSON (form works too)' : 'GET, parameters in the query string');
    fact('Authentication', s.auth);
    fact('Token goes in', s.token_location);
    fact('Time budgets', 'WAzion waits ' + s.budget_global_search + ' for globalSearch and ' + s.budget_others +
      ' for the others; the service answers within ' + s.deadline_global_search + ' and ' + s.deadline_others + '.');
    for (const a of s.alternatives || []) fact('Also works: ' + a.auth, a.location);
    const tokens = r.data.tokens || [];
    $('token-value').textContent = tokens.length ? tokens[0] + (tokens.length > 1 ? '  (' + tokens.length + ' tokens; any works)' : '') : '';
    $('copy-token').hidden = true;
    $('reveal-token').hidden = false;
    loadWebhooks();
    loadCheck();
  }
  for (const id of ['method', 'auth']) $(id).addEventListener('change', loadSetup);
  $('public-url').addEventListener('change', loadSetup);

  $('reveal-token').addEventListener('click', async () => {
    const r = await api('POST', storeAPI('/tokens'));
    if (!r.ok) { $('setup-error').textContent = r.data.error || 'cannot reveal the token'; return; }
    const t = (r.data.tokens || [])[0] || '';
    $('token-value').textContent = t;
    const c = $('copy-token');
    c.setAttribute('data-copy', t);
    c.hidden = false;
    $('reveal-token').hidden = true;
  });
  $('copy-token').addEventListener('click', () => copy($('copy-token'), $('copy-token').getAttribute('data-copy')));

  async function loadWebhooks() {
    const box = clear($('webhook'));
    box.append(el('p', { class: 'hint' }, 'Asking Whatalo…'));
    const r = await api('GET', storeAPI('/webhooks') + '?' + new URLSearchParams({ public_url: $('public-url').value.trim() }));
    clear(box);
    if (!r.ok) { box.append(el('p', { class: 'error' }, r.data.error || 'cannot list the webhooks')); return; }
    const w = r.data;
    box.append(el('p', {}, 'Webhook URL: ', el('code', { id: 'webhook-url' }, w.url), ' ', copyButton(w.url)));
    box.append(el('p', { id: 'webhook-state', class: w.covered ? 'ok' : 'warn' }, w.covered
      ? 'An active Whatalo subscription points at this URL with every event the service uses.'
      : 'No active Whatalo subscription points at this URL with every event the service uses: register it below.'));
    if (!w.secret_configured) box.append(el('p', { class: 'warn' }, 'No webhook secret is configured: deliveries cannot be verified until one is set.'));
    if (w.subscriptions && w.subscriptions.length) {
      const t = el('table', { class: 'list' }, el('thead', {}, el('tr', {}, ['URL', 'Active', 'Last delivery', 'Failures', 'Missing events'].map((h) => el('th', {}, h)))));
      const tb = el('tbody');
      for (const s of w.subscriptions) {
        tb.append(el('tr', { class: s.points_here ? '' : 'hint' },
          el('td', { class: 'url' }, s.url), el('td', {}, s.active ? 'yes' : 'no'),
          el('td', {}, s.last_triggered ? fmtTime(s.last_triggered) : 'never'),
          el('td', {}, s.failures), el('td', {}, (s.missing || []).join(', ') || 'none')));
      }
      t.append(tb);
      box.append(el('div', { class: 'scroll' }, t));
    }
  }

  $('register-webhook').addEventListener('click', async () => {
    const b = $('register-webhook');
    b.disabled = true;
    const out = clear($('webhook-result'));
    const r = await api('POST', storeAPI('/webhooks'), { public_url: $('public-url').value.trim() });
    b.disabled = false;
    if (!r.ok) { out.append(el('p', { class: 'error' }, r.data.error || 'registration failed')); return; }
    const g = r.data;
    out.append(el('p', { class: 'ok' }, 'Created subscription ' + g.id + ' for ' + g.url + ' (' + (g.events || []).join(', ') + ').'));
    for (const w of g.warnings || []) out.append(el('p', { class: 'warn' }, w));
    if (g.secret) {
      out.append(el('p', {}, 'Signing secret (Whatalo shows it only this once; store it now): ', el('code', {}, g.secret), ' ', copyButton(g.secret)));
    }
    if (g.next) out.append(el('p', {}, g.next));
    loadWebhooks();
  });

  function renderCheck(rep) {
    const box = clear($('check'));
    if (!rep) { box.append(el('p', { class: 'hint' }, 'Not run yet.')); return; }
    box.append(el('p', { class: rep.ok ? 'ok' : 'bad', id: 'check-summary' },
      (rep.ok ? 'The key works: ' : 'Something needs fixing: ') + 'API key ' + rep.api_key + ' at ' + rep.base_url + ', checked ' + fmtTime(rep.time) + '.'));
    const ul = el('ul', { class: 'checks' });
    const items = rep.redis ? [rep.redis].concat(rep.checks || []) : (rep.checks || []);
    for (const c of items) ul.append(el('li', { class: c.ok ? 'ok' : 'bad' }, (c.ok ? '✓ ' : '✗ ') + c.name + ': ', el('span', { class: 'msg' }, c.message)));
    for (const w of rep.warnings || []) ul.append(el('li', { class: 'warn' }, '! ' + w));
    box.append(ul);
  }
  async function loadCheck() {
    const r = await api('GET', storeAPI('/check'));
    if (r.ok && r.data.report) renderCheck(r.data.report); else runCheck();
  }
  async function runCheck() {
    const b = $('run-check');
    b.disabled = true;
    clear($('check')).append(el('p', { class: 'hint' }, 'Checking the key with Whatalo…'));
    const r = await api('POST', storeAPI('/check'));
    b.disabled = false;
    if (!r.ok) { clear($('check')).append(el('p', { class: 'error' }, r.data.error || 'the check failed')); return; }
    renderCheck(r.data.report);
  }
  $('run-check').addEventListener('click', runCheck);

  // Status.

  function statCard(title, big, ...lines) {
    return el('div', { class: 'card' }, el('h2', {}, title), el('div', { class: 'big' }, big), lines.map((l) => el('p', { class: 'hint' }, l)));
  }

  async function loadStatus() {
    const r = await api('GET', storeAPI('/status'));
    if (!r.ok) return;
    const s = r.data;
    const cards = clear($('status-cards'));
    const ix = s.index;
    const age = ix.last_sync ? fmtAge((new Date(s.now) - new Date(ix.last_sync)) / 1000) + ' ago' : 'not synced yet';
    cards.append(statCard('Phone index', el('span', { class: 'badge ' + ix.state, id: 'index-state' }, ix.state),
      ix.customers + ' customers, ' + ix.keys + ' phone and email keys', 'Last sync: ' + age, ix.role ? 'Role: ' + ix.role : '', ix.error ? 'Last error: ' + ix.error : ''));
    const ratio = s.cache.lookups > 0 ? Math.round(100 * s.cache.hits / s.cache.lookups) + ' %' : '—';
    cards.append(statCard('Cache hit ratio', el('span', { id: 'cache-ratio' }, ratio), s.cache.hits + ' of ' + s.cache.lookups + ' lookups since the service started (stale answers count as hits)'));
    const last = s.per_minute[s.per_minute.length - 1] || 0;
    cards.append(statCard('Whatalo calls', last + ' this minute', 'Limit: ' + s.upstream.limit + ' a minute',
      s.upstream.remaining !== undefined ? 'Whatalo says ' + s.upstream.remaining + ' of ' + s.upstream.window_limit + ' left in its window' : ''));
    cards.append(statCard('Redis', s.redis ? el('span', { class: 'badge ' + (s.redis.status === 'ok' ? 'ready' : 'failed') }, s.redis.status) : 'not configured',
      s.redis ? (s.redis.reason || 'replicas share the budget, the cache and webhooks') : 'this process runs alone'));
    const busiest = Math.max(0, ...s.per_minute);
    $('upstream-caption').textContent = 'Last ' + s.per_minute.length + ' minutes, against the limit of ' + s.upstream.limit + ' a minute' +
      (s.upstream.limit > 4 * Math.max(1, busiest) ? ' (far above the busiest minute, ' + busiest + ' calls: the bars are scaled to it).' : ' (the dashed line).');
    drawChart(clear($('upstream-chart')), s.per_minute, s.upstream.limit);
    const tb = clear($('errors').tBodies[0]);
    for (const e of s.errors) {
      tb.append(el('tr', {}, el('td', {}, fmtTime(e.time)), el('td', {}, e.endpoint), el('td', {}, e.phone || '—'),
        el('td', { class: 'err' }, e.error, e.outcome && e.outcome !== 'error' ? ' (' + e.outcome + ')' : '')));
    }
    $('errors').hidden = s.errors.length === 0;
    $('errors-empty').hidden = s.errors.length > 0;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // drawChart draws calls per minute as bars, one pixel of the SVG per
  // pixel of the page. The limit's line shows when the calls come near it;
  // far below it the bars are scaled to the busiest minute instead, so
  // they stay readable.
  function drawChart(box, counts, limit) {
    const W = Math.max(240, Math.round(box.clientWidth || 600)), H = 140, top = 12, bottom = 18, left = 34;
    const busiest = Math.max(1, ...counts);
    const showLimit = limit > 0 && limit <= 4 * busiest;
    const peak = showLimit ? Math.max(limit, busiest) * 1.05 : busiest * 1.25;
    const y = (v) => top + (H - top - bottom) * (1 - v / peak);
    const s = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': 'Whatalo calls per minute' });
    const bw = (W - left) / counts.length;
    counts.forEach((v, i) => {
      const r = svg('rect', { class: 'bar', x: left + i * bw + 1, y: y(v), width: Math.max(1, bw - 2), height: H - bottom - y(v) });
      r.append(svg('title', {}, v + ' calls, ' + (counts.length - 1 - i) + ' min ago'));
      s.append(r);
    });
    if (showLimit) {
      s.append(svg('line', { class: 'limit', x1: left, x2: W, y1: y(limit), y2: y(limit) }));
      s.append(svg('text', { x: 2, y: y(limit) + 3 }, String(limit)));
    } else {
      s.append(svg('text', { x: 2, y: y(busiest) + 3 }, String(busiest)));
    }
    s.append(svg('text', { x: 2, y: H - bottom + 3 }, '0'));
    s.append(svg('text', { x: left, y: H - 4 }, '-' + (counts.length - 1) + ' min'));
    s.append(svg('text', { x: W - 24, y: H - 4 }, 'now'));
    box.append(s);
  }

  // Preview.

  function stateKey(labels, text) {
    for (const [k, v] of Object.entries(labels || {})) if (k.startsWith('state_') && v === text) return k;
    return '';
  }

  function renderPanel(box, ci) {
    const L = ci.labels || {};
    const lab = (k, fallback) => L[k] || fallback;
    if (ci.error) box.append(el('p', { class: 'error' }, lab('error', 'Error') + ': ' + ci.error));
    if (!ci.found) { box.append(el('p', { class: 'hint' }, lab('not_found', 'Customer not found'))); return; }
    for (const c of ci.customers || []) {
      const card = el('div', { class: 'customer' });
      card.append(el('h3', {}, el('span', { class: 'cname' }, c.name), el('span', { class: 'badge ' + stateKey(L, c.state) }, c.state)));
      const facts = el('dl', { class: 'facts' });
      const fact = (k, v) => { if (v !== undefined && v !== '') facts.append(el('dt', {}, k), el('dd', {}, v)); };
      const cur = ((c.orders || [])[0] || {}).currency;
      fact(lab('email', 'Email'), c.email);
      fact(lab('phone', 'Phone'), c.phone);
      fact(lab('orders_count', 'Orders'), c.ordersCount);
      fact(lab('total_spent', 'Total spent'), money(c.totalSpent, cur));
      fact(lab('total_refunded', 'Total refunded'), money(c.totalRefunded, cur));
      fact(lab('discounts', 'Discounts'), money(c.totalDiscounts, cur));
      card.append(facts);
      if (c.shopUrl) card.append(el('p', {}, link(c.shopUrl, lab('view_customer', 'View customer'))));
      card.append(el('h3', {}, lab('recent_orders', 'Recent orders')));
      if (!(c.orders || []).length) card.append(el('p', { class: 'hint' }, lab('no_orders', 'No orders')));
      for (const o of c.orders || []) {
        const od = el('div', { class: 'order' });
        od.append(el('div', { class: 'head' }, el('span', { class: 'oname' }, o.name), el('span', {}, fmtTime(o.date)),
          el('span', {}, money(o.amount, o.currency)), o.cancelled ? el('span', { class: 'bad' }, lab('cancelled', 'Cancelled')) : ''));
        const extra = [];
        if (o.netAmount !== o.amount) extra.push(lab('net_amount', 'Net amount') + ': ' + money(o.netAmount, o.currency));
        if (o.totalRefunded) extra.push(lab('refunded', 'Refunded') + ': ' + money(o.totalRefunded, o.currency));
        if (o.totalDiscounts) extra.push(lab('discounts', 'Discounts') + ': ' + money(o.totalDiscounts, o.currency));
        if (extra.length) od.append(el('p', { class: 'hint' }, extra.join(' · ')));
        if (o.note) od.append(el('p', { class: 'note' }, lab('order_note', 'Note') + ': ' + o.note));
        const ul = el('ul', { class: 'items' });
        for (const it of o.items || []) {
          const bits = [it.currentQuantity + ' × ' + it.title, money(it.amount, o.currency)];
          if (it.discount) bits.push(lab('discount', 'Discount') + ' ' + money(it.discount, o.currency));
          if (it.refundedQuantity) bits.push(lab('refunded', 'Refunded') + ' ' + it.refundedQuantity + ' (' + money(it.refundedAmount, o.currency) + ')');
          if (it.status && it.status !== 'active') bits.push(lab(it.status, it.status));
          ul.append(el('li', {}, bits.join(' · ')));
        }
        od.append(ul);
        if (o.shopUrl) od.append(link(o.shopUrl, lab('view_profile', 'View')));
        card.append(od);
      }
      if ((c.abandonedCarts || []).length) {
        card.append(el('h3', {}, lab('abandoned_carts', 'Abandoned carts')));
        for (const ac of c.abandonedCarts) {
          const cd = el('div', { class: 'cart' }, el('div', {}, fmtTime(ac.date), ' ', ac.url ? link(ac.url, lab('copy_link', 'Link')) : ''));
          const ul = el('ul');
          for (const it of ac.items || []) ul.append(el('li', {}, it.quantity + ' × ' + it.title + ' · ' + money(it.amount)));
          cd.append(ul);
          card.append(cd);
        }
      }
      box.append(card);
    }
  }

  $('preview-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = $('preview-q').value.trim();
    for (const id of ['preview-search', 'preview-panel', 'preview-ai']) clear($(id));
    $('preview-error').textContent = '';
    $('preview-go').disabled = true;
    const r = await api('GET', storeAPI('/preview') + '?' + new URLSearchParams({ q }));
    $('preview-go').disabled = false;
    if (!r.ok) { $('preview-error').textContent = r.data.error || 'the preview failed'; return; }
    const p = r.data;
    if (p.search) {
      const box = $('preview-search');
      if (p.search.error) box.append(el('p', { class: 'error' }, 'globalSearch: ' + p.search.error));
      const found = p.search.customers || [];
      box.append(el('p', { class: 'hint' }, 'globalSearch found ' + found.length + ' customer(s)' + (p.phone ? '; the side panel below is for ' + p.phone + '.' : '.')));
      if (found.length) {
        const ul = el('ul');
        for (const c of found) ul.append(el('li', {}, c.name + ' · ' + (c.phone || '—') + ' · ' + (c.email || '—') + ((c.orders || []).length ? ' · ' + c.orders.map((o) => o.number).join(', ') : '')));
        box.append(ul);
      }
    }
    if (p.customer_info) renderPanel($('preview-panel'), p.customer_info);
    if (p.initial_info) {
      $('preview-ai').textContent = p.initial_info.info || (p.initial_info.error ? 'error: ' + p.initial_info.error : '(no text)');
    }
    if (p.phone && !$('products-q').value) $('products-q').setAttribute('data-phone', p.phone);
  });

  $('products-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = $('products-q').value.trim();
    const box = clear($('products-normal'));
    clear($('products-ai'));
    $('products-go').disabled = true;
    const r = await api('GET', storeAPI('/products') + '?' + new URLSearchParams({ q, phone: $('products-q').getAttribute('data-phone') || '' }));
    $('products-go').disabled = false;
    if (!r.ok) { box.append(el('p', { class: 'error' }, r.data.error || 'the search failed')); return; }
    const n = r.data.normal || {};
    if (n.error) box.append(el('p', { class: 'error' }, n.error));
    box.append(el('p', { class: 'hint' }, (n.count || 0) + ' product(s)'));
    for (const p of n.products || []) {
      const d = el('div', { class: 'customer' }, el('h3', {}, link(p.url, p.title)),
        el('p', { class: 'hint' }, [p.sku ? 'SKU ' + p.sku : '', p.price !== undefined ? money(p.price, p.currency) : ''].filter(Boolean).join(' · ')),
        el('p', {}, p.description || ''));
      if ((p.variants || []).length) {
        const ul = el('ul');
        for (const v of p.variants) ul.append(el('li', {}, link(v.url, v.title), v.sku ? ' · SKU ' + v.sku : ''));
        d.append(ul);
      }
      box.append(d);
    }
    $('products-ai').textContent = JSON.stringify(r.data.ai, null, 2);
  });

  start();
})();
