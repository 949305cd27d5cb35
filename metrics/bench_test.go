package metrics

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/store"
)

// Benchmarks over generated data: DESKPULSE_BENCH_TICKETS tickets (default
// 100000; 1000000 for the figures in docs/benchmarks.md) with 10 events
// each, spread over the year before 2026-04-01, written straight into the
// events table with SQL. The DuckDB file is kept in DESKPULSE_BENCH_DIR
// (default the temp dir) and reused by later runs.
//
//	DESKPULSE_BENCH_TICKETS=1000000 go test ./metrics -run '^$' -bench . -benchtime 20x

var bench struct {
	once sync.Once
	e    *Engine
	st   *store.Store
	n    int
	err  error
}

// benchNow is after the last generated event; ranges end at benchTo.
var (
	benchNow = GeneratedNow
	benchTo  = GeneratedEnd
)

func benchEngine(b testing.TB) *Engine {
	bench.once.Do(func() {
		n := 100_000
		if s := os.Getenv("DESKPULSE_BENCH_TICKETS"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		dir := os.Getenv("DESKPULSE_BENCH_DIR")
		if dir == "" {
			dir = os.TempDir()
		}
		path := filepath.Join(dir, fmt.Sprintf("deskpulse-metrics-bench-%d.duckdb", n))
		ctx := context.Background()
		st, err := store.Open(ctx, path)
		if err != nil {
			bench.err = err
			return
		}
		var have int64
		st.DB.QueryRow(`SELECT count(*) FROM events`).Scan(&have)
		if have == 0 {
			start := time.Now()
			if _, err := st.DB.Exec(GenerateSQL(n)); err != nil {
				bench.err = err
				return
			}
			st.DB.Exec(`CHECKPOINT`)
			st.DB.QueryRow(`SELECT count(*) FROM events`).Scan(&have)
			fmt.Printf("generated %d tickets, %d events in %v\n", n, have, time.Since(start).Round(time.Millisecond))
		}
		cfg := DefaultConfig()
		cfg.Now = func() time.Time { return benchNow }
		start := time.Now()
		e, err := New(st, cfg)
		if err != nil {
			bench.err = err
			return
		}
		fmt.Printf("metrics engine ready over %d events in %v\n", have, time.Since(start).Round(time.Millisecond))
		// Warm DuckDB's buffer pool (a server keeps the file open), so that
		// the first benchmark does not pay for reading the table from disk.
		start = time.Now()
		e.Summary(ctx, Query{From: benchTo.AddDate(-1, 0, 0), To: benchTo, TZ: time.UTC})
		fmt.Printf("warm-up (one summary over the whole year) in %v\n", time.Since(start).Round(time.Millisecond))
		bench.e, bench.st, bench.n = e, st, n
	})
	if bench.err != nil {
		panic(bench.err)
	}
	return bench.e
}

func benchQuery(b testing.TB, days int) Query {
	to := benchTo
	return Query{From: to.AddDate(0, 0, -days), To: to, TZ: time.UTC, Interval: "day"}
}

// BenchmarkSummary90d is the summary of the last 90 days, all KPIs, with
// the previous 90 days.
func BenchmarkSummary90d(b *testing.B) {
	e := benchEngine(b)
	q := benchQuery(b, 90)
	for b.Loop() {
		if _, err := e.Summary(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSummary10k is the summary of a range of about 10,000 tickets:
// the 10,000 × 365 / N whole days before the end (3 days, ~8,200 tickets
// created in them, at 1M tickets).
func BenchmarkSummary10k(b *testing.B) {
	e := benchEngine(b)
	days := max(1, 10_000*365/bench.n)
	q := benchQuery(b, days)
	for b.Loop() {
		if _, err := e.Summary(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeries times every series and breakdown over 90 days.
func BenchmarkSeries(b *testing.B) {
	e := benchEngine(b)
	q := benchQuery(b, 90)
	for _, d := range e.List() {
		if d.Name == "summary" {
			continue
		}
		b.Run(d.Name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Series(context.Background(), d.Name, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSummaryFiltered is the 90-day summary for one team and priority.
func BenchmarkSummaryFiltered(b *testing.B) {
	e := benchEngine(b)
	q := benchQuery(b, 90)
	q.Team, q.Priority = []string{"IT"}, []string{"high", "urgent"}
	for b.Loop() {
		if _, err := e.Summary(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSummaryAsOf is the 90-day summary as of the range's end: the
// per-ticket pipeline replays all events up to then instead of reading the
// stored table.
func BenchmarkSummaryAsOf(b *testing.B) {
	e := benchEngine(b)
	q := benchQuery(b, 90)
	q.AsOf = benchTo
	for b.Loop() {
		if _, err := e.Summary(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTicketSLA replays one ticket's clocks.
func BenchmarkTicketSLA(b *testing.B) {
	e := benchEngine(b)
	for b.Loop() {
		if _, err := e.ticketSLAAt(context.Background(), "t12345", benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshNoop is the check each query makes for new events.
func BenchmarkRefreshNoop(b *testing.B) {
	e := benchEngine(b)
	for b.Loop() {
		if err := e.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
