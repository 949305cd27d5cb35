package metrics

// Per-ticket views the manager dashboards need and no series gives: the
// SLA targets at risk now, duration histograms and the CSAT score
// distribution with the latest comments. Same rules as everything else in
// this package: the range, filters and knowledge instant of a Query.

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AtRiskTarget is one running SLA target that is not yet breached: the
// ticket's current dimensions and when the target breaches if nothing
// happens.
type AtRiskTarget struct {
	TicketID string    `json:"ticket_id"`
	Target   string    `json:"target"` // first_response | resolution
	Policy   string    `json:"policy"`
	DueAt    time.Time `json:"due_at"`
	Priority string    `json:"priority"`
	Team     string    `json:"team"`
	Assignee string    `json:"assignee"`
	Status   string    `json:"status"` // the ticket's status
}

// AtRisk lists the SLA targets still running at q's knowledge instant
// (now unless AsOf), least time left first, at most limit of them, for the
// tickets passing q's filters. The range of q does not apply: it is about
// the instant. A paused resolution clock (pending, on_hold) is not at risk.
func (e *Engine) AtRisk(ctx context.Context, q Query, limit int) ([]AtRiskTarget, error) {
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 20
	}
	K := tsLit(k)
	query := fmt.Sprintf(`WITH %s
		SELECT ticket_id, target, policy, due, priority, team, assignee, status FROM (
			SELECT ticket_id, 'first_response' AS target, fr_policy AS policy, fr_breach_at AS due, priority, team, assignee, status
			FROM t WHERE fr_policy IS NOT NULL AND fr_outcome IS NULL AND fr_breach_at > %[2]s AND status NOT IN ('resolved', 'closed')
			UNION ALL
			SELECT ticket_id, 'resolution', res_policy, res_breach_at, priority, team, assignee, status
			FROM t WHERE res_policy IS NOT NULL AND res_outcome IS NULL AND res_running AND res_breach_at > %[2]s)
		ORDER BY due, ticket_id, target LIMIT %[3]d`, e.ticketsCTE(&q, k), K, limit)
	rows, err := e.rows(ctx, query)
	if err != nil {
		return nil, err
	}
	out := make([]AtRiskTarget, 0, len(rows))
	for _, r := range rows {
		a := AtRiskTarget{TicketID: asString(r[0]), Target: asString(r[1]), Policy: asString(r[2]),
			Priority: asString(r[4]), Team: asString(r[5]), Assignee: asString(r[6]), Status: asString(r[7])}
		if t := asTime(r[3]); t != nil {
			a.DueAt = *t
		}
		out = append(out, a)
	}
	return out, nil
}

// Histogram counts durations (calendar minutes) ending in q's range per
// bin: Counts[i] is the number in [Edges[i], Edges[i+1]), the last bin is
// open-ended.
type Histogram struct {
	Metric string    `json:"metric"`
	Edges  []float64 `json:"edges"`
	Counts []int64   `json:"counts"`
}

// DurationHistogram bins one duration metric (a name of List with unit
// minutes, e.g. first_response_minutes) by the given ascending edges in
// minutes; the first edge is usually 0.
func (e *Engine) DurationHistogram(ctx context.Context, q Query, metric string, edges []float64) (*Histogram, error) {
	var d *durationDef
	for i := range durationDefs {
		if durationDefs[i].name == metric {
			d = &durationDefs[i]
		}
	}
	if d == nil || len(edges) == 0 {
		return nil, fmt.Errorf("histogram of %q: not a duration metric, or no edges", metric)
	}
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	p := period{q.From, q.To}
	var s sel
	for i, lo := range edges {
		cond := fmt.Sprintf("%s >= %g", d.cal, lo)
		if i+1 < len(edges) {
			cond += fmt.Sprintf(" AND %s < %g", d.cal, edges[i+1])
		}
		s.add(fmt.Sprintf("count(*) FILTER (%s)", cond))
	}
	row, err := e.row(ctx, fmt.Sprintf(`WITH %s SELECT %s FROM t WHERE %s AND %s IS NOT NULL`, e.ticketsCTE(&q, k), s.sql(), p.has(d.end), d.cal))
	if err != nil {
		return nil, err
	}
	h := &Histogram{Metric: metric, Edges: edges, Counts: make([]int64, len(edges))}
	for i := range edges {
		h.Counts[i] = asInt(row[i])
	}
	return h, nil
}

// CSATComment is one rating with a comment.
type CSATComment struct {
	TicketID string    `json:"ticket_id"`
	At       time.Time `json:"at"`
	Score    int64     `json:"score"`
	Comment  string    `json:"comment"`
	Team     string    `json:"team"`
	Assignee string    `json:"assignee"`
}

// CSATDetail is the distribution of the scores (the latest rating of each
// ticket, in the range of its time, as in CSAT) and the latest comments.
type CSATDetail struct {
	Scores   [5]int64      `json:"scores"` // Scores[i] = ratings of i+1
	Comments []CSATComment `json:"comments"`
}

// CSATRatings returns the score distribution in q's range and the latest
// comments (at most limit) given with ratings in the range.
func (e *Engine) CSATRatings(ctx context.Context, q Query, limit int) (*CSATDetail, error) {
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 10
	}
	p := period{q.From, q.To}
	cte := e.ticketsCTE(&q, k)
	row, err := e.row(ctx, fmt.Sprintf(`WITH %s SELECT %s FROM t WHERE %s`, cte,
		strings.Join([]string{"count(*) FILTER (csat_score = 1)", "count(*) FILTER (csat_score = 2)", "count(*) FILTER (csat_score = 3)",
			"count(*) FILTER (csat_score = 4)", "count(*) FILTER (csat_score = 5)"}, ", "), p.has("csat_at")))
	if err != nil {
		return nil, err
	}
	out := &CSATDetail{Comments: []CSATComment{}}
	for i := range out.Scores {
		out.Scores[i] = asInt(row[i])
	}
	rows, err := e.rows(ctx, fmt.Sprintf(`WITH %s
		SELECT ev.ticket_id, ev.occurred_at, ev.score, ev.comment, t.team, t.assignee
		FROM events ev JOIN t USING (ticket_id)
		WHERE ev.type = 'csat_rated' AND coalesce(trim(ev.comment), '') <> '' AND %s AND ev.occurred_at <= %s
		ORDER BY ev.occurred_at DESC, ev.seq DESC LIMIT %d`, cte, p.has("ev.occurred_at"), tsLit(k), limit))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		c := CSATComment{TicketID: asString(r[0]), Score: asInt(r[2]), Comment: asString(r[3]), Team: asString(r[4]), Assignee: asString(r[5])}
		if t := asTime(r[1]); t != nil {
			c.At = *t
		}
		out.Comments = append(out.Comments, c)
	}
	return out, nil
}

// OpenClock is the SLA state of one unresolved ticket for the agents'
// inbox: whether a target is breached, and when the next running target
// breaches (nil when none runs: no policy, all met, or the resolution
// clock paused while pending or on hold).
type OpenClock struct {
	Breached bool
	NextDue  *time.Time
	Paused   bool // the resolution clock is paused and no other target runs
}

// OpenSLA returns the SLA state of every unresolved ticket that has an SLA
// policy, by ticket id, as of now. It is one pass of the pipeline over
// the tickets (cheap while the metrics table is fresh), so the inbox calls
// it once per page, not per row.
func (e *Engine) OpenSLA(ctx context.Context) (map[string]OpenClock, error) {
	now := e.now()
	q := Query{From: now.Add(-time.Hour), To: now}
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	K := tsLit(k)
	query := fmt.Sprintf(`WITH %s
		SELECT ticket_id,
			coalesce(fr_o = 'breached', false) OR coalesce(res_o = 'breached', false) AS breached,
			least(CASE WHEN fr_outcome IS NULL AND fr_breach_at > %[2]s THEN fr_breach_at END,
				CASE WHEN res_outcome IS NULL AND res_running AND res_breach_at > %[2]s THEN res_breach_at END) AS next_due,
			res_policy IS NOT NULL AND res_outcome IS NULL AND NOT res_running AS paused
		FROM t WHERE status NOT IN ('resolved', 'closed') AND (fr_policy IS NOT NULL OR res_policy IS NOT NULL)`,
		e.ticketsCTE(&q, k), K)
	rows, err := e.rows(ctx, query)
	if err != nil {
		return nil, err
	}
	out := make(map[string]OpenClock, len(rows))
	for _, r := range rows {
		c := OpenClock{NextDue: asTime(r[2])}
		c.Breached, _ = r[1].(bool)
		paused, _ := r[3].(bool)
		c.Paused = paused && c.NextDue == nil
		out[asString(r[0])] = c
	}
	return out, nil
}
