package reports

import (
	"fmt"
	"math"
	"strings"

	"github.com/deskpulse/deskpulse/metrics"
)

// kind is how a KPI's value reads: a count, minutes, or a percentage
// (0-100, as the metrics API gives it).
type kind int

const (
	kindCount kind = iota
	kindMinutes
	kindPct
	kindBusinessMinutes // shown in hours: a "day" of business time would mislead
)

// KPI is one line of the Summary sheet and of the e-mail: the period's
// value beside the previous period's (nil when undefined, e.g. no data).
type KPI struct {
	Label     string
	Kind      kind
	Cur, Prev *float64
	Better    int // +1: higher is better, -1: lower is better, 0: neither
}

// Change is Cur - Prev (nil when either is missing).
func (k KPI) Change() *float64 {
	if k.Cur == nil || k.Prev == nil {
		return nil
	}
	v := *k.Cur - *k.Prev
	return &v
}

// ChangePct is the relative change in % (nil for percentages, missing
// values and a zero previous value).
func (k KPI) ChangePct() *float64 {
	if k.Kind == kindPct || k.Cur == nil || k.Prev == nil || *k.Prev == 0 {
		return nil
	}
	v := (*k.Cur - *k.Prev) / *k.Prev * 100
	return &v
}

// Trend is +1 when the change is an improvement, -1 when it is worse, 0
// when unchanged or unknown.
func (k KPI) Trend() int {
	c := k.Change()
	if c == nil || math.Abs(*c) < 1e-9 {
		return 0
	}
	if k.Better == 0 {
		return 0
	}
	if (*c > 0) == (k.Better > 0) {
		return 1
	}
	return -1
}

func count(n int64) *float64 { v := float64(n); return &v }

// KPIs are the headline figures of a summary, in the order the Summary
// sheet and the e-mail show them.
func KPIs(s *metrics.Summary) []KPI {
	c, p := s.Figures, s.Previous.Figures
	return []KPI{
		{"Tickets created", kindCount, count(c.TicketsCreated), count(p.TicketsCreated), 0},
		{"Tickets resolved", kindCount, count(c.TicketsResolved), count(p.TicketsResolved), 1},
		{"Backlog at end of period", kindCount, count(c.Backlog), count(p.Backlog), -1},
		{"First response, median", kindMinutes, c.FirstResponseMinutes.P50, p.FirstResponseMinutes.P50, -1},
		{"First response, median (business hours)", kindBusinessMinutes, c.FirstResponseMinutes.Business.P50, p.FirstResponseMinutes.Business.P50, -1},
		{"First response, 90th percentile", kindMinutes, c.FirstResponseMinutes.P90, p.FirstResponseMinutes.P90, -1},
		{"First resolution, median", kindMinutes, c.FirstResolutionMinutes.P50, p.FirstResolutionMinutes.P50, -1},
		{"Full resolution, median", kindMinutes, c.ResolutionMinutes.P50, p.ResolutionMinutes.P50, -1},
		{"Full resolution, median (business hours)", kindBusinessMinutes, c.ResolutionMinutes.Business.P50, p.ResolutionMinutes.Business.P50, -1},
		{"SLA first response met", kindPct, c.SLA.FirstResponse.CompliancePct, p.SLA.FirstResponse.CompliancePct, 1},
		{"SLA first response breached", kindCount, count(c.SLA.FirstResponse.Breached), count(p.SLA.FirstResponse.Breached), -1},
		{"SLA resolution met", kindPct, c.SLA.Resolution.CompliancePct, p.SLA.Resolution.CompliancePct, 1},
		{"SLA resolution breached", kindCount, count(c.SLA.Resolution.Breached), count(p.SLA.Resolution.Breached), -1},
		{"CSAT score", kindPct, c.CSAT.ScorePct, p.CSAT.ScorePct, 1},
		{"CSAT responses", kindCount, count(c.CSAT.Responses), count(p.CSAT.Responses), 1},
		{"Reopen rate", kindPct, c.ReopenRatePct, p.ReopenRatePct, -1},
		{"One-touch resolution", kindPct, c.OneTouchPct, p.OneTouchPct, 1},
	}
}

// format writes a value for people: counts with thousands separators,
// durations as "1d 4h 05m"/"3h 20m"/"42m", percentages with one decimal.
func (k kind) format(v *float64) string {
	if v == nil {
		return "–"
	}
	switch k {
	case kindMinutes:
		return formatMinutes(*v)
	case kindBusinessMinutes:
		return formatHours(*v)
	case kindPct:
		return fmt.Sprintf("%.1f%%", *v)
	default:
		return thousands(int64(math.Round(*v)))
	}
}

// formatChange writes a change: signed, in points for percentages.
func (k kind) formatChange(v *float64) string {
	if v == nil {
		return "–"
	}
	sign := "+"
	if *v < 0 {
		sign = "−"
	}
	a := math.Abs(*v)
	switch k {
	case kindMinutes:
		return sign + formatMinutes(a)
	case kindBusinessMinutes:
		return sign + formatHours(a)
	case kindPct:
		return fmt.Sprintf("%s%.1f pts", sign, a)
	default:
		return sign + thousands(int64(math.Round(a)))
	}
}

func formatMinutes(m float64) string {
	total := int64(math.Round(m))
	d, h, mm := total/1440, total%1440/60, total%60
	switch {
	case d > 0:
		return fmt.Sprintf("%dd %dh %02dm", d, h, mm)
	case h > 0:
		return fmt.Sprintf("%dh %02dm", h, mm)
	default:
		return fmt.Sprintf("%dm", mm)
	}
}

func formatHours(m float64) string {
	total := int64(math.Round(m))
	if total < 60 {
		return fmt.Sprintf("%dm", total)
	}
	return fmt.Sprintf("%sh %02dm", thousands(total/60), total%60)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
