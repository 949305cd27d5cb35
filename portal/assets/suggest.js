// Suggests knowledge-base articles as the requester types the subject of
// the web form. Without JavaScript the "Search help articles" button does
// the same with a page load.
//
// When the page showed suggestions and the requester leaves it without
// sending the form (closes it, goes elsewhere, or stays on a suggested
// article), a beacon tells the server so, for the self-service figures:
// the form session in #f-fs ties it to the suggestions and to the post.
(function () {
  var input = document.getElementById('f-subject');
  var box = document.getElementById('suggestions');
  var fs = document.getElementById('f-fs');
  var form = fs && fs.form;
  if (!input || !box) return;
  var shown = !box.hidden, sending = false;
  if (form) {
    form.addEventListener('submit', function () { sending = true; });
  }
  window.addEventListener('pageshow', function (e) { if (e.persisted) sending = false; });
  window.addEventListener('pagehide', function () {
    if (!shown || sending || !fs || !navigator.sendBeacon) return;
    navigator.sendBeacon('/support/new/left', new URLSearchParams({ fs: fs.value }));
  });
  if (!window.fetch) return;
  var timer = null, last = '';
  function show(items) {
    box.textContent = '';
    if (!items.length) { box.hidden = true; return; }
    var h = document.createElement('p');
    h.textContent = 'These articles might answer your question:';
    var ul = document.createElement('ul');
    ul.className = 'suggestions';
    items.forEach(function (it) {
      var li = document.createElement('li'), a = document.createElement('a');
      a.href = it.url; a.textContent = it.title; a.target = '_blank'; a.rel = 'noopener';
      li.appendChild(a); ul.appendChild(li);
    });
    box.appendChild(h); box.appendChild(ul); box.hidden = false;
    shown = true;
  }
  input.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < 3) { show([]); return; }
      var url = '/kb/suggest?q=' + encodeURIComponent(q) + (fs ? '&fs=' + encodeURIComponent(fs.value) : '');
      fetch(url, { headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) { if (input.value.trim() === q) show(items); })
        .catch(function () {});
    }, 300);
  });
})();
