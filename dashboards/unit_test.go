package dashboards

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
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

// TestChartOptionsAreHTMLSafeJSON: a stored value that reaches a chart
// (here a category and a series label) is written into the page as
// HTML-safe JSON in a data block: it cannot close the block or open a
// script or comment, the page has no executable inline script, and the
// block parses back to the exact value.
func TestChartOptionsAreHTMLSafeJSON(t *testing.T) {
	const hostile = "</script><script>window.__pwned=1</script><!--<script>\u2028\"'&"
	parsed, _ := parseFilter(url.Values{}, time.UTC, time.Date(2026, 5, 20, 10, 0, 0, 0, time.UTC))
	v := &View{Page: Pages[3], Pages: Pages, Filter: parsed, Options: &options{}, Blocks: []Block{
		chartBlock(columnChart("volume_category", "By category", "", "tickets", "created", []string{hostile, "Billing"}, []int64{3, 1}), true),
		chartBlock(pctBarChart("csat_by_team", "CSAT by team", "", "csat", []string{hostile}, []*float64{new(75.0)}), false),
	}}
	var buf bytes.Buffer
	if err := pageTpl.Execute(&buf, v); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "__pwned=1</script>") || strings.Contains(page, "<!--<script>") {
		t.Fatalf("the value is written raw:\n%s", page)
	}
	blocks := regexp.MustCompile(`(?s)<script type="application/json" data-chart-options="([a-z_]+)">(.*?)</script>`).FindAllStringSubmatch(page, -1)
	if len(blocks) != 2 || blocks[0][1] != "volume_category" || blocks[1][1] != "csat_by_team" {
		t.Fatalf("options blocks: %q", blocks)
	}
	for _, b := range blocks {
		if strings.ContainsAny(b[2], "<>&") || strings.Contains(b[2], "\u2028") || strings.Contains(b[2], "__f__") {
			t.Errorf("%s: options are not HTML-safe JSON data: %s", b[1], b[2])
		}
		var opts struct {
			XAxis []struct{ Data []string } `json:"xAxis"`
			YAxis []struct{ Data []string } `json:"yAxis"`
		}
		if err := json.Unmarshal([]byte(b[2]), &opts); err != nil {
			t.Fatalf("%s: %v", b[1], err)
		}
		axis := append(opts.XAxis[0].Data, opts.YAxis[0].Data...)
		if len(axis) == 0 || axis[0] != hostile {
			t.Errorf("%s: axis %q, want the value back exactly", b[1], axis)
		}
	}
	if strings.Contains(blocks[1][2], "function") || !strings.Contains(blocks[1][2], `"formatter":"dp:pctLabel"`) {
		t.Errorf("the label formatter is not named for app.js: %s", blocks[1][2])
	}
	scripts := regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1)
	for _, s := range scripts {
		if !strings.Contains(s, ` src="/`) && !strings.Contains(s, `type="application/json"`) {
			t.Errorf("executable inline script: %s", s)
		}
	}
}
