package dashboards

import (
	"net/url"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
)

// Presets are the range presets of the filter bar, in its order.
var Presets = []struct{ Key, Label string }{
	{"today", "Today"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"}, {"month", "This month"},
	{"last_month", "Last month"}, {"quarter", "This quarter"}, {"custom", "Custom range"},
}

const defaultPreset = "30d"

// filterKeys are the URL parameters of the filter bar besides range, from,
// to and tz; each is one value (a select).
var filterKeys = []string{"team", "agent", "priority", "category", "channel"}

// Filter is the state of the filter bar, read from and written to the URL.
type Filter struct {
	Range    string // a preset key
	From, To string // custom range, local dates; To is inclusive
	TZ       string // IANA zone, "" = the configured one
	Values   map[string]string

	loc      *time.Location
	from, to time.Time // [from, to) in loc
	interval string
}

// parseFilter reads the filter bar from a URL query. Unknown or malformed
// values fall back to the defaults and are reported in problems, so a
// shared link with a typo still opens.
func parseFilter(v url.Values, defLoc *time.Location, now time.Time) (f Filter, problems []string) {
	f = Filter{Range: v.Get("range"), From: v.Get("from"), To: v.Get("to"), TZ: strings.TrimSpace(v.Get("tz")), Values: map[string]string{}}
	f.loc = defLoc
	if f.TZ != "" {
		if loc, err := time.LoadLocation(f.TZ); err == nil && f.TZ != "Local" {
			f.loc = loc
		} else {
			problems = append(problems, "unknown time zone "+f.TZ)
			f.TZ = ""
		}
	}
	if f.TZ == defLoc.String() {
		f.TZ = "" // the default zone stays out of the URL
	}
	for _, k := range filterKeys {
		if s := strings.TrimSpace(v.Get(k)); s != "" {
			f.Values[k] = s
		}
	}
	if p := f.Values["priority"]; p != "" && !model.Priority(p).Valid() {
		problems = append(problems, "unknown priority "+p)
		delete(f.Values, "priority")
	}
	if c := f.Values["channel"]; c != "" && !model.Channel(c).Valid() {
		problems = append(problems, "unknown channel "+c)
		delete(f.Values, "channel")
	}
	if f.Range == "" && (f.From != "" || f.To != "") {
		f.Range = "custom"
	}
	known := false
	for _, p := range Presets {
		known = known || p.Key == f.Range
	}
	if !known {
		if f.Range != "" {
			problems = append(problems, "unknown range "+f.Range)
		}
		f.Range = defaultPreset
	}
	n := now.In(f.loc)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, f.loc) }
	today := day(n.Year(), n.Month(), n.Day())
	tomorrow := today.AddDate(0, 0, 1)
	switch f.Range {
	case "today":
		f.from, f.to = today, tomorrow
	case "7d":
		f.from, f.to = today.AddDate(0, 0, -6), tomorrow
	case "30d":
		f.from, f.to = today.AddDate(0, 0, -29), tomorrow
	case "month":
		f.from, f.to = day(n.Year(), n.Month(), 1), tomorrow
	case "last_month":
		f.from, f.to = day(n.Year(), n.Month()-1, 1), day(n.Year(), n.Month(), 1)
	case "quarter":
		f.from, f.to = day(n.Year(), n.Month()-(n.Month()-1)%3, 1), tomorrow
	case "custom":
		from, err1 := time.ParseInLocation(time.DateOnly, f.From, f.loc)
		to, err2 := time.ParseInLocation(time.DateOnly, f.To, f.loc)
		switch {
		case err1 != nil && err2 != nil:
			problems = append(problems, "custom range: give both dates")
			f.from, f.to = today.AddDate(0, 0, -29), tomorrow
		case err1 != nil:
			f.from, f.to = to.AddDate(0, 0, -29), to.AddDate(0, 0, 1)
		case err2 != nil:
			f.from, f.to = from, tomorrow
		default:
			f.from, f.to = from, to.AddDate(0, 0, 1)
		}
		if !f.from.Before(f.to) {
			problems = append(problems, "custom range: the start is after the end")
			f.from = f.to.AddDate(0, 0, -1)
		}
		if f.to.Sub(f.from) > 3*366*24*time.Hour {
			problems = append(problems, "custom range: at most three years")
			f.from = f.to.AddDate(-3, 0, 0)
		}
	}
	if f.Range != "custom" {
		f.From, f.To = "", ""
	}
	days := f.to.Sub(f.from).Hours() / 24
	switch {
	case days <= 1.5:
		f.interval = "hour"
	case days <= 100:
		f.interval = "day"
	case days <= 400:
		f.interval = "week"
	default:
		f.interval = "month"
	}
	return f, problems
}

// Query is the metrics query of the filter bar.
func (f Filter) Query() metrics.Query {
	q := metrics.Query{From: f.from, To: f.to, TZ: f.loc, Interval: f.interval}
	one := func(k string) []string {
		if s := f.Values[k]; s != "" {
			return []string{s}
		}
		return nil
	}
	q.Team, q.Agent, q.Priority, q.Category, q.Channel = one("team"), one("agent"), one("priority"), one("category"), one("channel")
	return q
}

// Encode writes the filter as a URL query (empty values left out), the
// same one the page's script writes when a control changes.
func (f Filter) Encode() string {
	v := url.Values{}
	if f.Range != defaultPreset {
		v.Set("range", f.Range)
	}
	if f.Range == "custom" {
		v.Set("from", f.from.Format(time.DateOnly))
		v.Set("to", f.to.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	for _, k := range filterKeys {
		if s := f.Values[k]; s != "" {
			v.Set(k, s)
		}
	}
	if f.TZ != "" {
		v.Set("tz", f.TZ)
	}
	return v.Encode()
}

// RangeLabel says which days the page shows, e.g. "1 Nov – 23 Nov 2026".
func (f Filter) RangeLabel() string {
	last := f.to.AddDate(0, 0, -1)
	if f.from.Equal(last) {
		return f.from.Format("Mon 2 Jan 2006")
	}
	if f.from.Year() == last.Year() {
		return f.from.Format("2 Jan") + " – " + last.Format("2 Jan 2006")
	}
	return f.from.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
}

// FromDate and ToDate fill the custom range inputs (To inclusive).
func (f Filter) FromDate() string { return f.from.Format(time.DateOnly) }
func (f Filter) ToDate() string   { return f.to.AddDate(0, 0, -1).Format(time.DateOnly) }

// Zone is the time zone in effect.
func (f Filter) Zone() string { return f.loc.String() }
