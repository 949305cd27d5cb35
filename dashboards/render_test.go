package dashboards_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/dashboards"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/store"
)

// TestPagesRenderOffline renders every page server-side: status 200, each
// chart's id is stable, every script is local, no script is inline (chart
// options are JSON data blocks, with no code in them) and ECharts is the
// embedded one.
func TestPagesRenderOffline(t *testing.T) {
	if !dashboards.EChartsEmbedded() {
		t.Fatalf("ECharts %s is not embedded: run `%s` first", dashboards.EChartsVersion, dashboards.MakeTarget)
	}
	e := startEnv(t, 1500)
	srcs := regexp.MustCompile(`<script[^>]*\ssrc="([^"]+)"`)
	for _, p := range dashboards.Pages {
		var buf bytes.Buffer
		status, err := e.d.Render(context.Background(), &buf, p.Key, url.Values{"range": {"7d"}})
		if err != nil || status != 200 {
			t.Fatalf("%s: %d %v", p.Key, status, err)
		}
		html := buf.String()
		for _, m := range srcs.FindAllStringSubmatch(html, -1) {
			if m[1][0] != '/' || m[1][1] == '/' {
				t.Errorf("%s loads a script from another host: %s", p.Key, m[1])
			}
		}
		for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
			if !srcs.MatchString(tag) && !strings.HasPrefix(tag, `<script type="application/json" data-chart-options=`) {
				t.Errorf("%s has an inline script: %s", p.Key, tag)
			}
		}
		if !strings.Contains(html, "data-chart-options=") || strings.Contains(html, "__f__") || strings.Contains(html, "function (") {
			t.Errorf("%s: no chart options block, or code in the options", p.Key)
		}
		if regexp.MustCompile(`https?://`).MatchString(regexp.MustCompile(`(?s)<script[^>]*src=[^>]*>`).FindString(html)) {
			t.Errorf("%s: a script URL names a host", p.Key)
		}
	}
	resp, err := e.srv.Client().Get(e.srv.URL + "/static/echarts/echarts.min.js")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("echarts.min.js: %v %v", resp, err)
	}
	resp.Body.Close()
}

// BenchmarkRender renders each page server-side (the metrics queries it
// needs, the charts and the HTML) over DESKPULSE_BENCH_TICKETS demo
// tickets (default 20000).
func BenchmarkRender(b *testing.B) {
	n := 20000
	if s := os.Getenv("DESKPULSE_BENCH_TICKETS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	e := startEnv(b, n)
	ctx := context.Background()
	for _, p := range dashboards.Pages {
		b.Run(p.Key, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if _, err := e.d.Render(ctx, &buf, p.Key, url.Values{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len())/1024, "KiB/page")
		})
	}
	b.Run("html-only", func(b *testing.B) {
		v, err := e.d.Load(ctx, "sla", url.Values{})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := e.d.Write(&buf, v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRenderGenerated renders each page over the metrics benchmark's
// generated data (DESKPULSE_BENCH_TICKETS tickets, default 100,000, ten
// events each; the DuckDB file in DESKPULSE_BENCH_DIR is shared with
// `go test ./metrics -bench` and reused), for the last 30 days of it:
//
//	DESKPULSE_BENCH_TICKETS=1000000 DESKPULSE_BENCH_DIR=/tmp/dpbench go test ./dashboards -run '^$' -bench RenderGenerated -benchtime 5x
func BenchmarkRenderGenerated(b *testing.B) {
	n := 100_000
	if s := os.Getenv("DESKPULSE_BENCH_TICKETS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := os.Getenv("DESKPULSE_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, fmt.Sprintf("deskpulse-metrics-bench-%d.duckdb", n)))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var have int64
	st.DB.QueryRow(`SELECT count(*) FROM events`).Scan(&have)
	if have == 0 {
		if _, err := st.DB.Exec(metrics.GenerateSQL(n)); err != nil {
			b.Fatal(err)
		}
		st.DB.Exec(`CHECKPOINT`)
	}
	// Register the generated teams and agents, as a real store has them, so
	// that the per-team and per-agent charts have their rows.
	for _, q := range []string{
		`INSERT OR IGNORE INTO teams (name, description, created_at) SELECT DISTINCT team, '', TIMESTAMPTZ '2025-01-01' FROM events WHERE team <> ''`,
		`INSERT OR IGNORE INTO agents (email, name, teams, skills, created_at) SELECT DISTINCT assignee, assignee, [], [], TIMESTAMPTZ '2025-01-01' FROM events WHERE assignee <> ''`,
	} {
		if _, err := st.DB.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	cfg := metrics.DefaultConfig()
	cfg.Now = func() time.Time { return metrics.GeneratedNow }
	m, err := metrics.New(st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	d := dashboards.New(m, st)
	to := metrics.GeneratedEnd.AddDate(0, 0, -1)
	query := url.Values{"range": {"custom"}, "from": {to.AddDate(0, 0, -29).Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
	var buf bytes.Buffer
	for _, p := range dashboards.Pages { // warm the buffer pool, as a running server has it
		buf.Reset()
		if _, err := d.Render(ctx, &buf, p.Key, query); err != nil {
			b.Fatal(err)
		}
		// (Generated CSAT ratings carry no comments, so that list may be empty.)
		if !strings.Contains(buf.String(), "data-chart-options=") || p.Key == "overview" && strings.Contains(buf.String(), "No tickets in this range") {
			b.Fatalf("%s page over the generated data shows no charts", p.Key)
		}
	}
	b.ResetTimer()
	for _, p := range dashboards.Pages {
		b.Run(p.Key, func(b *testing.B) {
			for b.Loop() {
				buf.Reset()
				if _, err := d.Render(ctx, &buf, p.Key, query); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
