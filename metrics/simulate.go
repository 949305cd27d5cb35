package metrics

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// SimulateRequest is POST /api/v1/sla/simulate: other calendars and
// policies (the shape of config.yaml; Timezone is ignored) and the range
// and filters of the tickets to replay.
type SimulateRequest struct {
	Config Config
	Query  Query
}

// SimulateResult compares, per policy (of the simulated config) and
// priority, the SLA compliance past tickets would have had under the
// simulated policies with the compliance they actually had. Targets count
// in the range in which they were decided, as in the summary.
type SimulateResult struct {
	Range Range         `json:"range"`
	Rows  []SimulateRow `json:"rows"`
	Total SimulateRow   `json:"total"`
}

// SimulateRow is one policy and priority; Policy "" is tickets no
// simulated policy matches (Simulated is then empty).
type SimulateRow struct {
	Policy    string `json:"policy"`
	Priority  string `json:"priority"`
	Simulated SLA    `json:"simulated"`
	Actual    SLA    `json:"actual"`
}

// Simulate replays the events of the tickets whose targets can be decided
// in the range (created before its end, not finally resolved before its
// start) under req.Config and compares with the actual outcomes.
func (e *Engine) Simulate(ctx context.Context, req SimulateRequest) (*SimulateResult, error) {
	cfg := req.Config
	cfg.Timezone = ""
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := req.Query
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	lo, hi := e.spanRange()
	e.mu.Unlock()
	actual := e.source(k)
	candidates := fmt.Sprintf(`SELECT ticket_id FROM %s WHERE created_at < %s AND (resolved_at IS NULL OR resolved_at >= %s) AND %s`,
		actual, tsLit(q.To), tsLit(q.From), q.filterSQL())
	sim := ticketSQL(&cfg, fmt.Sprintf(`occurred_at <= %s AND ticket_id IN (%s)`, tsLit(k), candidates), nil, lo, hi)
	p := period{q.From, q.To}
	rows := map[[2]string]*SimulateRow{}
	get := func(policy, prio string) *SimulateRow {
		key := [2]string{policy, prio}
		if rows[key] == nil {
			rows[key] = &SimulateRow{Policy: policy, Priority: prio}
		}
		return rows[key]
	}
	for _, target := range []string{"fr", "res"} {
		query := fmt.Sprintf(`WITH s AS (SELECT *%[1]s FROM (%[2]s)), a AS (SELECT *%[1]s FROM %[3]s WHERE ticket_id IN (SELECT ticket_id FROM s))
			SELECT coalesce(s.%[4]s_policy, '') AS policy, s.priority,
				count(*) FILTER (%[8]s AND %[5]s), count(*) FILTER (%[9]s AND %[5]s),
				count(*) FILTER (s.%[4]s_policy IS NOT NULL AND s.created_at < %[7]s AND (s.%[4]s_d IS NULL OR s.%[4]s_d >= %[7]s)),
				count(*) FILTER (%[10]s AND %[6]s), count(*) FILTER (%[11]s AND %[6]s),
				count(*) FILTER (a.%[4]s_policy IS NOT NULL AND a.created_at < %[7]s AND (a.%[4]s_d IS NULL OR a.%[4]s_d >= %[7]s))
			FROM s JOIN a USING (ticket_id) GROUP BY ALL`,
			slaCols(k), sim, actual, target, p.has("s."+target+"_d"), p.has("a."+target+"_d"), tsLit(minTime(q.To, k)),
			slaIs("s."+target, "achieved"), slaIs("s."+target, "breached"), slaIs("a."+target, "achieved"), slaIs("a."+target, "breached"))
		res, err := e.rows(ctx, query)
		if err != nil {
			return nil, err
		}
		for _, r := range res {
			row := get(asString(r[0]), asString(r[1]))
			s := SLATarget{Achieved: asInt(r[2]), Breached: asInt(r[3]), Active: asInt(r[4])}
			a := SLATarget{Achieved: asInt(r[5]), Breached: asInt(r[6]), Active: asInt(r[7])}
			if target == "fr" {
				row.Simulated.FirstResponse, row.Actual.FirstResponse = s, a
			} else {
				row.Simulated.Resolution, row.Actual.Resolution = s, a
			}
		}
	}
	out := &SimulateResult{Range: Range{From: q.From, To: q.To, TZ: q.TZ.String(), AsOf: k}, Rows: []SimulateRow{}}
	for _, r := range rows {
		addSLA(&out.Total.Simulated, r.Simulated)
		addSLA(&out.Total.Actual, r.Actual)
		finishSLA(&r.Simulated)
		finishSLA(&r.Actual)
		out.Rows = append(out.Rows, *r)
	}
	finishSLA(&out.Total.Simulated)
	finishSLA(&out.Total.Actual)
	order := map[string]int{}
	for i, pol := range cfg.SLA.Policies {
		order[pol.Name] = i
	}
	slices.SortFunc(out.Rows, func(a, b SimulateRow) int {
		oa, ok := order[a.Policy]
		if !ok {
			oa = len(order)
		}
		ob, ok := order[b.Policy]
		if !ok {
			ob = len(order)
		}
		if oa != ob {
			return oa - ob
		}
		return strings.Compare(a.Priority, b.Priority)
	})
	return out, nil
}

func addSLA(dst *SLA, s SLA) {
	for _, p := range [][2]*SLATarget{{&dst.FirstResponse, &s.FirstResponse}, {&dst.Resolution, &s.Resolution}} {
		p[0].Achieved += p[1].Achieved
		p[0].Breached += p[1].Breached
		p[0].Active += p[1].Active
	}
}

func finishSLA(s *SLA) {
	for _, t := range []*SLATarget{&s.FirstResponse, &s.Resolution} {
		t.CompliancePct = pct(t.Achieved, t.Achieved+t.Breached)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
