package dashboards

import (
	"bytes"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
)

// ticketView is the read-only page of one ticket: its fields, SLA clocks
// and timeline, where the dashboards' ticket links lead.
type ticketView struct {
	User, CSRF string
	Ticket     *model.Ticket
	SLA        *metrics.TicketSLA
	Events     []*model.Event
	Loc        *time.Location
}

func (v *ticketView) Time(t time.Time) string { return t.In(v.Loc).Format("Mon 2 Jan 2006 15:04 MST") }

func (v *ticketView) TimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return v.Time(*t)
}

// Clock describes an SLA clock in words.
func (v *ticketView) Clock(c *metrics.Clock) string {
	if c == nil {
		return "no policy"
	}
	s := c.Status + " · " + humanDur(c.ElapsedMinutes) + " of " + humanDur(c.TargetMinutes)
	switch {
	case c.DueAt != nil && c.Status == "active":
		s += " · due " + v.Time(*c.DueAt)
	case c.BreachedAt != nil:
		s += " · breached " + v.Time(*c.BreachedAt)
	}
	return s
}

func (d *Dashboards) ticketPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := d.st.Ticket(ctx, r.PathValue("ref"))
	if errors.Is(err, model.ErrNotFound) {
		http.Error(w, "no such ticket", http.StatusNotFound)
		return
	}
	if err != nil {
		slog.Error("ticket page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := &ticketView{Ticket: t, Loc: d.m.Location()}
	if u := auth.UserFrom(ctx); u != nil {
		v.User, v.CSRF = u.Email, auth.CSRFFrom(ctx)
	}
	if v.SLA, err = d.m.TicketSLA(ctx, t.ID); err == nil {
		v.Events, err = d.st.TicketEvents(ctx, t.ID)
	}
	if err != nil {
		slog.Error("ticket page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := ticketTpl.Execute(&buf, v); err != nil {
		slog.Error("ticket page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// ticketFuncs read the optional fields of events.
var ticketFuncs = template.FuncMap{
	"deref": func(p any) any {
		v := reflect.ValueOf(p)
		if v.Kind() != reflect.Pointer {
			return p
		}
		if v.IsNil() {
			return ""
		}
		return v.Elem().Interface()
	},
	"starsOf": func(n *int) string { return strings.Repeat("★", *n) + strings.Repeat("☆", 5-*n) },
}

var ticketTpl = template.Must(template.New("ticket").Funcs(funcs).Funcs(ticketFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>#{{.Ticket.Number}} {{.Ticket.Subject}} · deskpulse</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/dashboards/app.css">
</head>
<body>
<header class="top">
  <div class="brand">deskpulse</div>
  <nav><a href="/">Dashboards</a></nav>
  {{- if .User}}
  <form class="user" method="post" action="/signout">
    <span>{{.User}}</span><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">Sign out</button>
  </form>
  {{- end}}
</header>
<main class="ticket">
  <h1>#{{.Ticket.Number}} {{.Ticket.Subject}} <span class="badge status-{{.Ticket.Status}}">{{.Ticket.Status}}</span></h1>
  <section class="card">
  <dl class="fields">
    <dt>Priority</dt><dd>{{.Ticket.Priority}}</dd>
    <dt>Type</dt><dd>{{.Ticket.Type}}</dd>
    <dt>Team</dt><dd>{{or .Ticket.Team "—"}}</dd>
    <dt>Assignee</dt><dd>{{or .Ticket.Assignee "—"}}</dd>
    <dt>Requester</dt><dd>{{.Ticket.RequesterName}} {{.Ticket.RequesterEmail}}</dd>
    <dt>Channel</dt><dd>{{.Ticket.Channel}}</dd>
    <dt>Category</dt><dd>{{or .Ticket.Category "—"}}</dd>
    <dt>Tags</dt><dd>{{range .Ticket.Tags}}<span class="tag">{{.}}</span> {{else}}—{{end}}</dd>
    <dt>Created</dt><dd>{{.Time .Ticket.CreatedAt}}</dd>
    <dt>First response</dt><dd>{{.TimePtr .Ticket.FirstResponseAt}}</dd>
    <dt>Resolved</dt><dd>{{.TimePtr .Ticket.ResolvedAt}}</dd>
    <dt>SLA first response</dt><dd>{{.Clock .SLA.FirstResponse}}</dd>
    <dt>SLA resolution</dt><dd>{{.Clock .SLA.Resolution}}</dd>
    {{- if .Ticket.CSATScore}}<dt>CSAT</dt><dd>{{starsOf .Ticket.CSATScore}} {{.Ticket.CSATComment}}</dd>{{end}}
    {{- range $k, $v := .Ticket.Fields}}<dt>{{$k}}</dt><dd>{{$v}}</dd>{{end}}
  </dl>
  {{- if .Ticket.Description}}<p class="description">{{.Ticket.Description}}</p>{{end}}
  </section>
  <section class="card">
  <h2>Timeline</h2>
  <ol class="timeline">
  {{- range .Events}}
    <li class="ev ev-{{.Type}}{{if and .Public (not (deref .Public))}} note{{end}}">
      <time>{{$.Time .At}}</time> <strong>{{.Type}}</strong> by {{.Actor}} <span class="kind">({{.ActorKind}})</span>
      {{- if .Status}} → {{deref .Status}}{{end}}{{if .Priority}} {{deref .Priority}}{{end}}{{if .Team}} team {{deref .Team}}{{end}}{{if .Assignee}} assignee {{deref .Assignee}}{{end}}{{if .Score}} score {{deref .Score}}{{end}}
      {{- if .Body}}<div class="body">{{if and .Public (not (deref .Public))}}<em>internal note:</em> {{end}}{{deref .Body}}</div>{{end}}
      {{- if .Comment}}<div class="body">{{deref .Comment}}</div>{{end}}
    </li>
  {{- end}}
  </ol>
  </section>
</main>
</body>
</html>`))
