package portal

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

var linkRE = regexp.MustCompile(`href="(/support/t/[A-Za-z0-9_-]{43})"`)

func post(t *testing.T, u string, v url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFormCreatesTicketHoneypotAndRateLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	resp, err := http.Get(e.base + "/support/new")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("form: %v %v", err, resp.Status)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	resp.Body.Close()
	if resp, err := http.Get(e.base + "/static/portal/portal.css"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stylesheet: %v %v", err, resp.Status)
	}

	// Invalid: the form comes back with the values and the problems.
	code, body := post(t, e.base+"/support/new", url.Values{"email": {"not-an-address"}, "subject": {"<b>x</b>"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "&lt;b&gt;x&lt;/b&gt;") {
		t.Fatalf("invalid form: %d\n%s", code, body)
	}
	// The honeypot: thanks, but no ticket.
	code, body = post(t, e.base+"/support/new", url.Values{"email": {"bot@example.com"}, "subject": {"buy"}, "description": {"now"}, "website": {"http://spam"}})
	if code != 200 || linkRE.MatchString(body) {
		t.Fatalf("honeypot: %d", code)
	}
	code, body = post(t, e.base+"/support/new", url.Values{"name": {"Ann"}, "email": {"Ann@Example.com"}, "subject": {"VPN down"}, "description": {"since 9"}})
	m := linkRE.FindStringSubmatch(body)
	if code != http.StatusCreated || m == nil || !strings.Contains(body, "#1") {
		t.Fatalf("create: %d\n%s", code, body)
	}
	tk, err := e.st.Ticket(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Channel != model.ChannelWeb || tk.RequesterEmail != "ann@example.com" || tk.RequesterName != "Ann" || tk.Subject != "VPN down" {
		t.Fatalf("ticket %+v", tk)
	}
	evs, _ := e.st.TicketEvents(ctx, tk.ID)
	if len(evs) != 1 || evs[0].ActorKind != model.ActorRequester || evs[0].Actor != "ann@example.com" {
		t.Fatalf("events %+v", evs)
	}
	// Only the hash of the token is stored.
	var stored string
	e.st.DB.QueryRow(`SELECT token_hash FROM portal_links`).Scan(&stored)
	token := strings.TrimPrefix(m[1], "/support/t/")
	if stored != hashToken(token) || strings.Contains(stored, token) {
		t.Fatalf("stored %q for %q", stored, token)
	}
	if id, err := e.p.ticketOf(ctx, token); err != nil || id != tk.ID {
		t.Fatalf("link: %q %v", id, err)
	}
	if err := e.p.RevokeLinks(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.ticketOf(ctx, token); err != model.ErrNotFound {
		t.Fatalf("revoked link still works: %v", err)
	}

	// Rate limit per IP.
	e.p.SetRateLimit(time.Hour, 2)
	v := url.Values{"email": {"b@example.com"}, "subject": {"s"}, "description": {"d"}}
	post(t, e.base+"/support/new", v)
	post(t, e.base+"/support/new", v)
	req, _ := http.NewRequest("POST", e.base+"/support/new", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third post: %s", resp.Status)
	}
}
