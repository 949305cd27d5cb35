package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/model"
)

// Tests of issue #16's sign-in items: the demo sign-in, revoked tokens and
// disabled users, session limits, the sign-in redirect and the client
// address behind proxies. All go through the real server over HTTP.

// newBrowser is a client with a cookie jar that does not follow redirects.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// request sends method to url with a form body (nil: none), headers and,
// when host is set, that Host; it answers the status and body.
func request(t *testing.T, client *http.Client, method, url string, form url.Values, host string, header ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, url, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if host != "" {
		req.Host = host
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
	return resp, string(raw)
}

var formCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signInPage loads /signin in browser and returns the page and its form
// token.
func signInPage(t *testing.T, browser *http.Client, base, host string, header ...string) (string, string) {
	t.Helper()
	resp, page := request(t, browser, "GET", base+"/signin", nil, host, header...)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /signin: %d", resp.StatusCode)
	}
	return page, formCSRF.FindStringSubmatch(page)[1]
}

// browserSignIn signs a new browser in with the form and returns it with
// its session's CSRF token.
func browserSignIn(t *testing.T, m *Main, email, secret string) (*http.Client, string) {
	t.Helper()
	base := "http://" + m.Addr()
	browser := newBrowser()
	_, csrf := signInPage(t, browser, base, "")
	resp, body := request(t, browser, "POST", base+"/signin", url.Values{"csrf": {csrf}, "email": {email}, "secret": {secret}, "next": {"/healthz"}}, "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/healthz" {
		t.Fatalf("sign-in of %s: %d %s", email, resp.StatusCode, body)
	}
	return browser, sessionCSRF(t, m, resp)
}

// sessionCSRF reads the CSRF token of the session a response set, by the
// hash of its cookie (as the store keeps it).
func sessionCSRF(t *testing.T, m *Main, resp *http.Response) string {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "deskpulse_session" {
			sum := sha256.Sum256([]byte(c.Value))
			var csrf string
			if err := m.Store.DB.QueryRow(`SELECT csrf FROM sessions WHERE hash = ?`, hex.EncodeToString(sum[:])).Scan(&csrf); err != nil {
				t.Fatal(err)
			}
			return csrf
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header)
	return ""
}

func setsSession(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "deskpulse_session" && c.Value != "" {
			return true
		}
	}
	return false
}

const demoButton = `action="/signin/demo"`

func TestDemoSignInIsAManagerOnlyStraightOnLoopback(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.duckdb")
	m := NewMain(testConfig(t, db)) // closed below, to restart
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.Addr()
	_, port, _ := strings.Cut(m.Addr(), ":")
	browser := newBrowser()
	page, csrf := signInPage(t, browser, base, "")
	if !strings.Contains(page, demoButton) {
		t.Fatal("a loopback server with demo data does not offer the demo sign-in")
	}

	// Whatever did not come straight to the loopback listener is refused:
	// neither offered nor accepted.
	refusals := []struct {
		name   string
		host   string
		header []string
	}{
		{"X-Forwarded-For", "", []string{"X-Forwarded-For", "203.0.113.7"}},
		{"X-Forwarded-For of loopback", "", []string{"X-Forwarded-For", "127.0.0.1"}},
		{"Forwarded", "", []string{"Forwarded", "for=203.0.113.7;host=helpdesk.example"}},
		{"X-Real-IP", "", []string{"X-Real-IP", "203.0.113.7"}},
		{"X-Forwarded-Host", "", []string{"X-Forwarded-Host", "helpdesk.example"}},
		{"Via", "", []string{"Via", "1.1 proxy"}},
		{"a foreign Host", "helpdesk.example", nil},
		{"a foreign Host on the port (DNS rebinding)", "evil.example:" + port, nil},
		{"a loopback-looking name", "127.0.0.1.evil.example:" + port, nil},
		{"a subdomain of localhost", "demo.localhost:" + port, nil},
	}
	for _, c := range refusals {
		resp, page := request(t, browser, "GET", base+"/signin", nil, c.host, c.header...)
		if resp.StatusCode != 200 || strings.Contains(page, demoButton) {
			t.Errorf("%s: the page offers the demo sign-in (%d)", c.name, resp.StatusCode)
		}
		resp, body := request(t, browser, "POST", base+"/signin/demo", url.Values{"csrf": {csrf}, "next": {"/"}}, c.host, c.header...)
		if resp.StatusCode != 403 || setsSession(resp) || !strings.Contains(body, "The demo sign-in is not available here.") {
			t.Errorf("%s: POST /signin/demo answered %d, session %v", c.name, resp.StatusCode, setsSession(resp))
		}
	}
	// A peer that is not on loopback (behind a port forward, say), given
	// straight to the server's handler as the listener would.
	for _, path := range []string{"GET /signin", "POST /signin/demo"} {
		method, target, _ := strings.Cut(path, " ")
		req := httptest.NewRequest(method, target, strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "deskpulse_csrf", Value: csrf})
		req.RemoteAddr, req.Host = "203.0.113.7:40000", m.Addr()
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, m.listener.Addr()))
		rec := httptest.NewRecorder()
		m.http.Handler.ServeHTTP(rec, req)
		if strings.Contains(rec.Body.String(), demoButton) || (method == "POST" && rec.Code != 403) {
			t.Errorf("%s from 203.0.113.7: %d, offered %v", path, rec.Code, strings.Contains(rec.Body.String(), demoButton))
		}
	}

	// The demo sign-in itself gives a manager: dashboards and tickets, not
	// users, tokens or backups. (Each refusal set a new form token.)
	_, csrf = signInPage(t, browser, base, "")
	resp, _ := request(t, browser, "POST", base+"/signin/demo", url.Values{"csrf": {csrf}, "next": {"/api/v1/tickets?limit=1"}}, "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/api/v1/tickets?limit=1" {
		t.Fatalf("demo sign-in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	demoCSRF := sessionCSRF(t, m, resp)
	var role string
	m.Store.DB.QueryRow(`SELECT role FROM users WHERE email = ?`, auth.DemoEmail).Scan(&role)
	if role != "manager" {
		t.Fatalf("the demo user's role is %q, want manager", role)
	}
	for path, want := range map[string]int{"/api/v1/tickets?limit=1": 200, "/api/v1/metrics/summary": 200, "/api/v1/users": 403, "/api/v1/tokens": 403, "/api/v1/audit": 403} {
		if resp, _ := request(t, browser, "GET", base+path, nil, ""); resp.StatusCode != want {
			t.Errorf("demo manager GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, _ = request(t, browser, "POST", base+"/api/v1/users/demo.manager@deskpulse.example/tokens", nil, "", "X-CSRF-Token", demoCSRF)
	if resp.StatusCode != 403 {
		t.Errorf("the demo manager minted itself a token: %d", resp.StatusCode)
	}

	// Once a real user signs in, the demo sign-in is gone, and the demo
	// manager's sessions with it, also after a restart.
	var managerToken string
	managerToken, err := m.Auth.AddUser(context.Background(), "test", &model.User{Email: "lead@example.com", Name: "Lead", Role: model.RoleManager})
	if err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, m, "lead@example.com", managerToken)
	if resp, _ := request(t, browser, "GET", base+"/api/v1/tickets?limit=1", nil, ""); resp.StatusCode != 401 {
		t.Errorf("the demo session outlived a real sign-in: %d", resp.StatusCode)
	}
	page, csrf = signInPage(t, browser, base, "")
	if strings.Contains(page, demoButton) {
		t.Error("the demo sign-in is still offered after a real user signed in")
	}
	if resp, _ := request(t, browser, "POST", base+"/signin/demo", url.Values{"csrf": {csrf}}, ""); resp.StatusCode != 403 || setsSession(resp) {
		t.Errorf("demo sign-in after a real sign-in: %d", resp.StatusCode)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := NewMain(testConfig(t, db))
	if err := m2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if page, _ := signInPage(t, newBrowser(), "http://"+m2.Addr(), ""); strings.Contains(page, demoButton) {
		t.Error("after a restart the demo sign-in is offered again")
	}
}

func TestDemoSignInNeedsTheSettingAndDemoDataWrittenByDeskpulse(t *testing.T) {
	// demo.signin off: not offered, though everything else holds.
	m, _ := authServerWith(t, func(c *config.Config) { c.Demo.SignIn = false })
	browser := newBrowser()
	page, csrf := signInPage(t, browser, "http://"+m.Addr(), "")
	if strings.Contains(page, demoButton) {
		t.Error("offered with demo.signin false")
	}
	if resp, _ := request(t, browser, "POST", "http://"+m.Addr()+"/signin/demo", url.Values{"csrf": {csrf}}, ""); resp.StatusCode != 403 {
		t.Errorf("demo sign-in with demo.signin false: %d", resp.StatusCode)
	}

	// No demo data written, but an agent with a demo address (any manager
	// can add one): not offered.
	m, _ = authServerWith(t, func(c *config.Config) { c.Demo.OnEmpty = false })
	if err := m.Store.CreateAgent(context.Background(), &model.Agent{Email: "fake@deskpulse.example", Name: "Fake", Teams: []string{}, Skills: []string{},
		CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	page, csrf = signInPage(t, browser, "http://"+m.Addr(), "")
	if strings.Contains(page, demoButton) {
		t.Error("offered on a store without demo data that has a @deskpulse.example agent")
	}
	if resp, _ := request(t, browser, "POST", "http://"+m.Addr()+"/signin/demo", url.Values{"csrf": {csrf}}, ""); resp.StatusCode != 403 {
		t.Errorf("demo sign-in without demo data: %d", resp.StatusCode)
	}
}

func TestDemoSignInEndsWhenARealTokenIsUsed(t *testing.T) {
	m, tokens := authServer(t)
	base := "http://" + m.Addr()
	if page, _ := signInPage(t, newBrowser(), base, ""); !strings.Contains(page, demoButton) {
		t.Fatal("not offered at first")
	}
	if status, _ := send(t, &http.Client{}, "GET", base+"/api/v1/tickets?limit=1", tokens["agent"], ""); status != 200 {
		t.Fatalf("agent token: %d", status)
	}
	if page, _ := signInPage(t, newBrowser(), base, ""); strings.Contains(page, demoButton) {
		t.Fatal("still offered after a real user's token was used")
	}
}

// tokenPrefix is the prefix a token is listed and revoked by.
func tokenPrefix(token string) string { return token[:len("dp_")+8] }

func TestRevokingATokenEndsTheSessionsSignedInWithIt(t *testing.T) {
	m, tokens := authServer(t)
	ctx := context.Background()
	base := "http://" + m.Addr()
	token, err := m.Auth.AddUser(ctx, "test", &model.User{Email: "second@example.com", Name: "Second admin", Role: model.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Auth.SetPassword(ctx, "test", "second@example.com", "a long enough password"); err != nil {
		t.Fatal(err)
	}
	viaToken, tokenCSRF := browserSignIn(t, m, "second@example.com", token)
	viaPassword, _ := browserSignIn(t, m, "second@example.com", "a long enough password")
	for _, b := range []*http.Client{viaToken, viaPassword} {
		if resp, _ := request(t, b, "GET", base+"/api/v1/users", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("signed-in admin: %d", resp.StatusCode)
		}
	}
	status, body := send(t, &http.Client{}, "DELETE", base+"/api/v1/tokens/"+tokenPrefix(token), tokens["admin"], "")
	if status != 200 || !strings.Contains(body, `"note":"its browser sessions ended too"`) {
		t.Fatalf("revoke: %d %s", status, body)
	}
	// The browser signed in with the token is signed out, and cannot mint
	// itself a new token (as it could before).
	if status, body := send(t, viaToken, "POST", base+"/api/v1/users/second@example.com/tokens", "", `{"label":"after revoke"}`, "X-CSRF-Token", tokenCSRF); status != 401 {
		t.Fatalf("a session of a revoked token minted a token: %d %s", status, body)
	}
	if resp, _ := request(t, viaToken, "GET", base+"/api/v1/users", nil, ""); resp.StatusCode != 401 {
		t.Fatalf("a session of a revoked token still works: %d", resp.StatusCode)
	}
	var sessions, live int
	m.Store.DB.QueryRow(`SELECT count(*) FROM sessions WHERE token_hash <> '' AND user_email = 'second@example.com'`).Scan(&sessions)
	m.Store.DB.QueryRow(`SELECT count(*) FROM tokens WHERE user_email = 'second@example.com' AND revoked_at IS NULL`).Scan(&live)
	if sessions != 0 || live != 0 {
		t.Fatalf("after the revoke: %d sessions of the token, %d live tokens", sessions, live)
	}
	// A password session was not opened with the token: it stays.
	if resp, _ := request(t, viaPassword, "GET", base+"/api/v1/users", nil, ""); resp.StatusCode != 200 {
		t.Fatalf("the password session ended with the token: %d", resp.StatusCode)
	}
	// Revoking what is not a live token names it.
	if status, body := send(t, &http.Client{}, "DELETE", base+"/api/v1/tokens/"+tokenPrefix(token), tokens["admin"], ""); status != 404 || !strings.Contains(body, `"message":"no such live token"`) {
		t.Fatalf("revoke again: %d %s", status, body)
	}
}

func TestDisablingAUserEndsTheirTokensAndSessions(t *testing.T) {
	m, tokens := authServer(t)
	ctx := context.Background()
	base := "http://" + m.Addr()
	api := &http.Client{}
	const password = "agent password 123"
	if err := m.Auth.SetPassword(ctx, "test", "agent@example.com", password); err != nil {
		t.Fatal(err)
	}
	second, err := m.Auth.NewToken(ctx, "test", "agent@example.com", "second")
	if err != nil {
		t.Fatal(err)
	}
	viaToken, _ := browserSignIn(t, m, "agent@example.com", tokens["agent"])
	viaPassword, _ := browserSignIn(t, m, "agent@example.com", password)

	if status, _ := send(t, api, "POST", base+"/api/v1/users/agent@example.com/disable", tokens["manager"], ""); status != 403 {
		t.Fatalf("a manager disabled a user: %d", status)
	}
	status, body := send(t, api, "POST", base+"/api/v1/users/agent@example.com/disable", tokens["admin"], "")
	if status != 200 || body != `{"disabled":"agent@example.com","note":"its tokens are revoked and its sessions ended"}`+"\n" {
		t.Fatalf("disable: %d %s", status, body)
	}
	for name, tok := range map[string]string{"first": tokens["agent"], "second": second} {
		if status, _ := send(t, api, "GET", base+"/api/v1/tickets?limit=1", tok, ""); status != 401 {
			t.Errorf("the %s token of a disabled user: %d", name, status)
		}
	}
	for name, b := range map[string]*http.Client{"token": viaToken, "password": viaPassword} {
		if resp, _ := request(t, b, "GET", base+"/api/v1/tickets?limit=1", nil, ""); resp.StatusCode != 401 {
			t.Errorf("the %s session of a disabled user: %d", name, resp.StatusCode)
		}
	}
	var sessions, live int
	m.Store.DB.QueryRow(`SELECT count(*) FROM sessions WHERE user_email = 'agent@example.com'`).Scan(&sessions)
	m.Store.DB.QueryRow(`SELECT count(*) FROM tokens WHERE user_email = 'agent@example.com' AND revoked_at IS NULL`).Scan(&live)
	if sessions != 0 || live != 0 {
		t.Fatalf("a disabled user keeps %d sessions and %d live tokens", sessions, live)
	}
	// New sign-ins are refused, with the password too.
	browser := newBrowser()
	_, csrf := signInPage(t, browser, base, "")
	resp, _ := request(t, browser, "POST", base+"/signin", url.Values{"csrf": {csrf}, "email": {"agent@example.com"}, "secret": {password}}, "")
	if resp.StatusCode != 401 || setsSession(resp) {
		t.Fatalf("a disabled user signed in: %d", resp.StatusCode)
	}
	_, body = send(t, api, "GET", base+"/api/v1/users", tokens["admin"], "")
	if !regexp.MustCompile(`"email":"agent@example.com","name":"agent","role":"agent","created_at":"[^"]+","disabled_at":"[^"]+"`).MatchString(body) ||
		strings.Count(body, "disabled_at") != 1 {
		t.Fatalf("the user list does not show the disabled user: %s", body)
	}
	_, body = send(t, api, "GET", base+"/api/v1/audit?type=user.disabled", tokens["admin"], "")
	if !strings.Contains(body, `"actor":"admin@localhost","action":"user.disabled","target":"agent@example.com"`) {
		t.Fatalf("audit: %s", body)
	}
	// Refusals, each with its reason.
	for _, c := range []struct{ path, code, message string }{
		{"/api/v1/users/agent@example.com/disable", `"code":"not_found"`, `"message":"no such active user"`},
		{"/api/v1/users/nobody@example.com/disable", `"code":"not_found"`, `"message":"no such active user"`},
		{"/api/v1/users/admin@localhost/disable", `"code":"last_admin"`, `"message":"the last active administrator cannot be disabled: make another user admin first"`},
		{"/api/v1/users/manager@example.com/enable", `"code":"not_found"`, `"message":"no such disabled user"`},
	} {
		status, body := send(t, api, "POST", base+c.path, tokens["admin"], "")
		if status != 404 && status != 409 || !strings.Contains(body, c.code) || !strings.Contains(body, c.message) {
			t.Errorf("POST %s: %d %s", c.path, status, body)
		}
	}
	// Enabled again, the user signs in with the password; old tokens stay
	// revoked.
	status, body = send(t, api, "POST", base+"/api/v1/users/agent@example.com/enable", tokens["admin"], "")
	if status != 200 {
		t.Fatalf("enable: %d %s", status, body)
	}
	browserSignIn(t, m, "agent@example.com", password)
	if status, _ := send(t, api, "GET", base+"/api/v1/tickets?limit=1", tokens["agent"], ""); status != 401 {
		t.Fatalf("an old token works again after enable: %d", status)
	}
}

func TestUserDisableCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "disable.duckdb")
	m := NewMain(testConfig(t, db))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	token, err := m.Auth.AddUser(context.Background(), "test", &model.User{Email: "leaver@example.com", Name: "Leaver", Role: model.RoleAgent})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	var out, errOut bytes.Buffer
	if err := run([]string{"user", "disable", "--db", db, "--config", "../../config.yaml", "--email", "Leaver@Example.com"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	err = run([]string{"user", "disable", "--db", db, "--config", "../../config.yaml", "--email", "leaver@example.com"}, &out, &errOut)
	if err == nil || err.Error() != `no active user "leaver@example.com" (see `+"`deskpulse user list`)" {
		t.Fatalf("disabling twice: %v", err)
	}
	m = NewMain(testConfig(t, db))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if status, _ := send(t, &http.Client{}, "GET", "http://"+m.Addr()+"/api/v1/tickets?limit=1", token, ""); status != 401 {
		t.Fatalf("the token of a user disabled by the CLI: %d", status)
	}
}

func TestSessionsEndWhenIdle(t *testing.T) {
	m, tokens := authServerWith(t, func(c *config.Config) { c.Auth.SessionIdle = 2 * time.Second })
	if m.Auth.SessionIdle != 2*time.Second || m.Auth.SessionMax != 720*time.Hour {
		t.Fatalf("limits from the config: idle %s, max %s", m.Auth.SessionIdle, m.Auth.SessionMax)
	}
	base := "http://" + m.Addr()
	browser, _ := browserSignIn(t, m, "agent@example.com", tokens["agent"])
	// Used every 0.9 s, the session outlives its idle limit ...
	for i := range 4 {
		time.Sleep(900 * time.Millisecond)
		if resp, _ := request(t, browser, "GET", base+"/api/v1/tickets?limit=1", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("in use, request %d: %d", i, resp.StatusCode)
		}
	}
	// ... and ends after 2 s without a request.
	time.Sleep(2300 * time.Millisecond)
	if resp, _ := request(t, browser, "GET", base+"/api/v1/tickets?limit=1", nil, ""); resp.StatusCode != 401 {
		t.Fatalf("an idle session still works: %d", resp.StatusCode)
	}
}

func TestSessionLimitsAreChecked(t *testing.T) {
	t.Setenv("DESKPULSE_AUTH_SESSION_IDLE", "48h")
	t.Setenv("DESKPULSE_AUTH_SESSION_MAX", "24h")
	var out, errOut bytes.Buffer
	err := run([]string{"version", "--config", "../../config.yaml"}, &out, &errOut)
	if err == nil || err.Error() != "config: auth.session_idle (48h0m0s) must not be longer than auth.session_max (24h0m0s)" {
		t.Fatalf("idle over max: %v", err)
	}
	t.Setenv("DESKPULSE_AUTH_SESSION_IDLE", "12h")
	t.Setenv("DESKPULSE_AUTH_TRUSTED_PROXIES", "10.0.0.1,proxy.internal")
	err = run([]string{"version", "--config", "../../config.yaml"}, &out, &errOut)
	if err == nil || err.Error() != `config: auth.trusted_proxies: "proxy.internal" is neither an IP address nor a CIDR range such as 10.0.0.0/8` {
		t.Fatalf("a host name as proxy: %v", err)
	}
}

func TestSignInRedirectStaysOnThisSite(t *testing.T) {
	m, tokens := authServer(t)
	base := "http://" + m.Addr()
	browser := newBrowser()
	hostile := []string{
		"/\t/evil.example/", "/\n/evil.example/", "/\r\n/evil.example/", "/ /evil.example/", "//evil.example/",
		"/\\evil.example/", "\\\\evil.example/", "/\\/evil.example/", "https://evil.example/", "http:evil.example",
		"javascript:alert(1)", "/\u00a0/evil.example/", "/x//evil.example", "evil.example",
	}
	for _, next := range hostile {
		_, page := request(t, browser, "GET", base+"/signin?next="+url.QueryEscape(next), nil, "")
		if !strings.Contains(page, `name="next" value="/"`) {
			t.Errorf("next=%q: the form carries %q", next, regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(page))
		}
	}
	for _, next := range []string{"/dashboards/volume", "/tickets/12?tab=events&x=1"} {
		_, page := request(t, browser, "GET", base+"/signin?next="+url.QueryEscape(next), nil, "")
		if !strings.Contains(page, `name="next" value="`+html.EscapeString(next)+`"`) {
			t.Errorf("next=%q was not kept", next)
		}
	}
	// The reported one, posted: the redirect goes home (a manager's is
	// the workspace's inbox).
	_, csrf := signInPage(t, browser, base, "")
	resp, _ := request(t, browser, "POST", base+"/signin", url.Values{"csrf": {csrf}, "email": {"manager@example.com"}, "secret": {tokens["manager"]}, "next": {"/\t/evil.example/"}}, "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/inbox" {
		t.Fatalf("POST /signin with a hostile next: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// failSignIns posts n wrong sign-ins with X-Forwarded-For xff and returns
// the statuses.
func failSignIns(t *testing.T, m *Main, n int, xff string) []int {
	t.Helper()
	base := "http://" + m.Addr()
	browser := newBrowser()
	var statuses []int
	for range n {
		_, csrf := signInPage(t, browser, base, "")
		resp, _ := request(t, browser, "POST", base+"/signin", url.Values{"csrf": {csrf}, "email": {"manager@example.com"}, "secret": {"wrong"}}, "", "X-Forwarded-For", xff)
		statuses = append(statuses, resp.StatusCode)
	}
	return statuses
}

func TestSignInRateLimitIsPerClientBehindATrustedProxy(t *testing.T) {
	m, _ := authServerWith(t, func(c *config.Config) { c.Auth.TrustedProxies = []string{"127.0.0.1"} })
	if got := failSignIns(t, m, 6, "198.51.100.1"); !slices.Equal(got, []int{401, 401, 401, 401, 401, 429}) {
		t.Fatalf("client 1: %v", got)
	}
	// Another client behind the proxy has its own bucket.
	if got := failSignIns(t, m, 1, "198.51.100.2"); !slices.Equal(got, []int{401}) {
		t.Fatalf("client 2 shares client 1's bucket: %v", got)
	}
	// Client 1 cannot escape by writing its own X-Forwarded-For: the
	// proxy appends the address it saw, and that is what counts.
	if got := failSignIns(t, m, 1, "192.0.2.99, 198.51.100.1"); !slices.Equal(got, []int{429}) {
		t.Fatalf("client 1 with a forged entry: %v", got)
	}
}

func TestSignInRateLimitIgnoresForwardedForWithoutATrustedProxy(t *testing.T) {
	m, _ := authServer(t)
	if got := failSignIns(t, m, 5, "198.51.100.1"); !slices.Equal(got, []int{401, 401, 401, 401, 401}) {
		t.Fatalf("first five: %v", got)
	}
	if got := failSignIns(t, m, 1, "198.51.100.2"); !slices.Equal(got, []int{429}) {
		t.Fatalf("a forged X-Forwarded-For escaped the limit: %v", got)
	}
}
