// Suggests knowledge-base articles as the requester types the subject of
// the web form. Without JavaScript the "Search help articles" button does
// the same with a page load.
(function () {
  var input = document.getElementById('f-subject');
  var box = document.getElementById('suggestions');
  if (!input || !box || !window.fetch) return;
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
  }
  input.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (q === last) return;
      last = q;
      if (q.length < 3) { show([]); return; }
      fetch('/kb/suggest?q=' + encodeURIComponent(q), { headers: { Accept: 'application/json' } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (items) { if (input.value.trim() === q) show(items); })
        .catch(function () {});
    }, 300);
  });
})();
