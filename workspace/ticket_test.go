package workspace_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
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

var versionRe = regexp.MustCompile(`name="version" value="(\d+)"`)

// version reads the ticket version the page's forms carry (all alike).
func version(tb testing.TB, page string) string {
	tb.Helper()
	ms := versionRe.FindAllStringSubmatch(page, -1)
	if len(ms) == 0 {
		tb.Fatalf("no version field on the page")
	}
	for _, m := range ms {
		if m[1] != ms[0][1] {
			tb.Fatalf("the forms carry versions %s and %s", ms[0][1], m[1])
		}
	}
	return ms[0][1]
}

// TestStaleFormRefused: Ann and Bob open one ticket; Bob's note goes in,
// then Ann's reply made on the page she opened before is refused with 409:
// the page lists Bob's note as changed since, keeps her text, and its
// "Send anyway" (on the new version) stores it. A status form made on an
// old version keeps its choice.
func TestStaleFormRefused(t *testing.T) {
	e := startEnv(t)
	ann, annCSRF := e.user(t, "ann@example.com", model.RoleAgent)
	bob, bobCSRF := e.user(t, "bob@example.com", model.RoleAgent)
	path := "/tickets/" + strconv.FormatInt(e.numbers["t2"], 10)
	_, annPage, _ := e.get(t, ann, path)
	_, bobPage, _ := e.get(t, bob, path)
	seen := version(t, annPage)
	tk, _ := e.st.Ticket(context.Background(), strconv.FormatInt(e.numbers["t2"], 10))
	if seen != strconv.FormatInt(tk.UpdatedAt.UnixMicro(), 10) || version(t, bobPage) != seen {
		t.Fatalf("the page's version %s is not the ticket's updated_at %d", seen, tk.UpdatedAt.UnixMicro())
	}
	before := len(e.ticketEvents(t, "t2"))

	status, _, _ := e.post(t, bob, bobCSRF, path+"/comment", url.Values{"kind": {"note"}, "body": {"Bob checked the logs."}, "version": {seen}})
	if status != http.StatusSeeOther {
		t.Fatalf("Bob's note: %d", status)
	}
	status, page, _ := e.post(t, ann, annCSRF, path+"/comment", url.Values{"kind": {"reply"}, "body": {"Ann's answer"}, "version": {seen}})
	if status != http.StatusConflict {
		t.Fatalf("Ann's reply on the old version: %d, want 409", status)
	}
	changed := page[strings.Index(page, `<section class="card changed"`):]
	changed = changed[:strings.Index(changed, "</section>")]
	if strings.Count(changed, `<li class="ev`) != 1 || !strings.Contains(changed, `<li class="ev msg note">`) ||
		!strings.Contains(changed, "bob@example.com") || !strings.Contains(changed, "Bob checked the logs.") {
		t.Errorf("the changes since Ann's version:\n%s", changed)
	}
	for _, want := range []string{`id="body-error"`, ">Ann&#39;s answer</textarea>", ">Send anyway</button>", `value="reply" id="kind-reply" checked`} {
		if !strings.Contains(page, want) {
			t.Errorf("the refused page lacks %q", want)
		}
	}
	if got := len(e.ticketEvents(t, "t2")); got != before+1 {
		t.Fatalf("after the refusal: %d events, want %d (Bob's note only)", got, before+1)
	}
	now := version(t, page)
	if now == seen {
		t.Fatalf("the refused page carries the old version")
	}
	// Send anyway: the same form on the new version.
	status, _, h := e.post(t, ann, annCSRF, path+"/comment", url.Values{"kind": {"reply"}, "body": {"Ann's answer"}, "version": {now}})
	if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "done=reply") {
		t.Fatalf("send anyway: %d %s", status, h.Get("Location"))
	}
	events := e.ticketEvents(t, "t2")
	if last := events[len(events)-1]; len(events) != before+2 || deref(last.Body) != "Ann's answer" || last.Actor != "ann@example.com" {
		t.Errorf("after send anyway: %d events, last %q by %s", len(events), deref(last.Body), last.Actor)
	}

	// The status form on the version before Ann's reply: refused, the
	// choice kept, nothing stored; the priority form likewise.
	for _, c := range []struct{ action, field, value, id, button string }{
		{"/status", "status", "on_hold", "status-error", ">Set anyway</button>"},
		{"/priority", "priority", "urgent", "priority-error", ">Set anyway</button>"},
	} {
		status, page, _ = e.post(t, ann, annCSRF, path+c.action, url.Values{c.field: {c.value}, "version": {now}})
		if status != http.StatusConflict || !strings.Contains(page, `id="`+c.id+`"`) || !strings.Contains(page, c.button) ||
			!strings.Contains(page, `<option value="`+c.value+`" selected>`) {
			t.Errorf("POST %s on an old version: %d", c.action, status)
		}
	}
	// Assign to me: Bob, on the version before Ann's reply.
	if status, page, _ = e.post(t, bob, bobCSRF, path+"/assign", url.Values{"version": {now}}); status != http.StatusConflict ||
		!strings.Contains(page, ">Assign to me anyway</button>") {
		t.Errorf("Bob's assign on an old version: %d", status)
	}
	if got := len(e.ticketEvents(t, "t2")); got != before+2 {
		t.Errorf("refused forms stored events: %d, want %d", got, before+2)
	}
	if status, _, _ := e.post(t, ann, annCSRF, path+"/status", url.Values{"status": {"pending"}, "version": {"yesterday"}}); status != http.StatusBadRequest {
		t.Errorf("a malformed version: %d, want 400", status)
	}
}

// TestSendAndSetStatus: "Send and set pending" on a new ticket stores the
// reply, its follow-up (new -> open) and the change to pending; "Send and
// solve" the reply and the resolution; an unknown choice is refused.
func TestSendAndSetStatus(t *testing.T) {
	e := startEnv(t)
	ann, csrf := e.user(t, "ann@example.com", model.RoleAgent)
	for _, c := range []struct {
		name, then, done string
		want             []model.EventType
		status           model.Status
	}{
		{"t1", "pending", "reply-pending", []model.EventType{model.EventCommented, model.EventStatusChanged, model.EventStatusChanged}, model.StatusPending},
		{"t2", "resolved", "reply-resolved", []model.EventType{model.EventCommented, model.EventResolved}, model.StatusResolved},
	} {
		n := strconv.FormatInt(e.numbers[c.name], 10)
		path := "/tickets/" + n
		_, page, _ := e.get(t, ann, path)
		before := len(e.ticketEvents(t, c.name))
		status, _, h := e.post(t, ann, csrf, path+"/comment", url.Values{"kind": {"reply"}, "body": {"Done on our side."}, "then": {c.then}, "version": {version(t, page)}})
		if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), path+"?done="+c.done) {
			t.Fatalf("%s: %d %s", c.then, status, h.Get("Location"))
		}
		var got []model.EventType
		for _, ev := range e.ticketEvents(t, c.name)[before:] {
			got = append(got, ev.Type)
		}
		tk, _ := e.st.Ticket(context.Background(), n)
		if !slices.Equal(got, c.want) || tk.Status != c.status || tk.AgentReplies != 1 {
			t.Errorf("%s: events %v (want %v), status %s, %d replies", c.then, got, c.want, tk.Status, tk.AgentReplies)
		}
		if _, page, _ := e.get(t, ann, h.Get("Location")); !strings.Contains(page, done(c.done)) {
			t.Errorf("%s: no done message", c.then)
		}
	}
	path := "/tickets/" + strconv.FormatInt(e.numbers["t4"], 10)
	before := len(e.ticketEvents(t, "t4"))
	status, page, _ := e.post(t, ann, csrf, path+"/comment", url.Values{"kind": {"reply"}, "body": {"Kept"}, "then": {"closed"}})
	if status != 422 || !strings.Contains(page, `id="then-error"`) || !strings.Contains(page, ">Kept</textarea>") {
		t.Errorf("send and close: %d", status)
	}
	// t6 is resolved: a reply and pending is refused whole, the reply too.
	path6 := "/tickets/" + strconv.FormatInt(e.numbers["t6"], 10)
	before6 := len(e.ticketEvents(t, "t6"))
	if status, page, _ := e.post(t, ann, csrf, path6+"/comment", url.Values{"kind": {"reply"}, "body": {"Again"}, "then": {"pending"}}); status != 422 || !strings.Contains(page, `id="body-error"`) {
		t.Errorf("reply and pending on a resolved ticket: %d", status)
	}
	if len(e.ticketEvents(t, "t4")) != before || len(e.ticketEvents(t, "t6")) != before6 {
		t.Errorf("refused sends stored events")
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func done(key string) string {
	return map[string]string{"reply-pending": "Reply sent; the ticket is pending.", "reply-resolved": "Reply sent; the ticket is solved."}[key]
}

// TestTicketDetails: the details form sets type, category, team and tags
// in one post (one event each, in the commands' order), a second same
// post changes nothing, and each bad value is refused at its field with
// the input kept and nothing stored.
func TestTicketDetails(t *testing.T) {
	e := startEnv(t)
	ann, csrf := e.user(t, "ann@example.com", model.RoleAgent)
	n := strconv.FormatInt(e.numbers["t1"], 10)
	path := "/tickets/" + n
	good := url.Values{"type": {"question"}, "category": {" Invoices "}, "team": {"tech"}, "tags": {"VIP, Billing  vip"}}
	before := len(e.ticketEvents(t, "t1"))
	status, _, h := e.post(t, ann, csrf, path+"/details", good)
	if status != http.StatusSeeOther || h.Get("Location") != path+"?done=details" {
		t.Fatalf("details: %d %s", status, h.Get("Location"))
	}
	var got []model.EventType
	for _, ev := range e.ticketEvents(t, "t1")[before:] {
		got = append(got, ev.Type)
	}
	want := []model.EventType{model.EventCategoryChanged, model.EventTagsChanged, model.EventFieldsChanged, model.EventAssigned}
	tk, _ := e.st.Ticket(context.Background(), n)
	if !slices.Equal(got, want) || tk.Type != model.TypeQuestion || tk.Category != "Invoices" || tk.Team != "tech" ||
		!slices.Equal(tk.Tags, []string{"billing", "vip"}) {
		t.Errorf("events %v (want %v); ticket %s %q %s %v", got, want, tk.Type, tk.Category, tk.Team, tk.Tags)
	}
	_, page, _ := e.get(t, ann, path)
	for _, line := range []string{"category: — → Invoices", "tags: — → billing vip", "type: incident → question", "team: billing → tech",
		`<option value="tech" selected>`, `id="tags" value="billing vip"`, `id="category" value="Invoices"`} {
		if !strings.Contains(page, line) {
			t.Errorf("the ticket page lacks %q", line)
		}
	}
	if status, _, h := e.post(t, ann, csrf, path+"/details", good); status != http.StatusSeeOther || h.Get("Location") != path+"?done=same" {
		t.Errorf("the same details again: %d %s", status, h.Get("Location"))
	}

	before = len(e.ticketEvents(t, "t1"))
	for _, c := range []struct {
		field, value, id string
	}{
		{"type", "bug", "type-error"},
		{"category", strings.Repeat("c", model.MaxShort+1), "category-error"},
		{"team", "sales", "team-error"},
		{"tags", "ok " + strings.Repeat("t", 65), "tags-error"},
	} {
		form := url.Values{"type": {"task"}, "category": {"Kept category"}, "team": {"billing"}, "tags": {"kept"}}
		form.Set(c.field, c.value)
		status, page, _ := e.post(t, ann, csrf, path+"/details", form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, `class="field-error" id="`+c.id+`"`) {
			t.Errorf("%s %q: %d, no %s", c.field, c.value, status, c.id)
		}
		if c.field != "category" && !strings.Contains(page, `id="category" value="Kept category"`) {
			t.Errorf("%s refused: the category typed is not kept", c.field)
		}
	}
	if after := len(e.ticketEvents(t, "t1")); after != before {
		t.Errorf("refused details stored events: %d, then %d", before, after)
	}
	// A closed ticket is final: the refusal shows at the form.
	n7 := "/tickets/" + strconv.FormatInt(e.numbers["t7"], 10)
	if status, page, _ := e.post(t, ann, csrf, n7+"/details", url.Values{"type": {"task"}, "category": {""}, "team": {"tech"}, "tags": {""}}); status != 422 ||
		!strings.Contains(page, `id="details-error"`) {
		t.Errorf("details of a closed ticket: %d", status)
	}
	// On an old version: 409, and the button saves anyway.
	_, page, _ = e.get(t, ann, path)
	old := version(t, page)
	if _, err := e.w.Do(context.Background(), commentCmd(tk.ID, "meanwhile", false)); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"type": {"task"}, "category": {"Invoices"}, "team": {"tech"}, "tags": {"vip"}, "version": {old}}
	if status, page, _ := e.post(t, ann, csrf, path+"/details", form); status != http.StatusConflict ||
		!strings.Contains(page, ">Save details anyway</button>") || !strings.Contains(page, `<option value="task" selected>`) {
		t.Errorf("details on an old version: %d", status)
	}
}
