// Keyboard shortcuts for the agents' workspace. Every action is also a
// plain form or link, so the pages work without this script.
(function () {
  'use strict';
  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll('table.tickets tbody tr'));
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
})();
