package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/dashboards"
)

// TestSignInAndDashboardUnderTheRealGate is what a manager does after
// `make run`: open the server, get sent to the sign-in page, use the demo
// sign-in, and see the overview drawn, all under the real security
// headers (a Content-Security-Policy violation shows as a console error).
func TestSignInAndDashboardUnderTheRealGate(t *testing.T) {
	chromium := ""
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			chromium = p
		}
	}
	if chromium == "" {
		if p, err := exec.LookPath("chromium"); err == nil {
			chromium = p
		}
	}
	if chromium == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("Chromium is missing: `make test` installs it")
		}
		t.Skip("Chromium is not installed; `make test` installs it")
	}
	if !dashboards.EChartsEmbedded() {
		t.Fatal("ECharts is not embedded: run `make assets` before the tests")
	}
	m := NewMain(testConfig(t, filepath.Join(t.TempDir(), "gate.duckdb")))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	base := "http://" + m.Addr()

	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel3()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	var mu sync.Mutex
	var problems []string
	go func() {
		for msg, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if msg.Type == chromedp.ConsoleError || msg.IsException() {
				mu.Lock()
				problems = append(problems, msg.Text)
				mu.Unlock()
			}
		}
	}()

	err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`form.demo button`)))
	if err != nil {
		t.Fatalf("open the server: %v", err)
	}
	signin, _ := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form.demo button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-chart] canvas`)),
		chromedp.Sleep(500*time.Millisecond),
	)
	if err != nil {
		t.Fatalf("demo sign-in and the overview: %v", err)
	}
	path, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	canvases, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-chart] canvas').length`))
	if path != "/" || canvases < 2 {
		t.Fatalf("after the demo sign-in: at %q with %d charts", path, canvases)
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
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Fatalf("console errors under the real gate:\n%s", strings.Join(problems, "\n"))
	}
}
