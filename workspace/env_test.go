package workspace_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/dashboards"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/portal"
	"github.com/deskpulse/deskpulse/store"
	"github.com/deskpulse/deskpulse/workspace"
)

// env is the workspace as Main.Run mounts it (API, portal and workspace
// on one route table behind the real gate) over a small fixture in a
// temporary DuckDB file.
type env struct {
	st     *store.Store
	w      *ingest.Writer
	m      *metrics.Engine
	auth   *auth.Service
	portal *portal.Portal
	srv    *httptest.Server
	// numbers maps a fixture ticket's name (t1...t7) to its number.
	numbers map[string]int64
}

// The fixture, as the counts tests compute by hand. Ann is an agent in
// billing, Bob in tech; Mia is a manager who is not an agent.
//
//	t1 billing  unassigned  new
//	t2 billing  ann         open
//	t3 tech     unassigned  new      urgent: its 1-minute first response is breached
//	t4 billing  bob         pending
//	t5 —        unassigned  on_hold
//	t6 billing  ann         resolved
//	t7 tech     bob         closed
func startEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "ws.duckdb")
	st, w := testtools.Store(tb, path)
	cfg := metrics.DefaultConfig()
	cfg.SLA.Policies = []metrics.Policy{
		{Name: "Urgent", Match: map[string][]string{"priority": {"urgent"}}, FirstResponse: time.Minute, Resolution: time.Hour},
		{Name: "Default", FirstResponse: 8 * time.Hour, Resolution: 40 * time.Hour},
	}
	// The metrics' clock runs 10 minutes ahead, so the urgent ticket's
	// first response is overdue at once.
	cfg.Now = func() time.Time { return time.Now().Add(10 * time.Minute) }
	m, err := metrics.New(st, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := api.New(ctx, st, w, m)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{st: st, w: w, m: m, auth: auth.New(st), numbers: map[string]int64{}}
	dashboards.Register(a.Routes(), m, st)
	ws := workspace.New(st, w, m).Register(a.Routes())
	e.portal = portal.New(st, w, path).Register(a.Routes())
	e.portal.KB.APIRoutes(a.Routes())
	gate := auth.NewGate(e.auth, 0)
	gate.Routes(a.Routes())
	gate.Home = workspace.Home
	e.srv = httptest.NewServer(gate.Wrap(a.Routes(), a.Handler()))
	tb.Cleanup(e.srv.Close)
	tb.Cleanup(ws.Close) // runs before srv.Close (last registered, first run), which waits for open streams

	for _, team := range []string{"billing", "tech"} {
		if err := st.CreateTeam(ctx, &model.Team{Name: team, CreatedAt: time.Now()}); err != nil {
			tb.Fatal(err)
		}
	}
	for _, ag := range []model.Agent{
		{Email: "ann@example.com", Name: "Ann Agent", Teams: []string{"billing"}},
		{Email: "bob@example.com", Name: "Bob Agent", Teams: []string{"tech"}},
	} {
		ag.CreatedAt = time.Now()
		if err := ag.Validate(); err != nil {
			tb.Fatal(err)
		}
		if err := st.CreateAgent(ctx, &ag); err != nil {
			tb.Fatal(err)
		}
	}
	sys := model.Actor{Name: "fixture", Kind: model.ActorSystem}
	do := func(cmd ingest.Command) *ingest.Result {
		res, err := w.Do(ctx, cmd)
		if err != nil {
			tb.Fatal(err)
		}
		return res
	}
	for _, f := range []struct {
		name, team, assignee string
		prio                 model.Priority
		status               []model.Status
	}{
		{"t1", "billing", "", "", nil},
		{"t2", "billing", "ann@example.com", "", []model.Status{model.StatusOpen}},
		{"t3", "tech", "", model.PriorityUrgent, nil},
		{"t4", "billing", "bob@example.com", "", []model.Status{model.StatusPending}},
		{"t5", "", "", "", []model.Status{model.StatusOnHold}},
		{"t6", "billing", "ann@example.com", "", []model.Status{model.StatusResolved}},
		{"t7", "tech", "bob@example.com", "", []model.Status{model.StatusResolved, model.StatusClosed}},
	} {
		res := do(&ingest.CreateTicket{Actor: model.Actor{Name: "rita@example.com", Kind: model.ActorRequester},
			Subject: "Ticket " + f.name, Description: "About " + f.name, RequesterName: "Rita Requester",
			RequesterEmail: "rita@example.com", Priority: f.prio, Channel: model.ChannelWeb, Team: f.team, Assignee: f.assignee})
		e.numbers[f.name] = res.Ticket.Number
		for _, s := range f.status {
			do(&ingest.SetStatus{ID: res.Ticket.ID, Actor: sys, Status: s})
		}
	}
	return e
}

// token adds a user and returns its API token.
func (e *env) token(tb testing.TB, email, name string, role model.Role) string {
	tb.Helper()
	token, err := e.auth.AddUser(context.Background(), "test", &model.User{Email: email, Name: name, Role: role})
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

// user adds a user and returns a signed-in session: its cookie and CSRF
// token.
func (e *env) user(tb testing.TB, email string, role model.Role) (cookie, csrf string) {
	tb.Helper()
	cookie, sess, err := e.auth.SignIn(context.Background(), email, e.token(tb, email, email, role))
	if err != nil {
		tb.Fatal(err)
	}
	return cookie, sess.CSRF
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get fetches path with the session cookie; it does not follow redirects.
func (e *env) get(tb testing.TB, cookie, path string) (int, string, http.Header) {
	tb.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "deskpulse_session", Value: cookie})
	return send(tb, req)
}

// post sends a form with the session cookie (and csrf when not "").
func (e *env) post(tb testing.TB, cookie, csrf, path string, form url.Values) (int, string, http.Header) {
	tb.Helper()
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "deskpulse_session", Value: cookie})
	return send(tb, req)
}

func send(tb testing.TB, req *http.Request) (int, string, http.Header) {
	tb.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var countRe = regexp.MustCompile(`data-view="(\w+)"[^>]*><span class="name">[^<]*</span> <span class="count">(\d+)</span>`)

// counts reads the views' counts from the inbox navigation.
func counts(tb testing.TB, page string) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, m := range countRe.FindAllStringSubmatch(page, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

// rows reads the ticket numbers listed on an inbox page, in order.
func rows(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr data-number="(\d+)">`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func commentCmd(id, body string, public bool) ingest.Command {
	return &ingest.Comment{ID: id, Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorAgent}, Body: body, Public: public}
}
