package dashboards_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/dashboards"
)

// browser is one headless Chromium tab that records what a person would
// notice: console errors, uncaught exceptions, failed loads and requests
// to hosts other than the server's.
type browser struct {
	ctx  context.Context
	host string

	mu       sync.Mutex
	problems []string
	urls     []string // every request, in order
}

// newBrowser opens the tab signed in as e's admin.
func newBrowser(t *testing.T, e *env) *browser {
	u, _ := url.Parse(e.srv.URL)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), testtools.ChromiumOptions(t, 1440, 1000)...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel3)
	b := &browser{ctx: ctx, host: u.Host}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	httpOnly := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "deskpulse_session", Value: e.admin, URL: e.srv.URL, HTTPOnly: &httpOnly}); err != nil {
		t.Fatalf("session cookie: %v", err)
	}
	messages := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.report("console %s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line+1)
			}
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.urls = append(b.urls, ev.Request.URL)
			b.mu.Unlock()
			r, err := url.Parse(ev.Request.URL)
			if err != nil || (r.Scheme != "data" && r.Scheme != "about" && r.Host != b.host) {
				b.report("request to another host: %s", ev.Request.URL)
			}
		}
	}()
	return b
}

func (b *browser) report(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// requested lists the URLs the tab has requested.
func (b *browser) requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

// takeProblems returns and clears what went wrong since the last call.
func (b *browser) takeProblems() []string {
	time.Sleep(200 * time.Millisecond) // let the last events arrive
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// chartInfo is what the page says about one rendered chart.
type chartInfo struct {
	ID     string  `json:"id"`
	Canvas bool    `json:"canvas"`
	Points int     `json:"points"` // data values that are numbers
	Sum    float64 `json:"sum"`
}

// chartsJS waits until every chart of the page has drawn its canvas, then
// lists the charts with the amount of data ECharts holds for them.
const chartsReadyJS = `(() => {
	const items = document.querySelectorAll('[data-chart]:not([data-empty]) .item');
	return items.length === document.querySelectorAll('[data-chart]:not([data-empty]) .item canvas').length && window.echarts !== undefined;
})()`

const chartsJS = `(() => Array.from(document.querySelectorAll('[data-chart]:not([data-empty]) .item')).map(el => {
	const inst = echarts.getInstanceByDom(el);
	let points = 0, sum = 0;
	if (inst) for (const s of inst.getOption().series || []) for (const d of s.data || []) {
		let v = (d !== null && typeof d === 'object' && !Array.isArray(d)) ? d.value : d;
		if (Array.isArray(v)) v = v[v.length - 1];
		if (typeof v === 'number' && isFinite(v)) { points++; sum += v; }
	}
	return {id: el.id, canvas: !!el.querySelector('canvas') && !!inst, points, sum};
}))()`

// open loads a page and waits for its charts.
func (b *browser) open(t *testing.T, u string) []chartInfo {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	return b.charts(t)
}

// waitFor evaluates a condition until it holds, across a navigation (when
// the page's context goes away in between).
func (b *browser) waitFor(cond string) error {
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return nil
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("still false after 20 s: %s (last error: %v)", cond, last)
}

func (b *browser) charts(t *testing.T) []chartInfo {
	t.Helper()
	if err := b.waitFor(chartsReadyJS); err != nil {
		t.Fatalf("waiting for the charts' canvases: %v", err)
	}
	infos, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]chartInfo](chartsJS))
	if err != nil {
		t.Fatal(err)
	}
	return infos
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("..", "testout", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPagesInBrowser opens every dashboard in headless Chromium over a
// server with demo data: every chart draws a canvas with data, nothing is
// logged as an error, nothing is loaded from another host; a filter
// changed in the page goes to the URL and the charts follow it. Screenshots
// go to testout/screenshots/.
func TestPagesInBrowser(t *testing.T) {
	if !dashboards.EChartsEmbedded() {
		t.Fatalf("ECharts %s is not embedded: run `%s` first", dashboards.EChartsVersion, dashboards.MakeTarget)
	}
	testtools.Chromium(t) // skip early, before loading demo data
	e := startEnv(t, 4000)
	b := newBrowser(t, e)

	for _, p := range dashboards.Pages {
		t.Run(p.Key, func(t *testing.T) {
			charts := b.open(t, e.srv.URL+p.Path)
			if len(charts) == 0 {
				t.Fatalf("%s: no chart rendered", p.Path)
			}
			for _, c := range charts {
				if !c.Canvas {
					t.Errorf("%s: chart %s has no canvas", p.Path, c.ID)
				}
				if c.Points == 0 || c.Sum == 0 {
					t.Errorf("%s: chart %s has no data", p.Path, c.ID)
				}
			}
			empty, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-empty]')).map(e => e.dataset.chart)`))
			if err != nil {
				t.Fatal(err)
			}
			if len(empty) > 0 {
				t.Errorf("%s: demo data over 30 days left charts empty: %v", p.Path, empty)
			}
			b.screenshot(t, p.Key)
			for _, pr := range b.takeProblems() {
				t.Errorf("%s: %s", p.Path, pr)
			}
		})
	}

	t.Run("filter", func(t *testing.T) {
		before := b.open(t, e.srv.URL+"/dashboards/volume")
		// A person picks a priority in the filter bar.
		if err := chromedp.Do(b.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.getElementById('f-priority');
			s.value = 'urgent';
			s.dispatchEvent(new Event('change', {bubbles: true}));
		})()`)); err != nil {
			t.Fatal(err)
		}
		if err := b.waitFor(`location.search.includes('priority=urgent') && document.readyState === 'complete'`); err != nil {
			t.Fatalf("the URL did not follow the filter: %v", err)
		}
		after := b.charts(t)
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		if !strings.Contains(loc, "/dashboards/volume?") || !strings.Contains(loc, "priority=urgent") {
			t.Errorf("URL after the filter change: %s", loc)
		}
		sel, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('f-priority').value`))
		if sel != "urgent" {
			t.Errorf("the priority select shows %q after reload, want urgent", sel)
		}
		sums := func(cs []chartInfo) map[string]float64 {
			m := map[string]float64{}
			for _, c := range cs {
				m[c.ID] = c.Sum
			}
			return m
		}
		bs, as := sums(before), sums(after)
		if !(as["volume_channel"] > 0 && as["volume_channel"] < bs["volume_channel"]) {
			t.Errorf("tickets by channel: %v before, %v with priority=urgent: the chart did not follow the filter", bs["volume_channel"], as["volume_channel"])
		}
		// The navigation keeps the filter: the other pages open with it.
		href, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('nav a[data-path="/dashboards/sla"]').getAttribute('href')`))
		if !strings.Contains(href, "priority=urgent") {
			t.Errorf("navigation link to SLA loses the filter: %s", href)
		}
		// Range preset: last 7 days.
		if err := chromedp.Do(b.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.getElementById('f-range');
			s.value = '7d';
			s.dispatchEvent(new Event('change', {bubbles: true}));
		})()`)); err != nil {
			t.Fatal(err)
		}
		if err := b.waitFor(`location.search.includes('range=7d') && location.search.includes('priority=urgent') && document.readyState === 'complete'`); err != nil {
			t.Fatalf("the URL did not follow the range preset: %v", err)
		}
		week := sums(b.charts(t))
		if !(week["volume_channel"] <= as["volume_channel"]) {
			t.Errorf("7 days show more tickets (%v) than 30 days (%v)", week["volume_channel"], as["volume_channel"])
		}
		b.screenshot(t, "volume-urgent-7d")
		for _, pr := range b.takeProblems() {
			t.Error(pr)
		}
	})

	t.Run("empty", func(t *testing.T) {
		for _, p := range dashboards.Pages {
			if err := chromedp.Do(b.ctx, chromedp.Navigate(e.srv.URL+p.Path+"?range=custom&from=2001-01-01&to=2001-01-31")); err != nil {
				t.Fatal(err)
			}
			n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-chart]:not([data-empty])').length`))
			if err != nil {
				t.Fatal(err)
			}
			text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
			if p.Key != "agents" && n != 0 {
				t.Errorf("%s over an empty range draws %d charts", p.Path, n)
			}
			if !strings.Contains(text, "No tickets in this range") && !strings.Contains(text, "No open tickets") {
				t.Errorf("%s over an empty range does not say so:\n%s", p.Path, text)
			}
			if p.Key == "sla" {
				b.screenshot(t, "sla-empty")
			}
		}
		for _, pr := range b.takeProblems() {
			t.Error(pr)
		}
	})
}
