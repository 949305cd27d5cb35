package metrics

import (
	"fmt"
	"math"
	"math/big"
	"time"
)

// Stats describes a set of durations in minutes (or counts, for replies
// per ticket). Mean and the percentiles (DuckDB quantile_cont, i.e.
// interpolated) are null when Count is 0.
type Stats struct {
	Count int64    `json:"count"`
	Mean  *float64 `json:"mean"`
	P50   *float64 `json:"p50"`
	P90   *float64 `json:"p90"`
}

// Duration is a duration metric in calendar minutes, with the same figures
// in business minutes of each ticket's SLA calendar (equal to calendar
// minutes for tickets whose policy runs around the clock or that match no
// policy).
type Duration struct {
	Stats
	Business Stats `json:"business"`
}

// SLATarget counts one kind of SLA target (first response or resolution).
// Achieved and breached count the targets decided in the range: achieved
// when fulfilled within target, breached at the instant the target was
// missed. Active counts those still undecided at the end of the range
// (running or paused). Compliance % = achieved / (achieved + breached)
// x 100, null when both are 0.
type SLATarget struct {
	Achieved      int64    `json:"achieved"`
	Breached      int64    `json:"breached"`
	Active        int64    `json:"active"`
	CompliancePct *float64 `json:"compliance_pct"`
}

// SLA is the compliance with both kinds of targets.
type SLA struct {
	FirstResponse SLATarget `json:"first_response"`
	Resolution    SLATarget `json:"resolution"`
}

// CSAT is customer satisfaction: the latest rating of each ticket counts,
// in the range in which it was given.
type CSAT struct {
	Responses       int64    `json:"responses"`
	Satisfied       int64    `json:"satisfied"`         // ratings of 4 or 5
	ScorePct        *float64 `json:"score_pct"`         // satisfied / responses x 100
	ResponseRatePct *float64 `json:"response_rate_pct"` // responses / tickets resolved x 100
}

// Figures are the headline KPIs of one range.
type Figures struct {
	TicketsCreated         int64    `json:"tickets_created"`
	TicketsResolved        int64    `json:"tickets_resolved"`
	Backlog                int64    `json:"backlog"`
	FirstResponseMinutes   Duration `json:"first_response_minutes"`
	FirstResolutionMinutes Duration `json:"first_resolution_minutes"`
	ResolutionMinutes      Duration `json:"resolution_minutes"`
	SLA                    SLA      `json:"sla"`
	CSAT                   CSAT     `json:"csat"`
	ReopenRatePct          *float64 `json:"reopen_rate_pct"`
	OneTouchPct            *float64 `json:"one_touch_pct"`
}

// Range is the range a result was computed over.
type Range struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	TZ   string    `json:"tz"`
	AsOf time.Time `json:"as_of"`
}

// Summary is GET /api/v1/metrics/summary: the figures of the range and of
// the preceding range of equal length.
type Summary struct {
	Range Range `json:"range"`
	Figures
	Previous Previous `json:"previous"`
}

// Previous is the preceding period's figures.
type Previous struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Figures
}

func pct(num, den int64) *float64 {
	if den == 0 {
		return nil
	}
	v := math.Round(float64(num)*100/float64(den)*100) / 100
	return &v
}

// scanning helpers for untyped DuckDB values

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	case *big.Int:
		return x.Int64()
	case nil:
		return 0
	}
	panic(fmt.Sprintf("metrics: unexpected %T", v))
}

func asFloat(v any) *float64 {
	switch x := v.(type) {
	case float64:
		return &x
	case float32:
		f := float64(x)
		return &f
	case int64:
		f := float64(x)
		return &f
	case nil:
		return nil
	}
	panic(fmt.Sprintf("metrics: unexpected %T", v))
}

func asQuantiles(v any) (*float64, *float64) {
	list, _ := v.([]any)
	if len(list) != 2 {
		return nil, nil
	}
	return asFloat(list[0]), asFloat(list[1])
}

func asTime(v any) *time.Time {
	if t, ok := v.(time.Time); ok {
		return &t
	}
	return nil
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
