package portal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// postFrom posts a form as a browser on origin would (Sec-Fetch-Site and
// Origin as browsers send them; "" leaves a header out).
func postFrom(t *testing.T, target, fetchSite, origin string, v url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", target, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func countTickets(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.st.DB.QueryRow(`SELECT count(*) FROM tickets`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCrossOriginPostsRefused: every anonymous portal POST refuses a
// request another site's page made (403, nothing changed) and takes the
// same request from the portal's own pages.
func TestCrossOriginPostsRefused(t *testing.T) {
	e := newEnv(t)
	e.p.SetRateLimit(1, 1000)
	seedKB(t, e.p.KB)
	ticket := url.Values{"email": {"ann@example.com"}, "subject": {"VPN down"}, "description": {"since 9"}}

	code, body := postFrom(t, e.base+"/support/new", "cross-site", "https://evil.example", ticket)
	if code != http.StatusForbidden || !strings.Contains(body, "sent from another website") || countTickets(t, e) != 0 {
		t.Fatalf("cross-site form post: %d, %d tickets\n%s", code, countTickets(t, e), body)
	}
	// An older browser without Sec-Fetch-Site: the Origin decides.
	if code, _ := postFrom(t, e.base+"/support/new", "", "https://evil.example", ticket); code != http.StatusForbidden || countTickets(t, e) != 0 {
		t.Fatalf("foreign Origin: %d", code)
	}
	// Another port of the same host is the same site but not the same origin.
	if code, _ := postFrom(t, e.base+"/support/new", "same-site", "", ticket); code != http.StatusForbidden {
		t.Fatalf("same-site: %d", code)
	}
	code, body = postFrom(t, e.base+"/support/new", "same-origin", e.base, ticket)
	m := linkRE.FindStringSubmatch(body)
	if code != http.StatusCreated || m == nil || countTickets(t, e) != 1 {
		t.Fatalf("same-origin post: %d\n%s", code, body)
	}
	link := e.base + m[1]

	// The status link's posts and the article vote.
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{link + "/reply", url.Values{"body": {"forged"}}},
		{link + "/rate", url.Values{"score": {"1"}}},
		{link + "/revoke", nil},
		{e.base + "/kb/connect-to-the-vpn-from-home/vote", url.Values{"helpful": {"no"}}},
	} {
		if code, _ := postFrom(t, c.path, "cross-site", "https://evil.example", c.form); code != http.StatusForbidden {
			t.Errorf("cross-site %s: %d", c.path, code)
		}
	}
	var comments, votes int
	e.st.DB.QueryRow(`SELECT count(*) FROM events WHERE type = 'commented'`).Scan(&comments)
	e.st.DB.QueryRow(`SELECT count(*) FROM kb_events WHERE kind = 'vote'`).Scan(&votes)
	if comments != 0 || votes != 0 {
		t.Fatalf("refused posts changed data: %d comments, %d votes", comments, votes)
	}
	if r := get(t, link, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("the refused revoke disabled the link: %s", r.Status)
	}
	if code, _ := postFrom(t, link+"/reply", "same-origin", e.base, url.Values{"body": {"more detail"}}); code != http.StatusSeeOther {
		t.Fatalf("same-origin reply: %d", code)
	}
	if code, _ := postFrom(t, e.base+"/kb/connect-to-the-vpn-from-home/vote", "same-origin", e.base, url.Values{"helpful": {"yes"}}); code != http.StatusSeeOther {
		t.Fatalf("same-origin vote: %d", code)
	}
}

// TestCrossSiteFormInChromium: a page on another site whose form targets
// the portal is refused when a real browser submits it.
func TestCrossSiteFormInChromium(t *testing.T) {
	e := newEnv(t)
	target := e.base + "/support/new" // http://127.0.0.1:port
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><form method="post" action="`+target+`">
<input name="email" value="victim@example.com"><input name="subject" value="forged">
<input name="description" value="forged"><button id="go">go</button></form>`)
	}))
	defer evil.Close()
	// localhost and 127.0.0.1 are different sites to the browser.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	ctx, _ := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(evilURL),
		chromedp.Click(chromedp.CSS(`#go`)),
		chromedp.WaitVisible(chromedp.CSS(`main h1`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
	if !strings.Contains(text, "sent from another website") || countTickets(t, e) != 0 {
		t.Fatalf("cross-site form: %d tickets, page:\n%s", countTickets(t, e), text)
	}
}
