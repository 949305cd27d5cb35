package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"

	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/dashboards"
)

// TestSignInAndDashboardUnderTheRealGate is what a manager does after
// `make run`: open the server, get sent to the sign-in page, use the demo
// sign-in, and see the overview drawn, all under the real security
// headers (a Content-Security-Policy violation shows as a console error).
func TestSignInAndDashboardUnderTheRealGate(t *testing.T) {
	if !dashboards.EChartsEmbedded() {
		t.Fatal("ECharts is not embedded: run `make assets` before the tests")
	}
	m := NewMain(testConfig(t, filepath.Join(t.TempDir(), "gate.duckdb")))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	base := "http://" + m.Addr()

	ctx, consoleErrors := testtools.Browser(t, 1280, 900)

	err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`form.demo button`)))
	if err != nil {
		t.Fatalf("open the server: %v", err)
	}
	signin, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	// The demo user is a manager: the sign-in lands on the inbox, and the
	// dashboards are one click away.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form.demo button`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.views`)),
	)
	if err != nil {
		t.Fatalf("demo sign-in and the inbox: %v", err)
	}
	if path, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); path != "/inbox" {
		t.Fatalf("after the demo sign-in: at %q, want /inbox", path)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`header.top nav a[href="/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-chart] canvas`)),
		chromedp.Sleep(500*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("from the inbox to the overview: %v", err)
	}
	path, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	canvases, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-chart] canvas').length`))
	if path != "/" || canvases < 2 {
		t.Fatalf("after the demo sign-in: at %q with %d charts", path, canvases)
	}
	if back, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('header.top nav a[href="/inbox"]').length`)); back != 1 {
		t.Errorf("the dashboards do not link back to the inbox")
	}
	overview, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	// A ticket page: fields, SLA clocks and the timeline.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/tickets/1"), chromedp.WaitVisible(chromedp.CSS(`ol.timeline li`)))
	if err != nil {
		t.Fatalf("ticket page: %v", err)
	}
	title, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main.ticket h1').textContent`))
	events, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('ol.timeline li').length`))
	if !strings.HasPrefix(strings.TrimSpace(title), "#1 ") || events < 2 {
		t.Fatalf("ticket page: title %q, %d timeline entries", title, events)
	}
	ticket, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	dir := filepath.Join("..", "..", "testout", "screenshots")
	os.WriteFile(filepath.Join(dir, "ticket.png"), ticket, 0o644)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "signin.png"), signin, 0o644)
	os.WriteFile(filepath.Join(dir, "overview-signed-in.png"), overview, 0o644)
	if problems := consoleErrors(); len(problems) > 0 {
		t.Fatalf("console errors under the real gate:\n%s", strings.Join(problems, "\n"))
	}
}
