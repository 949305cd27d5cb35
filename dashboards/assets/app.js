// deskpulse dashboards: charts are drawn from their options blocks, the
// filter bar keeps its state in the URL, tables sort on a click, charts
// follow the window size. No other host is used, and the pages have no
// inline script: this file is all the code they run besides ECharts.
"use strict";

// dpDur formats minutes in human units, like the server does.
function dpDur(m) {
  if (m == null || m === "-" || isNaN(m)) return "–";
  var neg = m < 0; m = Math.abs(m);
  var s;
  if (m < 1) s = Math.round(m * 60) + " s";
  else if (m < 60) s = Math.round(m) + " min";
  else if (m < 1440) { var t = Math.round(m), h = Math.floor(t / 60), mm = t % 60; s = h + " h" + (mm ? " " + mm + " min" : ""); }
  else { var th = Math.round(m / 60), d = Math.floor(th / 24), hh = th % 24; s = d + " d" + (hh ? " " + hh + " h" : ""); }
  return (neg ? "-" : "") + s;
}

// dpFormatters are the functions chart options name as "dp:<name>" in a
// formatter (charts.go: jsFormatter); the options themselves are data.
var dpFormatters = {
  duration: dpDur,
  pct: function (v) { return v == null || v === "-" ? "–" : v.toFixed(1) + " %"; },
  pctLabel: function (p) { return p.value.toFixed(1) + " %"; }
};

// dpOptions parses a chart's options block, putting the named formatters
// in place.
function dpOptions(text) {
  return JSON.parse(text, function (key, value) {
    if ((key === "formatter" || key === "valueFormatter") && typeof value === "string" && value.lastIndexOf("dp:", 0) === 0 &&
        Object.prototype.hasOwnProperty.call(dpFormatters, value.slice(3))) {
      return dpFormatters[value.slice(3)];
    }
    return value;
  });
}

document.addEventListener("DOMContentLoaded", function () {
  // Each chart card holds <script type="application/json"
  // data-chart-options="<id>">: the ECharts options of the element <id>.
  Array.prototype.forEach.call(document.querySelectorAll("script[data-chart-options]"), function (block) {
    var el = document.getElementById(block.dataset.chartOptions);
    if (el && window.echarts) echarts.init(el, null, { renderer: "canvas" }).setOption(dpOptions(block.textContent));
  });

  var form = document.getElementById("filters");
  if (form) {
    var range = document.getElementById("f-range");
    var custom = form.querySelector(".custom");
    var go = function () {
      var params = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || !el.value) return;
        if ((el.name === "from" || el.name === "to") && range.value !== "custom") return;
        if (el.name === "range" && el.value === "30d") return;
        if (el.name === "tz" && el.value === el.dataset.default) return;
        params.set(el.name, el.value);
      });
      var qs = params.toString();
      window.location.assign(form.getAttribute("action") + (qs ? "?" + qs : ""));
    };
    form.addEventListener("change", function (ev) {
      if (ev.target === range && range.value === "custom") { custom.hidden = false; return; }
      go();
    });
    form.addEventListener("submit", function (ev) { ev.preventDefault(); go(); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var desc = !th.classList.contains("desc");
        if (th.dataset.type === "text" && !th.classList.contains("asc") && !th.classList.contains("desc")) desc = false;
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(desc ? "desc" : "asc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          if (th.dataset.type === "num") {
            var xs = x.dataset.sort, ys = y.dataset.sort;
            if (xs === "" && ys === "") return 0;
            if (xs === "") return 1;
            if (ys === "") return -1;
            return desc ? ys - xs : xs - ys;
          }
          return desc ? y.textContent.localeCompare(x.textContent) : x.textContent.localeCompare(y.textContent);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });

  window.addEventListener("resize", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".card .item"), function (el) {
      var c = window.echarts && echarts.getInstanceByDom(el);
      if (c) c.resize();
    });
  });
});
