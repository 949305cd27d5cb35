package portal

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

type env struct {
	st   *store.Store
	w    *ingest.Writer
	p    *Portal
	base string
	mux  *route.Table
	auth *auth.Service
}

// newEnv starts the portal behind the real auth gate on a fresh store.
func newEnv(t *testing.T) *env {
	t.Helper()
	db := filepath.Join(t.TempDir(), "data", "deskpulse.duckdb")
	st, w := testtools.Store(t, db)
	mux := route.NewTable()
	p := New(st, w, db).Register(mux)
	// as api.Server does
	mux.Func("GET", "/favicon.ico", route.Anyone, "no icon", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	svc := auth.New(st)
	srv := httptest.NewServer(auth.NewGate(svc, 0).Wrap(mux, mux))
	t.Cleanup(func() {
		srv.Close()
	})
	return &env{st: st, w: w, p: p, base: srv.URL, mux: mux, auth: svc}
}
