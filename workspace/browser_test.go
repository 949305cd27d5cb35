package workspace_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/model"
)

// shot saves a full-page screenshot under $DESKPULSE_SHOTS (for a person
// to look at); without it, nowhere.
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("DESKPULSE_SHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// axeSource is axe-core from node_modules (package.json's
// devDependencies; `make test-deps` installs it).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core is not installed: run `make test-deps` (npm ci): %v", err)
	}
	return string(b)
}

// axeCheck runs axe-core on the open page (put there by DevTools, which
// the page's policy does not govern) and reports every serious or
// critical violation.
func axeCheck(t *testing.T, ctx context.Context, src, page string) {
	t.Helper()
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](src+";axe.version")); err != nil || v != "4.14.1" {
		t.Fatalf("load axe-core on %s: version %q, %v", page, v, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
			.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe-core on %s: %v", page, err)
	}
	for _, f := range found {
		t.Errorf("%s: %s", page, f)
	}
}

// signIn uses the real sign-in form: open /, get sent to the sign-in
// page, type the e-mail address and token, and land where the gate sends
// the user.
func signIn(t *testing.T, ctx context.Context, base, email, token string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#secret`), token),
		chromedp.Click(chromedp.CSS(`form:not(.demo) button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.views`)),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// firstResponses is the first-response count of the metrics summary, as
// a manager's API client reads it.
func firstResponses(t *testing.T, e *env, token string) int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/metrics/summary", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum struct {
		FirstResponse struct {
			Count int64 `json:"count"`
		} `json:"first_response_minutes"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&sum) != nil {
		t.Fatalf("metrics summary: %d", resp.StatusCode)
	}
	return sum.FirstResponse.Count
}

// TestAgentDailyFlowInBrowser is an agent's first minutes in headless
// Chromium under the real gate: sign in with the form, land on the inbox,
// open "Unassigned in my teams", take the ticket, reply publicly. The
// requester's status page shows the reply, the metrics count the first
// response, and no policy violation or script error appears.
func TestAgentDailyFlowInBrowser(t *testing.T) {
	testtools.Chromium(t)
	e := startEnv(t)
	ctx := context.Background()
	annToken := e.token(t, "ann@example.com", "Ann", model.RoleAgent)
	miaToken := e.token(t, "mia@example.com", "Mia", model.RoleManager)
	t1 := strconv.FormatInt(e.numbers["t1"], 10)
	tk, _ := e.st.Ticket(ctx, t1)
	link, err := e.portal.NewLink(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := firstResponses(t, e, miaToken); n != 0 {
		t.Fatalf("first responses before the reply: %d", n)
	}

	b, problems := testtools.Browser(t, 1280, 900)
	signIn(t, b, e.srv.URL, "ann@example.com", annToken)
	if path := evalJS[string](t, b, `location.pathname`); path != "/inbox" {
		t.Fatalf("after the sign-in: at %s, want /inbox", path)
	}
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/inbox?view=all"), chromedp.WaitVisible(chromedp.CSS(`table.tickets`))); err != nil {
		t.Fatal(err)
	}
	shot(t, b, "inbox-1280")
	axe := axeSource(t)
	axeCheck(t, b, axe, "the inbox at 1280 px")
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/inbox")); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`a[data-view=unassigned]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[data-view=unassigned].current`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalJS[[]string](t, b, `[...document.querySelectorAll('tr[data-number]')].map(r => r.dataset.number)`); len(got) != 1 || got[0] != t1 {
		t.Fatalf("unassigned in billing: %v, want [%s]", got, t1)
	}
	// The keyboard: ? lists the shortcuts, j selects the first row and
	// Enter opens it.
	err = chromedp.Do(b, chromedp.KeyEvent("?"))
	if err != nil || !evalJS[bool](t, b, `document.getElementById('keys').open`) {
		t.Fatalf("? does not list the shortcuts (%v)", err)
	}
	err = chromedp.Do(b,
		chromedp.KeyEvent(kb.Escape),
		chromedp.KeyEvent("j"),
	)
	if err != nil || !evalJS[bool](t, b, `document.activeElement.matches('tr.selected td.subject a')`) {
		t.Fatalf("j does not select the first row (%v)", err)
	}
	err = chromedp.Do(b,
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#assign-me button`)),
		chromedp.Click(chromedp.CSS(`#assign-me button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.done`)),
	)
	if err != nil {
		t.Fatalf("assign to me: %v", err)
	}
	if done := evalJS[string](t, b, `document.querySelector('p.done').textContent`); done != "The ticket is yours." {
		t.Errorf("after assign to me: %q", done)
	}
	// r goes to the reply box.
	if err := chromedp.Do(b, chromedp.KeyEvent("r")); err != nil || !evalJS[bool](t, b, `document.activeElement.id === 'body' && document.getElementById('kind-reply').checked`) {
		t.Fatalf("r does not start a reply (%v)", err)
	}
	reply := "Hello Rita, we have corrected the invoice."
	err = chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS(`#body`), reply),
		chromedp.Click(chromedp.CSS(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`li.ev.msg.reply`)),
	)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	if got := evalJS[string](t, b, `document.querySelector('li.ev.msg.reply .body').textContent`); got != reply {
		t.Errorf("the reply on the ticket page: %q", got)
	}
	shot(t, b, "ticket-1280")
	axeCheck(t, b, axe, "the ticket page at 1280 px")
	tk, _ = e.st.Ticket(ctx, t1)
	if tk.Assignee != "ann@example.com" || tk.Status != model.StatusOpen || tk.AgentReplies != 1 {
		t.Errorf("the ticket after the flow: assignee %q, status %s, %d replies", tk.Assignee, tk.Status, tk.AgentReplies)
	}

	// The requester's status page (their secret link) shows the reply.
	if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+"/support/t/"+link), chromedp.WaitVisible(chromedp.CSS(`body`))); err != nil {
		t.Fatal(err)
	}
	if text := evalJS[string](t, b, `document.body.innerText`); !strings.Contains(text, reply) {
		t.Errorf("the status page does not show the reply:\n%s", text)
	}
	if n := firstResponses(t, e, miaToken); n != 1 {
		t.Errorf("first responses after the reply: %d, want 1", n)
	}

	// Back on the ticket, s solves it.
	err = chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/tickets/"+t1),
		chromedp.WaitVisible(chromedp.CSS(`#status`)),
		chromedp.KeyEvent("s"),
		chromedp.WaitVisible(chromedp.CSS(`h1 .badge.status-resolved`)),
	)
	if err != nil {
		t.Fatalf("s does not solve the ticket: %v", err)
	}
	if tk, _ = e.st.Ticket(ctx, t1); tk.Status != model.StatusResolved {
		t.Errorf("after s: status %s, want resolved", tk.Status)
	}
	for _, p := range problems() {
		t.Errorf("console: %s", p)
	}
}

// TestWorkspaceAt390 opens every workspace page at 390 px wide: none
// scrolls sideways, and no policy violation or script error appears.
func TestWorkspaceAt390(t *testing.T) {
	testtools.Chromium(t)
	e := startEnv(t)
	ctx := context.Background()
	token := e.token(t, "ann@example.com", "Ann", model.RoleAgent)
	// A long conversation with long words, as real ones have.
	t2 := strconv.FormatInt(e.numbers["t2"], 10)
	tk, _ := e.st.Ticket(ctx, t2)
	for i, body := range []string{
		"The export at https://billing.example.com/exports/2026/11/invoice-000123456789-final-final.pdf fails every time.",
		"Internal: customer is on the legacy plan; see ticket_reference_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.",
	} {
		if _, err := e.w.Do(ctx, commentCmd(tk.ID, body, i == 0)); err != nil {
			t.Fatal(err)
		}
	}
	axe := axeSource(t)
	b, problems := testtools.Browser(t, 390, 844)
	signIn(t, b, e.srv.URL, "ann@example.com", token)
	if w := evalJS[int](t, b, `window.innerWidth`); w != 390 {
		t.Fatalf("the viewport is %d px wide, want 390", w)
	}
	shot(t, b, "inbox-390")
	pages := []string{"/inbox?view=all", "/inbox?view=teams", "/inbox?view=solved", "/tickets/" + t2, "/tickets/" + strconv.FormatInt(e.numbers["t7"], 10)}
	for _, p := range pages {
		if err := chromedp.Do(b, chromedp.Navigate(e.srv.URL+p), chromedp.WaitVisible(chromedp.CSS(`main`))); err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		if w := evalJS[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("%s scrolls sideways: %d px wide", p, w)
		}
		axeCheck(t, b, axe, p+" at 390 px")
		if p == "/tickets/"+t2 {
			shot(t, b, "ticket-390")
		}
	}
	// The details form, opened, fits too.
	err := chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/tickets/"+t2),
		chromedp.Click(chromedp.CSS(`details.edit summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#tags`)),
	)
	if err != nil {
		t.Fatalf("open the details form: %v", err)
	}
	if w := evalJS[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the details form scrolls sideways: %d px wide", w)
	}
	axeCheck(t, b, axe, "the details form at 390 px")
	for _, p := range problems() {
		t.Errorf("console: %s", p)
	}
	// A refused form (an empty reply) shows its error and still fits; its
	// 422 answer is the one console line expected.
	seen := len(problems())
	err = chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/tickets/"+t2),
		chromedp.WaitVisible(chromedp.CSS(`#body`)),
		chromedp.SendKeys(chromedp.CSS(`#body`), "   "),
		chromedp.Click(chromedp.CSS(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#body-error`)),
	)
	if err != nil {
		t.Fatalf("an empty reply: %v", err)
	}
	if w := evalJS[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the refused form scrolls sideways: %d px wide", w)
	}
	axeCheck(t, b, axe, "the refused form at 390 px")
	for _, p := range problems()[seen:] {
		if !strings.Contains(p, "status of 422") {
			t.Errorf("console: %s", p)
		}
	}
}

// TestStaleReplyInBrowser: at 390 px, Ann writes a reply while Bob adds
// a note; her Send is refused (409) with Bob's note shown as changed
// since and her text kept in the box, and "Send anyway" stores it. Then
// "/" focuses the search box and Enter searches the current view. Both
// pages fit and pass axe-core.
func TestStaleReplyInBrowser(t *testing.T) {
	testtools.Chromium(t)
	e := startEnv(t)
	ctx := context.Background()
	token := e.token(t, "ann@example.com", "Ann", model.RoleAgent)
	t2 := strconv.FormatInt(e.numbers["t2"], 10)
	tk, _ := e.st.Ticket(ctx, t2)
	axe := axeSource(t)
	b, problems := testtools.Browser(t, 390, 844)
	signIn(t, b, e.srv.URL, "ann@example.com", token)
	err := chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/tickets/"+t2),
		chromedp.WaitVisible(chromedp.CSS(`#body`)),
		chromedp.SendKeys(chromedp.CSS(`#body`), "Ann's answer"),
	)
	if err != nil {
		t.Fatal(err)
	}
	bob := model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}
	if _, err := e.w.Do(ctx, &ingest.Comment{ID: tk.ID, Actor: bob, Body: "Bob checked the logs.", Public: false}); err != nil {
		t.Fatal(err)
	}
	seen := len(problems())
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form.compose button.primary`)), chromedp.WaitVisible(chromedp.CSS(`section.changed`))); err != nil {
		t.Fatalf("the stale send: %v", err)
	}
	if got := evalJS[string](t, b, `document.getElementById('body').value`); got != "Ann's answer" {
		t.Errorf("the reply box holds %q after the refusal", got)
	}
	if got := evalJS[string](t, b, `document.querySelector('section.changed').innerText`); !strings.Contains(got, "Bob checked the logs.") || !strings.Contains(got, "bob@example.com") {
		t.Errorf("changed since: %q", got)
	}
	if got := evalJS[string](t, b, `document.querySelector('form.compose button.primary').textContent`); got != "Send anyway" {
		t.Errorf("the send button says %q", got)
	}
	if w := evalJS[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the 409 page scrolls sideways: %d px wide", w)
	}
	axeCheck(t, b, axe, "the 409 page at 390 px")
	shot(t, b, "stale-390")
	if err := chromedp.Do(b, chromedp.Click(chromedp.CSS(`form.compose button.primary`)), chromedp.WaitVisible(chromedp.CSS(`p.done`))); err != nil {
		t.Fatalf("send anyway: %v", err)
	}
	events, _ := e.st.TicketEvents(ctx, tk.ID)
	if last := events[len(events)-1]; last.Body == nil || *last.Body != "Ann's answer" || last.Actor != "ann@example.com" {
		t.Errorf("the last event after send anyway: %+v", last)
	}
	for _, p := range problems()[seen:] {
		if !strings.Contains(p, "status of 409") {
			t.Errorf("console: %s", p)
		}
	}

	// "/" focuses the search box; Enter searches "My open tickets".
	err = chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`nav.views`)),
		chromedp.KeyEvent("/"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if id := evalJS[string](t, b, `document.activeElement.id`); id != "q" {
		t.Fatalf("after /, the focus is on %q", id)
	}
	if err := chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#q`), "about T2"+kb.Enter), chromedp.WaitVisible(chromedp.CSS(`p.note a`))); err != nil {
		t.Fatal(err)
	}
	if got := evalJS[string](t, b, `location.search`); got != "?q=about+T2&view=mine" {
		t.Errorf("the search went to %q", got)
	}
	if got := evalJS[[]string](t, b, `[...document.querySelectorAll('tr[data-number]')].map(r => r.dataset.number)`); len(got) != 1 || got[0] != t2 {
		t.Errorf("search rows %v, want [%s]", got, t2)
	}
	if w := evalJS[int](t, b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the search page scrolls sideways: %d px wide", w)
	}
	axeCheck(t, b, axe, "the search page at 390 px")
	for _, p := range problems()[seen:] {
		if !strings.Contains(p, "status of 409") {
			t.Errorf("console: %s", p)
		}
	}
}
