package dashboards_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/deskpulse/deskpulse/dashboards"
)

// TestPagesRenderOffline renders every page server-side: status 200, each
// chart's id is stable, every script is local and ECharts is the embedded
// one.
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
