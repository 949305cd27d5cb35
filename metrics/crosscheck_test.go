package metrics

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/store"
)

// TestAggregatesMatchEvents holds the range aggregates that read the
// lifecycle facts kept per ticket (resolutions, reopens, assignments,
// backlog) to their definitions over the events table, on demo history
// with reopens, several resolutions and reassignments, with and without
// filters and as of a past instant; and the per-ticket rows as of a past
// instant (stored rows + partial replay) to a full replay.
func TestAggregatesMatchEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("demo history")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "x.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); st.Close() })
	end := ts("2026-03-20T00:00:00Z")
	if _, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: 4000, Days: 120, End: end}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("2026-03-20T00:00:00Z")
	e, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var reopened, multiRes, multiAsg int64
	st.DB.QueryRow(`SELECT count(*) FILTER (reopens > 0), count(*) FILTER (n_resolved > 1), count(*) FILTER (n_assigned > 1) FROM metrics_tickets`).Scan(&reopened, &multiRes, &multiAsg)
	if reopened < 10 || multiRes < 10 || multiAsg < 10 {
		t.Fatalf("demo history too plain: %d reopened, %d resolved twice, %d reassigned", reopened, multiRes, multiAsg)
	}
	one := func(query string) int64 {
		t.Helper()
		var n int64
		if err := st.DB.QueryRow(query).Scan(&n); err != nil {
			t.Fatalf("%v\n%s", err, query)
		}
		return n
	}
	asof := ts("2026-02-20T15:30:00Z")
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{"all", Query{From: ts("2026-01-01T00:00:00Z"), To: ts("2026-03-01T00:00:00Z")}},
		{"week", Query{From: ts("2026-02-09T00:00:00Z"), To: ts("2026-02-16T00:00:00Z"), Interval: "day"}},
		{"filtered", Query{From: ts("2026-01-01T00:00:00Z"), To: ts("2026-03-20T00:00:00Z"), Priority: []string{"high", "urgent"}, Interval: "week"}},
		{"asof", Query{From: ts("2026-01-15T00:00:00Z"), To: ts("2026-03-01T00:00:00Z"), AsOf: asof}},
		{"asof-filtered", Query{From: ts("2026-02-01T00:00:00Z"), To: ts("2026-02-25T00:00:00Z"), AsOf: asof, Channel: []string{"email"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.TZ = time.UTC
			if q.Interval == "" {
				q.Interval = "day"
			}
			k := end.Add(24 * time.Hour)
			if !q.AsOf.IsZero() {
				k = q.AsOf
			}
			// the per-ticket rows as of k by a full replay, filtered
			lo, hi := e.spanRange()
			replay := ticketSQL(&e.cfg, "occurred_at <= "+tsLit(k), nil, lo, hi)
			if _, err := st.DB.Exec(`CREATE OR REPLACE TABLE ref_t AS SELECT * FROM (` + replay + `) WHERE ` + q.filterSQL()); err != nil {
				t.Fatal(err)
			}
			if !q.AsOf.IsZero() {
				// equal up to the order of floating-point sums, which DuckDB
				// does not fix (the per-ticket waits are sums)
				rows, err := st.DB.Query(`SELECT column_name, column_type FROM (DESCRIBE metrics_tickets)`)
				if err != nil {
					t.Fatal(err)
				}
				var cols []string
				for rows.Next() {
					var c, typ string
					rows.Scan(&c, &typ)
					if typ == "DOUBLE" {
						c = fmt.Sprintf("round(%s, 6)", c)
					}
					cols = append(cols, c)
				}
				rows.Close()
				sel := strings.Join(cols, ", ")
				if diff := one(fmt.Sprintf(`SELECT count(*) FROM ((SELECT %[3]s FROM %[1]s EXCEPT ALL SELECT %[3]s FROM (%[2]s)) UNION ALL (SELECT %[3]s FROM (%[2]s) EXCEPT ALL SELECT %[3]s FROM %[1]s))`, e.source(k), replay, sel)); diff != 0 {
					t.Errorf("rows as of k differ from a full replay in %d rows", diff)
				}
			}
			ev := func(cond string) string {
				return fmt.Sprintf(`(SELECT * FROM events WHERE occurred_at <= %s AND ticket_id IN (SELECT ticket_id FROM ref_t) AND %s)`, tsLit(k), cond)
			}
			delta := `CASE WHEN type = 'resolved' THEN -1 ELSE 1 END`
			backlogEv := func(at time.Time) string {
				return ev(`type IN ('created', 'reopened', 'resolved') AND occurred_at < ` + tsLit(at))
			}
			s, err := e.Summary(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			pf, pt := q.previous()
			for i, f := range []Figures{s.Figures, s.Previous.Figures} {
				p := []period{{q.From, q.To}, {pf, pt}}[i]
				resIn := ev(`type = 'resolved' AND ` + p.has("occurred_at"))
				resolved := one(`SELECT count(DISTINCT ticket_id) FROM ` + resIn)
				backlog := one(`SELECT coalesce(sum(` + delta + `), 0) FROM ` + backlogEv(p.to))
				reo := one(`SELECT count(DISTINCT ticket_id) FROM ` + resIn + ` WHERE ticket_id IN (SELECT ticket_id FROM ` + ev(`type = 'reopened'`) + `)`)
				oneTouch := one(`SELECT count(DISTINCT ticket_id) FROM ` + resIn + ` WHERE ticket_id NOT IN (SELECT ticket_id FROM ` +
					ev(`type = 'commented' AND public AND actor_kind = 'agent'`) + ` GROUP BY ticket_id HAVING count(*) > 1)`)
				if f.TicketsResolved != resolved || f.Backlog != backlog || fp(f.ReopenRatePct) != fp(pct(reo, resolved)) || fp(f.OneTouchPct) != fp(pct(oneTouch, resolved)) {
					t.Errorf("period %d: resolved %d backlog %d reopen %v one-touch %v; events say %d %d %v %v", i, f.TicketsResolved, f.Backlog,
						fp(f.ReopenRatePct), fp(f.OneTouchPct), resolved, backlog, fp(pct(reo, resolved)), fp(pct(oneTouch, resolved)))
				}
				if i == 0 && resolved == 0 {
					t.Errorf("nothing resolved in range: a weak test")
				}
			}
			// volume and backlog series
			v, err := e.Series(ctx, "volume", q)
			if err != nil {
				t.Fatal(err)
			}
			bl, err := e.Series(ctx, "backlog", q)
			if err != nil {
				t.Fatal(err)
			}
			for i, pt := range v.(*Volume).Points {
				p := period{pt.Start, pt.End}
				if p.from.Before(q.From) {
					p.from = q.From
				}
				if p.to.After(q.To) {
					p.to = q.To
				}
				want := one(`SELECT count(DISTINCT ticket_id) FROM ` + ev(`type = 'resolved' AND `+p.has("occurred_at")))
				wantBl := one(`SELECT coalesce(sum(` + delta + `), 0) FROM ` + backlogEv(p.to))
				if pt.Resolved != want || bl.(*Backlog).Points[i].Backlog != wantBl {
					t.Errorf("%s: resolved %d backlog %d, events say %d and %d", pt.Label, pt.Resolved, bl.(*Backlog).Points[i].Backlog, want, wantBl)
				}
			}
			// breakdowns
			endAt := minTime(q.To, k)
			p := period{q.From, q.To}
			for _, dim := range []string{"agent", "team", "priority"} {
				col := map[string]string{"agent": "assignee", "team": "team", "priority": "priority"}[dim]
				b, err := e.Series(ctx, "by_"+dim, q)
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]BreakdownRow{}
				for _, r := range b.(*Breakdown).Rows {
					got[r.Key] = r
				}
				want := map[string]*BreakdownRow{}
				add := func(query string, set func(r *BreakdownRow, n int64)) {
					rows, err := st.DB.Query(query)
					if err != nil {
						t.Fatalf("%v\n%s", err, query)
					}
					defer rows.Close()
					for rows.Next() {
						var key string
						var n int64
						if err := rows.Scan(&key, &n); err != nil {
							t.Fatal(err)
						}
						if want[key] == nil {
							want[key] = &BreakdownRow{Key: key}
						}
						set(want[key], n)
					}
				}
				add(`SELECT r.`+col+`, count(DISTINCT ticket_id) FROM `+ev(`type = 'resolved' AND `+p.has("occurred_at"))+` JOIN ref_t r USING (ticket_id) GROUP BY 1`,
					func(r *BreakdownRow, n int64) { r.TicketsResolved = n })
				add(`SELECT r.`+col+`, count(*) FROM `+ev(`type = 'reopened' AND `+p.has("occurred_at"))+` JOIN ref_t r USING (ticket_id) GROUP BY 1`,
					func(r *BreakdownRow, n int64) { r.Reopens = n })
				if dim == "priority" {
					add(`SELECT r.`+col+`, count(DISTINCT ticket_id) FROM `+ev(`type = 'assigned' AND `+p.has("occurred_at"))+` JOIN ref_t r USING (ticket_id) GROUP BY 1`,
						func(r *BreakdownRow, n int64) { r.TicketsAssigned = n })
				} else {
					add(`SELECT `+col+`, count(DISTINCT ticket_id) FROM `+ev(`type = 'assigned' AND `+col+` IS NOT NULL AND `+p.has("occurred_at"))+` GROUP BY 1`,
						func(r *BreakdownRow, n int64) { r.TicketsAssigned = n })
				}
				add(`SELECT r.`+col+`, count(*) FROM (SELECT ticket_id FROM `+backlogEv(endAt)+` GROUP BY ticket_id HAVING sum(`+delta+`) > 0) JOIN ref_t r USING (ticket_id) GROUP BY 1`,
					func(r *BreakdownRow, n int64) { r.Backlog = n })
				for key, w := range want {
					g := got[key]
					if g.TicketsResolved != w.TicketsResolved || g.Reopens != w.Reopens || g.TicketsAssigned != w.TicketsAssigned || g.Backlog != w.Backlog {
						t.Errorf("by_%s %q: resolved %d reopens %d assigned %d backlog %d; events say %d %d %d %d", dim, key,
							g.TicketsResolved, g.Reopens, g.TicketsAssigned, g.Backlog, w.TicketsResolved, w.Reopens, w.TicketsAssigned, w.Backlog)
					}
				}
				for key, g := range got {
					if want[key] == nil && g.TicketsResolved+g.Reopens+g.TicketsAssigned+g.Backlog > 0 {
						t.Errorf("by_%s %q: %+v not in the events", dim, key, g)
					}
				}
			}
			// backlog age: the tickets open at the end
			age, err := e.Series(ctx, "backlog_age", q)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			for _, b := range age.(*BacklogAge).Buckets {
				n += b.Count
			}
			if want := one(`SELECT count(*) FROM (SELECT ticket_id FROM ` + backlogEv(endAt) + ` GROUP BY ticket_id HAVING sum(` + delta + `) > 0)`); n != want {
				t.Errorf("backlog_age counts %d tickets, events say %d", n, want)
			}
		})
	}
}

// TestLocalSQL holds the offset arithmetic of localSQL to DuckDB's own
// AT TIME ZONE, every 15 minutes over two years in zones with and without
// DST (and a half-hour one), including the instants around transitions.
func TestLocalSQL(t *testing.T) {
	st, err := store.Open(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, zone := range []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Adelaide", "Asia/Kolkata", "America/Sao_Paulo"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		q := Query{From: ts("2025-01-01T00:00:00Z"), To: ts("2027-01-01T00:00:00Z"), TZ: loc}
		var n, diff int64
		err = st.DB.QueryRow(fmt.Sprintf(`SELECT count(*), count(*) FILTER (%s IS DISTINCT FROM (x AT TIME ZONE %s))
			FROM (SELECT unnest(range(%s, %s, INTERVAL 15 MINUTE)) AS x UNION ALL SELECT %s - INTERVAL 1 MICROSECOND)`,
			localSQL("x", &q), store.Literal(zone), tsLit(q.From), tsLit(q.To), tsLit(q.To))).Scan(&n, &diff)
		if err != nil {
			t.Fatal(err)
		}
		if diff != 0 || n < 70000 {
			t.Errorf("%s: %d of %d local times differ from AT TIME ZONE", zone, diff, n)
		}
	}
}
