package reports

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/bench"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/store"
)

// Export benchmarks over DESKPULSE_BENCH_TICKETS demo tickets (default
// 100000) spread over a year, about 12 events each; the store is kept in
// DESKPULSE_BENCH_DIR (default the temp dir) and reused. The export
// covers the whole year: every ticket and every event (the Events sheet
// continues past Excel's row limit). Run:
//
//	go test ./reports -run '^$' -bench Export -benchtime 1x
//	DESKPULSE_BENCH_TICKETS=1000000 DESKPULSE_BENCH_MEMORY_LIMIT=200MB go test ./reports -run '^$' -bench Export -benchtime 1x -timeout 60m
//
// DESKPULSE_BENCH_MEMORY_LIMIT=200MB bounds DuckDB as duckdb.memory_limit
// (the 1M target of 500 MB holds under it),
// DESKPULSE_BENCH_THREADS=1 its threads as duckdb.threads.
func benchEnv(b *testing.B) (*env, int) {
	n := 100_000
	if s := os.Getenv("DESKPULSE_BENCH_TICKETS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := os.Getenv("DESKPULSE_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("deskpulse-reports-bench-%d.duckdb", n))
	if _, err := os.Stat(path); err != nil {
		ctx := context.Background()
		st, err := store.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
		if err != nil {
			b.Fatal(err)
		}
		stats, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: n, Days: 365, Seed: 3, End: testEnd})
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
		st.Close()
		b.Logf("generated %d tickets, %d events in %v", stats.Tickets, stats.Events, stats.Elapsed)
	}
	start := time.Now()
	// Exported now, after every stored event, as from a running server.
	// (At testEnd+24h, as the tests run, the generator's events of the
	// following week would make every query an as-of query that replays
	// the tickets they touch: 12,664 of them at 1M.)
	e := openEnvAt(b, path, time.Now())
	// As duckdb.memory_limit in config.yaml.
	threads, _ := strconv.Atoi(os.Getenv("DESKPULSE_BENCH_THREADS"))
	if err := e.st.Limit(os.Getenv("DESKPULSE_BENCH_MEMORY_LIMIT"), threads); err != nil {
		b.Fatal(err)
	}
	b.Logf("engine ready in %v", time.Since(start))
	return e, n
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func BenchmarkExportXLSX(b *testing.B) {
	e, _ := benchEnv(b)
	q := testQuery(b, e, url.Values{"from": {testEnd.AddDate(-1, 0, -1).Format("2006-01-02")}, "to": {"2026-04-02"}, "tz": {"UTC"}})
	// The peak is the export's: memory of opening the store and engine
	// that the export does not need again has been returned by then.
	debug.FreeOSMemory()
	bench.ResetPeak()
	b.ResetTimer()
	for range b.N {
		var out countingWriter
		info, err := WriteWorkbook(context.Background(), e.eng, q, &out)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(info.Tickets), "tickets")
		b.ReportMetric(float64(info.Events), "events")
		b.ReportMetric(float64(out.n)/1e6, "MB-file")
		b.ReportMetric(float64(len(info.Sheets)), "sheets")
		for _, p := range info.Phases {
			b.Logf("%-14s %v", p.Name, p.Duration.Round(time.Millisecond))
		}
	}
	b.ReportMetric(bench.PeakMB(), "MB-peak-RSS")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/1e6, "MB-go-sys")
}

func BenchmarkExportCSV(b *testing.B) {
	e, _ := benchEnv(b)
	q := testQuery(b, e, url.Values{"from": {testEnd.AddDate(-1, 0, -1).Format("2006-01-02")}, "to": {"2026-04-02"}, "tz": {"UTC"}})
	debug.FreeOSMemory()
	bench.ResetPeak()
	b.ResetTimer()
	for range b.N {
		n, err := WriteCSV(context.Background(), e.eng, q, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "tickets")
	}
	b.ReportMetric(bench.PeakMB(), "MB-peak-RSS")
}
