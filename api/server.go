// Package api is deskpulse's HTTP JSON API under /api/v1: tickets and
// their timelines, agents and teams, health checks. Handlers validate
// input, turn it into ingest commands and answer with JSON.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/sqlbox"
	"github.com/deskpulse/deskpulse/store"
)

// Server holds what the handlers need.
type Server struct {
	store   *store.Store
	writer  *ingest.Writer
	metrics *metrics.Engine
	sql     *sqlbox.Box // analysts' SQL, apart from everything else
	table   *route.Table

	mu     sync.RWMutex
	agents map[string]bool // emails of registered agents
	teams  map[string]bool

	numbers sync.Map // ticket number -> id

	importMaxInflated int64 // import.max_inflated_bytes (SetImportMaxInflated)
}

// New builds the API over an open store, its writer and the metrics engine.
func New(ctx context.Context, st *store.Store, w *ingest.Writer, m *metrics.Engine) (*Server, error) {
	s := &Server{store: st, writer: w, metrics: m, table: route.NewTable(), agents: map[string]bool{}, teams: map[string]bool{}}
	s.SetSQLSettings(sqlbox.Settings{})
	if err := s.loadPeople(ctx); err != nil {
		return nil, err
	}
	s.addRoutes()
	return s, nil
}

// SetSQLSettings bounds the SQL sandbox (config key sql); call it before
// serving.
func (s *Server) SetSQLSettings(set sqlbox.Settings) {
	if s.sql != nil {
		s.sql.Close()
	}
	var refresh func(context.Context) error
	if s.metrics != nil {
		refresh = s.metrics.Refresh
	}
	s.sql = sqlbox.New(s.store, refresh, set)
}

// Close stops what the server runs beside its handlers (the SQL
// sandbox's process).
func (s *Server) Close() error { return s.sql.Close() }

// Routes is the route table, so that other packages add their pages and
// routes to it; the gate checks each request against it.
func (s *Server) Routes() *route.Table { return s.table }

// Handler is the whole API with logging around it.
func (s *Server) Handler() http.Handler { return logRequests(s.table) }

func (s *Server) addRoutes() {
	m := s.table
	m.Func("GET", "/healthz", route.Anyone, "liveness", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	m.Func("GET", "/readyz", route.Anyone, "readiness (the store answers)", s.ready)
	// No icon yet; answer so that browsers do not log a failed load.
	m.Func("GET", "/favicon.ico", route.Anyone, "no icon (204)", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	m.Func("POST", "/api/v1/tickets", route.Need(model.PermTickets), "open a ticket", s.createTicket)
	m.Func("GET", "/api/v1/tickets", route.Need(model.PermTickets), "list tickets (filters, cursor paging)", s.listTickets)
	m.Func("GET", "/api/v1/tickets/{id}", route.Need(model.PermTickets), "one ticket by id or number", s.getTicket)
	m.Func("PATCH", "/api/v1/tickets/{id}", route.Need(model.PermTickets), "change a ticket's subject, priority, category, tags, fields", s.updateTicket)
	m.Func("POST", "/api/v1/tickets/{id}/assign", route.Need(model.PermTickets), "assign a ticket to a team or agent", s.assign)
	m.Func("POST", "/api/v1/tickets/{id}/comments", route.Need(model.PermTickets), "add a public reply or internal note", s.comment)
	m.Func("POST", "/api/v1/tickets/{id}/status", route.Need(model.PermTickets), "set a ticket's status", s.setStatus)
	m.Func("POST", "/api/v1/tickets/{id}/resolve", route.Need(model.PermTickets), "resolve a ticket", s.transition(model.EventResolved))
	m.Func("POST", "/api/v1/tickets/{id}/reopen", route.Need(model.PermTickets), "reopen a ticket", s.transition(model.EventReopened))
	m.Func("POST", "/api/v1/tickets/{id}/close", route.Need(model.PermTickets), "close a ticket", s.transition(model.EventClosed))
	m.Func("POST", "/api/v1/tickets/{id}/csat", route.Need(model.PermTickets), "record a satisfaction rating", s.rate)
	m.Func("GET", "/api/v1/tickets/{id}/events", route.Need(model.PermTickets), "a ticket's lifecycle events", s.timeline)

	s.metricsRoutes()

	m.Func("POST", "/api/v1/import", route.Need(model.PermManage), "import events (NDJSON, CSV, Parquet, archives)", s.importEvents)
	m.Func("POST", "/api/v1/sql", route.Need(model.PermMetrics), "one read-only SELECT in the SQL sandbox", s.querySQL)

	m.Func("GET", "/api/v1/agents", route.Need(model.PermTickets), "list agents", s.listAgents)
	m.Func("POST", "/api/v1/agents", route.Need(model.PermManage), "add an agent", s.createAgent)
	m.Func("PATCH", "/api/v1/agents/{email}", route.Need(model.PermManage), "change an agent's name, teams or skills", s.updateAgent)
	m.Func("GET", "/api/v1/teams", route.Need(model.PermTickets), "list teams", s.listTeams)
	m.Func("POST", "/api/v1/teams", route.Need(model.PermManage), "add a team", s.createTeam)

	s.openAPIRoutes()

	m.Func("", "/api/", route.AnyUser, "no such API route (JSON 404 or 405 with Allow)", s.noRoute)
}

// noRoute answers API paths no route takes: 405 with the allowed methods
// when the path exists for other methods, else 404; JSON either way.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := s.table.Handler(probe); pattern != "/api/" && pattern != "" {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: Error{Code: "method_not_allowed",
			Message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + strings.Join(allowed, ", ")}})
		return
	}
	writeJSON(w, http.StatusNotFound, errorBody{Error: Error{Code: "not_found", Message: "no such API route: " + r.Method + " " + r.URL.Path}})
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.DB.PingContext(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// actor says who makes a request: the signed-in user (see package auth),
// who acts as an agent. Without sign-in (tests, or a server built without
// the auth gate) the caller may name itself in the X-Actor header: a
// registered agent's email acts as that agent, any other email as a
// requester, and no header as the system ("api").
func (s *Server) actor(r *http.Request) model.Actor {
	if u := auth.UserFrom(r.Context()); u != nil {
		return model.Actor{Name: u.Email, Kind: model.ActorAgent}
	}
	name := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Actor")))
	if name == "" {
		return model.Actor{Name: "api", Kind: model.ActorSystem}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.agents[name] {
		return model.Actor{Name: name, Kind: model.ActorAgent}
	}
	return model.Actor{Name: name, Kind: model.ActorRequester}
}

// statusWriter remembers the status code for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs failed requests at Info and the rest at Debug, so a
// busy server's log stays readable.
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		level := slog.LevelDebug
		if sw.status >= 400 {
			level = slog.LevelInfo
		}
		slog.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "ms", time.Since(start).Milliseconds())
	})
}
