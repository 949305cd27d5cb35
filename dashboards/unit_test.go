package dashboards

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestHumanDur(t *testing.T) {
	for _, c := range []struct {
		min  float64
		want string
	}{{0.5, "30 s"}, {12, "12 min"}, {60, "1 h"}, {135, "2 h 15 min"}, {1440, "1 d"}, {1440*3 + 240, "3 d 4 h"}, {-90, "-1 h 30 min"}} {
		if got := humanDur(c.min); got != c.want {
			t.Errorf("humanDur(%v) = %q, want %q", c.min, got, c.want)
		}
	}
	if got := count(1234567); got != "1\u202f234\u202f567" {
		t.Errorf("count = %q", got)
	}
}

func TestFilterPresetsAndURL(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC)
	day := func(s string) time.Time { d, _ := time.ParseInLocation(time.DateOnly, s, berlin); return d }
	for _, c := range []struct {
		query, from, to, interval string
	}{
		{"", "2026-04-21", "2026-05-21", "day"},
		{"range=today", "2026-05-20", "2026-05-21", "hour"},
		{"range=7d", "2026-05-14", "2026-05-21", "day"},
		{"range=month", "2026-05-01", "2026-05-21", "day"},
		{"range=last_month", "2026-04-01", "2026-05-01", "day"},
		{"range=quarter", "2026-04-01", "2026-05-21", "day"},
		{"range=custom&from=2025-01-01&to=2025-12-31", "2025-01-01", "2026-01-01", "week"},
		{"from=2026-03-01&to=2026-03-31", "2026-03-01", "2026-04-01", "day"},
	} {
		v, _ := url.ParseQuery(c.query)
		f, problems := parseFilter(v, berlin, now)
		if len(problems) > 0 {
			t.Errorf("%q: %v", c.query, problems)
		}
		q := f.Query()
		if !q.From.Equal(day(c.from)) || !q.To.Equal(day(c.to)) || q.Interval != c.interval {
			t.Errorf("%q: [%v, %v) %s, want [%s, %s) %s", c.query, q.From, q.To, q.Interval, c.from, c.to, c.interval)
		}
		// The URL written back reads the same.
		back, _ := url.ParseQuery(f.Encode())
		g, _ := parseFilter(back, berlin, now)
		if gq := g.Query(); !gq.From.Equal(q.From) || !gq.To.Equal(q.To) {
			t.Errorf("%q: round trip via %q gives [%v, %v)", c.query, f.Encode(), gq.From, gq.To)
		}
	}
	v, _ := url.ParseQuery("range=7d&priority=urgent&team=Billing&tz=Asia/Tokyo&channel=fax")
	f, problems := parseFilter(v, berlin, now)
	if len(problems) != 1 || !strings.Contains(problems[0], "fax") {
		t.Errorf("problems: %v", problems)
	}
	if got := f.Encode(); got != "priority=urgent&range=7d&team=Billing&tz=Asia%2FTokyo" {
		t.Errorf("Encode = %s", got)
	}
	if q := f.Query(); q.TZ.String() != "Asia/Tokyo" || len(q.Priority) != 1 || len(q.Channel) != 0 {
		t.Errorf("query %+v", q)
	}
}

func TestMissingEChartsPage(t *testing.T) {
	var b bytes.Buffer
	if err := missingTpl.Execute(&b, map[string]string{"Target": MakeTarget, "Version": EChartsVersion}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "make assets") || strings.Contains(b.String(), "<script") {
		t.Errorf("the page without ECharts must name the make target and load no script:\n%s", b.String())
	}
}
