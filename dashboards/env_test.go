package dashboards_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/dashboards"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/store"
)

// env is deskpulse as Main.Run builds it (store, writer, demo data,
// metrics engine, API, dashboards on the API's mux) over a temporary DuckDB
// file, behind a real HTTP server.
type env struct {
	st  *store.Store
	w   *ingest.Writer
	m   *metrics.Engine
	d   *dashboards.Dashboards
	srv *httptest.Server
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
	e := &env{st: st, w: w, m: m}
	e.d = dashboards.Register(a.Mux(), m, st)
	e.srv = httptest.NewServer(a.Handler())
	tb.Cleanup(func() {
		e.srv.Close()
		w.Close()
		st.Close()
	})
	return e
}
