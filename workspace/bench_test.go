package workspace_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/workspace"
)

// BenchmarkPages renders the workspace's pages for an agent of the demo
// data (DESKPULSE_BENCH_TICKETS tickets, default 20,000): the server's
// render time, without the network or the gate. Sub-benchmarks: each
// inbox view, a search, and the ticket page.
func BenchmarkPages(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("DESKPULSE_BENCH_TICKETS")); err == nil && v > 0 {
		n = v
	}
	st, w := testtools.Store(b, filepath.Join(b.TempDir(), "pages.duckdb"))
	ctx := context.Background()
	if _, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: n, Days: 180, Seed: 11}); err != nil {
		b.Fatal(err)
	}
	m, err := metrics.New(st, metrics.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var agent string
	if err := st.DB.QueryRow(`SELECT assignee FROM tickets WHERE assignee <> '' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1`).Scan(&agent); err != nil {
		b.Fatal(err)
	}
	var number int64
	if err := st.DB.QueryRow(`SELECT number FROM tickets WHERE assignee = ? ORDER BY updated_at DESC LIMIT 1`, agent).Scan(&number); err != nil {
		b.Fatal(err)
	}
	t := route.NewTable()
	workspace.New(st, w, m).Register(t)
	user := &model.User{Email: agent, Name: agent, Role: model.RoleAgent}
	for _, page := range []struct{ name, path string }{
		{"inbox-mine", "/inbox"},
		{"inbox-teams", "/inbox?view=teams"},
		{"inbox-unassigned", "/inbox?view=unassigned"},
		{"inbox-all", "/inbox?view=all"},
		{"inbox-breached", "/inbox?view=breached"},
		{"search", "/inbox?view=all&q=password"},
		{"ticket", "/tickets/" + strconv.FormatInt(number, 10)},
	} {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest("GET", page.path, nil).WithContext(auth.WithUser(ctx, user))
				rec := httptest.NewRecorder()
				t.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %.200s", page.path, rec.Code, rec.Body.String())
				}
			}
		})
	}
}
