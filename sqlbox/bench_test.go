//go:build duckdb_arrow

package sqlbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/metrics"
)

// BenchmarkQuery is one small analyst query with nothing new to copy: the
// sandbox's cost per query (the up-to-date check, the process hop, JSON).
func BenchmarkQuery(b *testing.B) {
	st, w := testtools.Store(b, filepath.Join(b.TempDir(), "bench.duckdb"))
	ctx := context.Background()
	if _, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: 2000, Days: 60, Seed: 3}); err != nil {
		b.Fatal(err)
	}
	m, err := metrics.New(st, metrics.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	box := New(st, m.Refresh, Settings{})
	defer box.Close()
	req := Request{SQL: `SELECT status, count(*) FROM tickets GROUP BY ALL`, Format: "json", MaxRows: 100, Timeout: 10 * time.Second}
	if _, err := box.Query(ctx, req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ans, err := box.Query(ctx, req)
		if err != nil || ans.Status != 200 {
			b.Fatal(err, ans)
		}
	}
}

// BenchmarkFirstCopy copies a store of DESKPULSE_BENCH_TICKETS demo
// tickets (default 20,000, about ten events each) into a new sandbox,
// beside DuckDB copying the same events table within the store (the
// engine's own limit for the copy); events/s of both are reported.
func BenchmarkFirstCopy(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("DESKPULSE_BENCH_TICKETS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	st, w := testtools.Store(b, filepath.Join(dir, "copy.duckdb"))
	ctx := context.Background()
	stats, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: n, Days: 180, Seed: 5})
	if err != nil {
		b.Fatal(err)
	}
	m, err := metrics.New(st, metrics.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var boxTime, ctasTime time.Duration
	for i := 0; b.Loop(); i++ {
		began := time.Now()
		if _, err := st.DB.ExecContext(ctx, `CREATE OR REPLACE TABLE copy_limit AS SELECT * FROM events; DROP TABLE copy_limit`); err != nil {
			b.Fatal(err)
		}
		ctasTime += time.Since(began)
		box := New(st, m.Refresh, Settings{})
		box.db = filepath.Join(dir, "box"+strconv.Itoa(i)+".duckdb")
		box.stateLog = box.db + ".state"
		began = time.Now()
		if _, err := box.Query(ctx, Request{SQL: `SELECT 1`, Format: "json", MaxRows: 1, Timeout: time.Minute}); err != nil {
			b.Fatal(err)
		}
		boxTime += time.Since(began)
		box.Close()
	}
	b.ReportMetric(float64(stats.Events)*float64(b.N)/boxTime.Seconds(), "events/s")
	b.ReportMetric(float64(stats.Events)*float64(b.N)/ctasTime.Seconds(), "store-ctas-events/s")
}
