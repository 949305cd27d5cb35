package workspace_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/model"
)

func (e *env) ticketEvents(tb testing.TB, name string) []*model.Event {
	tb.Helper()
	t, err := e.st.Ticket(context.Background(), strconv.FormatInt(e.numbers[name], 10))
	if err != nil {
		tb.Fatal(err)
	}
	events, err := e.st.TicketEvents(context.Background(), t.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return events
}

// TestFormsNeedTheCSRFToken: a cookie-authenticated form post without the
// session's token, or with another one, is refused and stores nothing.
func TestFormsNeedTheCSRFToken(t *testing.T) {
	e := startEnv(t)
	ann, _ := e.user(t, "ann@example.com", model.RoleAgent)
	path := "/tickets/" + strconv.FormatInt(e.numbers["t1"], 10)
	before := len(e.ticketEvents(t, "t1"))
	for _, f := range []struct{ action, field, value string }{
		{"/comment", "body", "hello"}, {"/assign", "", ""}, {"/status", "status", "pending"}, {"/priority", "priority", "high"},
	} {
		for _, token := range []string{"", "not-the-token"} {
			form := url.Values{"kind": {"reply"}}
			if f.field != "" {
				form.Set(f.field, f.value)
			}
			status, body, _ := e.post(t, ann, token, path+f.action, form)
			if status != http.StatusForbidden || !strings.Contains(body, "CSRF") {
				t.Errorf("POST %s with csrf %q: %d %s", f.action, token, status, body)
			}
		}
	}
	if after := len(e.ticketEvents(t, "t1")); after != before {
		t.Errorf("refused posts stored events: %d, then %d", before, after)
	}
}

// TestTicketForms drives each form as a browser without script would:
// assign to me, a reply, a note, status and priority, each stored as the
// API's command would store it (an agent's event), then refused input
// shown at its field with nothing stored.
func TestTicketForms(t *testing.T) {
	e := startEnv(t)
	ann, csrf := e.user(t, "ann@example.com", model.RoleAgent)
	n := strconv.FormatInt(e.numbers["t1"], 10)
	path := "/tickets/" + n

	steps := []struct {
		action string
		form   url.Values
		done   string
		event  model.EventType
	}{
		{"/assign", url.Values{}, "assign", model.EventAssigned},
		{"/comment", url.Values{"kind": {"reply"}, "body": {"We are on it."}}, "reply", model.EventCommented},
		{"/comment", url.Values{"kind": {"note"}, "body": {"Checked the invoice."}}, "note", model.EventCommented},
		{"/status", url.Values{"status": {"pending"}}, "status", model.EventStatusChanged},
		{"/priority", url.Values{"priority": {"high"}}, "priority", model.EventPriorityChanged},
	}
	for _, s := range steps {
		before := len(e.ticketEvents(t, "t1"))
		status, body, h := e.post(t, ann, csrf, path+s.action, s.form)
		loc := h.Get("Location")
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, path+"?done="+s.done) {
			t.Fatalf("POST %s: %d %q %s", s.action, status, loc, body)
		}
		events := e.ticketEvents(t, "t1")
		ev := events[before]
		if ev.Type != s.event || ev.Actor != "ann@example.com" || ev.ActorKind != model.ActorAgent {
			t.Errorf("POST %s stored %s by %s (%s)", s.action, ev.Type, ev.Actor, ev.ActorKind)
		}
	}
	// The reply to a new ticket opened it (the Comment command's rule),
	// and the conversation shows each entry in order.
	tk, _ := e.st.Ticket(context.Background(), n)
	if tk.Assignee != "ann@example.com" || tk.Status != model.StatusPending || tk.Priority != model.PriorityHigh || tk.AgentReplies != 1 || tk.FirstResponseAt == nil {
		t.Errorf("ticket after the forms: %+v", tk)
	}
	_, page, _ := e.get(t, ann, path+"?done=note")
	for _, want := range []string{
		`<li class="ev msg message">`, "About t1", // the requester's message
		"assignee: — → ann@example.com",
		`<li class="ev msg reply">`, "We are on it.",
		"status: new → open", // the reply's follow-up event
		`<li class="ev msg note">`, "internal note", "Checked the invoice.",
		"status: open → pending", "priority: normal → high",
		`role="status">Internal note added.`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the ticket page lacks %q", want)
		}
	}
	if i, j := strings.Index(page, "We are on it."), strings.Index(page, "Checked the invoice."); i < 0 || j < i {
		t.Errorf("the reply and the note are not in order")
	}
	// The requester panel lists Rita's other six tickets, with status.
	if got := strings.Count(page, `<ul class="others">`); got != 1 {
		t.Fatalf("requester panel: %d lists", got)
	}
	others := page[strings.Index(page, `<ul class="others">`):]
	others = others[:strings.Index(others, "</ul>")]
	if got := strings.Count(others, "<li>"); got != 6 || !strings.Contains(others, `status-closed">closed`) {
		t.Errorf("other tickets: %d\n%s", got, others)
	}

	// Refused input: the page comes back with the error at its field and
	// the text kept; nothing is stored.
	before := len(e.ticketEvents(t, "t1"))
	for _, c := range []struct {
		action string
		form   url.Values
		id     string
	}{
		{"/comment", url.Values{"kind": {"reply"}, "body": {"   "}}, "body-error"},
		{"/comment", url.Values{"kind": {"shout"}, "body": {"Kept text"}}, "kind-error"},
		{"/comment", url.Values{"kind": {"note"}, "body": {strings.Repeat("x", model.MaxText+1)}}, "body-error"},
		{"/status", url.Values{"status": {"new"}}, "status-error"},
		{"/priority", url.Values{"priority": {"asap"}}, "priority-error"},
	} {
		status, body, _ := e.post(t, ann, csrf, path+c.action, c.form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `class="field-error" id="`+c.id+`"`) {
			t.Errorf("POST %s %v: %d, no %s", c.action, c.form.Get("kind"), status, c.id)
		}
		if c.form.Get("body") == "Kept text" && !strings.Contains(body, ">Kept text</textarea>") {
			t.Errorf("the refused text was not kept")
		}
	}
	if after := len(e.ticketEvents(t, "t1")); after != before {
		t.Errorf("refused forms stored events: %d, then %d", before, after)
	}
	// Closed is final: the state machine's refusal shows at the status.
	n7 := "/tickets/" + strconv.FormatInt(e.numbers["t7"], 10)
	if status, body, _ := e.post(t, ann, csrf, n7+"/status", url.Values{"status": {"open"}}); status != 422 || !strings.Contains(body, `id="status-error"`) {
		t.Errorf("reopening a closed ticket: %d", status)
	}
	if status, body, _ := e.post(t, ann, csrf, n7+"/comment", url.Values{"kind": {"reply"}, "body": {"Anyone there?"}}); status != 422 ||
		!strings.Contains(body, `id="body-error"`) || !strings.Contains(body, ">Anyone there?</textarea>") {
		t.Errorf("a reply to a closed ticket: %d", status)
	}

	// A manager who is not an agent may not take tickets (as in the API).
	mia, miaCSRF := e.user(t, "mia@example.com", model.RoleManager)
	status, body, _ := e.post(t, mia, miaCSRF, path+"/assign", url.Values{})
	if status != 422 || !strings.Contains(body, `id="assignee-error"`) || !strings.Contains(body, "is not an agent") {
		t.Errorf("a manager's assign to me: %d", status)
	}
	if _, page, _ := e.get(t, mia, path); strings.Contains(page, `id="assign-me"`) {
		t.Errorf("the page offers a non-agent to take the ticket")
	}
	if status, _, _ := e.get(t, ann, "/tickets/99999"); status != 404 {
		t.Errorf("an unknown ticket: %d", status)
	}
}

// TestLanding: agents and managers land on the inbox after the sign-in
// form and when they open /; a sign-in for another page still goes there;
// an analyst lands on the dashboards.
func TestLanding(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, u := range []struct {
		email string
		role  model.Role
	}{{"ann@example.com", model.RoleAgent}, {"mia@example.com", model.RoleManager}, {"lena@example.com", model.RoleAnalyst}} {
		tok, err := e.auth.AddUser(ctx, "test", &model.User{Email: u.email, Name: u.email, Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		tokens[u.email] = tok
	}
	signIn := func(email, next string) (*http.Client, string) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: noRedirect.CheckRedirect}
		resp, err := c.Get(e.srv.URL + "/signin")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no csrf on the sign-in page")
		}
		resp, err = c.PostForm(e.srv.URL+"/signin", url.Values{"csrf": {string(m[1])}, "email": {email}, "secret": {tokens[email]}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return c, resp.Header.Get("Location")
	}
	// Five sign-ins: the per-address sign-in limit's burst.
	clients := map[string]*http.Client{}
	for _, c := range []struct{ email, next, want string }{
		{"ann@example.com", "", "/inbox"},
		{"ann@example.com", "/", "/inbox"},
		{"mia@example.com", "", "/inbox"},
		{"ann@example.com", "/tickets/3", "/tickets/3"},
		{"lena@example.com", "", "/"},
	} {
		client, got := signIn(c.email, c.next)
		if got != c.want {
			t.Errorf("%s signs in for %q: sent to %q, want %q", c.email, c.next, got, c.want)
		}
		clients[c.email] = client
	}
	// Opening / : an agent is sent to the inbox instead of a 403; an
	// analyst sees the dashboards.
	c := clients["ann@example.com"]
	resp, err := c.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox" {
		t.Errorf("an agent opens /: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c = clients["lena@example.com"]
	resp, err = c.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("an analyst opens /: %d", resp.StatusCode)
	}
	resp, err = c.Get(e.srv.URL + "/inbox")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an analyst opens the inbox: %d", resp.StatusCode)
	}
}
