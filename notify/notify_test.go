package notify_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/mailer"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/notify"
	"github.com/deskpulse/deskpulse/portal"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

func TestTemplatesRender(t *testing.T) {
	resolved := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tk := &model.Ticket{ID: "t1", Number: 42, Subject: "Printer <jammed>", RequesterName: "Ann", Status: model.StatusResolved,
		Priority: model.PriorityHigh, Team: "IT", Assignee: "bob@example.com", ResolvedAt: &resolved}
	link := "https://help.example.com/support/t/TOKEN"
	d := &notify.Data{Ticket: tk, StatusURL: link, RatingURL: link + "#rate", Actor: "bob@example.com", Body: "Try <this> & that",
		Reason: "least_loaded", Rule: "ack", Extra: map[string]string{"due_at": "2026-11-24T09:00:00Z"}}
	want := map[string]struct{ subject, text, html string }{
		"ticket_created": {"[#42] We received your request: Printer <jammed>", "Follow it here: " + link + "\n", `<a href="` + link + `"`},
		"reply":          {"[#42] New reply: Printer <jammed>", "bob@example.com replied to your request #42:\n\nTry <this> & that\n\nReply to this e-mail to answer.\nFollow it here: " + link + "\n", "Try &lt;this&gt; &amp; that"},
		"resolved":       {"[#42] Resolved: Printer <jammed>", "Rate the support from 1 to 5: " + link + "#rate\n", `<a href="` + link + `#rate"`},
		"assigned":       {"[#42] Assigned to you: Printer <jammed>", "Why: least_loaded\n", "Printer &lt;jammed&gt;"},
		"mentioned":      {"[#42] bob@example.com mentioned you: Printer <jammed>", "Try <this> & that\n", "Try &lt;this&gt; &amp; that"},
		"escalated":      {"[#42] Escalated: Printer <jammed>", "SLA due: 2026-11-24T09:00:00Z\n", "by rule ack"},
	}
	if got := fmt.Sprint(notify.Templates()); got != "[assigned escalated mentioned reply resolved ticket_created]" {
		t.Errorf("templates: %s", got)
	}
	for name, w := range want {
		subject, text, html, err := notify.Render(name, d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if subject != w.subject || !strings.Contains(text, w.text) || !strings.Contains(html, w.html) {
			t.Errorf("%s:\nsubject %q\ntext %q\nhtml %s", name, subject, text, html)
		}
		if strings.Contains(html, "<jammed>") {
			t.Errorf("%s: HTML part not escaped: %s", name, html)
		}
	}
	_, _, _, err := notify.Render("nope", d)
	var ve *model.ValidationError
	if !asValidation(err, &ve) || ve.Field != "template" {
		t.Errorf("unknown template: %v", err)
	}
}

func asValidation(err error, ve **model.ValidationError) bool {
	v, ok := err.(*model.ValidationError)
	*ve = v
	return ok
}

// env is a real store and writer, the portal's routes (to open the links
// the e-mails carry) and a notifier sending to mailpit.
type env struct {
	t   *testing.T
	st  *store.Store
	w   *ingest.Writer
	mux *route.Table
	n   *notify.Notifier
	mp  *testtools.Mailpit
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mp := testtools.StartMailpit(t)
	db := filepath.Join(t.TempDir(), "deskpulse.duckdb")
	st, w := testtools.Store(t, db)
	mux := route.NewTable()
	portal.New(st, w, db).Register(mux)
	var set notify.Settings
	set.Enabled = true
	set.StatusURL = "https://help.example.com/support/t/{token}"
	set.ReplyTo = "support@help.example.com"
	set.Requester.Created, set.Requester.Reply, set.Requester.Resolved = true, true, true
	set.Agent.Assigned = true
	n := notify.New(st, set, mailer.SMTP{Host: "127.0.0.1", Port: mp.SMTPPort, TLS: "none", From: "help@example.com", Timeout: 5 * time.Second})
	t.Cleanup(func() {
		n.Close()
	})
	return &env{t: t, st: st, w: w, mux: mux, n: n, mp: mp}
}

// do commits a command and hands the batch to the notifier, as the
// automation engine does.
func (e *env) do(cmd ingest.Command) *model.Ticket {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.w.Do(ctx, cmd)
	if err != nil {
		e.t.Fatal(err)
	}
	e.n.Committed(ctx, res.Events, map[string]*model.Ticket{res.Ticket.ID: res.Ticket})
	return res.Ticket
}

func (e *env) get(url string) (int, string) {
	e.t.Helper()
	path := strings.TrimPrefix(url, "https://help.example.com")
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

var linkRE = regexp.MustCompile(`https://help\.example\.com/support/t/[A-Za-z0-9_-]{43}`)

// header is one header field of a message in mailpit ("" when absent).
func (e *env) header(m *testtools.Message, key string) string {
	return strings.Join(e.mp.Headers(e.t, m.ID)[key], ", ")
}

// TestRequesterMailsThreadWithStatusLinks: the acknowledgement, an agent's
// public reply and the resolution arrive at the real SMTP server as one
// thread (Message-ID, In-Reply-To, References, Reply-To, [#number]), each
// with a secret status link that opens the real status page; the
// resolution also links to the rating form. The agent's assignment mail
// carries none of that.
func TestRequesterMailsThreadWithStatusLinks(t *testing.T) {
	e := newEnv(t)
	agent := model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}
	tk := e.do(&ingest.CreateTicket{Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorRequester},
		Subject: "Printer jammed", Description: "On floor 2", Channel: model.ChannelWeb})
	e.do(&ingest.Assign{ID: tk.ID, Actor: model.Actor{Name: "carol@example.com", Kind: model.ActorAgent}, Assignee: model.Ptr("bob@example.com")})
	e.do(&ingest.Comment{ID: tk.ID, Actor: agent, Body: "Please restart it.", Public: true})
	e.do(&ingest.Comment{ID: tk.ID, Actor: agent, Body: "internal: toner low", Public: false})
	e.do(&ingest.Transition{ID: tk.ID, Actor: agent, Type: model.EventResolved})
	e.n.Start()

	msgs := e.mp.WaitFull(t, 4)
	if len(msgs) != 4 {
		t.Fatalf("%d mails, want 4", len(msgs))
	}
	bySubject := map[string]*testtools.Message{}
	for _, m := range msgs {
		bySubject[m.Subject] = m
	}
	ack := bySubject["[#1] We received your request: Printer jammed"]
	reply := bySubject["[#1] New reply: Printer jammed"]
	resolved := bySubject["[#1] Resolved: Printer jammed"]
	assigned := bySubject["[#1] Assigned to you: Printer jammed"]
	if ack == nil || reply == nil || resolved == nil || assigned == nil {
		t.Fatalf("subjects: %v", bySubject)
	}

	// One thread: the acknowledgement starts it (the ticket came by the
	// web), the later mails point to it.
	root := "<" + ack.MessageID + ">"
	// Reply-To is the ticket's secret reply address, the same in each.
	token, err := e.st.ReplyToken(context.Background(), tk.ID, time.Now())
	if err != nil || len(token) != 32 {
		t.Fatalf("reply token %q: %v", token, err)
	}
	replyTo := "<support+" + token + "@help.example.com>"
	if !regexp.MustCompile(`^notify\.[0-9a-f-]{36}@deskpulse$`).MatchString(ack.MessageID) {
		t.Errorf("Message-ID %q", ack.MessageID)
	}
	for _, c := range []struct {
		m                     *testtools.Message
		inReplyTo, references string
	}{{ack, "", ""}, {reply, root, root}, {resolved, root, root}} {
		got := fmt.Sprintf("In-Reply-To %q, References %q, Reply-To %q, To %s", e.header(c.m, "In-Reply-To"), e.header(c.m, "References"),
			e.header(c.m, "Reply-To"), c.m.To[0].Address)
		want := fmt.Sprintf("In-Reply-To %q, References %q, Reply-To %q, To ann@example.com", c.inReplyTo, c.references, replyTo)
		if got != want {
			t.Errorf("%s:\n%s\nwant\n%s", c.m.Subject, got, want)
		}
	}
	if h := e.header(assigned, "Reply-To") + e.header(assigned, "In-Reply-To"); h != "" || linkRE.MatchString(assigned.Text) {
		t.Errorf("the agent's mail has requester threading or a link: %q\n%s", h, assigned.Text)
	}
	// The acknowledgement answers (auto-replied), the rest is
	// auto-generated (RFC 3834), so responders stay silent.
	for m, want := range map[*testtools.Message]string{ack: "auto-replied", reply: "auto-generated", resolved: "auto-generated", assigned: "auto-generated"} {
		if got := e.header(m, "Auto-Submitted"); got != want {
			t.Errorf("%s: Auto-Submitted %q, want %q", m.Subject, got, want)
		}
	}

	// Every requester mail has a fresh link of its own that opens the
	// status page (internal notes never shown).
	links := map[string]bool{}
	for _, m := range []*testtools.Message{ack, reply, resolved} {
		link := linkRE.FindString(m.Text)
		if link == "" || !strings.Contains(m.HTML, `href="`+link) {
			t.Fatalf("%s: no status link:\n%s", m.Subject, m.Text)
		}
		links[link] = true
		code, page := e.get(link)
		if code != 200 || !strings.Contains(page, "#1 Printer jammed") || !strings.Contains(page, "Please restart it.") || strings.Contains(page, "toner") {
			t.Errorf("%s: GET %s: %d\n%s", m.Subject, link, code, page)
		}
	}
	if len(links) != 3 {
		t.Errorf("%d distinct links in 3 mails", len(links))
	}
	var stored int
	e.st.DB.QueryRow(`SELECT count(*) FROM portal_links WHERE ticket_id = ?`, tk.ID).Scan(&stored)
	if stored != 3 {
		t.Errorf("%d links stored, want 3", stored)
	}

	// The resolution mail's rating link is the status page's rating form.
	rating := linkRE.FindString(resolved.Text) + "#rate"
	if !strings.Contains(resolved.Text, "Rate the support from 1 to 5: "+rating) {
		t.Errorf("resolution mail without the rating link %s:\n%s", rating, resolved.Text)
	}
	if _, page := e.get(strings.TrimSuffix(rating, "#rate")); !strings.Contains(page, `<h2 id="rate">`) || !strings.Contains(page, `name="score" value="5"`) {
		t.Errorf("status page of a resolved ticket has no rating form:\n%s", page)
	}
	// Each score in the HTML part opens the form with that score chosen;
	// opening it rates nothing (mail scanners follow links).
	base := strings.TrimSuffix(rating, "#rate")
	for score := 1; score <= 5; score++ {
		link := fmt.Sprintf("%s?score=%d#rate", base, score)
		if !strings.Contains(resolved.HTML, `href="`+link+`"`) {
			t.Fatalf("resolution mail has no link for score %d (%s):\n%s", score, link, resolved.HTML)
		}
	}
	if _, page := e.get(base + "?score=4"); !strings.Contains(page, `value="4" required checked`) || strings.Count(page, " checked") != 1 {
		t.Errorf("score link does not preselect 4:\n%s", page)
	}
	if _, page := e.get(base + "?score=9"); strings.Contains(page, " checked") {
		t.Error("score 9 preselected something")
	}
	var rated int
	e.st.DB.QueryRow(`SELECT count(*) FROM events WHERE ticket_id = ? AND type = 'csat_rated'`, tk.ID).Scan(&rated)
	if rated != 0 {
		t.Errorf("opening rating links stored %d ratings", rated)
	}
	if strings.Contains(ack.Text, "#rate") || strings.Contains(reply.Text, "#rate") {
		t.Error("a rating link before the resolution")
	}
}

// TestRepliesThreadUnderTheRequestersMail: for a ticket that came by
// e-mail, the reply points to the requester's original Message-ID, and
// after the requester answered, to that answer too.
func TestRepliesThreadUnderTheRequestersMail(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := model.NewID()
	at := time.Now()
	if _, err := e.st.AddMailMessage(ctx, "<orig@example.com>", id, store.MailIn, at); err != nil {
		t.Fatal(err)
	}
	tk := e.do(&ingest.CreateTicket{ID: id, Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorRequester},
		Subject: "VPN down", Description: "since 9", Channel: model.ChannelEmail})
	if _, err := e.st.AddMailMessage(ctx, "answer@example.com", id, store.MailIn, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	e.do(&ingest.Comment{ID: tk.ID, Actor: model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}, Body: "On it.", Public: true})
	e.n.Start()
	msgs := e.mp.WaitFull(t, 2)
	if len(msgs) != 2 {
		t.Fatalf("%d mails, want 2", len(msgs))
	}
	for _, m := range msgs {
		var want [2]string
		switch m.Subject {
		case "[#1] We received your request: VPN down":
			want = [2]string{"<orig@example.com>", "<orig@example.com>"}
		case "[#1] New reply: VPN down":
			want = [2]string{"<answer@example.com>", "<orig@example.com> <answer@example.com>"}
		default:
			t.Fatalf("unexpected mail %q", m.Subject)
		}
		if got := [2]string{e.header(m, "In-Reply-To"), e.header(m, "References")}; got != want {
			t.Errorf("%s: In-Reply-To, References = %q, want %q", m.Subject, got, want)
		}
		// The sent mail is recorded with the ticket, so a reply to it
		// threads (package mailin).
		if ticket, err := e.st.MailTicket(ctx, []string{"<" + m.MessageID + ">"}); err != nil || ticket != tk.ID {
			t.Errorf("%s: Message-ID %s recorded for %q (%v)", m.Subject, m.MessageID, ticket, err)
		}
	}
}

// TestAcknowledgementsPerAddressHour: one address gets at most
// max_acks_per_hour acknowledgements in an hour, however many tickets it
// opens (an autoresponder changing its subject); other addresses and
// other mails to it are not held back, and an hour later it gets one
// again.
func TestAcknowledgementsPerAddressHour(t *testing.T) {
	e := newEnv(t)
	e.n.Start() // the env's notifier is replaced by one with a cap
	e.n.Close()
	var set notify.Settings
	set.Enabled, set.ReplyTo = true, "support@help.example.com"
	set.Requester.Created, set.Requester.Reply, set.Requester.MaxAcksPerHour = true, true, 2
	e.n = notify.New(e.st, set, mailer.SMTP{Host: "127.0.0.1", Port: e.mp.SMTPPort, TLS: "none", From: "help@example.com", Timeout: 5 * time.Second})
	now := time.Now()
	e.n.Now = func() time.Time { return now }
	t.Cleanup(func() { e.n.Close() })
	bot := model.Actor{Name: "Bot@example.org", Kind: model.ActorRequester}
	var last *model.Ticket
	for i := range 5 {
		last = e.do(&ingest.CreateTicket{Actor: bot, Subject: fmt.Sprintf("Auto %d", i), Channel: model.ChannelEmail})
	}
	e.do(&ingest.CreateTicket{Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorRequester}, Subject: "Mine", Channel: model.ChannelEmail})
	e.do(&ingest.Comment{ID: last.ID, Actor: model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}, Body: "Hello.", Public: true})
	now = now.Add(61 * time.Minute)
	e.do(&ingest.CreateTicket{Actor: bot, Subject: "Auto later", Channel: model.ChannelEmail})
	e.n.Start()
	var got []string
	for _, m := range e.mp.WaitFull(t, 5) {
		got = append(got, m.To[0].Address+": "+m.Subject)
	}
	slices.Sort(got)
	want := []string{
		"Bot@example.org: [#1] We received your request: Auto 0",
		"Bot@example.org: [#2] We received your request: Auto 1",
		"Bot@example.org: [#5] New reply: Auto 4",
		"Bot@example.org: [#7] We received your request: Auto later",
		"ann@example.com: [#6] We received your request: Mine",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mails:\n%q\nwant\n%q", got, want)
	}
}
