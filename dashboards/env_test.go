package dashboards_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/dashboards"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/portal"
	"github.com/deskpulse/deskpulse/store"
	"github.com/deskpulse/deskpulse/workspace"
)

// env is deskpulse as Main.Run builds it (store, writer, demo data,
// metrics engine, API, dashboards and portal on the API's mux, the auth
// gate with its Content-Security-Policy in front) over a temporary DuckDB
// file, behind a real HTTP server. admin is the session cookie of a signed-
// in admin, as the browser tests use it.
type env struct {
	st    *store.Store
	w     *ingest.Writer
	m     *metrics.Engine
	d     *dashboards.Dashboards
	auth  *auth.Service
	srv   *httptest.Server
	admin string
}

func startEnv(tb testing.TB, tickets int) *env {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "dash.duckdb")
	st, err := store.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: tickets, Days: 120, End: time.Now()}); err != nil {
		tb.Fatal(err)
	}
	m, err := metrics.New(st, metrics.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	a, err := api.New(ctx, st, w, m)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{st: st, w: w, m: m, auth: auth.New(st)}
	e.d = dashboards.Register(a.Routes(), m, st)
	workspace.New(st, w, m).Register(a.Routes()) // the ticket page the dashboards link to
	portal.New(st, w, path).Register(a.Routes()).KB.APIRoutes(a.Routes())
	gate := auth.NewGate(e.auth, 0)
	gate.Routes(a.Routes())
	e.srv = httptest.NewServer(gate.Wrap(a.Routes(), a.Handler()))
	tb.Cleanup(func() {
		e.srv.Close()
		w.Close()
		st.Close()
	})
	token := e.user(tb, "admin@example.com", model.RoleAdmin)
	if e.admin, _, err = e.auth.SignIn(ctx, "admin@example.com", token); err != nil {
		tb.Fatal(err)
	}
	return e
}

// user adds a user of role and returns its API token.
func (e *env) user(tb testing.TB, email string, role model.Role) string {
	tb.Helper()
	token, err := e.auth.AddUser(context.Background(), "test", &model.User{Email: email, Name: string(role), Role: role})
	if err != nil {
		tb.Fatal(err)
	}
	return token
}
