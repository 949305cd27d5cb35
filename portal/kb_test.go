package portal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// fixture is a small knowledge base for the ranking tests.
var fixture = []*Article{
	{Title: "Reset your password", Body: "Open the sign-in page and choose **Forgot password**.", Category: "Accounts", Status: Published},
	{Title: "Connect to the VPN from home", Body: "Install the client. If the password is rejected, reset it first.", Category: "Network", Tags: []string{"vpn", "remote"}, Status: Published},
	{Title: "Printer jams", Body: "Open tray 2 and remove the paper. Password-protected printing: see the print portal.", Category: "Printing", Status: Published},
	{Title: "Password policy (draft)", Body: "password password password", Status: Draft},
	{Title: "Request a new laptop", Body: "Laptops are replaced every four years; ask with the form.", Category: "Hardware", Tags: []string{"laptop"}, Status: Published},
}

func seedKB(t *testing.T, k *KB) {
	t.Helper()
	for _, a := range fixture {
		c := *a
		if err := k.Create(context.Background(), &c); err != nil {
			t.Fatal(err)
		}
	}
}

func titles(hits []Hit) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Title)
	}
	return out
}

func TestSearchRanking(t *testing.T) {
	e := newEnv(t)
	seedKB(t, e.p.KB)
	cases := []struct{ q, want string }{
		// title match first, then the articles mentioning it in the body; never the draft
		{"password", "Reset your password|Connect to the VPN from home|Printer jams"},
		{"passwrod", "Reset your password|Connect to the VPN from home|Printer jams"}, // a typo
		{"How do I reset my pasword?", "Reset your password|Connect to the VPN from home|Printer jams"},
		{"vpn", "Connect to the VPN from home"},
		{"remote", "Connect to the VPN from home|Printer jams"}, // a tag, then a one-letter typo away ("remove") in a body
		{"laptops", "Request a new laptop"},                     // in the body exactly, and a typo of the title word
		{"print", "Printer jams"},                               // prefix
		{"zebra", ""},
	}
	for _, c := range cases {
		hits, err := e.p.KB.Search(context.Background(), c.q, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(titles(hits), "|"); got != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.q, got, c.want)
		}
	}
}

func TestMarkdownIsSafe(t *testing.T) {
	out := string(Markdown("# Title <script>alert(1)</script>\n\nSome **bold** and *em* and `<b>code</b>`.\n\n- one\n- [two](https://example.com/?a=1&b=2)\n- [bad](javascript:alert(1))\n\n<img src=x onerror=alert(1)>\n\n```\n<script>\n```"))
	for _, bad := range []string{"<script", "<img", "javascript:", "<b>"} {
		if strings.Contains(out, bad) {
			t.Fatalf("%q in\n%s", bad, out)
		}
	}
	for _, good := range []string{"<h2>Title &lt;script&gt;", "<strong>bold</strong>", "<em>em</em>", "<code>&lt;b&gt;code&lt;/b&gt;</code>",
		"<ul>\n<li>one</li>", `<a href="https://example.com/?a=1&amp;b=2" rel="nofollow noopener">two</a>`, "<li>bad", "<pre><code>&lt;script&gt;</code></pre>"} {
		if !strings.Contains(out, good) {
			t.Fatalf("missing %q in\n%s", good, out)
		}
	}
}

func TestKBPagesSuggestionsAndStats(t *testing.T) {
	e := newEnv(t)
	seedKB(t, e.p.KB)
	// The form suggests articles for the subject without JavaScript.
	resp, err := http.Get(e.base + "/support/new?subject=" + url.QueryEscape("cannot connect vpn") + "&email=ann%40example.com&suggest=1")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	page := b.String()
	if !strings.Contains(page, `/kb/connect-to-the-vpn-from-home?from=suggest`) || !strings.Contains(page, `value="ann@example.com"`) {
		t.Fatalf("suggestions missing:\n%s", page)
	}
	var js []suggestion
	resp, _ = http.Get(e.base + "/kb/suggest?q=reset+passwrd")
	json.NewDecoder(resp.Body).Decode(&js)
	resp.Body.Close()
	if len(js) == 0 || js[0].Title != "Reset your password" {
		t.Fatalf("suggest JSON %v", js)
	}
	// Reading from the suggestion, voting, a search without results.
	if r := get(t, e.base+"/kb/connect-to-the-vpn-from-home?from=suggest&q=vpn", ""); r.StatusCode != 200 {
		t.Fatalf("article: %s", r.Status)
	}
	if r := get(t, e.base+"/kb/password-policy-draft", ""); r.StatusCode != 404 {
		t.Fatalf("draft is public: %s", r.Status)
	}
	if code, _ := post(t, e.base+"/kb/connect-to-the-vpn-from-home/vote", url.Values{"helpful": {"yes"}}); code != 200 {
		t.Fatalf("vote: %d", code)
	}
	if r := get(t, e.base+"/kb?q=zebra+printer+ink", ""); r.StatusCode != 200 {
		t.Fatalf("search: %s", r.Status)
	}
	get(t, e.base+"/kb?q=wifi+guest", "")
	// What was recorded (package metrics reads it: SelfService).
	var views, fromForm, helpful, suggested, searches int
	var noResults string
	e.st.DB.QueryRow(`SELECT count(*) FILTER (WHERE kind = 'view'), count(*) FILTER (WHERE kind = 'view' AND query = 'suggest:vpn'),
		count(*) FILTER (WHERE kind = 'vote' AND helpful), count(*) FILTER (WHERE kind = 'suggested')
		FROM kb_events WHERE article_id = (SELECT id FROM kb_articles WHERE slug = 'connect-to-the-vpn-from-home')`).Scan(&views, &fromForm, &helpful, &suggested)
	e.st.DB.QueryRow(`SELECT count(*) FILTER (WHERE kind = 'search'), string_agg(query, '|') FILTER (WHERE kind = 'no_results') FROM kb_events`).Scan(&searches, &noResults)
	if views != 1 || fromForm != 1 || helpful != 1 || suggested != 2 || searches != 1 || noResults != "wifi guest" {
		t.Fatalf("recorded: %d views (%d from the form), %d helpful, %d suggested, %d searches with results, without %q",
			views, fromForm, helpful, suggested, searches, noResults)
	}
}

func TestExcerpt(t *testing.T) {
	md := "## Help\nIf you forgot your password:\n\n1. Open the sign-in page and choose **Forgot password**.\n2. See [the guide](https://example.com/g) or `reset`.\n- Settings > Team_a\n> quoted"
	if got, want := excerpt(md, 500), "Help If you forgot your password: 1. Open the sign-in page and choose Forgot password. 2. See the guide or reset. Settings > Team_a quoted"; got != want {
		t.Fatalf("excerpt:\n%q\nwant\n%q", got, want)
	}
	if got := excerpt(md, 45); got != "Help If you forgot your password: 1. Open the…" {
		t.Fatalf("cut: %q", got)
	}
}
