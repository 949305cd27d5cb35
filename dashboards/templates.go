package dashboards

import (
	"html/template"
	"strings"
)

var funcs = template.FuncMap{
	"lower":   strings.ToLower,
	"stars":   func(n int64) string { return strings.Repeat("★", int(n)) + strings.Repeat("☆", 5-int(n)) },
	"sel":     func(a, b string) bool { return a == b },
	"columns": func() []string { return TableColumns },
}

var pageTpl = template.Must(template.New("page").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Page.Title}} · deskpulse</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/dashboards/app.css">
{{- range .Scripts}}
<script src="{{.}}"></script>
{{- end}}
<script src="/static/dashboards/app.js"></script>
</head>
<body data-page="{{.Page.Key}}">
<header class="top">
  <div class="brand">deskpulse</div>
  <nav>
  {{- range .Pages}}
    <a href="{{$.Href .Path}}" data-path="{{.Path}}"{{if eq .Key $.Page.Key}} class="current" aria-current="page"{{end}}>{{.Title}}</a>
  {{- end}}
  {{- if .Inbox}}
    <a href="/inbox">Inbox</a>
  {{- end}}
  </nav>
  {{- if .User}}
  <form class="user" method="post" action="/signout">
    <span>{{.User}}</span><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">Sign out</button>
  </form>
  {{- end}}
</header>
<form class="filters" id="filters" method="get" action="{{.Page.Path}}">
  <label>Range
    <select name="range" id="f-range">
    {{- range .Options.Presets}}<option value="{{.Value}}"{{if sel .Value $.Filter.Range}} selected{{end}}>{{.Label}}</option>{{end}}
    </select>
  </label>
  <span class="custom"{{if ne .Filter.Range "custom"}} hidden{{end}}>
    <label>From <input type="date" name="from" id="f-from" value="{{.Filter.FromDate}}"></label>
    <label>To <input type="date" name="to" id="f-to" value="{{.Filter.ToDate}}"></label>
  </span>
  <label>Team
    <select name="team" id="f-team"><option value="">All teams</option>
    {{- range .Options.Teams}}<option value="{{.Value}}"{{if sel .Value (index $.Filter.Values "team")}} selected{{end}}>{{.Label}}</option>{{end}}
    </select>
  </label>
  <label>Agent
    <select name="agent" id="f-agent"><option value="">All agents</option>
    {{- range .Options.Agents}}<option value="{{.Value}}"{{if sel .Value (index $.Filter.Values "agent")}} selected{{end}}>{{.Label}}</option>{{end}}
    </select>
  </label>
  <label>Priority
    <select name="priority" id="f-priority"><option value="">All</option>
    {{- range .Options.Priorities}}<option value="{{.Value}}"{{if sel .Value (index $.Filter.Values "priority")}} selected{{end}}>{{.Label}}</option>{{end}}
    </select>
  </label>
  <label>Category
    <select name="category" id="f-category"><option value="">All</option>
    {{- range .Options.Categories}}<option value="{{.Value}}"{{if sel .Value (index $.Filter.Values "category")}} selected{{end}}>{{.Label}}</option>{{end}}
    </select>
  </label>
  <label>Channel
    <select name="channel" id="f-channel"><option value="">All</option>
    {{- range .Options.Channels}}<option value="{{.Value}}"{{if sel .Value (index $.Filter.Values "channel")}} selected{{end}}>{{.Label}}</option>{{end}}
    </select>
  </label>
  <label>Time zone
    <select name="tz" id="f-tz" data-default="{{.DefaultZone}}">
    {{- range .Options.Zones}}<option value="{{.Value}}"{{if sel .Value $.Filter.Zone}} selected{{end}}>{{.Label}}</option>{{end}}
    </select>
  </label>
  <noscript><button type="submit">Apply</button></noscript>
  <a class="reset" href="{{.Page.Path}}">Reset</a>
</form>
<main>
  <h1>{{.Page.Title}} <span class="range">{{.Filter.RangeLabel}} · {{.Filter.Zone}}</span></h1>
  {{- range .Problems}}<p class="problem">Ignored: {{.}}</p>{{end}}
  {{- if .Error}}<p class="error">The metrics could not be computed: {{.Error}}</p>{{end}}
  {{- if .Tiles}}
  <section class="tiles">
  {{- range .Tiles}}
    <div class="tile" title="{{.Hint}}">
      <div class="label">{{.Label}}</div>
      <div class="value">{{.Value}}</div>
      <div class="delta {{.Tone}}" title="{{.Previous}}">{{if .Delta}}<span class="arrow">{{.Arrow}}</span> {{.Delta}} <span class="vs">vs previous</span>{{else}}<span class="vs">no previous figure</span>{{end}}</div>
    </div>
  {{- end}}
  </section>
  {{- end}}
  <section class="grid">
  {{- range .Blocks}}
    {{- if eq .Kind "chart"}}{{$wide := .Wide}}{{$third := .Third}}{{with .Chart}}
    <article class="card{{if $wide}} wide{{end}}{{if $third}} third{{end}}" data-chart="{{.ID}}"{{if .Empty}} data-empty="true"{{end}}>
      <h2>{{.Title}}</h2><p class="note">{{.Note}}</p>
      {{- if .Empty}}<div class="empty">{{.Empty}}</div>{{else}}{{.Element}}
      <script type="application/json" data-chart-options="{{.ID}}">{{.Options}}</script>{{end}}
    </article>{{end}}
    {{- else if eq .Kind "risk"}}
    <article class="card wide" id="at-risk">
      <h2>{{.Title}}</h2><p class="note">{{.Note}}</p>
      {{- if .Risk}}
      <table class="data"><thead><tr><th>Ticket</th><th>Subject</th><th>Target</th><th>Due in</th><th>Due at</th><th>Priority</th><th>Team</th><th>Assignee</th><th>Status</th></tr></thead><tbody>
      {{- range .Risk}}
        <tr{{if .Urgent}} class="urgent"{{end}}><td><a href="{{.Link}}">{{if .Number}}#{{.Number}}{{else}}ticket{{end}}</a></td><td class="subject">{{.Subject}}</td><td>{{.Target}}</td><td class="num">{{.DueIn}}</td><td>{{.DueAt}}</td><td><span class="prio {{.Priority}}">{{.Priority}}</span></td><td>{{.Team}}</td><td>{{.Assignee}}</td><td>{{.Status}}</td></tr>
      {{- end}}
      </tbody></table>
      {{- else}}<div class="empty">No SLA clock is running for these tickets right now</div>{{end}}
    </article>
    {{- else if eq .Kind "comments"}}
    <article class="card wide" id="comments">
      <h2>{{.Title}}</h2><p class="note">{{.Note}}</p>
      {{- if .Comments}}
      <ul class="comments">
      {{- range .Comments}}
        <li><span class="stars s{{.Score}}" title="{{.Score}} of 5">{{stars .Score}}</span> <q>{{.Comment}}</q>
          <span class="meta"><a href="{{.Link}}">{{if .Number}}#{{.Number}}{{else}}ticket{{end}}</a> · {{.Team}} · {{.Assignee}} · {{.At}}</span></li>
      {{- end}}
      </ul>
      {{- else}}<div class="empty">No tickets in this range have a rating with a comment</div>{{end}}
    </article>
    {{- else}}
    <article class="card{{if .Wide}} wide{{end}}" id="table-{{.Kind}}">
      <h2>{{.Title}}</h2><p class="note">{{.Note}}</p>
      {{- if .Rows}}
      <table class="data sortable"><thead><tr><th data-type="text">{{if eq .Kind "agents"}}Agent{{else}}Team{{end}}</th>{{range columns}}<th data-type="num">{{.}}</th>{{end}}</tr></thead><tbody>
      {{- range .Rows}}
        <tr><td>{{.Name}}</td>{{range .Cells}}<td class="num" data-sort="{{.Sort}}">{{.Text}}</td>{{end}}</tr>
      {{- end}}
      </tbody></table>
      {{- else}}<div class="empty">No tickets in this range</div>{{end}}
    </article>
    {{- end}}
  {{- end}}
  </section>
  <footer>Updated {{.Updated}} · rendered in {{.Duration.Milliseconds}} ms · <a href="/api/v1/metrics">metric definitions</a></footer>
</main>
</body>
</html>
`))

var missingTpl = template.Must(template.New("missing").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>deskpulse: dashboards unavailable</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>Dashboards unavailable in this build</h1>
<p>This deskpulse binary was built without ECharts {{.Version}}, which the dashboards
serve from the binary itself (they never load scripts from another host).</p>
<p>Run <code>{{.Target}}</code> (it fetches ECharts from the npm registry as pinned in
package.json and copies it to <code>dashboards/assets/echarts.min.js</code>), then rebuild,
e.g. <code>make build</code>. The API under <a href="/api/v1/metrics">/api/v1</a> works meanwhile.</p>
</body></html>
`))
