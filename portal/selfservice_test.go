package portal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/portal"
)

var sessionField = regexp.MustCompile(`name="fs" id="f-fs" value="([A-Za-z0-9_-]{22})"`)

// TestSelfServiceThroughThePortal: two visits to the web form, searches
// and a vote through the real handlers, as cmd/deskpulse wires them, then
// GET /api/v1/metrics/self-service counts them.
func TestSelfServiceThroughThePortal(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "ss.duckdb")
	st, w := testtools.Store(t, db)
	eng, err := metrics.New(st, metrics.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(ctx, st, w, eng)
	if err != nil {
		t.Fatal(err)
	}
	p := portal.New(st, w, db).Register(srv.Routes())
	p.KB.APIRoutes(srv.Routes())
	svc := auth.New(st)
	hs := httptest.NewServer(auth.NewGate(svc, 0).Wrap(srv.Routes(), srv.Handler()))
	defer hs.Close()
	agent, _ := svc.AddUser(ctx, "test", &model.User{Email: "bob@example.com", Name: "Bob", Role: model.RoleAgent})
	analyst, _ := svc.AddUser(ctx, "test", &model.User{Email: "ana@example.com", Name: "Ana", Role: model.RoleAnalyst})
	for _, a := range []*portal.Article{
		{Title: "Connect to the VPN from home", Body: "Start the VPN client and sign in.", Status: portal.Published},
		{Title: "Reset your password", Body: "Use Forgot password on the sign-in page.", Status: portal.Published},
	} {
		if err := p.KB.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values, header ...string) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, hs.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	session := func() string {
		t.Helper()
		_, page := do("GET", "/support/new", nil)
		m := sessionField.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no form session on the form:\n%s", page)
		}
		return m[1]
	}
	suggest := func(subject, fs string) []struct{ Title, URL string } {
		t.Helper()
		var out []struct{ Title, URL string }
		_, body := do("GET", "/kb/suggest?q="+url.QueryEscape(subject)+"&fs="+fs, nil)
		json.Unmarshal([]byte(body), &out)
		return out
	}
	same := []string{"Sec-Fetch-Site", "same-origin"}

	// Visit A: a suggestion, the requester reads it and leaves: deflected.
	a := session()
	got := suggest("vpn from home", a)
	if len(got) != 1 || got[0].Title != "Connect to the VPN from home" || !strings.Contains(got[0].URL, "fs="+a) {
		t.Fatalf("suggestions of A: %+v", got)
	}
	if code, _ := do("GET", got[0].URL, nil); code != 200 {
		t.Fatalf("article from the suggestion: %d", code)
	}
	for range 2 { // pagehide can fire twice (bfcache); one row
		if code, _ := do("POST", "/support/new/left", url.Values{"fs": {a}}, same...); code != http.StatusNoContent {
			t.Fatalf("beacon: %d", code)
		}
	}
	// Visit B: a suggestion, then the form is posted: a ticket.
	b := session()
	if got := suggest("reset password", b); len(got) != 1 {
		t.Fatalf("suggestions of B: %+v", got)
	}
	code, _ := do("POST", "/support/new", url.Values{"fs": {b}, "email": {"ann@example.com"}, "subject": {"reset password"}, "description": {"still locked out"}}, same...)
	if code != http.StatusCreated {
		t.Fatalf("post B: %d", code)
	}
	// A beacon for a visit that showed nothing records nothing; a malformed
	// one is refused, and so is one from another site.
	if code, _ := do("POST", "/support/new/left", url.Values{"fs": {session()}}, same...); code != http.StatusNoContent {
		t.Fatalf("beacon without suggestions: %d", code)
	}
	if code, body := do("POST", "/support/new/left", url.Values{"fs": {"x"}}, same...); code != http.StatusBadRequest || !strings.Contains(body, "fs") {
		t.Fatalf("malformed beacon: %d %s", code, body)
	}
	if code, _ := do("POST", "/support/new/left", url.Values{"fs": {b}}, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
		t.Fatalf("cross-site beacon: %d", code)
	}
	// Searches (one without results, one with results but no click) and a vote.
	do("GET", "/kb?q=wifi+guest", nil)
	do("GET", "/kb?q=password", nil)
	if code, _ := do("POST", "/kb/reset-your-password/vote", url.Values{"helpful": {"yes"}}, same...); code != http.StatusSeeOther {
		t.Fatalf("vote: %d", code)
	}
	var lefts int
	st.DB.QueryRow(`SELECT count(*) FROM kb_events WHERE kind = 'left'`).Scan(&lefts)
	if lefts != 1 {
		t.Fatalf("%d left events, want 1 (visit A)", lefts)
	}

	now := time.Now().UTC()
	rng := "?from=" + now.Add(-time.Hour).Format(time.RFC3339) + "&to=" + now.Add(time.Hour).Format(time.RFC3339)
	get := func(path, token string, into any) (int, string) {
		t.Helper()
		code, body := do("GET", path, nil, "Authorization", "Bearer "+token)
		if into != nil {
			if err := json.Unmarshal([]byte(body), into); err != nil {
				t.Fatalf("%s: %v\n%s", path, err, body)
			}
		}
		return code, body
	}
	if code, _ := get("/api/v1/metrics/self-service"+rng, agent, nil); code != http.StatusForbidden {
		t.Fatalf("agent reads metrics: %d", code)
	}
	var ss metrics.SelfService
	if code, body := get("/api/v1/metrics/self-service"+rng, analyst, &ss); code != 200 {
		t.Fatalf("self-service: %d %s", code, body)
	}
	if ss.ArticleViews != 1 || ss.HelpfulVotes != 1 || ss.NotHelpfulVotes != 0 || *ss.HelpfulPct != 100 ||
		ss.Searches != 2 || ss.SearchesNoResults != 1 || *ss.NoResultsPct != 50 || ss.SuggestionsShown != 2 ||
		ss.FormSessions != 2 || ss.Submitted != 1 || ss.Abandoned != 1 || ss.Deflected != 1 || *ss.DeflectionRatePct != 50 {
		t.Fatalf("figures %+v", ss)
	}
	if len(ss.TopArticles) != 2 || ss.TopArticles[0].Title != "Reset your password" || ss.TopArticles[0].Helpful != 1 ||
		ss.TopArticles[1].Title != "Connect to the VPN from home" || ss.TopArticles[1].Views != 1 || ss.TopArticles[1].ViewsFromForm != 1 {
		t.Fatalf("top articles %+v", ss.TopArticles)
	}
	if len(ss.MissingQueries) != 2 || ss.MissingQueries[0] != (metrics.MissingQuery{Query: "password", Searches: 1, Unanswered: 1}) ||
		ss.MissingQueries[1] != (metrics.MissingQuery{Query: "wifi guest", Searches: 1, NoResults: 1, Unanswered: 1}) {
		t.Fatalf("missing %+v", ss.MissingQueries)
	}
	var bad struct{ Error struct{ Code, Field string } }
	if code, _ := get("/api/v1/metrics/self-service?from=yesterday", analyst, &bad); code != 400 || bad.Error.Field != "from" {
		t.Fatalf("bad from: %d %+v", code, bad)
	}
	if code, _ := get("/api/v1/metrics/self-service?team=IT", analyst, &bad); code != 400 || bad.Error.Field != "team" {
		t.Fatalf("team filter: %d %+v", code, bad)
	}
}
