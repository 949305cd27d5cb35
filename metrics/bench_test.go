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
	benchNow = time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)
	benchTo  = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
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
			if _, err := st.DB.Exec(generateSQL(n)); err != nil {
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

// generateSQL writes n tickets of 10 events each: created, assigned, an
// internal note, the first agent reply with open, a pending spell (40%) or
// a requester comment, a resolution (95%), CSAT (40% of resolved) and a
// close; unresolved tickets get comments instead.
func generateSQL(n int) string {
	return fmt.Sprintf(`
INSERT INTO events (seq, event_id, ticket_id, type, occurred_at, actor, actor_kind, number, subject, description,
	requester_name, requester_email, ticket_type, priority, category, channel, tags, team, assignee, status, public, body, score)
WITH base AS (
	SELECT i, 't' || i AS tid,
		TIMESTAMPTZ '2025-04-01 00:00:00+00' + to_microseconds((i * (365 * 86400e6 / %[1]d))::BIGINT) AS t0,
		(hash(i) %% 1000000007)::BIGINT AS h1, (hash(i + 1000000007) %% 1000000007)::BIGINT AS h2, (hash(i * 7 + 3) %% 1000000007)::BIGINT AS h3
	FROM range(%[1]d) r(i)
), b AS (
	SELECT *, t0 + to_minutes((5 + h2 %% 900)::BIGINT) AS t1,
		h1 %% 10 < 4 AS pend,
		(h2 %% 20 = 0 OR t0 > TIMESTAMPTZ '2026-03-29 00:00:00+00') AS u,
		to_minutes((10 + h3 %% 1440)::BIGINT) AS p,
		to_minutes((30 + h1 %% 3000)::BIGINT) AS w
	FROM base
), ev AS (
	SELECT tid, i, 0 AS k, 'created' AS type, t0 AS ev_at, 'requester' AS kind, h1, NULL::VARCHAR AS status, NULL::BOOLEAN AS public FROM b
	UNION ALL SELECT tid, i, 1, 'assigned', t0 + INTERVAL 1 MINUTE, 'agent', h1, NULL, NULL FROM b
	UNION ALL SELECT tid, i, 2, 'commented', t0 + INTERVAL 2 MINUTE, 'agent', h1, NULL, false FROM b
	UNION ALL SELECT tid, i, 3, 'commented', t1, 'agent', h1, NULL, true FROM b
	UNION ALL SELECT tid, i, 4, 'status_changed', t1, 'agent', h1, 'open', NULL FROM b
	UNION ALL SELECT tid, i, 5, CASE WHEN pend THEN 'status_changed' ELSE 'commented' END, t1 + INTERVAL 30 MINUTE,
		CASE WHEN pend THEN 'agent' ELSE 'requester' END, h1, CASE WHEN pend THEN 'pending' END, CASE WHEN pend THEN NULL ELSE true END FROM b
	UNION ALL SELECT tid, i, 6, CASE WHEN pend THEN 'status_changed' ELSE 'commented' END, t1 + INTERVAL 30 MINUTE + p,
		'agent', h1, CASE WHEN pend THEN 'open' END, CASE WHEN pend THEN NULL ELSE true END FROM b
	UNION ALL SELECT tid, i, 7, CASE WHEN u THEN 'commented' ELSE 'resolved' END, t1 + INTERVAL 60 MINUTE + p + w,
		'agent', h1, NULL, CASE WHEN u THEN true END FROM b
	UNION ALL SELECT tid, i, 8, CASE WHEN u OR h3 %% 10 >= 4 THEN 'commented' ELSE 'csat_rated' END, t1 + INTERVAL 120 MINUTE + p + w,
		CASE WHEN u OR h3 %% 10 >= 4 THEN 'agent' ELSE 'requester' END, h1, NULL, CASE WHEN u OR h3 %% 10 >= 4 THEN false END FROM b
	UNION ALL SELECT tid, i, 9, CASE WHEN u OR t1 + p + w > TIMESTAMPTZ '2026-03-25 00:00:00+00' THEN 'commented' ELSE 'closed' END,
		t1 + INTERVAL 4 DAY + p + w, 'system', h1, NULL, CASE WHEN u OR t1 + p + w > TIMESTAMPTZ '2026-03-25 00:00:00+00' THEN false END FROM b
)
SELECT row_number() OVER (ORDER BY ev_at, i, k), tid || '-' || k, tid, type, ev_at,
	CASE kind WHEN 'requester' THEN 'r' || (h1 %% 100000) || '@example.com' WHEN 'agent' THEN 'agent' || (h1 %% 50) || '@example.com' ELSE 'system' END,
	CASE WHEN type = 'closed' THEN 'system' ELSE kind END,
	CASE WHEN k = 0 THEN i + 1 END,
	CASE WHEN k = 0 THEN 'Ticket ' || i END, CASE WHEN k = 0 THEN '' END, CASE WHEN k = 0 THEN '' END, CASE WHEN k = 0 THEN '' END,
	CASE WHEN k = 0 THEN ['incident', 'service_request', 'question', 'problem', 'task'][1 + h1 %% 5] END,
	CASE WHEN k = 0 THEN ['low', 'normal', 'normal', 'normal', 'high', 'urgent'][1 + (h1 // 7) %% 6] END,
	CASE WHEN k = 0 THEN ['billing', 'network', 'hardware', 'access', 'other'][1 + (h1 // 11) %% 5] END,
	CASE WHEN k = 0 THEN ['email', 'web', 'chat', 'phone', 'api'][1 + (h1 // 13) %% 5] END,
	CASE WHEN k = 0 THEN []::VARCHAR[] END,
	CASE WHEN k = 1 THEN ['Support', 'IT', 'Billing', 'Ops'][1 + (h1 // 17) %% 4] END,
	CASE WHEN k = 1 THEN 'agent' || (h1 %% 50) || '@example.com' END,
	status, public,
	CASE WHEN type = 'commented' THEN 'text' END,
	CASE WHEN type = 'csat_rated' THEN (1 + (h1 // 19) %% 5)::INTEGER END
FROM ev ORDER BY ev_at, i, k`, n)
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

// BenchmarkSummary10k is the summary of a range of about 10,000 tickets
// (filtered to one team over a 14-day range at 1M tickets; same range at
// other sizes).
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
