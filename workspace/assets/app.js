// Keyboard shortcuts and live updates for the agents' workspace. Every
// action is also a plain form or link, so the pages work without this
// script (they then show changes on the next load).
(function () {
  'use strict';
  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function rowList() { return Array.prototype.slice.call(document.querySelectorAll('table.tickets tbody tr')); }
  var rows = rowList();
  var at = -1;
  function select(i) {
    if (!rows.length) return;
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, j) { r.classList.toggle('selected', j === at); });
    var link = rows[at].querySelector('td.subject a');
    if (link) link.focus();
  }
  function write(kind) {
    var radio = document.getElementById('kind-' + kind);
    var body = document.getElementById('body');
    if (!radio || !body) return false;
    radio.checked = true;
    noteMode();
    body.focus();
    return true;
  }
  function noteMode() {
    var note = document.getElementById('kind-note');
    document.body.classList.toggle('writing-note', !!(note && note.checked));
  }
  document.querySelectorAll('input[name=kind]').forEach(function (r) { r.addEventListener('change', noteMode); });
  noteMode();

  var body = document.getElementById('body');
  if (body) {
    body.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        body.form.requestSubmit();
      }
    });
  }

  // A shortcut that moves the focus into the reply box must not type its
  // own letter there: browsers drop the keypress of a prevented keydown,
  // but synthetic input (and some keyboards) send it anyway.
  var swallow = '';
  document.addEventListener('keypress', function (e) {
    if (swallow && e.key === swallow) e.preventDefault();
    swallow = '';
  }, true);
  document.addEventListener('keyup', function () { swallow = ''; }, true);

  document.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
    var keys = document.getElementById('keys');
    switch (e.key) {
      case 'j': select(at + 1); break;
      case 'k': select(at - 1); break;
      case 'Enter':
        if (at >= 0 && document.activeElement === document.body) {
          rows[at].querySelector('td.subject a').click();
        }
        return;
      case 'r': if (!write('reply')) return; swallow = 'r'; break;
      case 'n': if (!write('note')) return; swallow = 'n'; break;
      case 'a': {
        var f = document.getElementById('assign-me');
        if (!f) return;
        f.requestSubmit();
        break;
      }
      case 's': {
        // Solve: the status form with "resolved", when the ticket may be.
        var st = document.getElementById('status');
        if (!st || !st.querySelector('option[value="resolved"]')) return;
        st.value = 'resolved';
        st.form.requestSubmit();
        break;
      }
      case '/': {
        var q = document.getElementById('q');
        if (!q) return;
        q.focus();
        q.select();
        swallow = '/';
        break;
      }
      case '?': if (keys && keys.showModal) { keys.open ? keys.close() : keys.showModal(); } break;
      default: return;
    }
    e.preventDefault();
  });

  // Live updates: the server streams the number of every ticket a commit
  // changed (/inbox/stream, Server-Sent Events). The inbox re-fetches
  // itself on any change; the ticket page on a change to its ticket. Only
  // the read-only parts marked data-live are replaced, so the forms keep
  // what the agent is typing (and the version they were opened on: a
  // send after a change is still refused with 409 and shows the change).
  var page = document.querySelector('main[data-ticket]');
  var ticket = page ? page.getAttribute('data-ticket') : null;
  var inbox = document.querySelector('[data-live="list"]');
  var url = ticket ? '/tickets/' + ticket : location.pathname + location.search;
  var focusable = 'a, button, input, select, textarea, summary';

  function rowNumber(el) {
    var tr = el && el.closest && el.closest('table.tickets tbody tr');
    return tr ? tr.getAttribute('data-number') : null;
  }
  function swap(doc) {
    var active = document.activeElement;
    var selected = at >= 0 && rows[at] ? rows[at].getAttribute('data-number') : null;
    var focusRow = rowNumber(active);
    document.querySelectorAll('[data-live]').forEach(function (old) {
      var fresh = doc.querySelector('[data-live="' + old.getAttribute('data-live') + '"]');
      if (!fresh || fresh.innerHTML === old.innerHTML) return;
      var focusAt = active && old.contains(active) ? Array.prototype.indexOf.call(old.querySelectorAll(focusable), active) : -1;
      fresh = document.importNode(fresh, true);
      old.replaceWith(fresh);
      if (focusAt >= 0 && !focusRow) {
        var f = fresh.querySelectorAll(focusable)[focusAt];
        if (f) f.focus();
      }
    });
    // The inbox keeps the selected and focused ticket by number, not by
    // position: a new ticket may have moved it.
    rows = rowList();
    at = -1;
    rows.forEach(function (r, j) {
      var n = r.getAttribute('data-number');
      if (n === selected) at = j;
      r.classList.toggle('selected', n === selected);
      if (n === focusRow) {
        var link = r.querySelector('td.subject a');
        if (link) link.focus();
      }
    });
  }
  // One fetch at a time; changes that arrive meanwhile cause one more.
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(url, { cache: 'no-store', headers: { Accept: 'text/html' } })
      .then(function (r) { if (!r.ok) throw new Error('live update: ' + r.status); return r.text(); })
      .then(function (html) { swap(new DOMParser().parseFromString(html, 'text/html')); })
      .catch(function () { /* the page stays as it is; the next change tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  if (window.EventSource && (ticket || inbox)) {
    // A ticket page says which ticket it shows, so that the others on it
    // are told (presence) and it hears who they are.
    var source = new EventSource('/inbox/stream' + (ticket ? '?viewing=' + encodeURIComponent(ticket) : ''));
    var opened = false;
    // After a reconnect (a restart, a dropped stream) changes may have
    // been missed: fetch once.
    // body[data-stream] says whether the stream is connected (for styles
    // and the browser tests).
    source.addEventListener('open', function () {
      document.body.setAttribute('data-stream', 'open');
      if (opened) refresh();
      opened = true;
    });
    source.addEventListener('error', function () { document.body.setAttribute('data-stream', 'closed'); });
    source.addEventListener('ticket', function (e) {
      if (!ticket || e.data === ticket) refresh();
    });
    // presence: the first line is the ticket, the others the names of
    // the other people on its page now.
    source.addEventListener('presence', function (e) {
      var lines = e.data.split('\n');
      var el = document.getElementById('presence');
      if (!el || lines[0] !== ticket) return;
      var names = lines.slice(1).filter(function (n) { return n !== ''; });
      el.textContent = names.length === 0 ? '' :
        names.join(', ') + (names.length === 1 ? ' is' : ' are') + ' viewing this ticket';
    });
  }
})();
