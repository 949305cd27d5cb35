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
	compute computeFunc
}

type computeFunc func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error)

// typed makes a computeFunc of a method that returns the metric's own type.
func typed[T any](f func(*Engine, context.Context, *Query, time.Time) (T, error)) computeFunc {
	return func(e *Engine, ctx context.Context, q *Query, k time.Time) (any, error) { return f(e, ctx, q, k) }
}

// catalog is every metric Series answers, in the order List gives them:
// one place from a metric's name to its definition. The duration series
// come from durationDefs and the breakdowns from dimensions.
var catalog = sync.OnceValue(func() []metric {
	def := func(name, kind, unit, description string) Definition {
		return Definition{Name: name, Kind: kind, Unit: unit, Description: description}
	}
	ms := []metric{
		{def("summary", "summary", "mixed", "Headline KPIs of the range and the previous period of equal length (GET /api/v1/metrics/summary)."),
			typed(func(e *Engine, ctx context.Context, q *Query, _ time.Time) (*Summary, error) {
				return e.summary(ctx, *q)
			})},
		{def("volume", "series", "tickets", "Tickets created and distinct tickets resolved per interval."), typed((*Engine).volume)},
		{def("backlog", "series", "tickets", "Tickets created before and not resolved or closed at the end of each interval."), typed((*Engine).backlog)},
		{def("backlog_age", "distribution", "tickets", "Tickets unresolved at the end of the range by age since creation."), typed((*Engine).backlogAge)},
		{def("created_heatmap", "distribution", "tickets", "Tickets created in the range by local weekday and hour."), typed((*Engine).heatmap)},
	}
	for _, d := range durationDefs {
		ms = append(ms, metric{def(d.name, "series", "minutes", d.description+" Count, mean, p50, p90 per interval, calendar and business minutes."),
			typed(func(e *Engine, ctx context.Context, q *Query, k time.Time) (*DurationSeries, error) {
				return e.durationSeries(ctx, q, k, d)
			})})
	}
	ms = append(ms,
		metric{def("sla_compliance", "series", "targets", "SLA targets achieved and breached per interval (by decision instant), active at each interval's end, compliance %."), typed((*Engine).slaSeries)},
		metric{def("csat", "series", "ratings", "CSAT responses, satisfied (4-5), score % and response rate % per interval."), typed((*Engine).csatSeries)},
		metric{def("durations", "distribution", "minutes", "Every duration over the range (first response, first and full resolution, requester wait, agent wait, on hold, agent work) and agent replies per resolved ticket."), typed((*Engine).durations)},
	)
	breakdownBy := func(dim string) computeFunc {
		return typed(func(e *Engine, ctx context.Context, q *Query, k time.Time) (*Breakdown, error) {
			return e.breakdown(ctx, q, k, dim)
		})
	}
	for _, d := range dimensions {
		ms = append(ms, metric{def("by_"+d.name, "breakdown", "mixed", "Created, assigned, resolved, backlog, median first response and resolution, SLA %, CSAT %, reopens by "+d.label+"."), breakdownBy(d.name)})
	}
	return append(ms, metric{def("agents", "breakdown", "mixed", "The agent table: by_agent."), breakdownBy("agent")})
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
	defer e.timed(m.Name, time.Now()) // a catalog name: bounded label values
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	return m.compute(e, ctx, &q, k)
}
