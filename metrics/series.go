package metrics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// Definition describes a named metric for GET /api/v1/metrics.
type Definition struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // summary, series (one point per interval), breakdown, distribution
	Description string `json:"description"`
	Unit        string `json:"unit"`
}

// Point is the bucket of a series point: a local hour, day, ISO week or
// month of the reporting zone, [Start, End).
type Point struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Label string    `json:"label"` // local start, e.g. 2026-03-08 or 2026-03-08 14:00
}

// Volume is the "volume" series: tickets created and resolved per interval.
type Volume struct {
	Interval string        `json:"interval"`
	Points   []VolumePoint `json:"points"`
}

type VolumePoint struct {
	Point
	Created  int64 `json:"created"`
	Resolved int64 `json:"resolved"` // distinct tickets with a resolution in the interval
}

// Backlog is the "backlog" series: unresolved tickets at the end of each interval.
type Backlog struct {
	Interval string         `json:"interval"`
	Points   []BacklogPoint `json:"points"`
}

type BacklogPoint struct {
	Point
	Backlog int64 `json:"backlog"`
}

// BacklogAge is "backlog_age": the tickets unresolved at the end of the
// range (or as of), by age since creation.
type BacklogAge struct {
	At      time.Time   `json:"at"`
	Buckets []AgeBucket `json:"buckets"`
}

type AgeBucket struct {
	Label string `json:"label"` // <1d, 1-3d, 3-7d, 7-30d, 30d+
	Count int64  `json:"count"`
}

// Heatmap is "created_heatmap": tickets created in the range by local
// weekday (Monday first) and hour.
type Heatmap struct {
	Weekdays []string  `json:"weekdays"`
	Cells    [][]int64 `json:"cells"` // [weekday][hour]
}

// DurationSeries is a duration metric per interval (by the interval in
// which each duration ends).
type DurationSeries struct {
	Metric   string          `json:"metric"`
	Interval string          `json:"interval"`
	Points   []DurationPoint `json:"points"`
}

type DurationPoint struct {
	Point
	Duration
}

// SLASeries is "sla_compliance" per interval; Active is at each interval's end.
type SLASeries struct {
	Interval string     `json:"interval"`
	Points   []SLAPoint `json:"points"`
}

type SLAPoint struct {
	Point
	SLA
}

// CSATSeries is "csat" per interval.
type CSATSeries struct {
	Interval string      `json:"interval"`
	Points   []CSATPoint `json:"points"`
}

type CSATPoint struct {
	Point
	CSAT
}

// Durations is "durations": every per-ticket duration over the range,
// and agent replies per resolved ticket.
type Durations struct {
	FirstResponse   Duration `json:"first_response_minutes"`
	FirstResolution Duration `json:"first_resolution_minutes"`
	Resolution      Duration `json:"resolution_minutes"`
	RequesterWait   Duration `json:"requester_wait_minutes"`
	AgentWait       Duration `json:"agent_wait_minutes"`
	OnHold          Duration `json:"on_hold_minutes"`
	AgentWork       Duration `json:"agent_work_minutes"`
	AgentReplies    Stats    `json:"agent_replies"` // per ticket whose last resolution is in range
}

// Breakdown is a "by_*" breakdown (and "agents", the agent table): the
// core KPIs per value of a dimension, the ticket's current value.
type Breakdown struct {
	Dimension string         `json:"dimension"`
	Rows      []BreakdownRow `json:"rows"`
}

type BreakdownRow struct {
	Key                 string   `json:"key"` // "" = none (unassigned, no category)
	TicketsCreated      int64    `json:"tickets_created"`
	TicketsAssigned     int64    `json:"tickets_assigned"` // distinct tickets assigned to it in range (agent, team); else tickets assigned in range
	TicketsResolved     int64    `json:"tickets_resolved"`
	Backlog             int64    `json:"backlog"`
	FirstResponseMedian *float64 `json:"first_response_median_minutes"`
	ResolutionMedian    *float64 `json:"resolution_median_minutes"`
	SLACompliancePct    *float64 `json:"sla_compliance_pct"` // both targets together
	CSATScorePct        *float64 `json:"csat_score_pct"`
	Reopens             int64    `json:"reopens"` // reopen events in range
}

// dimensions of the breakdowns: name -> per-ticket column.
var dimensions = []struct{ name, col, label string }{
	{"team", "team", "team"}, {"agent", "assignee", "agent (assignee)"}, {"priority", "priority", "priority"},
	{"category", "coalesce(category, '')", "category"}, {"channel", "channel", "channel"}, {"type", "type", "ticket type"},
}

// perBucket runs aggregates grouped by the bucket of col over the rows of
// from (a table expression) whose col is in the range; it returns rows by
// bucket key.
func (e *Engine) perBucket(ctx context.Context, q *Query, k time.Time, from, col, where string, s *sel) (map[string][]any, error) {
	p := period{q.From, q.To}
	if from == "t" {
		where += " AND " + overlaps(p)
	}
	query := fmt.Sprintf(`WITH %s SELECT %s AS bucket_key, %s FROM (SELECT *, %s AS bucket FROM %s WHERE %s AND %s) GROUP BY bucket`,
		e.ticketsCTE(q, k), keySQL("bucket"), s.sql(), bucketSQL(col, q), from, p.has(col), where)
	rows, err := e.rows(ctx, query)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]any, len(rows))
	for _, r := range rows {
		out[asString(r[0])] = r[1:]
	}
	return out, nil
}

func pointOf(b bucket, q *Query) Point {
	label := b.start.Format(time.DateOnly)
	if q.Interval == "hour" {
		label = b.start.Format("2006-01-02 15:04")
	}
	return Point{Start: b.start, End: b.end, Label: label}
}

func (e *Engine) volume(ctx context.Context, q *Query, k time.Time) (*Volume, error) {
	var s sel
	c := s.add("count(*)")
	created, err := e.perBucket(ctx, q, k, "t", "created_at", "true", &s)
	if err != nil {
		return nil, err
	}
	resolved, err := e.resolvedPerBucket(ctx, q, k)
	if err != nil {
		return nil, err
	}
	out := &Volume{Interval: q.Interval, Points: []VolumePoint{}}
	for _, b := range buckets(q) {
		p := VolumePoint{Point: pointOf(b, q)}
		if row := created[b.key]; row != nil {
			p.Created = asInt(row[c])
		}
		p.Resolved = resolved[b.key]
		out.Points = append(out.Points, p)
	}
	return out, nil
}

// resolvedPerBucket counts the distinct tickets with a resolution in each
// bucket of the range.
func (e *Engine) resolvedPerBucket(ctx context.Context, q *Query, k time.Time) (map[string]int64, error) {
	p := period{q.From, q.To}
	// a simple ticket's only resolution is first_resolved_at; the others
	// count once per bucket with a resolution
	rows, err := e.rows(ctx, fmt.Sprintf(`WITH %[1]s SELECT %[2]s AS bucket_key, sum(n) FROM (
		SELECT %[3]s AS bucket, count(*) AS n FROM t WHERE %[4]s AND simple AND %[5]s GROUP BY bucket
		UNION ALL
		SELECT unnest(list_distinct(list_transform(list_filter(res_ats, lambda x: %[6]s), lambda x: %[7]s))) AS bucket, 1 AS n
		FROM t WHERE %[4]s AND NOT simple) GROUP BY bucket`,
		e.ticketsCTE(q, k), keySQL("bucket"), bucketSQL("first_resolved_at", q), overlaps(p), p.has("first_resolved_at"), p.has("x"), bucketSQL("x", q)))
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[asString(r[0])] = asInt(r[1])
	}
	return out, nil
}

// backlogDeltas returns the backlog before the range and its change per
// bucket: +1 per created or reopened event, -1 per resolved event.
func (e *Engine) backlogDeltas(ctx context.Context, q *Query, k time.Time) (int64, map[string]int64, error) {
	p := period{q.From, q.To}
	row, err := e.row(ctx, fmt.Sprintf(`WITH %s SELECT %s FROM t WHERE %s`, e.ticketsCTE(q, k), backlogAt(tsLit(q.From)), stillOpen(q.From)))
	if err != nil {
		return 0, nil, err
	}
	// +1 per creation, -1 per resolution, +1 per reopen in range
	rows, err := e.rows(ctx, fmt.Sprintf(`WITH %[1]s SELECT %[2]s AS bucket_key, sum(d) FROM (
		SELECT %[3]s AS b, count(*) AS d FROM t WHERE %[4]s AND %[5]s GROUP BY b
		UNION ALL
		SELECT %[6]s AS b, -count(*) AS d FROM t WHERE %[4]s AND simple AND %[7]s GROUP BY b
		UNION ALL
		SELECT unnest(list_concat(
			list_transform(list_filter(res_ats, lambda x: %[8]s), lambda x: {'b': %[9]s, 'd': -1}),
			list_transform(list_filter(reopen_ats, lambda x: %[8]s), lambda x: {'b': %[9]s, 'd': 1})), recursive := true)
		FROM t WHERE %[4]s AND NOT simple) GROUP BY b`,
		e.ticketsCTE(q, k), keySQL("b"), bucketSQL("created_at", q), overlaps(p), p.has("created_at"),
		bucketSQL("first_resolved_at", q), p.has("first_resolved_at"), p.has("x"), bucketSQL("x", q)))
	if err != nil {
		return 0, nil, err
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[asString(r[0])] = asInt(r[1])
	}
	return asInt(row[0]), out, nil
}

func (e *Engine) backlog(ctx context.Context, q *Query, k time.Time) (*Backlog, error) {
	n, deltas, err := e.backlogDeltas(ctx, q, k)
	if err != nil {
		return nil, err
	}
	out := &Backlog{Interval: q.Interval, Points: []BacklogPoint{}}
	for _, b := range buckets(q) {
		n += deltas[b.key]
		out.Points = append(out.Points, BacklogPoint{Point: pointOf(b, q)})
		out.Points[len(out.Points)-1].Backlog = n
	}
	return out, nil
}

// unresolvedAt is the SQL of the filtered tickets unresolved at instant at
// (after the events before it).
func (e *Engine) unresolvedAt(q *Query, k, at time.Time) string {
	return fmt.Sprintf(`(SELECT * FROM t WHERE %s AND %s)`, stillOpen(at), openAt(tsLit(at)))
}

var ageBuckets = []struct {
	label string
	days  float64
}{{"<1d", 1}, {"1-3d", 3}, {"3-7d", 7}, {"7-30d", 30}, {"30d+", 0}}

func (e *Engine) backlogAge(ctx context.Context, q *Query, k time.Time) (*BacklogAge, error) {
	at := q.To
	if k.Before(at) {
		at = k
	}
	var s sel
	age := fmt.Sprintf("(epoch(%s) - epoch(created_at)) / 86400.0", tsLit(at))
	lower := "-1e300"
	for _, b := range ageBuckets {
		cond := fmt.Sprintf("%s >= %s", age, lower)
		if b.days > 0 {
			cond += fmt.Sprintf(" AND %s < %g", age, b.days)
			lower = fmt.Sprintf("%g", b.days)
		}
		s.add(fmt.Sprintf("count(*) FILTER (%s)", cond))
	}
	row, err := e.row(ctx, fmt.Sprintf(`WITH %s SELECT %s FROM %s`, e.ticketsCTE(q, k), s.sql(), e.unresolvedAt(q, k, at)))
	if err != nil {
		return nil, err
	}
	out := &BacklogAge{At: at}
	for i, b := range ageBuckets {
		out.Buckets = append(out.Buckets, AgeBucket{Label: b.label, Count: asInt(row[i])})
	}
	return out, nil
}

func (e *Engine) heatmap(ctx context.Context, q *Query, k time.Time) (*Heatmap, error) {
	local := localSQL("created_at", q)
	rows, err := e.rows(ctx, fmt.Sprintf(`WITH %s SELECT isodow(%s) AS d, hour(%s) AS h, count(*) FROM t WHERE %s GROUP BY d, h`,
		e.ticketsCTE(q, k), local, local, period{q.From, q.To}.has("created_at")))
	if err != nil {
		return nil, err
	}
	out := &Heatmap{Weekdays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, Cells: make([][]int64, 7)}
	for i := range out.Cells {
		out.Cells[i] = make([]int64, 24)
	}
	for _, r := range rows {
		out.Cells[asInt(r[0])-1][asInt(r[1])] = asInt(r[2])
	}
	return out, nil
}

func (e *Engine) durationSeries(ctx context.Context, q *Query, k time.Time, d durationDef) (*DurationSeries, error) {
	var s sel
	read := s.duration(d, "")
	rows, err := e.perBucket(ctx, q, k, "t", d.end, "true", &s)
	if err != nil {
		return nil, err
	}
	out := &DurationSeries{Metric: d.name, Interval: q.Interval, Points: []DurationPoint{}}
	for _, b := range buckets(q) {
		p := DurationPoint{Point: pointOf(b, q)}
		if row := rows[b.key]; row != nil {
			p.Duration = read(row)
		} else {
			p.Duration = Duration{}
		}
		out.Points = append(out.Points, p)
	}
	return out, nil
}

func (e *Engine) durations(ctx context.Context, q *Query, k time.Time) (*Durations, error) {
	// one query per duration, over the tickets whose duration ends in range,
	// all at the same time (the quantiles are the cost)
	var m multi
	p := period{q.From, q.To}
	partOf := func(end string) *part { return m.part(overlaps(p) + " AND " + p.has(end)) }
	var reads []func([][]any) Duration
	for _, d := range durationDefs {
		pt := partOf(d.end)
		read := pt.duration(d, "")
		reads = append(reads, func(rows [][]any) Duration { return read(rows[pt.n]) })
	}
	pr := partOf("resolved_at")
	replies := pr.stats("agent_replies", "")
	rows, err := m.rows(ctx, e, `WITH `+e.ticketsCTE(q, k))
	if err != nil {
		return nil, err
	}
	return &Durations{
		FirstResponse: reads[0](rows), FirstResolution: reads[1](rows), Resolution: reads[2](rows),
		RequesterWait: reads[3](rows), AgentWait: reads[4](rows), OnHold: reads[5](rows), AgentWork: reads[6](rows),
		AgentReplies: replies(rows[pr.n]),
	}, nil
}

func (e *Engine) slaSeries(ctx context.Context, q *Query, k time.Time) (*SLASeries, error) {
	type counts struct {
		decided          map[string][]any
		opened           map[string][]any
		before           int64
		achieved, breach int
	}
	var per [2]counts
	var errs [6]error
	var wg sync.WaitGroup
	rp := period{q.From, q.To}
	for i, p := range []string{"fr", "res"} {
		var s sel
		per[i].achieved = s.add("count(*) FILTER (" + slaIs(p, "achieved") + ")")
		per[i].breach = s.add("count(*) FILTER (" + slaIs(p, "breached") + ")")
		var o sel
		o.add("count(*)")
		// the three queries of each target run at the same time; X_d in the
		// range implies X_dec_at in it, which the scan can use
		wg.Add(3)
		go func() {
			defer wg.Done()
			per[i].decided, errs[3*i] = e.perBucket(ctx, q, k, "t", p+"_d", rp.has(p+"_dec_at"), &s)
		}()
		go func() {
			defer wg.Done()
			per[i].opened, errs[3*i+1] = e.perBucket(ctx, q, k, "t", "created_at", p+"_policy IS NOT NULL", &o)
		}()
		go func() {
			defer wg.Done()
			var row []any
			// X_d < from, from the stored columns (see slaCols)
			row, errs[3*i+2] = e.row(ctx, fmt.Sprintf(`WITH %s SELECT count(*) FILTER (created_at < %[2]s)
				- count(*) FILTER (%[3]s_dec_at < %[2]s AND (%[3]s_outcome IS NOT NULL OR %[3]s_dec_at <= %[4]s))
				FROM t WHERE %[3]s_policy IS NOT NULL`, e.ticketsCTE(q, k), tsLit(q.From), p, tsLit(k)))
			if row != nil {
				per[i].before = asInt(row[0])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	out := &SLASeries{Interval: q.Interval, Points: []SLAPoint{}}
	active := [2]int64{per[0].before, per[1].before}
	for _, b := range buckets(q) {
		pt := SLAPoint{Point: pointOf(b, q)}
		var t [2]SLATarget
		for i := range per {
			if row := per[i].decided[b.key]; row != nil {
				t[i].Achieved, t[i].Breached = asInt(row[per[i].achieved]), asInt(row[per[i].breach])
			}
			if row := per[i].opened[b.key]; row != nil {
				active[i] += asInt(row[0])
			}
			active[i] -= t[i].Achieved + t[i].Breached
			t[i].Active = active[i]
			t[i].CompliancePct = pct(t[i].Achieved, t[i].Achieved+t[i].Breached)
		}
		pt.SLA = SLA{FirstResponse: t[0], Resolution: t[1]}
		out.Points = append(out.Points, pt)
	}
	return out, nil
}

func (e *Engine) csatSeries(ctx context.Context, q *Query, k time.Time) (*CSATSeries, error) {
	var s sel
	resp := s.add("count(*) FILTER (" + csatRated + ")")
	sat := s.add("count(*) FILTER (" + csatSatisfied + ")")
	rows, err := e.perBucket(ctx, q, k, "t", "csat_at", "true", &s)
	if err != nil {
		return nil, err
	}
	vol, err := e.volume(ctx, q, k)
	if err != nil {
		return nil, err
	}
	out := &CSATSeries{Interval: q.Interval, Points: []CSATPoint{}}
	for i, b := range buckets(q) {
		p := CSATPoint{Point: pointOf(b, q)}
		if row := rows[b.key]; row != nil {
			p.Responses, p.Satisfied = asInt(row[resp]), asInt(row[sat])
		}
		p.ScorePct = pct(p.Satisfied, p.Responses)
		p.ResponseRatePct = pct(p.Responses, vol.Points[i].Resolved)
		out.Points = append(out.Points, p)
	}
	return out, nil
}

func (e *Engine) breakdown(ctx context.Context, q *Query, k time.Time, dim string) (*Breakdown, error) {
	i := slices.IndexFunc(dimensions, func(d struct{ name, col, label string }) bool { return d.name == dim })
	if i < 0 {
		return nil, fmt.Errorf("breakdown %q: %w", dim, model.ErrNotFound)
	}
	col := dimensions[i].col
	p := period{q.From, q.To}
	end := q.To
	if k.Before(end) {
		end = k
	}
	cte := `WITH ` + e.ticketsCTE(q, k)
	rows := map[string]*BreakdownRow{}
	get := func(key any) *BreakdownRow {
		ks := asString(key)
		if rows[ks] == nil {
			rows[ks] = &BreakdownRow{Key: ks}
		}
		return rows[ks]
	}
	// Each figure is a grouped query over the tickets whose instant it
	// counts is in range (a WHERE the scan prunes), the backlog one over all
	// tickets; they run at the same time and are merged by key.
	ov := overlaps(p) + " AND "
	type grouped struct {
		aggs, where string
		apply       func(b *BreakdownRow, r []any)
	}
	parts := []grouped{
		{"count(*)", ov + p.has("created_at"), func(b *BreakdownRow, r []any) { b.TicketsCreated = asInt(r[0]) }},
		{"quantile_cont(frt_min, 0.5)", ov + p.has("first_reply_at"), func(b *BreakdownRow, r []any) { b.FirstResponseMedian = round2(asFloat(r[0])) }},
		{"quantile_cont(res_min, 0.5)", ov + p.has("resolved_at"), func(b *BreakdownRow, r []any) { b.ResolutionMedian = round2(asFloat(r[0])) }},
		// X_d in range implies X_dec_at in range
		{fmt.Sprintf(`count(*) FILTER (%s AND %s) + count(*) FILTER (%s AND %s),
			count(*) FILTER (%s AND %s) + count(*) FILTER (%s AND %s)`,
			slaIs("fr", "achieved"), p.has("fr_d"), slaIs("res", "achieved"), p.has("res_d"),
			slaIs("fr", "breached"), p.has("fr_d"), slaIs("res", "breached"), p.has("res_d")),
			ov + "(" + p.has("fr_dec_at") + " OR " + p.has("res_dec_at") + ")",
			func(b *BreakdownRow, r []any) { a, br := asInt(r[0]), asInt(r[1]); b.SLACompliancePct = pct(a, a+br) }},
		{"count(*) FILTER (" + csatRated + "), count(*) FILTER (" + csatSatisfied + ")", ov + p.has("csat_at"),
			func(b *BreakdownRow, r []any) { b.CSATScorePct = pct(asInt(r[1]), asInt(r[0])) }},
		{fmt.Sprintf("count(*) FILTER (%s)", resolvedIn(p)), ov + "(" + p.has("first_resolved_at") + " OR NOT simple)",
			func(b *BreakdownRow, r []any) { b.TicketsResolved = asInt(r[0]) }},
		{fmt.Sprintf("coalesce(sum(len(list_filter(reopen_ats, lambda x: %s))), 0)", p.has("x")), ov + "reopens > 0",
			func(b *BreakdownRow, r []any) { b.Reopens = asInt(r[0]) }},
		{"count(*)", stillOpen(end) + " AND " + openAt(tsLit(end)), func(b *BreakdownRow, r []any) { b.Backlog = asInt(r[0]) }},
	}
	if dim != "agent" && dim != "team" {
		parts = append(parts, grouped{
			fmt.Sprintf("count(*) FILTER (n_assigned = 1 OR len(list_filter(assigns, lambda a: %s)) > 0)", p.has("a.at")),
			ov + "(n_assigned = 1 AND " + p.has("asg_at") + " OR n_assigned > 1)",
			func(b *BreakdownRow, r []any) { b.TicketsAssigned = asInt(r[0]) }})
	}
	var queries []string
	for _, g := range parts {
		queries = append(queries, fmt.Sprintf(`%s SELECT %s AS key, %s FROM t WHERE %s GROUP BY key`, cte, col, g.aggs, g.where))
	}
	if dim == "agent" || dim == "team" {
		// distinct tickets assigned in range, by the agent (team) of the assignment
		evCol := map[string]string{"agent": "assignee", "team": "team"}[dim]
		parts = append(parts, grouped{apply: func(b *BreakdownRow, r []any) { b.TicketsAssigned = asInt(r[0]) }})
		queries = append(queries, fmt.Sprintf(`%[1]s SELECT key, count(*) FROM (
			SELECT asg_%[2]s AS key FROM t WHERE %[5]s AND n_assigned = 1 AND asg_%[2]s IS NOT NULL AND %[3]s
			UNION ALL
			SELECT key FROM (SELECT DISTINCT ticket_id, a.%[2]s AS key FROM (
				SELECT ticket_id, unnest(list_filter(assigns, lambda a: a.%[2]s IS NOT NULL AND %[4]s)) AS a
				FROM t WHERE %[5]s AND n_assigned > 1))) GROUP BY key`, cte, evCol, p.has("asg_at"), p.has("a.at"), overlaps(p)))
	}
	all, err := e.parallel(ctx, queries...)
	if err != nil {
		return nil, err
	}
	for i, res := range all {
		for _, r := range res {
			parts[i].apply(get(r[0]), r[1:])
		}
	}
	out := &Breakdown{Dimension: dim, Rows: []BreakdownRow{}}
	for _, r := range rows {
		if r.TicketsCreated+r.TicketsAssigned+r.TicketsResolved+r.Backlog+r.Reopens == 0 && r.FirstResponseMedian == nil && r.SLACompliancePct == nil && r.CSATScorePct == nil {
			continue
		}
		out.Rows = append(out.Rows, *r)
	}
	slices.SortFunc(out.Rows, func(a, b BreakdownRow) int {
		if a.TicketsCreated != b.TicketsCreated {
			return int(b.TicketsCreated - a.TicketsCreated)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}
