package portal

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"

	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
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

// TestFormAbandonmentInChromium drives three visits to the web form in a
// real browser: one left after the suggestions appeared, one that opened
// a suggested article and never came back, one posted. The page's beacon
// and the server's records make the first two abandoned (the second
// deflected) and the third submitted.
func TestFormAbandonmentInChromium(t *testing.T) {
	e := newEnv(t)
	ctx, problems := browser(t)
	bg := context.Background()
	if err := e.p.KB.Create(bg, &Article{Title: "Printer jams: clear the paper tray", Body: "Open tray 2.", Status: Published}); err != nil {
		t.Fatal(err)
	}
	// visit types a subject, waits for the suggestions and returns the
	// visit's form session.
	visit := func(subject string) string {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(e.base+"/support/new"),
			chromedp.WaitVisible(chromedp.CSS(`#f-subject`)),
			chromedp.SendKeys(chromedp.CSS(`#f-subject`), subject),
			chromedp.WaitVisible(chromedp.CSS(`#suggestions a`)),
		)
		if err != nil {
			t.Fatalf("visit: %v", err)
		}
		fs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('f-fs').value`))
		if formSession(fs) == "" {
			t.Fatalf("form session %q", fs)
		}
		return fs
	}
	kinds := func(fs string) string {
		t.Helper()
		var got string
		for range 50 { // the beacon is sent as the page goes; give it a moment to land
			e.st.DB.QueryRow(`SELECT string_agg(kind, ' ' ORDER BY occurred_at, kind) FROM kb_events WHERE session = ?`, fs).Scan(&got)
			if strings.Contains(got, EventLeft) || strings.Contains(got, EventSubmitted) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return got
	}

	left := visit("Printer on floor 3 jams")
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/kb")); err != nil {
		t.Fatal(err)
	}
	if got := kinds(left); got != "suggested left" {
		t.Fatalf("visit left after suggestions: %q", got)
	}

	read := visit("printer jams again")
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`location.href = document.querySelector('#suggestions a').href`),
		chromedp.WaitVisible(chromedp.CSS(`form.vote`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := kinds(read); got != "suggested left view" && got != "suggested view left" {
		t.Fatalf("visit that read the article: %q", got)
	}

	posted := visit("Printer jams on every page")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-description`), "Tray 2 is empty."),
		chromedp.Click(chromedp.CSS(`#send`)),
		chromedp.WaitVisible(chromedp.CSS(`#status-link`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := kinds(posted); got != "suggested submitted" {
		t.Fatalf("posted visit: %q", got)
	}

	eng, err := metrics.New(e.st, metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ss, err := eng.SelfService(bg, metrics.Query{From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if ss.FormSessions != 3 || ss.Submitted != 1 || ss.Abandoned != 2 || ss.Deflected != 1 || ss.ArticleViews != 1 {
		t.Fatalf("self-service %+v", ss)
	}
	if p := problems(); len(p) > 0 {
		t.Fatalf("console errors (CSP?):\n%s", strings.Join(p, "\n"))
	}
}
