package testtools

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium finds the Debian chromium binary; without it the test skips,
// except under CI, where `make test` has installed it.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "Chromium is not installed (/usr/bin/chromium): `make test` installs it (apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// ChromiumOptions are the flags a root, offline machine needs: no sandbox,
// no GPU, nothing fetched in the background, a fresh profile.
func ChromiumOptions(t testing.TB, width, height int) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height),
	}
}

// Browser starts headless Chromium for the test with a viewport of
// width x height and returns its tab and a function listing the console
// errors and exceptions seen so far (a Content-Security-Policy violation
// shows as one).
func Browser(t testing.TB, width, height int) (context.Context, func() []string) {
	t.Helper()
	actx, cancel := chromedp.NewExecAllocator(context.Background(), ChromiumOptions(t, width, height)...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// Headless Chromium's window is at least 500 px wide: a phone's
	// viewport is emulated.
	if width < 500 {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
			t.Fatalf("emulate a %dx%d viewport: %v", width, height, err)
		}
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
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), problems...) }
}
