package workspace_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/model"
)

// apiPost sends a JSON body to the API with a token.
func apiPost(t *testing.T, e *env, token, path string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	code, resp, _ := send(t, req)
	return code, resp
}

// within polls js in the page until it is true, and says how long that took.
func within(t *testing.T, ctx context.Context, limit time.Duration, what, js string) time.Duration {
	t.Helper()
	start := time.Now()
	for !evalJS[bool](t, ctx, js) {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestLiveUpdatesInBrowser: Ann has a ticket page open with a reply half
// typed; Bob's public reply through the API appears in her conversation
// without a reload, and her text, its focus and the form's version stay;
// so does the requester's answer from their status page. Then on her inbox, a ticket created through the API raises the All open
// count and shows its row, again without a reload, and the row selected
// with j stays selected and focused though it moved down.
func TestLiveUpdatesInBrowser(t *testing.T) {
	testtools.Chromium(t)
	e := startEnv(t)
	ctx := context.Background()
	annToken := e.token(t, "ann@example.com", "Ann", model.RoleAgent)
	bobToken := e.token(t, "bob@example.com", "Bob", model.RoleAgent)
	t2 := strconv.FormatInt(e.numbers["t2"], 10)
	b, problems := testtools.Browser(t, 1280, 900)
	signIn(t, b, e.srv.URL, "ann@example.com", annToken)

	typed := "Half-written answer, "
	err := chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/tickets/"+t2),
		chromedp.WaitVisible(chromedp.CSS(`body[data-stream=open]`)),
		chromedp.SendKeys(chromedp.CSS(`#body`), typed),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Presence: Bob opens the same ticket's stream; Ann's page says so,
	// and stops saying so when he leaves.
	bobCtx, bobLeaves := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(bobCtx, "GET", e.srv.URL+"/inbox/stream?viewing="+t2, nil)
	req.Header.Set("Authorization", "Bearer "+bobToken)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Bob's stream: %v %v", resp, err)
	}
	if err := chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(`#presence:not(:empty)`))); err != nil {
		t.Fatal(err)
	}
	if got := evalJS[string](t, b, `document.getElementById('presence').textContent`); got != "Bob is viewing this ticket" {
		t.Errorf("presence with Bob on the page: %q", got)
	}
	bobLeaves()
	resp.Body.Close()
	if err := chromedp.Do(b, chromedp.WaitNotPresent(chromedp.CSS(`#presence:not(:empty)`))); err != nil {
		t.Fatal(err)
	}
	version := evalJS[string](t, b, `document.querySelector('form.compose [name=version]').value`)
	evalJS[bool](t, b, `window.samePage = true`)
	reply := "Bob: the refund went out today."
	if code, body := apiPost(t, e, bobToken, "/api/v1/tickets/"+t2+"/comments", map[string]any{"body": reply, "public": true}); code != 201 && code != 200 {
		t.Fatalf("Bob's reply: %d %s", code, body)
	}
	took := within(t, b, 3*time.Second, "Bob's reply on Ann's page",
		`[...document.querySelectorAll('li.ev.msg.reply .body')].some(el => el.textContent === `+strconv.Quote(reply)+`)`)
	t.Logf("the reply reached the open page in %v", took)
	if !evalJS[bool](t, b, `window.samePage === true`) {
		t.Error("the ticket page was reloaded")
	}
	if got := evalJS[string](t, b, `document.getElementById('body').value`); got != typed {
		t.Errorf("the reply box holds %q, want %q", got, typed)
	}
	if id := evalJS[string](t, b, `document.activeElement.id`); id != "body" {
		t.Errorf("the focus moved to %q", id)
	}
	if got := evalJS[string](t, b, `document.querySelector('form.compose [name=version]').value`); got != version {
		t.Errorf("the form's version changed from %s to %s: a send would not be checked against Bob's reply", version, got)
	}

	// The requester answers on their status page, in a second tab: the
	// portal's web form goes through the same writer.
	tk, _ := e.st.Ticket(ctx, t2)
	link, err := e.portal.NewLink(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	tab, closeTab := chromedp.NewContext(b)
	defer closeTab()
	answer := "Thanks, I see it on my statement."
	err = chromedp.Do(tab,
		chromedp.Navigate(e.srv.URL+"/support/t/"+link),
		chromedp.WaitVisible(chromedp.CSS(`#f-body`)),
		chromedp.SendKeys(chromedp.CSS(`#f-body`), answer),
		chromedp.Click(chromedp.CSS(`form.reply button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if err != nil {
		t.Fatalf("the requester's reply: %v", err)
	}
	took = within(t, b, 3*time.Second, "the requester's reply on Ann's page",
		`document.querySelector('[data-live=conversation]').innerText.includes(`+strconv.Quote(answer)+`)`)
	t.Logf("the requester's reply reached the open page in %v", took)
	if got := evalJS[string](t, b, `window.samePage === true && document.getElementById('body').value`); got != typed {
		t.Errorf("after the requester's reply: the page was reloaded or the reply box holds %q", got)
	}
	closeTab()

	err = chromedp.Do(b,
		chromedp.Navigate(e.srv.URL+"/inbox?view=all"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-stream=open]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	before := evalJS[string](t, b, `document.querySelector('a[data-view=all] .count').textContent`)
	// j selects the first row; the new ticket will push it down.
	if err := chromedp.Do(b, chromedp.KeyEvent("j")); err != nil {
		t.Fatal(err)
	}
	selected := evalJS[string](t, b, `document.querySelector('tr.selected').dataset.number`)
	evalJS[bool](t, b, `window.samePage = true`)
	code, body := apiPost(t, e, bobToken, "/api/v1/tickets", map[string]any{"subject": "Live ticket", "requester_email": "liv@example.com"})
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var created struct {
		Number int64 `json:"number"`
	}
	json.Unmarshal([]byte(body), &created)
	n, _ := strconv.Atoi(before)
	want := strconv.Itoa(n + 1)
	took = within(t, b, 3*time.Second, "the new ticket in the inbox",
		`document.querySelector('a[data-view=all] .count').textContent === '`+want+`' && document.querySelector('h1 .count').textContent === '`+want+`'`+
			` && document.querySelector('tr[data-number]').dataset.number === '`+strconv.FormatInt(created.Number, 10)+`'`)
	t.Logf("the new ticket reached the inbox in %v", took)
	if got := evalJS[[]string](t, b, `[...document.querySelectorAll('tr.selected')].map(r => r.dataset.number)`); len(got) != 1 || got[0] != selected {
		t.Errorf("selected rows after the update: %v, want [%s]", got, selected)
	}
	if !evalJS[bool](t, b, `document.activeElement.matches('tr[data-number="`+selected+`"] td.subject a')`) {
		t.Errorf("the focus left the selected ticket: on %s", evalJS[string](t, b, `document.activeElement.outerHTML`))
	}
	if !evalJS[bool](t, b, `window.samePage === true`) {
		t.Error("the inbox was reloaded")
	}
	for _, p := range problems() {
		t.Errorf("console: %s", p)
	}
}
