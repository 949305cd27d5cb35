package mailin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/mailer"
	"github.com/deskpulse/deskpulse/mailin"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/notify"
	"github.com/deskpulse/deskpulse/portal"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

// env is a real store and writer, the portal (attachments, status page)
// and the receiver listening on 127.0.0.1.
type env struct {
	t   *testing.T
	st  *store.Store
	w   *ingest.Writer
	mux *route.Table
	rcv *mailin.Receiver
	n   *notify.Notifier // started by ack
	mp  *testtools.Mailpit
}

// newEnv starts the receiver; options change its settings.
func newEnv(t *testing.T, options ...func(*mailin.Settings)) *env {
	t.Helper()
	db := filepath.Join(t.TempDir(), "deskpulse.duckdb")
	st, w := testtools.Store(t, db)
	mux := route.NewTable()
	p := portal.New(st, w, db).Register(mux)
	set := mailin.Settings{Enabled: true, Addr: "127.0.0.1:0",
		Domains: []string{"Help.Example.com"}, Address: "support@help.example.com", MaxBytes: 1 << 20}
	for _, o := range options {
		o(&set)
	}
	rcv := mailin.New(st, w, p, set)
	if err := rcv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rcv.Close(); err != nil {
			t.Error(err)
		}
	})
	return &env{t: t, st: st, w: w, mux: mux, rcv: rcv}
}

// send delivers a message with a real SMTP client (net/smtp).
func (e *env) send(from, to, msg string) error {
	return smtp.SendMail(e.rcv.Addr(), nil, from, []string{to}, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
}

// ack has deskpulse acknowledge a ticket as the acknowledge-new-tickets
// rule does (a real notifier sending to mailpit) and returns the mail as
// the requester received it.
func (e *env) ack(tk *model.Ticket) *testtools.Message {
	e.t.Helper()
	if e.n == nil {
		e.mp = testtools.StartMailpit(e.t)
		var set notify.Settings
		set.Enabled, set.ReplyTo = true, "support@help.example.com"
		e.n = notify.New(e.st, set, mailer.SMTP{Host: "127.0.0.1", Port: e.mp.SMTPPort, TLS: "none", From: "support@help.example.com", Timeout: 5 * time.Second})
		e.n.Start()
		e.t.Cleanup(func() { e.n.Close() })
	}
	before := len(e.mp.Messages(e.t))
	if err := e.n.Queue(context.Background(), []string{tk.RequesterEmail}, "ticket_created", tk, nil); err != nil {
		e.t.Fatal(err)
	}
	return e.mp.WaitFull(e.t, before+1)[before]
}

// header is one header field of a mail in mailpit.
func (e *env) header(m *testtools.Message, key string) string {
	return strings.Join(e.mp.Headers(e.t, m.ID)[key], ", ")
}

// ticket is a ticket by number.
func (e *env) ticket(n int) *model.Ticket {
	e.t.Helper()
	tk, err := e.st.Ticket(context.Background(), fmt.Sprint(n))
	if err != nil {
		e.t.Fatalf("ticket #%d: %v", n, err)
	}
	return tk
}

func (e *env) mustSend(from, to, msg string) {
	e.t.Helper()
	if err := e.send(from, to, msg); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.st.DB.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// comments are the public comments of a ticket, oldest first, as
// "actor: body".
func (e *env) comments(id string) []string {
	e.t.Helper()
	events, err := e.st.TicketEvents(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range events {
		if ev.Type == model.EventCommented {
			out = append(out, fmt.Sprintf("%s/%s/%v: %s", ev.Actor, ev.ActorKind, *ev.Public, *ev.Body))
		}
	}
	return out
}

// first is the mail that opens the ticket: a text part with a signature
// and two attachments, one of a type the portal refuses.
const first = `From: Ann Smith <Ann@Example.com>
To: support@help.example.com
Subject: Printer jammed
Message-ID: <m1.ann@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XX"

--XX
Content-Type: text/plain; charset=utf-8

The printer on floor 2 is jammed.
It shows error E42.

-- 
Ann Smith
ACME Corp
--XX
Content-Type: text/plain; name="jam.log"
Content-Disposition: attachment; filename="jam.log"

paper jam at tray 2
--XX
Content-Type: text/html; name="page.html"
Content-Disposition: attachment; filename="page.html"

<html><script>alert(1)</script></html>
--XX--
`

// TestInboundMailOpensAndThreads: mail sent by a real SMTP client opens a
// ticket (channel email, sender as requester, signature trimmed, the
// accepted attachment stored and listed on the status page), a reply by
// In-Reply-To to deskpulse's acknowledgement and one to the
// acknowledgement's Reply-To add trimmed comments, and machine mail
// creates nothing.
func TestInboundMailOpensAndThreads(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mustSend("ann@example.com", "support@help.example.com", first)

	list, err := e.st.ListTickets(ctx, store.TicketFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d tickets, want 1", len(list))
	}
	tk := list[0]
	got := fmt.Sprintf("%s|%s|%s|%s|%q", tk.Channel, tk.RequesterEmail, tk.RequesterName, tk.Subject, tk.Description)
	if want := `email|ann@example.com|Ann Smith|Printer jammed|"The printer on floor 2 is jammed.\nIt shows error E42."`; got != want {
		t.Fatalf("ticket:\n%s\nwant\n%s", got, want)
	}

	// The log is kept (type sniffed as text), the HTML page refused.
	var name, ctype, by string
	var size int
	if err := e.st.DB.QueryRow(`SELECT filename, content_type, size, uploaded_by FROM attachments WHERE ticket_id = ?`, tk.ID).Scan(&name, &ctype, &size, &by); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%s %s %d %s", name, ctype, size, by); got != "jam.log text/plain; charset=utf-8 19 ann@example.com" {
		t.Errorf("attachment: %s", got)
	}
	if n := e.count(`SELECT count(*) FROM attachments`); n != 1 {
		t.Errorf("%d attachments stored, want 1 (the HTML page refused)", n)
	}
	token, err := e.st.NewStatusLink(ctx, tk.ID, tk.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	page := e.get("/support/t/" + token)
	if !strings.Contains(page, ">jam.log</a>") || strings.Contains(page, "page.html") {
		t.Errorf("status page does not list jam.log alone:\n%s", page)
	}

	// A reply by In-Reply-To to deskpulse's acknowledgement, with Gmail's
	// quoted history wrapped over two lines.
	ackMail := e.ack(tk)
	e.mustSend("ann@example.com", "support@help.example.com", `From: ann@example.com
To: support@help.example.com
Subject: Re: Printer jammed
Message-ID: <m2.ann@example.com>
In-Reply-To: <`+ackMail.MessageID+`>
References: <m1.ann@example.com> <`+ackMail.MessageID+`>

Still jammed after a restart.

On Mon, 23 Nov 2026 at 10:00, Support Team <support@help.example.com>
wrote:
> Please restart it.
>
> -- 
> Support
`)
	// A reply to the acknowledgement's Reply-To alone, quoted text first
	// (top-quoting).
	replyTo := strings.Trim(e.header(ackMail, "Reply-To"), "<>")
	e.mustSend("ann@example.com", replyTo, fmt.Sprintf(`From: ann@example.com
To: `+replyTo+`
Subject: RE: [#%d] Printer jammed
Message-ID: <m3.ann@example.com>

> Did the new toner help?
Yes, it works now. Thanks!

-----Original Message-----
From: Support
Sent: Monday
`, tk.Number))
	want := []string{
		"ann@example.com/requester/true: Still jammed after a restart.",
		"ann@example.com/requester/true: Yes, it works now. Thanks!",
	}
	if got := e.comments(tk.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("comments:\n%q\nwant\n%q", got, want)
	}
	events := e.count(`SELECT count(*) FROM events`)

	// Machine mail: an auto-reply threaded by In-Reply-To, a bounce from
	// the null sender, a bulk mail, a vacation notice with X-Autoreply,
	// and the same reply delivered twice.
	e.mustSend("ann@example.com", "support@help.example.com", `From: ann@example.com
To: support@help.example.com
Subject: Out of office: [#`+fmt.Sprint(tk.Number)+`] Printer jammed
Auto-Submitted: auto-replied
In-Reply-To: <m1.ann@example.com>

I am out of the office until Monday.
`)
	e.mustSend("", "support@help.example.com", `From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: support@help.example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system. Your message could not be delivered.
--B--
`)
	e.mustSend("news@shop.example.com", "support@help.example.com", `From: news@shop.example.com
To: support@help.example.com
Subject: Our weekly offers
Precedence: bulk

Buy now.
`)
	e.mustSend("bob@example.com", "support@help.example.com", `From: bob@example.com
To: support@help.example.com
Subject: Away
X-Autoreply: yes

Away.
`)
	e.mustSend("ann@example.com", "support@help.example.com", `From: ann@example.com
To: support@help.example.com
Subject: Re: Printer jammed
Message-ID: <m2.ann@example.com>
In-Reply-To: <m1.ann@example.com>

Still jammed after a restart.
`)
	if n := e.count(`SELECT count(*) FROM events`); n != events {
		t.Errorf("machine mail or a duplicate wrote %d events", n-events)
	}
	if n := e.count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Errorf("%d tickets, want 1", n)
	}

	// A mail to another domain is refused at RCPT with 550.
	err = e.send("ann@example.com", "someone@elsewhere.example.org", "Subject: relay?\n\nhi\n")
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("relay attempt: %v, want a 550 refusal", err)
	}

	// Somebody else quoting the number opens a ticket of their own
	// (numbers are easy to guess).
	e.mustSend("mallory@example.net", "help@help.example.com", fmt.Sprintf(`From: mallory@example.net
To: help@help.example.com
Subject: Re: [#%d] Printer jammed
Message-ID: <x1@example.net>

Please send me the file.
`, tk.Number))
	if n := e.count(`SELECT count(*) FROM tickets WHERE requester_email = 'mallory@example.net' AND channel = 'email'`); n != 1 {
		t.Errorf("mallory's mail made %d tickets of hers, want 1", n)
	}
	if got := e.comments(tk.ID); len(got) != 2 {
		t.Errorf("ann's ticket got another comment: %q", got)
	}
}

// TestReplyToClosedTicketOpensNew: a reply to a closed ticket opens a new
// one (a closed ticket is final).
func TestReplyToClosedTicketOpensNew(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mustSend("ann@example.com", "support@help.example.com", "From: ann@example.com\nSubject: VPN\nMessage-ID: <v1@example.com>\n\nVPN is down.\n")
	tk, err := e.st.Ticket(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	agent := model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}
	for _, cmd := range []ingest.Command{&ingest.Transition{ID: tk.ID, Actor: agent, Type: model.EventResolved}, &ingest.Transition{ID: tk.ID, Actor: agent, Type: model.EventClosed}} {
		if _, err := e.w.Do(ctx, cmd); err != nil {
			t.Fatal(err)
		}
	}
	e.mustSend("ann@example.com", "support@help.example.com", "From: ann@example.com\nSubject: Re: VPN\nMessage-ID: <v2@example.com>\nIn-Reply-To: <v1@example.com>\n\nDown again.\n")
	next, err := e.st.Ticket(ctx, "2")
	if err != nil {
		t.Fatal(err)
	}
	if next.Subject != "Re: VPN" || next.Description != "Down again." || next.RequesterEmail != "ann@example.com" {
		t.Errorf("new ticket: %+v", next)
	}
	if got := e.comments(tk.ID); len(got) != 0 {
		t.Errorf("closed ticket got comments: %q", got)
	}
}

func (e *env) get(path string) string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d\n%s", path, rec.Code, body)
	}
	return string(body)
}

// TestOversizedMailRefused: a mail over max_bytes is refused with 552 and
// stores nothing.
func TestOversizedMailRefused(t *testing.T) {
	e := newEnv(t) // max_bytes 1 MiB
	big := "From: ann@example.com\nSubject: big\n\n" + strings.Repeat("0123456789abcdef\n", 70_000)
	err := e.send("ann@example.com", "support@help.example.com", big)
	if err == nil || !strings.Contains(err.Error(), "552") {
		t.Fatalf("a 1.2 MB mail: %v, want a 552 refusal", err)
	}
	if n := e.count(`SELECT count(*) FROM tickets`); n != 0 {
		t.Errorf("%d tickets", n)
	}
	e.mustSend("ann@example.com", "support@help.example.com", "From: ann@example.com\nSubject: small\n\nok\n")
	if n := e.count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Errorf("after a small mail: %d tickets, want 1", n)
	}
}
