//go:build duckdb_arrow

package sqlbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

type fixture struct {
	st  *store.Store
	w   *ingest.Writer
	m   *metrics.Engine
	box *Box
}

func newFixture(t *testing.T, set Settings) *fixture {
	t.Helper()
	st, w := testtools.Store(t, filepath.Join(t.TempDir(), "box.duckdb"))
	ctx := context.Background()
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: 300, Days: 30, Seed: 7, End: end}); err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(st, metrics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, w: w, m: m, box: New(st, m.Refresh, set)}
	t.Cleanup(func() { f.box.Close() })
	return f
}

// ask runs q in the sandbox and decodes a JSON answer's rows.
func (f *fixture) ask(t *testing.T, q string, timeout time.Duration) (int, [][]any, string) {
	t.Helper()
	ans, err := f.box.Query(context.Background(), Request{SQL: q, Format: "json", MaxRows: 100_000, Timeout: timeout})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var res struct{ Rows [][]any }
	if ans.Status == 200 {
		if err := json.Unmarshal(ans.Body, &res); err != nil {
			t.Fatalf("%s: %v: %s", q, err, ans.Body)
		}
	}
	body := string(ans.Body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return ans.Status, res.Rows, body
}

// fingerprints are each relation's row count and XOR of row hashes, in
// the store and in the sandbox.
func (f *fixture) fingerprints(t *testing.T) (inStore, inBox []string) {
	t.Helper()
	for _, r := range Relations {
		q := `SELECT count(*)::VARCHAR || ' ' || coalesce(bit_xor(hash(t)), 0)::VARCHAR FROM ` + r.Name + ` t`
		var s string
		if err := f.st.DB.QueryRow(q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		inStore = append(inStore, r.Name+": "+s)
		status, rows, body := f.ask(t, q, 10*time.Second)
		if status != 200 {
			t.Fatalf("%s: %d %s", q, status, body)
		}
		inBox = append(inBox, r.Name+": "+rows[0][0].(string))
	}
	return inStore, inBox
}

// TestCopiesFollowTheStore: the sandbox's relations equal the store's row
// for row after the first copy, after new events (appended, and the
// tickets they touch replaced), and after a copy from scratch when the
// sandbox's state no longer matches the store.
func TestCopiesFollowTheStore(t *testing.T) {
	f := newFixture(t, Settings{})
	same := func(when string) {
		t.Helper()
		a, b := f.fingerprints(t)
		if !slices.Equal(a, b) {
			t.Fatalf("%s: store %v, sandbox %v", when, a, b)
		}
		if strings.HasPrefix(a[0], "events: 0 ") {
			t.Fatalf("%s: no events: %v", when, a)
		}
	}
	same("first copy")

	ctx := context.Background()
	var id string
	if err := f.st.DB.QueryRow(`SELECT id FROM tickets WHERE status = 'open' ORDER BY number LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.Do(ctx, &ingest.UpdateTicket{ID: id, Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorAgent},
		Priority: new(model.PriorityUrgent)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.LoadDemo(ctx, f.st, f.w, ingest.DemoOptions{Tickets: 40, Days: 5, Seed: 8, End: time.Date(2026, 6, 3, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	before := f.box.state
	same("after new events")
	if f.box.state.Seq <= before.Seq {
		t.Fatalf("state did not advance: %+v -> %+v", before, f.box.state)
	}
	if _, rows, _ := f.ask(t, `SELECT priority FROM tickets WHERE id = '`+id+`'`, 5*time.Second); len(rows) != 1 || rows[0][0] != "urgent" {
		t.Fatalf("updated ticket in the sandbox: %v", rows)
	}

	// A state that does not match the store's events (another store, a
	// restore) is copied again whole.
	f.box.Close()
	bad := f.box.state
	bad.LastID = "not-an-event"
	raw, _ := json.Marshal(bad)
	if err := os.WriteFile(f.box.stateLog, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	f.box = New(f.st, f.m.Refresh, Settings{})
	same("after a mismatched state")
}

// TestSandboxHoldsOnlyTheRelations: the sandbox's database has the
// documented relations and no other table, and it runs locked.
func TestSandboxHoldsOnlyTheRelations(t *testing.T) {
	f := newFixture(t, Settings{})
	for q, want := range map[string]string{
		`SELECT current_setting('enable_external_access')::VARCHAR`: "false",
		`SELECT current_setting('lock_configuration')::VARCHAR`:     "true",
		`SELECT current_setting('threads')::VARCHAR`:                "1",
	} {
		if status, rows, body := f.ask(t, q, 5*time.Second); status != 200 || rows[0][0] != want {
			t.Errorf("%s: %d %v %s, want %s", q, status, rows, body, want)
		}
	}
	f.box.Close()
	db, err := sql.Open("duckdb", f.box.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT database_name || '.' || schema_name || '.' || table_name FROM duckdb_tables() ORDER BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		tables = append(tables, s)
	}
	want := []string{"box.main.agents", "box.main.events", "box.main.metrics_tickets", "box.main.teams", "box.main.tickets"}
	if !slices.Equal(tables, want) {
		t.Fatalf("sandbox tables %v, want %v", tables, want)
	}
	var views string
	db.QueryRow(`SELECT string_agg(database_name || '.' || schema_name || '.' || view_name || ' temporary=' || temporary, ', ') FROM duckdb_views() WHERE NOT internal`).Scan(&views)
	if views != "" {
		t.Fatalf("views in the sandbox: %s", views)
	}
}

// rss is this process's resident memory.
func rss(t *testing.T) int64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc")
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(raw))[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestRunawayQueriesAreStopped: a query stuck in one huge function call
// (which DuckDB cannot interrupt) ends at its time limit or the memory
// bound, whichever comes first, without the server's own memory growing;
// a result past the byte cap is refused while it is built; the sandbox
// is back for the next query.
func TestRunawayQueriesAreStopped(t *testing.T) {
	f := newFixture(t, Settings{MemoryLimit: "100MB", MaxResultBytes: 1 << 20})
	if status, _, body := f.ask(t, `SELECT 1`, 5*time.Second); status != 200 {
		t.Fatalf("warm-up: %d %s", status, body)
	}
	before := rss(t)
	began := time.Now()
	status, _, body := f.ask(t, `SELECT length(repeat('x', 2000000000))`, 3*time.Second)
	took := time.Since(began)
	if status != 400 || !(strings.Contains(body, `"code":"timeout"`) || strings.Contains(body, `"code":"memory_exceeded"`)) {
		t.Fatalf("huge repeat: %d %s", status, body)
	}
	// Interrupted at 3 s, killed 1 s later at the latest.
	if took > 6*time.Second {
		t.Fatalf("huge repeat took %s", took)
	}
	if grew := rss(t) - before; grew > 100<<20 {
		t.Fatalf("the server grew by %d MiB", grew>>20)
	}
	// 2,048 rows of 1 MB are one DuckDB vector of 2 GB: the memory bound
	// stops it before a row reaches the answer.
	status, _, body = f.ask(t, `SELECT repeat('x', 1000000) FROM range(2000)`, 10*time.Second)
	if status != 400 || !(strings.Contains(body, `"code":"memory_exceeded"`) || strings.Contains(body, `"code":"result_too_large"`)) {
		t.Fatalf("2 GB of rows: %d %s", status, body)
	}
	for _, q := range []string{
		`SELECT repeat('x', 1000) FROM range(5000)`,
		`SELECT string_agg(repeat('y', 1000), ',') FROM range(5000)`,
	} {
		status, _, body = f.ask(t, q, 10*time.Second)
		if status != 400 || !strings.Contains(body, `"code":"result_too_large"`) {
			t.Fatalf("%s: %d %s", q, status, body)
		}
	}
	// DuckDB's own limit: a hash aggregate far past 100MB fails (or
	// spills) instead of growing.
	status, _, body = f.ask(t, `SELECT count(*) FROM (SELECT DISTINCT repeat('z', 200) || i FROM range(3000000) t(i))`, 20*time.Second)
	if status != 200 && !strings.Contains(body, `"code":"memory_exceeded"`) {
		t.Fatalf("big distinct: %d %s", status, body)
	}
	if status, rows, body := f.ask(t, `SELECT count(*) FROM events`, 10*time.Second); status != 200 || rows[0][0].(float64) == 0 {
		t.Fatalf("after the runaway queries: %d %s", status, body)
	}
}
