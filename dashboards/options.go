package dashboards

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
)

// Option is one choice of a filter select.
type Option struct{ Value, Label string }

// options are the choices of the filter bar's selects.
type options struct {
	Presets    []Option
	Teams      []Option
	Agents     []Option
	Priorities []Option
	Categories []Option
	Channels   []Option
	Zones      []Option

	agentNames map[string]string
}

// AgentName is an agent's display name ("" = unassigned).
func (o *options) AgentName(email string) string {
	if email == "" {
		return "(unassigned)"
	}
	if n := o.agentNames[email]; n != "" {
		return n
	}
	return email
}

var zones = []string{"UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney"}

// options loads the filter choices: teams and agents from the store,
// categories seen in the last 180 days (a by_category breakdown), cached
// for a few minutes.
func (d *Dashboards) options(ctx context.Context) *options {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opts != nil && time.Since(d.optsAt) < d.optsTTL {
		return d.opts
	}
	o := &options{agentNames: map[string]string{}}
	for _, p := range Presets {
		o.Presets = append(o.Presets, Option{p.Key, p.Label})
	}
	if teams, err := d.st.Teams(ctx); err == nil {
		for _, t := range teams {
			o.Teams = append(o.Teams, Option{t.Name, t.Name})
		}
	} else {
		slog.Warn("dashboards: teams", "err", err)
	}
	if agents, err := d.st.Agents(ctx); err == nil {
		for _, a := range agents {
			o.Agents = append(o.Agents, Option{a.Email, a.Name})
			o.agentNames[a.Email] = a.Name
		}
		slices.SortFunc(o.Agents, func(a, b Option) int { return compare(a.Label, b.Label) })
	} else {
		slog.Warn("dashboards: agents", "err", err)
	}
	for _, p := range model.Priorities {
		o.Priorities = append(o.Priorities, Option{string(p), string(p)})
	}
	for _, c := range model.Channels {
		o.Channels = append(o.Channels, Option{string(c), string(c)})
	}
	now := d.now()
	q := metrics.Query{From: now.AddDate(0, 0, -180), To: now.Add(time.Minute), TZ: time.UTC, Interval: "month"}
	if b, err := series[*metrics.Breakdown](ctx, d.m, "by_category", q); err == nil {
		for _, r := range b.Rows {
			if r.Key != "" {
				o.Categories = append(o.Categories, Option{r.Key, r.Key})
			}
		}
		slices.SortFunc(o.Categories, func(a, b Option) int { return compare(a.Label, b.Label) })
	} else {
		slog.Warn("dashboards: categories", "err", err)
	}
	zs := slices.Clone(zones)
	if z := d.m.Location().String(); !slices.Contains(zs, z) {
		zs = append([]string{z}, zs...)
	}
	for _, z := range zs {
		o.Zones = append(o.Zones, Option{z, z})
	}
	d.opts, d.optsAt = o, time.Now()
	return o
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
