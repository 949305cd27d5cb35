package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/model"
)

// authServer starts a full server and returns it with a token per role.
func authServer(t *testing.T) (*Main, map[string]string) {
	t.Helper()
	return authServerWith(t, nil)
}

// authServerWith is authServer with the config changed by edit first.
func authServerWith(t *testing.T, edit func(*config.Config)) (*Main, map[string]string) {
	t.Helper()
	cfg := testConfig(t, filepath.Join(t.TempDir(), "auth.duckdb"))
	if edit != nil {
		edit(cfg)
	}
	m := NewMain(cfg)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tokens := map[string]string{"admin": testToken}
	for _, role := range []model.Role{model.RoleManager, model.RoleAnalyst, model.RoleAgent} {
		tok, err := m.Auth.AddUser(context.Background(), "test", &model.User{Email: string(role) + "@example.com", Name: string(role), Role: role})
		if err != nil {
			t.Fatal(err)
		}
		tokens[string(role)] = tok
	}
	return m, tokens
}

func send(t *testing.T, client *http.Client, method, url, token, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestRoleMatrix calls every route with every role, no token and a bad
// token. The expected access is written out here, not derived from the
// policy code, so that a wrong policy fails.
func TestRoleMatrix(t *testing.T) {
	m, tokens := authServer(t)
	base := "http://" + m.Addr()
	noRedirect := &http.Client{Transport: http.DefaultTransport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	const (
		T = "tickets"   // admin, manager, agent
		M = "metrics"   // admin, manager, analyst
		D = "dashboard" // admin, manager, analyst
		G = "manage"    // admin, manager
		A = "admin"     // admin
		P = "public"
		S = "signed-in" // any role: an unknown API path answers 404 to a signed-in user
	)
	allowed := map[string][]string{
		T: {"admin", "manager", "agent"}, M: {"admin", "manager", "analyst"},
		D: {"admin", "manager", "analyst"}, G: {"admin", "manager"}, A: {"admin"},
		P: {"admin", "manager", "analyst", "agent", "", "bad"},
		S: {"admin", "manager", "analyst", "agent"},
	}
	routes := []struct{ method, path, body, access string }{
		{"GET", "/healthz", "", P},
		{"GET", "/readyz", "", P},
		{"GET", "/signin", "", P},
		{"POST", "/api/v1/tickets", `{"subject":"matrix"}`, T},
		{"GET", "/api/v1/tickets", "", T},
		{"GET", "/api/v1/tickets/1", "", T},
		{"PATCH", "/api/v1/tickets/1", `{"priority":"high"}`, T},
		{"POST", "/api/v1/tickets/1/assign", `{"assignee":""}`, T},
		{"POST", "/api/v1/tickets/1/comments", `{"body":"hi","public":false}`, T},
		{"POST", "/api/v1/tickets/1/status", `{"status":"open"}`, T},
		{"POST", "/api/v1/tickets/1/resolve", "", T},
		{"POST", "/api/v1/tickets/1/reopen", "", T},
		{"POST", "/api/v1/tickets/1/close", "", T},
		{"POST", "/api/v1/tickets/1/csat", `{"score":4}`, T},
		{"GET", "/api/v1/tickets/1/events", "", T},
		{"GET", "/api/v1/tickets/1/sla", "", T},
		{"GET", "/api/v1/agents", "", T},
		{"POST", "/api/v1/agents", `{"email":"new@example.com","name":"New"}`, G},
		{"GET", "/api/v1/teams", "", T},
		{"POST", "/api/v1/teams", `{"name":"Matrix"}`, G},
		{"GET", "/api/v1/metrics", "", M},
		{"GET", "/api/v1/metrics/summary", "", M},
		{"GET", "/api/v1/metrics/by_team", "", M},
		{"GET", "/api/v1/metrics/self-service", "", M},
		{"POST", "/api/v1/sla/simulate", `{"sla":{"policies":[{"name":"All","first_response":"1h","resolution":"8h"}]}}`, M},
		{"GET", "/api/v1/exports/report.xlsx", "", M},
		{"POST", "/api/v1/sql", `{"query":"SELECT 1"}`, M},
		{"POST", "/api/v1/import", "", G},
		{"GET", "/api/v1/reports", "", G},
		{"GET", "/api/v1/users", "", A},
		{"POST", "/api/v1/users", `{"email":"x@example.com","role":"agent"}`, A},
		{"GET", "/api/v1/tokens", "", A},
		{"GET", "/api/v1/audit", "", A},
		{"GET", "/api/v1/unknown", "", S},
		{"GET", "/", "", D},
		{"GET", "/tickets/1", "", T},
		{"GET", "/inbox", "", T},
	}
	for _, rt := range routes {
		for _, who := range []string{"admin", "manager", "analyst", "agent", "", "bad"} {
			token := tokens[who]
			if who == "bad" {
				token = "dp_not-a-real-token-at-all-000000"
			}
			status, body := send(t, noRedirect, rt.method, base+rt.path, token, rt.body)
			ok := false
			for _, a := range allowed[rt.access] {
				ok = ok || a == who
			}
			var want string
			switch {
			case ok && (status == 401 || status == 403):
				want = "allowed"
			case !ok && (who == "" || who == "bad") && strings.HasPrefix(rt.path, "/api/") && status != 401:
				want = "401"
			case !ok && (who == "" || who == "bad") && !strings.HasPrefix(rt.path, "/api/") && status != 303:
				want = "303 to /signin"
			case !ok && who != "" && who != "bad" && status != 403:
				want = "403"
			}
			if want != "" {
				t.Errorf("%s %s as %q: got %d, want %s (%s)", rt.method, rt.path, who, status, want, strings.TrimSpace(body))
			}
			if status == 401 && !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s: 401 without a JSON error: %s", rt.method, rt.path, body)
			}
		}
	}
}

func TestActorIsTheSignedInUser(t *testing.T) {
	m, tokens := authServer(t)
	base := "http://" + m.Addr() + "/api/v1"
	client := &http.Client{}
	status, body := send(t, client, "POST", base+"/tickets", tokens["agent"], `{"subject":"Mine","actor":"ceo@example.com"}`)
	if status != 400 || !strings.Contains(body, `"field":"actor"`) {
		t.Fatalf("a body field actor: %d %s", status, body)
	}
	status, body = send(t, client, "POST", base+"/tickets", tokens["agent"], `{"subject":"Mine"}`, "X-Actor", "ceo@example.com")
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	number := regexp.MustCompile(`"number":(\d+)`).FindStringSubmatch(body)[1]
	_, body = send(t, client, "GET", base+"/tickets/"+number+"/events", tokens["agent"], "")
	if !strings.Contains(body, `"actor":"agent@example.com","actor_kind":"agent"`) || strings.Contains(body, "ceo@") {
		t.Fatalf("timeline actor: %s", body)
	}
	// Administrative changes are in the audit trail.
	_, body = send(t, client, "GET", base+"/audit?type=user.created", tokens["admin"], "")
	if !strings.Contains(body, `"target":"analyst@example.com"`) {
		t.Fatalf("audit: %s", body)
	}
	// So are management changes: teams and rules, under the manager.
	if status, body := send(t, client, "POST", base+"/teams", tokens["manager"], `{"name":"Audited"}`); status != 201 {
		t.Fatalf("team: %d %s", status, body)
	}
	rule := `{"name":"vip","trigger":{"on":"created"},"conditions":[{"field":"subject","op":"contains","value":"outage"}],"actions":[{"type":"set_priority","value":"urgent"}]}`
	if status, body := send(t, client, "POST", base+"/rules", tokens["manager"], rule); status != 201 {
		t.Fatalf("rule: %d %s", status, body)
	}
	_, body = send(t, client, "GET", base+"/audit?actor=manager@example.com", tokens["admin"], "")
	if !strings.Contains(body, `"action":"team.created","target":"Audited"`) || !strings.Contains(body, `"action":"rule.created"`) {
		t.Fatalf("audit of management changes: %s", body)
	}
	_, body = send(t, client, "GET", base+"/audit?actor=agent@example.com", tokens["admin"], "")
	if !strings.Contains(body, `"action":"created"`) {
		t.Fatalf("audit of ticket events: %s", body)
	}
}

func TestTokensAreHashedAndRevocable(t *testing.T) {
	m, tokens := authServer(t)
	base := "http://" + m.Addr() + "/api/v1"
	var n int
	m.Store.DB.QueryRow(`SELECT count(*) FROM tokens WHERE hash = ? OR prefix = ?`, tokens["agent"], tokens["agent"]).Scan(&n)
	if n != 0 {
		t.Fatal("a token is stored in plain text")
	}
	client := &http.Client{}
	_, body := send(t, client, "GET", base+"/tokens?user=agent@example.com", tokens["admin"], "")
	prefix := regexp.MustCompile(`"prefix":"([^"]+)"`).FindStringSubmatch(body)[1]
	if !strings.HasPrefix(tokens["agent"], prefix) || len(prefix) > 12 {
		t.Fatalf("listed prefix %q", prefix)
	}
	if status, _ := send(t, client, "DELETE", base+"/tokens/"+prefix, tokens["admin"], ""); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	if status, _ := send(t, client, "GET", base+"/tickets", tokens["agent"], ""); status != 401 {
		t.Fatalf("a revoked token still works: %d", status)
	}
}

func TestBrowserSignInSessionCSRFAndRateLimit(t *testing.T) {
	m, tokens := authServer(t)
	base := "http://" + m.Addr()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}

	page := func() (string, string) {
		resp, err := browser.Get(base + "/signin")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(raw))[1]
		return string(raw), csrf
	}
	html, csrf := page()
	if !strings.Contains(html, "Demo sign-in") {
		t.Fatal("the loopback demo server does not offer the demo sign-in")
	}
	resp, err := browser.PostForm(base+"/signin", url.Values{"csrf": {csrf}, "email": {"manager@example.com"}, "secret": {tokens["manager"]}, "next": {"/api/v1/tickets?limit=1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/api/v1/tickets" {
		t.Fatalf("sign-in did not land on next: %d %s", resp.StatusCode, resp.Request.URL)
	}
	var session *http.Cookie
	for _, c := range jar.Cookies(resp.Request.URL) {
		if c.Name == "deskpulse_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	// A change with the cookie but without the CSRF token is refused.
	status, _ := send(t, browser, "POST", base+"/api/v1/tickets", "", `{"subject":"from the browser"}`)
	if status != 403 {
		t.Fatalf("cookie POST without CSRF: %d", status)
	}
	var sessionCSRF string
	m.Store.DB.QueryRow(`SELECT csrf FROM sessions WHERE user_email = 'manager@example.com'`).Scan(&sessionCSRF)
	if status, body := send(t, browser, "POST", base+"/api/v1/tickets", "", `{"subject":"from the browser"}`, "X-CSRF-Token", sessionCSRF); status != 201 {
		t.Fatalf("cookie POST with CSRF: %d %s", status, body)
	}
	// Sign out ends the session.
	resp, _ = browser.PostForm(base+"/signout", url.Values{"csrf": {sessionCSRF}})
	resp.Body.Close()
	if status, _ := send(t, browser, "GET", base+"/api/v1/tickets", "", ""); status != 401 {
		t.Fatalf("after sign-out: %d", status)
	}
	// Wrong secrets are rate limited per client address.
	limited := false
	for range 8 {
		_, csrf := page()
		resp, _ := browser.PostForm(base+"/signin", url.Values{"csrf": {csrf}, "email": {"manager@example.com"}, "secret": {"wrong"}})
		resp.Body.Close()
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "" {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("no 429 with Retry-After after repeated sign-in failures")
	}
}

func TestPagesCarryAStrictContentSecurityPolicy(t *testing.T) {
	m, _ := authServer(t)
	resp, err := http.Get("http://" + m.Addr() + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.HasSuffix(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers: %v", resp.Header)
	}
}

func TestUserCommandAndPasswordSignIn(t *testing.T) {
	db := filepath.Join(t.TempDir(), "users.duckdb")
	var out, errOut bytes.Buffer
	if err := run([]string{"user", "add", "--db", db, "--config", "../../config.yaml", "--email", "Lena@Example.com", "--role", "analyst", "--name", "Lena"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"user", "add", "--db", db, "--config", "../../config.yaml", "--email", "x@example.com", "--role", "boss"}, &out, &errOut); err == nil {
		t.Fatal("an unknown role was accepted")
	}
	m := NewMain(testConfig(t, db))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Auth.SetPassword(context.Background(), "test", "lena@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	var hash string
	m.Store.DB.QueryRow(`SELECT password_hash FROM users WHERE email = 'lena@example.com'`).Scan(&hash)
	if !strings.HasPrefix(hash, "$2") {
		t.Fatalf("password not stored with bcrypt: %q", hash)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, _ := browser.Get("http://" + m.Addr() + "/signin")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(raw))[1]
	resp, err := browser.PostForm("http://"+m.Addr()+"/signin", url.Values{"csrf": {csrf}, "email": {"lena@example.com"}, "secret": {"correct horse battery"}, "next": {"/api/v1/metrics"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/api/v1/metrics" {
		t.Fatalf("password sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	// An analyst may read metrics but not tickets.
	if status, _ := send(t, browser, "GET", "http://"+m.Addr()+"/api/v1/tickets", "", ""); status != 403 {
		t.Fatalf("analyst on tickets: %d", status)
	}
}

func TestSessionsExpire(t *testing.T) {
	m, tokens := authServer(t)
	// Cookie expiry has one-second resolution, so keep the TTL at seconds.
	m.Auth.SessionMax = 2 * time.Second
	base := "http://" + m.Addr()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, _ := browser.Get(base + "/signin")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(raw))[1]
	resp, err := browser.PostForm(base+"/signin", url.Values{"csrf": {csrf}, "email": {"agent@example.com"}, "secret": {tokens["agent"]}, "next": {"/api/v1/tickets?limit=1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("sign-in: %d at %s %s", resp.StatusCode, resp.Request.URL, b)
	}
	// The server refuses the session itself once it expired, even when a
	// client keeps sending the cookie.
	cookies := jar.Cookies(resp.Request.URL)
	time.Sleep(2200 * time.Millisecond)
	req, _ := http.NewRequest("GET", base+"/api/v1/tickets", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	expired, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	expired.Body.Close()
	if status := expired.StatusCode; status != 401 {
		t.Fatalf("an expired session still works: %d", status)
	}
}
