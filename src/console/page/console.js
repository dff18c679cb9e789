'use strict';
// The console's status page. Every request carries the token in the Authorization header (never in a URL); the
// token is kept in this tab's sessionStorage only. Everything from the server is put into the page as text nodes.
(function () {
  var base = location.pathname.replace(/\/+$/, '');
  // One key per console path: two services behind one origin never get each other's token.
  var TOKEN_KEY = 'express-observability-console-token:' + base.toLowerCase();
  var REFRESH_MS = 5000;
  var MAX_TAIL_LINES = 500;
  var LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
  var token = null;
  var paused = false;
  var timer = null;
  var nextCursor = null;
  var lastQuery = '';
  var tail = null;
  var tailLastId = null;
  var tailParams = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) { if (k === 'text') node.textContent = attrs[k]; else if (k === 'className') node.className = attrs[k]; else node.setAttribute(k, attrs[k]); }
    (children || []).forEach(function (c) { if (c !== null && c !== undefined) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmt(n, digits) { return n === null || n === undefined ? '–' : Number(n).toFixed(digits === undefined ? 1 : digits); }
  function pct(r) { return r === null || r === undefined ? '–' : (r * 100).toFixed(r > 0 && r < 0.01 ? 2 : 1) + '%'; }
  function bytes(n) { return n === null || n === undefined ? '–' : n < 1048576 ? Math.round(n / 1024) + ' KiB' : (n / 1048576).toFixed(1) + ' MiB'; }
  function usd(n) { return '$' + (n >= 0.01 ? n.toFixed(2) : n.toPrecision(3)); }
  function time(ms) { var d = new Date(ms); return isNaN(d) ? '' : d.toISOString().replace('T', ' ').slice(0, 23); }

  function Unauthorised() {}
  async function api(path, options) {
    var headers = { authorization: 'Bearer ' + token };
    if (options && options.headers) for (var h in options.headers) headers[h] = options.headers[h];
    var res = await fetch(base + path, { headers: headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', signal: options && options.signal });
    if (res.status === 401) { signOut('The token was refused.'); throw new Unauthorised(); }
    return res;
  }

  // ---- sign in ----
  function showSignIn(message) {
    $('signin').hidden = false;
    $('main').hidden = true;
    $('actions').hidden = true;
    $('signin-error').textContent = message || '';
    $('token').focus();
  }
  function signOut(message) {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    stopTail();
    if (timer) clearTimeout(timer);
    timer = null;
    ['tiles', 'logs', 'tail', 'request-lines'].forEach(function (id) { clear($(id)); });
    ['routes', 'inflight', 'errors', 'health', 'deps', 'caches', 'costs'].forEach(function (id) { clear($(id).tBodies[0]); });
    $('service').textContent = 'Console';
    $('refreshed').textContent = '';
    showSignIn(message);
  }
  async function signIn(candidate) {
    token = candidate;
    try {
      var res = await api('/api/status');
      if (!res.ok) throw new Error('status ' + res.status);
      sessionStorage.setItem(TOKEN_KEY, candidate);
      $('signin').hidden = true;
      $('main').hidden = false;
      $('actions').hidden = false;
      render(await res.json());
      schedule();
      search(false);
    } catch (err) {
      if (!(err instanceof Unauthorised)) showSignIn('The console did not answer: ' + err.message);
    }
  }
  $('signin-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var value = $('token').value.trim();
    $('token').value = '';
    signIn(value);
  });
  $('signout').addEventListener('click', function () { signOut(''); });
  $('pause').addEventListener('click', function () {
    paused = !paused;
    this.setAttribute('aria-pressed', String(paused));
    this.textContent = paused ? 'Resume refresh' : 'Pause refresh';
    if (!paused) refresh();
  });

  // ---- status ----
  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
  }
  async function refresh() {
    if (token === null) return;
    if (paused || document.hidden) { schedule(); return; }
    try {
      var res = await api('/api/status');
      if (res.ok) render(await res.json());
      else $('refreshed').textContent = 'Refresh failed: status ' + res.status;
    } catch (err) {
      if (err instanceof Unauthorised) return;
      $('refreshed').textContent = 'Refresh failed: ' + err.message;
    }
    schedule();
  }

  function reqIdButton(id) {
    if (!id) return document.createTextNode('–');
    var b = el('button', { type: 'button', className: 'link', 'data-reqid': id, title: 'Show the lines of this request', text: id });
    b.addEventListener('click', function () { showRequest(id); });
    return b;
  }
  function row(cells) {
    return el('tr', null, cells.map(function (c) {
      if (c && c.nodeType) return el('td', null, [c]);
      if (c && typeof c === 'object') return el('td', { className: c.className || '' }, [c.node || String(c.text)]);
      return el('td', null, [String(c)]);
    }));
  }
  function fill(table, rows, emptyText, columns) {
    var body = table.tBodies[0];
    clear(body);
    if (rows.length === 0) body.appendChild(el('tr', null, [el('td', { colspan: String(columns), className: 'empty', text: emptyText })]));
    rows.forEach(function (r) { body.appendChild(r); });
  }

  var SVG = 'http://www.w3.org/2000/svg';
  /** A small line chart of one or more series (arrays of numbers or null), scaled together. */
  function chart(label, series) {
    var w = 160, h = 34, pad = 2;
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('class', 'chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
    var max = 0, len = 0;
    series.forEach(function (s) { len = Math.max(len, s.values.length); s.values.forEach(function (v) { if (v !== null && v > max) max = v; }); });
    if (max === 0) max = 1;
    var step = len > 1 ? (w - 2 * pad) / (len - 1) : 0;
    series.forEach(function (s) {
      var points = [];
      var flush = function () {
        if (points.length > 1) {
          var line = document.createElementNS(SVG, 'polyline');
          line.setAttribute('points', points.join(' '));
          line.setAttribute('class', s.className);
          svg.appendChild(line);
        } else if (points.length === 1) {
          var xy = points[0].split(',');
          var dot = document.createElementNS(SVG, 'circle');
          dot.setAttribute('cx', xy[0]); dot.setAttribute('cy', xy[1]); dot.setAttribute('r', '2');
          dot.setAttribute('class', s.className);
          svg.appendChild(dot);
        }
        points = [];
      };
      s.values.forEach(function (v, i) {
        if (v === null) { flush(); return; }
        var x = len > 1 ? pad + i * step : w / 2;
        var y = h - pad - (v / max) * (h - 2 * pad);
        points.push(x.toFixed(1) + ',' + y.toFixed(1));
      });
      flush();
    });
    var title = document.createElementNS(SVG, 'title');
    title.textContent = label;
    svg.appendChild(title);
    return svg;
  }

  function tile(label, value, bad) {
    return el('div', { className: 'tile' + (bad ? ' bad' : '') }, [el('div', { className: 'label', text: label }), el('div', { className: 'value', text: value })]);
  }

  function render(s) {
    $('service').textContent = s.service ? s.service + ' console' : 'Console';
    document.title = (s.service || 'Service') + ' console';
    $('refreshed').textContent = 'Updated ' + time(s.time) + (paused ? ' (paused)' : '');
    var overall = s.health ? s.health.status : 'unknown';
    $('overall').className = 'dot ' + overall;
    $('overall').title = 'health: ' + overall;
    var span = s.sampleTimes.length > 1 ? Math.round((s.sampleTimes[s.sampleTimes.length - 1] - s.sampleTimes[0]) / 1000) : 0;
    $('span').textContent = (span >= 120 ? Math.round(span / 60) + ' min' : span + ' s') + (s.routesTotal > s.routes.length ? '; the busiest ' + s.routes.length + ' of ' + s.routesTotal + ' routes' : '');

    var tiles = $('tiles');
    clear(tiles);
    ['1m', '5m', '15m'].forEach(function (w) {
      var r = s.errorRate[w];
      tiles.appendChild(tile('5xx rate, ' + w + ' (' + r.errors + ' of ' + r.requests + ')', pct(r.rate), r.rate > 0.01));
    });
    tiles.appendChild(tile('In flight', s.inFlight ? String(s.inFlight.total) : '–', false));
    tiles.appendChild(tile('Health', overall, overall !== 'ok'));
    if (s.process) {
      tiles.appendChild(tile('Memory (RSS)', bytes(s.process.rss), false));
      tiles.appendChild(tile('Heap used', bytes(s.process.heapUsed) + ' of ' + bytes(s.process.heapTotal), false));
      tiles.appendChild(tile('Event-loop delay p99', fmt(s.process.eventLoopDelay.p99, 2) + ' ms', s.process.eventLoopDelay.p99 > 100));
      tiles.appendChild(tile('Uptime', (s.process.uptimeSeconds < 120 ? Math.round(s.process.uptimeSeconds) + ' s' : Math.round(s.process.uptimeSeconds / 60) + ' min'), false));
    }
    tiles.appendChild(tile('Lines kept', s.buffer.records + ' (' + bytes(s.buffer.bytes) + ')', false));

    fill($('routes'), s.routes.map(function (r) {
      var h = r.history;
      var latency = el('div', null, [
        chart('Latency of ' + r.key + ': p50, p95, p99 in ms', [{ values: h.p50, className: 'p50' }, { values: h.p95, className: 'p95' }, { values: h.p99, className: 'p99' }]),
        el('span', { className: 'legend' }, [el('span', { className: 'p50', text: 'p50 ' }), el('span', { className: 'p95', text: 'p95 ' }), el('span', { className: 'p99', text: 'p99' })]),
      ]);
      var lastRate = h.rate.length ? h.rate[h.rate.length - 1] : null;
      return row([
        { text: r.key, className: 'mono' },
        { text: r.count, className: 'num' },
        { node: el('div', null, [chart('Requests per second of ' + r.key, [{ values: h.rate, className: 'rate' }]), el('span', { className: 'legend', text: fmt(lastRate, 2) + '/s' })]) },
        { node: el('div', null, [chart('Error ratio of ' + r.key, [{ values: h.errorRate, className: 'err' }]), el('span', { className: 'legend', text: pct(r.errorRate) })]) },
        { text: fmt(r.p50) + ' / ' + fmt(r.p95) + ' / ' + fmt(r.p99), className: 'num' },
        latency,
      ]);
    }), 'No requests in the window yet.', 6);

    var inflight = s.inFlight ? s.inFlight.requests : [];
    $('inflight-count').textContent = s.inFlight ? '(' + s.inFlight.total + (inflight.some(function (r) { return r.slow; }) ? ', some slow' : '') + ')' : '';
    fill($('inflight'), inflight.map(function (r) {
      return row([reqIdButton(r.reqId), r.method || '', { text: r.url || '', className: 'wrap mono' }, r.route || '–', { text: r.elapsedMs + (r.slow ? ' (slow)' : ''), className: 'num' }]);
    }), 'No request in flight.', 5);

    fill($('errors'), s.recentErrors.map(function (e) {
      return row([time(e.time), { text: e.msg || '', className: 'wrap' }, { text: e.error || '', className: 'wrap' }, (e.route || '') + (e.status ? ' ' + e.status : ''), reqIdButton(e.reqId)]);
    }), 'No error line among the kept lines.', 5);

    var checks = s.health ? Object.keys(s.health.checks).map(function (name) {
      var c = s.health.checks[name];
      return row([name, c.status, c.critical ? 'yes' : 'no', { text: fmt(c.durationMs), className: 'num' }, { text: c.error || (c.details !== undefined ? JSON.stringify(c.details) : ''), className: 'wrap' }]);
    }) : [];
    $('health-status').textContent = s.health ? '(' + s.health.status + (s.health.ready ? ', ready' : ', not ready') + ')' : '';
    fill($('health'), checks, s.health ? 'No health check registered.' : 'Health checks are not part of this instance.', 5);

    var deps = s.dependencies || { series: [] };
    fill($('deps'), deps.series.map(function (d) {
      var name = Object.keys(d.labels).map(function (k) { return k + '=' + d.labels[k]; }).join(' ');
      return row([d.kind, { text: name, className: 'wrap mono' }, { text: d.count, className: 'num' }, { text: fmt(d.p50) + ' / ' + fmt(d.p95) + ' / ' + fmt(d.p99), className: 'num' }]);
    }), 'No database, cache, LLM, outgoing HTTP or job timing in the window.', 4);
    fill($('caches'), (deps.cache || []).map(function (c) {
      var total = c.hits + c.misses;
      return row([c.cache, { text: c.hits, className: 'num' }, { text: c.misses, className: 'num' }, { text: total ? pct(c.hits / total) : '–', className: 'num' }, { text: c.errors, className: 'num' }]);
    }), 'No cache lookups counted.', 5);
    fill($('costs'), (deps.llmCost || []).map(function (c) {
      return row([c.provider, c.model, { text: usd(c.usd), className: 'num' }]);
    }), 'No LLM cost counted.', 3);
  }

  // ---- log lines ----
  function lineItem(line, seq) {
    var level = typeof line.level === 'number' ? line.level : 30;
    var summary = el('summary', null, [
      el('span', { className: 'mono', text: time(typeof line.time === 'number' ? line.time : Date.parse(line.time)) }),
      el('span', { className: 'lvl lvl-' + level, text: LEVELS[level] || String(level) }),
      el('span', { text: line.msg === undefined ? '' : String(line.msg) }),
      line.reqId ? lineReqId(String(line.reqId)) : null,
      line.req && line.req.route ? el('span', { className: 'mono', text: String(line.req.route) + (line.res ? ' ' + line.res.statusCode : '') }) : null,
    ]);
    var details = el('details', null, [summary, el('pre', { text: JSON.stringify(line, null, 2) })]);
    return el('li', { 'data-seq': String(seq) }, [details]);
  }

  /** A line's request id: a button that opens the request's lines (without opening or closing the line itself). */
  function lineReqId(id) {
    var b = el('button', { type: 'button', className: 'link', 'data-line-reqid': id, title: 'Show the lines of this request', text: 'reqId ' + id });
    b.addEventListener('click', function (e) { e.preventDefault(); e.stopPropagation(); showRequest(id); });
    return b;
  }

  function formQuery(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) { if (String(value).trim() !== '') params.set(key, String(value).trim()); });
    return params;
  }

  async function search(more) {
    var params = formQuery($('logs-form'));
    if (more && nextCursor !== null) params.set('before', String(nextCursor));
    params.set('limit', '100');
    lastQuery = params.toString();
    try {
      var res = await api('/api/logs?' + lastQuery);
      var body = await res.json();
      if (!res.ok) { $('logs-meta').textContent = body.error ? body.error.message : 'status ' + res.status; return; }
      if (!more) clear($('logs'));
      body.records.forEach(function (r) { $('logs').appendChild(lineItem(r.line, r.seq)); });
      nextCursor = body.nextCursor;
      $('older').hidden = nextCursor === null;
      var shown = $('logs').children.length;
      $('logs-meta').textContent = shown === 0 ? 'No line matches.' : shown + ' line' + (shown === 1 ? '' : 's') + ', newest first' + (nextCursor === null ? '' : ' (more below)');
    } catch (err) {
      if (!(err instanceof Unauthorised)) $('logs-meta').textContent = 'Search failed: ' + err.message;
    }
  }
  $('logs-form').addEventListener('submit', function (e) { e.preventDefault(); nextCursor = null; search(false); });
  $('logs-form').addEventListener('reset', function () { setTimeout(function () { nextCursor = null; search(false); }, 0); });
  $('older').addEventListener('click', function () { search(true); });
  $('export').addEventListener('click', async function () {
    var params = formQuery($('logs-form'));
    params.set('format', 'ndjson');
    params.set('limit', '1000');
    try {
      // Page after page, following the cursor, until every matching kept line is in.
      var parts = [];
      var lines = 0;
      for (var cursor = null, pages = 0; pages < 1000; pages++) {
        if (cursor !== null) params.set('before', cursor);
        var res = await api('/api/logs?' + params.toString());
        if (!res.ok) throw new Error('status ' + res.status);
        var text = await res.text();
        parts.push(text);
        lines += text === '' ? 0 : text.split('\n').length - 1;
        cursor = res.headers.get('x-next-cursor');
        $('logs-meta').textContent = 'Exporting: ' + lines + ' lines…';
        if (!cursor) break;
      }
      var blob = new Blob(parts, { type: 'application/x-ndjson' });
      var a = el('a', { download: 'logs.ndjson' });
      a.href = URL.createObjectURL(blob);
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      $('logs-meta').textContent = 'Exported ' + lines + ' matching line' + (lines === 1 ? '' : 's') + ', newest first.';
    } catch (err) {
      if (!(err instanceof Unauthorised)) $('logs-meta').textContent = 'Export failed: ' + err.message;
    }
  });

  // ---- one request's lines ----
  var dialog = $('request-dialog');
  var opener = null;
  async function showRequest(id) {
    opener = document.activeElement;
    $('request-title').textContent = 'Request ' + id;
    clear($('request-lines'));
    $('request-meta').textContent = 'Loading…';
    if (!dialog.open) dialog.showModal();
    try {
      // Every kept line of the request, page after page (up to 10,000), then shown oldest first.
      var records = [];
      var cursor = null;
      for (var pages = 0; pages < 10; pages++) {
        var res = await api('/api/logs?limit=1000&reqId=' + encodeURIComponent(id) + (cursor === null ? '' : '&before=' + cursor));
        var body = await res.json();
        if (!res.ok) { $('request-meta').textContent = body.error ? body.error.message : 'status ' + res.status; return; }
        records = records.concat(body.records);
        cursor = body.nextCursor;
        if (cursor === null) break;
      }
      records.reverse().forEach(function (r) { $('request-lines').appendChild(lineItem(r.line, r.seq)); });
      var n = records.length;
      $('request-meta').textContent = n === 0 ? 'No kept line has this request id (yet).' : (cursor === null ? '' : 'The newest ') + n + ' line' + (n === 1 ? '' : 's') + (cursor === null ? '' : ' of more') + ', oldest first';
    } catch (err) {
      if (!(err instanceof Unauthorised)) $('request-meta').textContent = 'Failed: ' + err.message;
    }
  }
  $('request-close').addEventListener('click', function () { dialog.close(); });
  dialog.addEventListener('close', function () { if (opener && opener.focus) opener.focus(); });

  // ---- live tail: Server-Sent Events read from a fetch stream, so that the token travels in a header ----
  function stopTail() {
    if (tail) tail.abort();
    tail = null;
    tailHidden = false;
    $('tail-toggle').textContent = 'Start';
  }
  async function runTail(params, controller) {
    var headers = { accept: 'text/event-stream' };
    if (tailLastId) headers['last-event-id'] = tailLastId;
    var res = await api('/api/tail?' + params.toString(), { headers: headers, signal: controller.signal });
    if (!res.ok) {
      var body = await res.json().catch(function () { return {}; });
      throw new Error(body.error ? body.error.message : 'status ' + res.status);
    }
    $('tail-meta').textContent = 'Connected: new lines appear below as they are written.';
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      var end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        var block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        var id = null, data = '', type = 'message';
        block.split('\n').forEach(function (l) {
          if (l.indexOf('id: ') === 0) id = l.slice(4);
          else if (l.indexOf('data: ') === 0) data += l.slice(6);
          else if (l.indexOf('event: ') === 0) type = l.slice(7);
        });
        // The id first: the stream's head names the newest line, so a reconnection resumes from it.
        if (id) tailLastId = id;
        if (type === 'skipped') { $('tail-meta').textContent = 'Up to ' + JSON.parse(data).lines + ' lines were not sent (a burst, or no longer kept): search the logs for them.'; continue; }
        if (!data) continue;
        var list = $('tail');
        list.insertBefore(lineItem(JSON.parse(data), id), list.firstChild);
        while (list.children.length > MAX_TAIL_LINES) list.removeChild(list.lastChild);
      }
    }
  }
  $('tail-form').addEventListener('submit', function (e) {
    e.preventDefault();
    if (tail || tailHidden) { tailHidden = false; stopTail(); $('tail-meta').textContent = 'Stopped.'; return; }
    startTail(false);
  });
  async function startTail(resume) {
    var controller = new AbortController();
    tail = controller;
    $('tail-toggle').textContent = 'Stop';
    // A resumed tail keeps the filters it was started with.
    if (!resume || tailParams === null) tailParams = formQuery($('tail-form'));
    var params = tailParams;
    if (!resume) tailLastId = null;
    while (tail === controller) {
      try {
        await runTail(params, controller);
        $('tail-meta').textContent = 'The stream ended; reconnecting…';
      } catch (err) {
        if (err instanceof Unauthorised || controller.signal.aborted) return;
        $('tail-meta').textContent = 'Tail interrupted (' + err.message + '); reconnecting…';
      }
      await new Promise(function (r) { setTimeout(r, 2000); });
    }
  }
  $('tail-clear').addEventListener('click', function () { clear($('tail')); });

  // A hidden tab gives its tail place back (at most 10 streams at once); shown again, it resumes from its last line.
  var tailHidden = false;
  document.addEventListener('visibilitychange', function () {
    if (document.hidden && tail) {
      tailHidden = true;
      tail.abort();
      tail = null;
    } else if (!document.hidden && tailHidden) {
      tailHidden = false;
      startTail(true);
    }
    if (!document.hidden && token !== null && !paused) refresh();
  });

  var saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved); else showSignIn('');
})();
