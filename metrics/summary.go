package metrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// durationDef is one duration metric: its calendar and business columns in
// the per-ticket rows and the instant at which it ends, which decides the
// range it counts in.
type durationDef struct {
	name, cal, bus, end, description string
}

var durationDefs = []durationDef{
	{"first_response_minutes", "frt_min", "frt_bmin", "first_reply_at",
		"Created to the first public comment by an agent (internal notes, requester comments and system messages do not count)."},
	{"first_resolution_minutes", "first_res_min", "first_res_bmin", "first_resolved_at",
		"Created to the first resolution."},
	{"resolution_minutes", "res_min", "res_bmin", "resolved_at",
		"Full resolution time: created to the last resolution, for tickets resolved or closed as of the knowledge instant."},
	{"requester_wait_minutes", "requester_wait_min", "requester_wait_bmin", "resolved_at",
		"Time in new, open and on_hold up to the last resolution."},
	{"agent_wait_minutes", "agent_wait_min", "agent_wait_bmin", "resolved_at",
		"Time in pending (waiting on the requester) up to the last resolution."},
	{"on_hold_minutes", "on_hold_min", "on_hold_bmin", "resolved_at",
		"Time in on_hold (waiting on a third party) up to the last resolution."},
	{"agent_work_minutes", "agent_work_min", "agent_work_bmin", "resolved_at",
		"Time in new and open up to the last resolution."},
}

func durationByName(name string) durationDef {
	for _, d := range durationDefs {
		if d.name == name {
			return d
		}
	}
	panic("metrics: no duration " + name)
}

// period is a half-open range of instants.
type period struct{ from, to time.Time }

func (p period) has(col string) string {
	return fmt.Sprintf("(%s >= %s AND %s < %s)", col, tsLit(p.from), col, tsLit(p.to))
}

// sel collects the expressions of one SELECT so results can be read back
// by position.
type sel struct{ exprs []string }

func (s *sel) add(expr string) int { s.exprs = append(s.exprs, expr); return len(s.exprs) - 1 }
func (s *sel) sql() string         { return strings.Join(s.exprs, ",\n\t") }

// stats aggregates col over the rows where cond holds ("": every row of
// the query; a FILTER clause costs, twice as much for the quantiles).
func (s *sel) stats(col, cond string) func(row []any) Stats {
	filter := ""
	if cond != "" {
		filter = " FILTER (" + cond + ")"
	}
	c := s.add(fmt.Sprintf("count(%s)%s", col, filter))
	m := s.add(fmt.Sprintf("avg(%s)%s", col, filter))
	q := s.add(fmt.Sprintf("quantile_cont(%s, [0.5, 0.9])%s", col, filter))
	return func(row []any) Stats {
		st := Stats{Count: asInt(row[c]), Mean: round2(asFloat(row[m]))}
		p50, p90 := asQuantiles(row[q])
		st.P50, st.P90 = round2(p50), round2(p90)
		return st
	}
}

func (s *sel) duration(d durationDef, cond string) func(row []any) Duration {
	cal := s.stats(d.cal, cond)
	bus := s.stats(d.bus, cond)
	return func(row []any) Duration { return Duration{Stats: cal(row), Business: bus(row)} }
}

// slaCols are the per-ticket SLA outcome and decision instant at
// knowledge instant k: a target with a fulfilment is achieved or breached;
// an unfulfilled one is breached once its (projected) breach instant has
// passed; otherwise it is undecided.
func slaCols(k time.Time) string {
	K := tsLit(k)
	var b strings.Builder
	for _, p := range []string{"fr", "res"} {
		fmt.Fprintf(&b, `, CASE WHEN %[1]s_outcome IS NOT NULL THEN %[1]s_outcome WHEN %[1]s_breach_at <= %[2]s THEN 'breached' END AS %[1]s_o`, p, K)
		fmt.Fprintf(&b, `, CASE WHEN %[1]s_outcome = 'achieved' THEN %[1]s_fulfilled_at WHEN %[1]s_outcome = 'breached' OR %[1]s_breach_at <= %[2]s THEN %[1]s_breach_at END AS %[1]s_d`, p, K)
	}
	return b.String()
}

func (s *sel) sla(prefix string, p period, k time.Time) func(row []any) SLATarget {
	decided := s.decided(prefix, p)
	active := s.active(prefix, p, k)
	return func(row []any) SLATarget {
		t := decided(row)
		t.Active = active(row)
		t.CompliancePct = pct(t.Achieved, t.Achieved+t.Breached)
		return t
	}
}

// decided counts the targets achieved and breached in p (range aggregates).
func (s *sel) decided(prefix string, p period) func(row []any) SLATarget {
	a := s.add(fmt.Sprintf("count(*) FILTER (%s AND %s)", slaIs(prefix, "achieved"), p.has(prefix+"_d")))
	b := s.add(fmt.Sprintf("count(*) FILTER (%s AND %s)", slaIs(prefix, "breached"), p.has(prefix+"_d")))
	return func(row []any) SLATarget {
		t := SLATarget{Achieved: asInt(row[a]), Breached: asInt(row[b])}
		t.CompliancePct = pct(t.Achieved, t.Achieved+t.Breached)
		return t
	}
}

// active counts the targets undecided at the end of p (an instant
// aggregate: it needs every ticket).
func (s *sel) active(prefix string, p period, k time.Time) func(row []any) int64 {
	// Undecided at end: X_d IS NULL OR X_d >= end. The decision instant
	// X_d is X_dec_at once decided, and an undecided target's projected
	// breach X_dec_at is after k (or null); since end <= k, that is
	// X_dec_at IS NULL OR X_dec_at >= end: comparisons of stored columns.
	end := minTime(p.to, k)
	c := s.add(fmt.Sprintf("count(*) FILTER (%[1]s_policy IS NOT NULL AND created_at < %[2]s AND (%[1]s_dec_at IS NULL OR %[1]s_dec_at >= %[2]s))", prefix, tsLit(end)))
	return func(row []any) int64 { return asInt(row[c]) }
}

// ticketsCTE is "t": the per-ticket rows at knowledge instant k that pass
// the query's filters, with their SLA outcomes.
// Over the stored table it is inlined wherever it is used (each use
// scans only the columns and row groups it needs); over a replay it is
// computed once.
func (e *Engine) ticketsCTE(q *Query, k time.Time) string {
	src := e.source(k)
	m := "NOT MATERIALIZED"
	if src != "metrics_tickets" {
		m = "MATERIALIZED"
	}
	return fmt.Sprintf(`t AS %s (SELECT *%s FROM %s WHERE %s)`, m, slaCols(k), src, q.filterSQL())
}

// overlaps is the condition that a ticket has instants in p (see
// ticketSQL): a plain AND of comparisons, which DuckDB pushes into the scan
// and checks against the zone maps of the table sorted by creation.
func overlaps(p period) string {
	return fmt.Sprintf("(first_at < %s AND last_at >= %s)", tsLit(p.to), tsLit(p.from))
}

// stillOpen keeps the tickets that may count in an aggregate at an
// instant at or after at (backlog, undecided SLA targets).
func stillOpen(at time.Time) string {
	return fmt.Sprintf("(open_until IS NULL OR open_until >= %s)", tsLit(at))
}

// resolvedIn says that the ticket has a resolution in p: a simple ticket
// has at most one, its first.
func resolvedIn(p period) string {
	return fmt.Sprintf("(%s OR (NOT simple AND len(list_filter(res_ats, lambda x: %s)) > 0))", p.has("first_resolved_at"), p.has("x"))
}

// openAt says that the ticket is unresolved after the events before at
// (an instant literal): it was created before at, and after its last
// resolution before at it was reopened.
func openAt(at string) string {
	return fmt.Sprintf(`(CASE WHEN simple THEN created_at < %[1]s AND (first_resolved_at IS NULL OR first_resolved_at >= %[1]s)
		ELSE %[2]s > 0 END)`, at, openDelta(at))
}

// openDelta is, for a ticket that is not simple, its created, reopened and
// resolved events before at counted +1, +1, -1.
func openDelta(at string) string {
	return fmt.Sprintf(`((created_at < %[1]s)::INTEGER + coalesce(len(list_filter(reopen_ats, lambda x: x < %[1]s)), 0)
		- coalesce(len(list_filter(res_ats, lambda x: x < %[1]s)), 0))`, at)
}

// backlogAt is the aggregate of the backlog at instant at: the created,
// reopened and resolved events before it counted +1, +1, -1.
func backlogAt(at string) string {
	return fmt.Sprintf(`(count(*) FILTER (simple AND created_at < %[1]s AND (first_resolved_at IS NULL OR first_resolved_at >= %[1]s))
		+ coalesce(sum(CASE WHEN NOT simple THEN %[2]s END), 0))`, at, openDelta(at))
}

// eventsIn restricts an events query to the filtered tickets when needed.
func eventsIn(q *Query, k time.Time, alias string) string {
	cond := fmt.Sprintf("%soccurred_at <= %s", alias, tsLit(k))
	if q.filtered() {
		cond += fmt.Sprintf(" AND %sticket_id IN (SELECT ticket_id FROM t)", alias)
	}
	return cond
}

// Summary computes the headline KPIs of q's range and of the period of
// equal length before it.
func (e *Engine) Summary(ctx context.Context, q Query) (*Summary, error) {
	defer e.timed("summary", time.Now())
	return e.summary(ctx, q)
}

func (e *Engine) summary(ctx context.Context, q Query) (*Summary, error) {
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	pf, pt := q.previous()
	periods := []period{{q.From, q.To}, {pf, pt}}
	figs, err := e.figures(ctx, &q, k, periods)
	if err != nil {
		return nil, err
	}
	return &Summary{
		Range:    Range{From: q.From, To: q.To, TZ: q.TZ.String(), AsOf: k},
		Figures:  figs[0],
		Previous: Previous{From: pf, To: pt, Figures: figs[1]},
	}, nil
}

// figures computes Figures for each of periods, which are adjacent and
// latest first (a range and the one before it). The range aggregates are
// grouped by the instant they count (created, first reply, resolutions,
// SLA decisions, ratings): each group is one part whose WHERE, pushed into
// the scan, keeps only the tickets with that instant in the periods. A
// part of durations groups its rows by period (GROUP BY is half the cost
// of a FILTER per period on every aggregate); the others count with
// FILTERs. Planning costs per part, so the periods share them. The parts
// make three queries of about equal cost run at the same time; the
// instant aggregates (backlog, active SLA targets at the ends) read only
// the tickets still open then.
func (e *Engine) figures(ctx context.Context, q *Query, k time.Time, periods []period) ([]Figures, error) {
	out := make([]Figures, len(periods))
	cover := period{periods[len(periods)-1].from, periods[0].to}
	for i := 1; i < len(periods); i++ {
		if !periods[i].to.Equal(periods[i-1].from) {
			return nil, fmt.Errorf("metrics: summary periods must be adjacent, latest first")
		}
	}
	ov := overlaps(cover) + " AND "
	// periodOf is the index of the period that holds the instant col (in
	// cover).
	periodOf := func(col string) string {
		var b strings.Builder
		b.WriteString("CASE")
		for i, p := range periods[:len(periods)-1] {
			fmt.Fprintf(&b, " WHEN %s >= %s THEN %d", col, tsLit(p.from), i)
		}
		fmt.Fprintf(&b, " ELSE %d END", len(periods)-1)
		return b.String()
	}
	// the parts make three queries of about equal cost
	var m multi
	queries := make([][]*part, 3)
	add := func(query int, where string) *part {
		p := m.part(where)
		queries[query] = append(queries[query], p)
		return p
	}
	byPeriod := func(query int, col string) *part {
		p := add(query, ov+cover.has(col))
		p.key = periodOf(col)
		return p
	}
	// instant aggregates at the periods' ends (and k): only tickets open
	// then count (see ticketSQL)
	first := k
	for _, p := range periods {
		first = minTime(first, p.to)
	}
	pc := byPeriod(0, "created_at")
	pf := byPeriod(0, "first_reply_at")
	p1 := byPeriod(0, "first_resolved_at")
	p2 := byPeriod(1, "resolved_at")
	pcs := byPeriod(1, "csat_at")
	// fr_d (res_d) in p implies fr_dec_at (res_dec_at) in p
	ps := add(1, ov+"("+cover.has("fr_dec_at")+" OR "+cover.has("res_dec_at")+")")
	ps.sla = true
	is := add(2, stillOpen(first))
	// resolutions: distinct tickets with a resolution in range
	pr := add(2, ov+"("+cover.has("first_resolved_at")+" OR NOT simple)")

	created := pc.add("count(*)")
	frt := pf.duration(durationByName("first_response_minutes"), "")
	firstRes := p1.duration(durationByName("first_resolution_minutes"), "")
	fullRes := p2.duration(durationByName("resolution_minutes"), "")
	resp := pcs.add("count(*) FILTER (" + csatRated + ")")
	sat := pcs.add("count(*) FILTER (" + csatSatisfied + ")")
	type reader func(r [][][]any, f *Figures)
	var readers []reader
	for i, p := range periods {
		slaFR := ps.decided("fr", p)
		slaRes := ps.decided("res", p)
		res := pr.add(fmt.Sprintf("count(*) FILTER (%s)", resolvedIn(p)))
		reo := pr.add(fmt.Sprintf("count(*) FILTER (reopens > 0 AND %s)", resolvedIn(p)))
		one := pr.add(fmt.Sprintf("count(*) FILTER (agent_replies <= 1 AND %s)", resolvedIn(p)))
		activeFR := is.active("fr", p, k)
		activeRes := is.active("res", p, k)
		bl := is.add(backlogAt(tsLit(p.to)))
		readers = append(readers, func(r [][][]any, f *Figures) {
			f.TicketsCreated = asInt(r[pc.n][i][created])
			f.FirstResponseMinutes, f.FirstResolutionMinutes = frt(r[pf.n][i]), firstRes(r[p1.n][i])
			f.ResolutionMinutes = fullRes(r[p2.n][i])
			f.SLA = SLA{FirstResponse: slaFR(r[ps.n][0]), Resolution: slaRes(r[ps.n][0])}
			f.SLA.FirstResponse.Active, f.SLA.Resolution.Active = activeFR(r[is.n][0]), activeRes(r[is.n][0])
			f.CSAT.Responses, f.CSAT.Satisfied = asInt(r[pcs.n][i][resp]), asInt(r[pcs.n][i][sat])
			f.CSAT.ScorePct = pct(f.CSAT.Satisfied, f.CSAT.Responses)
			f.TicketsResolved = asInt(r[pr.n][0][res])
			f.ReopenRatePct = pct(asInt(r[pr.n][0][reo]), f.TicketsResolved)
			f.OneTouchPct = pct(asInt(r[pr.n][0][one]), f.TicketsResolved)
			f.CSAT.ResponseRatePct = pct(f.CSAT.Responses, f.TicketsResolved)
			f.Backlog = asInt(r[is.n][0][bl])
		})
	}
	cte := `WITH ` + e.ticketsCTE(q, k)
	// Over the stored table, what needs no SLA outcome reads it directly:
	// a subquery of the CTE costs more to plan.
	from := sources{t: "t"}
	if e.source(k) == "metrics_tickets" {
		from.direct, from.filter = "metrics_tickets", q.filterSQL()
	}
	res := m.results(len(periods))
	if strings.Contains(cte, " ASOF ") {
		// one query, so that the replay is computed once
		if err := m.run(ctx, e, cte+m.sql(from), res); err != nil {
			return nil, err
		}
	} else {
		var wg sync.WaitGroup
		errs := make([]error, len(queries))
		for i, parts := range queries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = m.run(ctx, e, usedCTE(cte, from, parts)+m.sql(from, parts...), res)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	for i, read := range readers {
		read(res, &out[i])
	}
	return out, nil
}

// usedCTE is cte when one of parts reads t (binding an unused CTE still
// costs).
func usedCTE(cte string, from sources, parts []*part) string {
	for _, p := range parts {
		if p.sla || from.direct == "" {
			return cte
		}
	}
	return ""
}

// multi is a query made of several aggregate parts, each over the rows its
// own condition keeps, one after another (UNION ALL BY NAME: a part's
// columns are its own, NULL in the other parts' rows). Each row says its
// part and period.
type multi struct{ parts []*part }

type part struct {
	sel
	n     int // position in multi
	where string
	sla   bool   // reads the SLA outcome columns of the CTE
	key   string // the period of a row, to GROUP BY; "" for one row of aggregates
}

// sources are where a multi's parts read: the CTE t, or for those without
// SLA outcomes the stored table with the query's filter (direct is "" when
// t is a replay).
type sources struct{ t, direct, filter string }

// plain is the FROM and WHERE of a subquery that needs no SLA outcome.
func (s sources) plain(where string) string {
	if s.direct == "" {
		return s.t + " WHERE " + where
	}
	return fmt.Sprintf("%s WHERE (%s) AND %s", s.direct, s.filter, where)
}

// sql is the given parts of m (all when none) as one query, reading from s.
func (m *multi) sql(s sources, parts ...*part) string {
	if len(parts) == 0 {
		parts = m.parts
	}
	var subs []string
	for _, p := range parts {
		from := s.t + " WHERE " + p.where
		if !p.sla {
			from = s.plain(p.where)
		}
		cols := make([]string, len(p.exprs))
		for i, x := range p.exprs {
			cols[i] = fmt.Sprintf("%s AS c%d_%d", x, p.n, i)
		}
		if p.key == "" {
			subs = append(subs, fmt.Sprintf("(SELECT %d AS part, 0 AS per, %s FROM %s)", p.n, strings.Join(cols, ",\n\t"), from))
		} else {
			subs = append(subs, fmt.Sprintf("(SELECT %d AS part, %s AS per, %s FROM %s GROUP BY ALL)", p.n, p.key, strings.Join(cols, ",\n\t"), from))
		}
	}
	return " " + strings.Join(subs, " UNION ALL BY NAME ")
}

func (m *multi) part(where string) *part {
	p := &part{n: len(m.parts), where: where}
	m.parts = append(m.parts, p)
	return p
}

// results is room for m's rows by part and period: a period without rows
// reads as NULLs (counts of 0).
func (m *multi) results(periods int) [][][]any {
	out := make([][][]any, len(m.parts))
	for i, p := range m.parts {
		out[i] = make([][]any, periods)
		for j := range out[i] {
			out[i][j] = make([]any, len(p.exprs))
		}
	}
	return out
}

// run runs query (of m's parts) and puts its rows into res.
func (m *multi) run(ctx context.Context, e *Engine, query string, res [][][]any) error {
	cols, rows, err := e.table(ctx, query)
	if err != nil {
		return err
	}
	at := make(map[string]int, len(cols))
	for i, c := range cols {
		at[c] = i
	}
	for _, row := range rows {
		n, per := int(asInt(row[at["part"]])), int(asInt(row[at["per"]]))
		if n < 0 || n >= len(m.parts) || per < 0 || per >= len(res[n]) {
			return fmt.Errorf("metrics query: row of part %d, period %d", n, per)
		}
		for i := range m.parts[n].exprs {
			res[n][per][i] = row[at[fmt.Sprintf("c%d_%d", n, i)]]
		}
	}
	return nil
}

// rows runs m over t (defined by cte) and returns the row of each part:
// each part as its own query, all at the same time, or over a replay as one
// query, so that the replay is computed once.
func (m *multi) rows(ctx context.Context, e *Engine, cte string) ([][]any, error) {
	res := m.results(1)
	t := sources{t: "t"}
	if strings.Contains(cte, " ASOF ") {
		if err := m.run(ctx, e, cte+m.sql(t), res); err != nil {
			return nil, err
		}
	} else {
		var wg sync.WaitGroup
		errs := make([]error, len(m.parts))
		for i, p := range m.parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = m.run(ctx, e, cte+m.sql(t, p), res)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	out := make([][]any, len(res))
	for i := range res {
		out[i] = res[i][0]
	}
	return out, nil
}

// parallel runs queries at the same time, each on its own connection, and
// returns their rows in order. On two cores this overlaps the parts of one
// query that DuckDB runs on one thread (the final quantile sorts of an
// ungrouped aggregate) with another query. A query that replays the
// pipeline runs alone: it is parallel inside already.
func (e *Engine) parallel(ctx context.Context, queries ...string) ([][][]any, error) {
	out := make([][][]any, len(queries))
	errs := make([]error, len(queries))
	var wg sync.WaitGroup
	for i, query := range queries {
		if strings.Contains(query, " ASOF ") {
			out[i], errs[i] = e.rows(ctx, query)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = e.rows(ctx, query)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// row runs a query that returns one row and scans it untyped.
func (e *Engine) row(ctx context.Context, query string) ([]any, error) {
	all, err := e.rows(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(all) != 1 {
		return nil, fmt.Errorf("metrics query: %d rows, want 1", len(all))
	}
	return all[0], nil
}

// rows runs a query and scans every row untyped. A query that replays the
// pipeline (it has ASOF joins) runs with pipelineSettings.
func (e *Engine) rows(ctx context.Context, query string) ([][]any, error) {
	_, rows, err := e.table(ctx, query)
	return rows, err
}

// table is rows with the names of the columns.
func (e *Engine) table(ctx context.Context, query string) ([]string, [][]any, error) {
	var rows *sql.Rows
	var err error
	if strings.Contains(query, " ASOF ") {
		conn, cerr := e.pipelineConn(ctx)
		if cerr != nil {
			return nil, nil, cerr
		}
		defer conn.release()
		rows, err = conn.QueryContext(ctx, query)
	} else {
		rows, err = e.st.DB.QueryContext(ctx, query)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("metrics query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	all, err := scanAll(rows)
	return cols, all, err
}

type rowsScanner interface {
	Columns() ([]string, error)
	Next() bool
	Scan(...any) error
	Err() error
}

func scanAll(rows rowsScanner) ([][]any, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

func round2(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := float64(int64(*p*100+copysign(0.5, *p))) / 100
	return &v
}

func copysign(a, b float64) float64 {
	if b < 0 {
		return -a
	}
	return a
}
