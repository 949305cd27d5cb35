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
	"github.com/deskpulse/deskpulse/sqlbox"
	"github.com/deskpulse/deskpulse/store"
)

// Server holds what the handlers need.
type Server struct {
	store   *store.Store
	writer  *ingest.Writer
	metrics *metrics.Engine
	sql     *sqlbox.Box // analysts' SQL, apart from everything else
	mux     *http.ServeMux

	mu     sync.RWMutex
	agents map[string]bool // emails of registered agents
	teams  map[string]bool

	numbers sync.Map // ticket number -> id

	importMaxInflated int64 // import.max_inflated_bytes (SetImportMaxInflated)
}

// New builds the API over an open store, its writer and the metrics engine.
func New(ctx context.Context, st *store.Store, w *ingest.Writer, m *metrics.Engine) (*Server, error) {
	s := &Server{store: st, writer: w, metrics: m, mux: http.NewServeMux(), agents: map[string]bool{}, teams: map[string]bool{}}
	s.SetSQLSettings(sqlbox.Settings{})
	if err := s.loadPeople(ctx); err != nil {
		return nil, err
	}
	s.routes()
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

// Mux is the router, so that other packages can add their pages and routes.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// Handler is the whole API with logging around it.
func (s *Server) Handler() http.Handler { return logRequests(s.mux) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	m.HandleFunc("GET /readyz", s.ready)
	// No icon yet; answer so that browsers do not log a failed load.
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	m.HandleFunc("POST /api/v1/tickets", s.createTicket)
	m.HandleFunc("GET /api/v1/tickets", s.listTickets)
	m.HandleFunc("GET /api/v1/tickets/{id}", s.getTicket)
	m.HandleFunc("PATCH /api/v1/tickets/{id}", s.updateTicket)
	m.HandleFunc("POST /api/v1/tickets/{id}/assign", s.assign)
	m.HandleFunc("POST /api/v1/tickets/{id}/comments", s.comment)
	m.HandleFunc("POST /api/v1/tickets/{id}/status", s.setStatus)
	m.HandleFunc("POST /api/v1/tickets/{id}/resolve", s.transition(model.EventResolved))
	m.HandleFunc("POST /api/v1/tickets/{id}/reopen", s.transition(model.EventReopened))
	m.HandleFunc("POST /api/v1/tickets/{id}/close", s.transition(model.EventClosed))
	m.HandleFunc("POST /api/v1/tickets/{id}/csat", s.rate)
	m.HandleFunc("GET /api/v1/tickets/{id}/events", s.timeline)

	s.metricsRoutes()

	m.HandleFunc("POST /api/v1/import", s.importEvents)
	m.HandleFunc("POST /api/v1/sql", s.querySQL)

	m.HandleFunc("GET /api/v1/agents", s.listAgents)
	m.HandleFunc("POST /api/v1/agents", s.createAgent)
	m.HandleFunc("PATCH /api/v1/agents/{email}", s.updateAgent)
	m.HandleFunc("GET /api/v1/teams", s.listTeams)
	m.HandleFunc("POST /api/v1/teams", s.createTeam)

	m.HandleFunc("/api/", s.noRoute)
}

// noRoute answers API paths no route takes: 405 with the allowed methods
// when the path exists for other methods, else 404; JSON either way.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := s.mux.Handler(probe); pattern != "/api/" && pattern != "" {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, map[string]*Error{"error": {Code: "method_not_allowed",
			Message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + strings.Join(allowed, ", ")}})
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]*Error{"error": {Code: "not_found", Message: "no such API route: " + r.Method + " " + r.URL.Path}})
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
