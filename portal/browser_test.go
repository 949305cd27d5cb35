package portal

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/internal/testtools"

	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
)

// browser starts headless Chromium and collects console errors.
func browser(t *testing.T) (context.Context, func() []string) {
	return testtools.Browser(t, 1100, 900)
}

func shot(ctx context.Context, name string) {
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		return
	}
	dir := filepath.Join("..", "testout", "screenshots")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, name), b, 0o644)
}

// TestPortalInChromium is a requester's whole journey: the web form, the
// secret link, a reply, the agent resolves, a rating.
func TestPortalInChromium(t *testing.T) {
	e := newEnv(t)
	ctx, problems := browser(t)
	bg := context.Background()
	shotFile := filepath.Join(t.TempDir(), "screenshot.png")
	os.WriteFile(shotFile, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 200)...), 0o644)
	logFile := filepath.Join(t.TempDir(), "printer.log")
	os.WriteFile(logFile, []byte("paper jam at tray 2\n"), 0o644)

	if err := e.p.KB.Create(bg, &Article{Title: "Printer jams: clear the paper tray", Body: "Open tray 2.", Status: Published}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.base+"/support/new"),
		chromedp.WaitVisible(chromedp.CSS(`#f-email`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Ann Example"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-subject`), "Printer on floor 3 jams"),
		chromedp.WaitVisible(chromedp.CSS(`#suggestions a`)), // suggest.js, as the requester types
		chromedp.SendKeys(chromedp.CSS(`#f-description`), "It jams on every second page."),
		chromedp.SetUploadFiles(chromedp.CSS(`#f-attachments`), []string{shotFile}),
	)
	if err != nil {
		t.Fatalf("fill the form: %v", err)
	}
	shot(ctx, "portal-form.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#send`)), chromedp.WaitVisible(chromedp.CSS(`#status-link`))); err != nil {
		t.Fatalf("submit: %v", err)
	}
	shot(ctx, "portal-created.png")
	link, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#status-link').href`))
	number, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.number').textContent`))
	if !strings.Contains(link, "/support/t/") || number != "#1" {
		t.Fatalf("created page: link %q number %q", link, number)
	}
	tk, err := e.st.Ticket(bg, "1")
	if err != nil {
		t.Fatal(err)
	}
	agent := model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}
	e.w.Do(bg, &ingest.Comment{ID: tk.ID, Actor: agent, Body: "SECRET internal note", Public: false})
	e.w.Do(bg, &ingest.Comment{ID: tk.ID, Actor: agent, Body: "Which printer model?", Public: true})

	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`ol.conversation`)),
		chromedp.SendKeys(chromedp.CSS(`#f-body`), "The HP one."),
		chromedp.SetUploadFiles(chromedp.CSS(`form.reply #f-attachments`), []string{logFile}),
		chromedp.Click(chromedp.CSS(`form.reply button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('ol.conversation').innerText`))
	if strings.Contains(text, "SECRET") || !strings.Contains(text, "Which printer model?") || !strings.Contains(text, "The HP one.") {
		t.Fatalf("conversation:\n%s", text)
	}
	files, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('ul.attachments a')].map(a => a.textContent + ' ' + a.href)`))
	if len(files) != 2 || !strings.HasPrefix(files[0], "screenshot.png "+link+"/a/") || !strings.HasPrefix(files[1], "printer.log ") {
		t.Fatalf("files on the status page: %q", files)
	}
	resp, err := http.Get(strings.Fields(files[0])[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("Content-Disposition") != `attachment; filename=screenshot.png` {
		t.Fatalf("download: %s %v", resp.Status, resp.Header)
	}
	if _, err := e.w.Do(bg, &ingest.SetStatus{ID: tk.ID, Actor: agent, Status: model.StatusResolved}); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`form.rate`)),
		chromedp.Click(chromedp.CSS(`form.rate input[value="4"]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-comment`), "Quick, thanks"),
		chromedp.Click(chromedp.CSS(`form.rate button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if err != nil {
		t.Fatalf("rate: %v", err)
	}
	shot(ctx, "portal-status.png")
	status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#status').textContent`))
	if status != "resolved" {
		t.Fatalf("status shown %q", status)
	}

	tk, _ = e.st.Ticket(bg, tk.ID)
	if tk.Status != model.StatusResolved || tk.CSATScore == nil || *tk.CSATScore != 4 || tk.CSATComment != "Quick, thanks" || tk.Channel != model.ChannelWeb {
		t.Fatalf("ticket %+v", tk)
	}
	evs, _ := e.st.TicketEvents(bg, tk.ID)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, string(ev.Type)+"/"+string(ev.ActorKind))
	}
	want := "created/requester commented/agent commented/agent status_changed/agent commented/requester resolved/agent csat_rated/requester"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("console errors:\n%s", strings.Join(p, "\n"))
	}
}
