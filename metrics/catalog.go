package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// The conditions that several KPIs share, written once: the summary, the
// series, the breakdowns and the what-if all count with these.
const (
	// csatRated is a ticket with a rating (1-5).
	csatRated = "csat_score IS NOT NULL"
	// csatSatisfied is a good rating: 4 or 5 of 5, as Zendesk counts
	// "good" ratings for its satisfaction score.
	csatSatisfied = "csat_score >= 4"
)

// slaIs is the condition that SLA target ("fr" first response, "res"
// resolution) has outcome ("achieved" or "breached") at the knowledge
// instant, in the per-ticket rows with slaCols (column X_o).
func slaIs(target, outcome string) string {
	return fmt.Sprintf("%s_o = '%s'", target, outcome)
}

// metric is one entry of the catalog: what GET /api/v1/metrics lists and
// how Series computes it.
type metric struct {
	Definition
	compute func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error)
}

// catalog is every metric Series answers, in the order List gives them:
// one place from a metric's name to its definition. The duration series
// come from durationDefs and the breakdowns from dimensions.
var catalog = sync.OnceValue(func() []metric {
	ms := []metric{
		{Definition{"summary", "summary", "Headline KPIs of the range and the previous period of equal length (GET /api/v1/metrics/summary).", "mixed"},
			func(e *Engine, ctx context.Context, q *Query, _ time.Time) (any, error) { return e.Summary(ctx, *q) }},
		{Definition{"volume", "series", "Tickets created and distinct tickets resolved per interval.", "tickets"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.volume(ctx, q, k) }},
		{Definition{"backlog", "series", "Tickets created before and not resolved or closed at the end of each interval.", "tickets"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.backlog(ctx, q, k) }},
		{Definition{"backlog_age", "distribution", "Tickets unresolved at the end of the range by age since creation.", "tickets"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.backlogAge(ctx, q, k) }},
		{Definition{"created_heatmap", "distribution", "Tickets created in the range by local weekday and hour.", "tickets"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.heatmap(ctx, q, k) }},
	}
	for _, d := range durationDefs {
		ms = append(ms, metric{Definition{d.name, "series", d.description + " Count, mean, p50, p90 per interval, calendar and business minutes.", "minutes"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.durationSeries(ctx, q, k, d) }})
	}
	ms = append(ms,
		metric{Definition{"sla_compliance", "series", "SLA targets achieved and breached per interval (by decision instant), active at each interval's end, compliance %.", "targets"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.slaSeries(ctx, q, k) }},
		metric{Definition{"csat", "series", "CSAT responses, satisfied (4-5), score % and response rate % per interval.", "ratings"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.csatSeries(ctx, q, k) }},
		metric{Definition{"durations", "distribution", "Every duration over the range (first response, first and full resolution, requester wait, agent wait, on hold, agent work) and agent replies per resolved ticket.", "minutes"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.durations(ctx, q, k) }},
	)
	for _, d := range dimensions {
		ms = append(ms, metric{Definition{"by_" + d.name, "breakdown", "Created, assigned, resolved, backlog, median first response and resolution, SLA %, CSAT %, reopens by " + d.label + ".", "mixed"},
			func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.breakdown(ctx, q, k, d.name) }})
	}
	return append(ms, metric{Definition{"agents", "breakdown", "The agent table: by_agent.", "mixed"},
		func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return e.breakdown(ctx, q, k, "agent") }})
})

func metricByName(name string) (metric, bool) {
	for _, m := range catalog() {
		if m.Name == name {
			return m, true
		}
	}
	return metric{}, false
}

// List names every metric that Series answers (the catalog).
func (e *Engine) List() []Definition {
	ms := catalog()
	defs := make([]Definition, len(ms))
	for i, m := range ms {
		defs[i] = m.Definition
	}
	return defs
}

// Series computes one named metric of the catalog (see List). Its result
// is the metric's own type (*Volume, *Backlog, *DurationSeries, ...).
func (e *Engine) Series(ctx context.Context, name string, q Query) (any, error) {
	m, ok := metricByName(name)
	if !ok {
		return nil, fmt.Errorf("metric %q: %w", name, model.ErrNotFound)
	}
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	return m.compute(e, ctx, &q, k)
}
