// Package workspace is the agents' workspace: the inbox of ticket views
// and the ticket page with its reply, note and property forms. Pages are
// server-rendered (html/template) and work as plain HTML forms; a small
// embedded script adds keyboard shortcuts and live updates (live.go). Every write goes through
// the same ingest commands as the JSON API, so events, automation, SLA
// clocks and metrics cannot tell a page from an API call.
package workspace

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

//go:embed assets templates
var files embed.FS

// Workspace serves the agents' pages over the store, the writer and the
// metrics engine (for SLA clocks).
type Workspace struct {
	st  *store.Store
	w   *ingest.Writer
	m   *metrics.Engine
	now func() time.Time

	hub   *hub
	unsub func()
}

// New makes the workspace; it listens to the writer's commits for the
// live updates until Close.
func New(st *store.Store, w *ingest.Writer, m *metrics.Engine) *Workspace {
	ws := &Workspace{st: st, w: w, m: m, now: time.Now, hub: newHub(st)}
	ws.unsub = w.Subscribe(ws.hub.publish)
	return ws
}

// Close stops listening to the writer and ends the open live-update
// streams, which http.Server.Shutdown would otherwise wait for. Call it
// before shutting the server down.
func (ws *Workspace) Close() {
	ws.unsub()
	ws.hub.close()
}

// LiveClients is how many live-update streams are open.
func (ws *Workspace) LiveClients() int { return ws.hub.count() }

// Home is where a user lands after signing in: roles that work tickets
// day to day (agents, managers) on the inbox, the others on the
// dashboards at /.
func Home(u *model.User) string {
	switch u.Role {
	case model.RoleAgent, model.RoleManager:
		return "/inbox"
	}
	return "/"
}

// Register adds the workspace's routes: the inbox, the ticket page (which
// the dashboards' ticket links lead to) and its forms, and the static
// files.
func (ws *Workspace) Register(routes *route.Table) *Workspace {
	tickets := route.Need(model.PermTickets)
	routes.Func("GET", "/inbox", tickets, "the agents' inbox: ticket views with their counts", ws.inbox)
	routes.Func("GET", "/inbox/stream", tickets, "live updates: a Server-Sent Events stream of the numbers of tickets as they change", ws.hub.serve)
	routes.Func("GET", "/tickets/{ref}", tickets, "the ticket page: conversation, requester and forms", ws.ticketPage)
	routes.Func("POST", "/tickets/{ref}/comment", tickets, "post a public reply or an internal note from the ticket page", ws.postComment)
	routes.Func("POST", "/tickets/{ref}/assign", tickets, "assign a ticket to the signed-in agent from the ticket page", ws.postAssign)
	routes.Func("POST", "/tickets/{ref}/status", tickets, "set a ticket's status from the ticket page", ws.postStatus)
	routes.Func("POST", "/tickets/{ref}/priority", tickets, "set a ticket's priority from the ticket page", ws.postPriority)
	routes.Func("POST", "/tickets/{ref}/details", tickets, "set a ticket's type, category, team and tags from the ticket page", ws.postDetails)
	sub, _ := fs.Sub(files, "assets")
	static := http.StripPrefix("/static/workspace/", http.FileServerFS(sub))
	routes.Handle("GET", "/static/workspace/", route.Anyone, "the workspace's script and styles", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		static.ServeHTTP(w, r)
	}))
	return ws
}

// layout is what every workspace page's frame shows.
type layout struct {
	User, CSRF string
	Dashboards bool // the user may open the dashboards
	Current    string
	Title      string
	StatusCode int
	// The header's search box: its text, and the view it searches in
	// (the inbox's current view; all open tickets from a ticket page).
	Q, SearchView string
	now           time.Time
	loc           *time.Location
}

func (ws *Workspace) layout(ctx context.Context, current, title string) layout {
	l := layout{Current: current, Title: title, now: ws.now(), loc: ws.m.Location(), SearchView: "all"}
	if u := auth.UserFrom(ctx); u != nil {
		l.User, l.CSRF, l.Dashboards = u.Email, auth.CSRFFrom(ctx), u.Role.Can(model.PermDashboards)
	}
	return l
}

// Time is an absolute time in the reporting zone.
func (l layout) Time(t time.Time) string { return t.In(l.loc).Format("2 Jan 2006 15:04 MST") }

// ISO is a time for a datetime attribute.
func (l layout) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Ago is a short relative time: "5 min ago", "3 h ago", "2 d ago", or
// the date beyond a month.
func (l layout) Ago(t time.Time) string {
	d := l.now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return itoa(int(d/time.Minute)) + " min ago"
	case d < 24*time.Hour:
		return itoa(int(d/time.Hour)) + " h ago"
	case d < 30*24*time.Hour:
		return itoa(int(d/(24*time.Hour))) + " d ago"
	}
	return t.In(l.loc).Format("2 Jan 2006")
}

// Until is a short countdown to t: "in 25 min", "in 3 h 10 min",
// "in 39 h", "in 4 d", or "overdue".
func (l layout) Until(t time.Time) string {
	d := t.Sub(l.now).Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case d <= 0:
		return "overdue"
	case d < time.Hour:
		return "in " + itoa(m) + " min"
	case d < 10*time.Hour && m > 0:
		return "in " + itoa(h) + " h " + itoa(m) + " min"
	case d < 48*time.Hour:
		return "in " + itoa(h) + " h"
	}
	return "in " + itoa(h/24) + " d"
}

func itoa(n int) string { return strconv.Itoa(n) }

// render executes a page template into a buffer first, so a template
// error is a clean 500 rather than half a page.
func render(w http.ResponseWriter, name string, status int, data any) {
	var buf bytes.Buffer
	if err := tpl.ExecuteTemplate(&buf, name, data); err != nil {
		slog.Error("workspace: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers an error that is not the user's input: 404 for a ticket
// that does not exist, else 500 (logged).
func fail(w http.ResponseWriter, err error) {
	if errors.Is(err, model.ErrNotFound) {
		http.Error(w, "no such ticket", http.StatusNotFound)
		return
	}
	slog.Error("workspace", "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}
