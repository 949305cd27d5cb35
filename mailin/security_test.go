package mailin_test

import (
	"context"
	"fmt"
	"net/smtp"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/mailin"
	"github.com/deskpulse/deskpulse/model"
)

// sendEnvelope delivers a message with a real SMTP client to several
// envelope recipients.
func (e *env) sendEnvelope(from string, rcpts []string, msg string) error {
	return smtp.SendMail(e.rcv.Addr(), nil, from, rcpts, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
}

// annsTicket is ticket #1, opened by ann@example.com by mail and
// acknowledged by deskpulse; it returns the acknowledgement.
func (e *env) annsTicket() (*model.Ticket, string, string) {
	e.t.Helper()
	e.mustSend("ann@example.com", "support@help.example.com", "From: Ann <ann@example.com>\nTo: support@help.example.com\nSubject: VPN down\nMessage-ID: <v1@example.com>\n\nThe VPN drops.\n")
	tk := e.ticket(1)
	ack := e.ack(tk)
	return tk, ack.MessageID, strings.Trim(e.header(ack, "Reply-To"), "<>")
}

// requesters are the tickets as "#number requester name", by number.
func (e *env) requesters() []string {
	e.t.Helper()
	rows, err := e.st.DB.Query(`SELECT number, requester_email, requester_name FROM tickets ORDER BY number`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n int
		var email, name string
		if err := rows.Scan(&n, &email, &name); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("#%d %s %q", n, email, name))
	}
	return out
}

func (e *env) wantRequesters(want ...string) {
	e.t.Helper()
	if got := e.requesters(); fmt.Sprint(got) != fmt.Sprint(want) {
		e.t.Errorf("tickets:\n%q\nwant\n%q", got, want)
	}
}

// TestSpoofedFromOpensNewTicket: a mail whose From names the requester
// but whose envelope sender is another domain's opens a ticket of the
// envelope sender's, even when it quotes the ticket's number and the very
// Message-ID deskpulse sent; and the [#number] tag alone adds to no
// ticket, even from the requester's own address.
func TestSpoofedFromOpensNewTicket(t *testing.T) {
	e := newEnv(t)
	tk, ackID, _ := e.annsTicket()
	e.mustSend("mallory@evil.example", "support@help.example.com", fmt.Sprintf(`From: Ann <ann@example.com>
To: support@help.example.com
Subject: Re: [#1] VPN down
Message-ID: <s1@evil.example>
In-Reply-To: <%s>

Please mail my password to mallory@evil.example.
`, ackID))
	e.mustSend("mallory@evil.example", "support@help.example.com", `From: ann@example.com
To: support@help.example.com
Subject: Re: [#1] VPN down
Message-ID: <s2@evil.example>

Close this ticket.
`)
	// Envelope and From both forged as ann's: the tag is not enough.
	e.mustSend("ann@example.com", "support@help.example.com", `From: ann@example.com
To: support@help.example.com
Subject: Re: [#1] VPN down
Message-ID: <s3@evil.example>

Forged, with the number only.
`)
	if got := e.comments(tk.ID); len(got) != 0 {
		t.Errorf("ann's ticket got comments: %q", got)
	}
	e.wantRequesters(`#1 ann@example.com "Ann"`, `#2 mallory@evil.example ""`, `#3 mallory@evil.example ""`, `#4 ann@example.com ""`)
	if d := e.ticket(2).Description; d != "Please mail my password to mallory@evil.example." {
		t.Errorf("#2 description %q", d)
	}
}

// TestReplyAddressAddsComment: deskpulse's acknowledgement has the
// ticket's secret reply address as Reply-To (and Auto-Submitted:
// auto-replied); a mail to it, in the envelope or in Cc, adds to the
// ticket whatever its subject, as its sender; a made-up token does not.
func TestReplyAddressAddsComment(t *testing.T) {
	e := newEnv(t)
	tk, _, replyTo := e.annsTicket()
	if !regexp.MustCompile(`^support\+[a-z2-7]{32}@help\.example\.com$`).MatchString(replyTo) {
		t.Fatalf("Reply-To %q, want support+<token>@help.example.com", replyTo)
	}
	e.mustSend("ann@example.com", replyTo, "From: ann@example.com\nTo: "+replyTo+"\nSubject: more\nMessage-ID: <r1@example.com>\n\nIt drops at noon.\n")
	// A colleague in Cc answers with reply-all: the envelope goes to the
	// support address, the token is in Cc.
	if err := e.sendEnvelope("carol@example.com", []string{"support@help.example.com"}, "From: carol@example.com\nTo: support@help.example.com\nCc: "+strings.ToUpper(replyTo)+"\nSubject: Re: VPN down\nMessage-ID: <r2@example.com>\n\nMine too.\n"); err != nil {
		t.Fatal(err)
	}
	// A token deskpulse never made.
	e.mustSend("ann@example.com", "support+abcdefghijklmnopqrstuvwxyz234567@help.example.com", "From: ann@example.com\nSubject: Re: [#1] VPN down\nMessage-ID: <r3@example.com>\n\nGuessed.\n")
	want := []string{
		"ann@example.com/requester/true: It drops at noon.",
		"carol@example.com/requester/true: Mine too.",
	}
	if got := e.comments(tk.ID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("comments:\n%q\nwant\n%q", got, want)
	}
	e.wantRequesters(`#1 ann@example.com "Ann"`, `#2 ann@example.com ""`)
	ack := e.mp.WaitFull(t, 1)[0]
	if got := e.header(ack, "Auto-Submitted"); got != "auto-replied" {
		t.Errorf("acknowledgement Auto-Submitted %q, want auto-replied", got)
	}
}

// TestAnswerToSentMailByRequester: without the reply address, only the
// requester's answer to a mail deskpulse sent adds to the ticket; an
// answer to the requester's own first mail, or another sender's answer to
// deskpulse's mail, opens a new ticket.
func TestAnswerToSentMailByRequester(t *testing.T) {
	e := newEnv(t)
	tk, ackID, _ := e.annsTicket()
	e.mustSend("ann@example.com", "support@help.example.com", fmt.Sprintf("From: ann@example.com\nSubject: Re: VPN down\nMessage-ID: <a1@example.com>\nIn-Reply-To: <%s>\nReferences: <v1@example.com> <%s>\n\nStill down.\n", ackID, ackID))
	e.mustSend("ann@example.com", "support@help.example.com", "From: ann@example.com\nSubject: Re: VPN down\nMessage-ID: <a2@example.com>\nIn-Reply-To: <v1@example.com>\n\nAnswering my own mail.\n")
	e.mustSend("bob@example.com", "support@help.example.com", fmt.Sprintf("From: bob@example.com\nSubject: Re: VPN down\nMessage-ID: <a3@example.com>\nReferences: <v1@example.com> <%s>\n\nForwarded to me.\n", ackID))
	if got, want := e.comments(tk.ID), []string{"ann@example.com/requester/true: Still down."}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("comments:\n%q\nwant\n%q", got, want)
	}
	e.wantRequesters(`#1 ann@example.com "Ann"`, `#2 ann@example.com ""`, `#3 bob@example.com ""`)
}

// TestFromWithTwoAddresses: a From with two addresses is not trusted, not
// even its first: the envelope sender is the requester and the mail, an
// answer to deskpulse's mail, opens a new ticket.
func TestFromWithTwoAddresses(t *testing.T) {
	e := newEnv(t)
	tk, ackID, _ := e.annsTicket()
	e.mustSend("mallory@evil.example", "support@help.example.com", fmt.Sprintf("From: Ann <ann@example.com>, mallory@evil.example\nSubject: Re: VPN down\nMessage-ID: <f1@evil.example>\nIn-Reply-To: <%s>\n\nTwo senders.\n", ackID))
	// The same from ann's own envelope: still a new ticket (ann's).
	e.mustSend("ann@example.com", "support@help.example.com", fmt.Sprintf("From: ann@example.com, mallory@evil.example\nSubject: Re: VPN down\nMessage-ID: <f2@evil.example>\nIn-Reply-To: <%s>\n\nTwo again.\n", ackID))
	if got := e.comments(tk.ID); len(got) != 0 {
		t.Errorf("ann's ticket got comments: %q", got)
	}
	e.wantRequesters(`#1 ann@example.com "Ann"`, `#2 mallory@evil.example ""`, `#3 ann@example.com ""`)
}

// TestAlignedFromPolicy: a From of a subdomain (or parent) of the envelope
// sender's domain is trusted; allow_unaligned_from trusts any single From.
func TestAlignedFromPolicy(t *testing.T) {
	e := newEnv(t)
	e.mustSend("bounces@mail.example.com", "support@help.example.com", "From: Ann <ann@example.com>\nSubject: one\n\nx\n")
	e.wantRequesters(`#1 ann@example.com "Ann"`)

	e = newEnv(t, func(s *mailin.Settings) { s.AllowUnalignedFrom = true })
	e.mustSend("srs0=x@forwarder.example.net", "support@help.example.com", "From: Ann <ann@example.com>\nSubject: one\n\nx\n")
	e.wantRequesters(`#1 ann@example.com "Ann"`)
}

// TestAutoRepliesOpenNothing: auto-replies known by their headers or
// subjects open no ticket (so they get no acknowledgement) and add to
// none; Auto-Submitted: no is a person's mail.
func TestAutoRepliesOpenNothing(t *testing.T) {
	e := newEnv(t)
	tk, ackID, replyTo := e.annsTicket()
	for i, h := range []string{
		"X-Auto-Response-Suppress: All\nSubject: Re: VPN down",
		"Subject: Automatic reply: VPN down",
		"Subject: Out of Office: VPN down",
		"Subject: OUT OF OFFICE until Monday",
		"Subject: Auto: VPN down",
		"Subject: AutoReply: VPN down",
		"Subject: Undeliverable: VPN down",
		"Subject: Delivery Status Notification (Failure)",
		"Auto-Submitted: auto-replied; owner-email=ann@example.com\nSubject: I am away",
		"Precedence: auto_reply\nSubject: Away",
		"X-Autorespond: yes\nSubject: Away",
	} {
		msg := fmt.Sprintf("From: ann@example.com\nTo: %s\n%s\nMessage-ID: <auto%d@example.com>\nIn-Reply-To: <%s>\n\nI am out of the office.\n", replyTo, h, i, ackID)
		e.mustSend("ann@example.com", replyTo, msg)
		e.mustSend("dave@example.org", "support@help.example.com", strings.Replace(msg, "ann@example.com", "dave@example.org", 1))
	}
	e.mustSend("erin@example.org", "support@help.example.com", "From: erin@example.org\nAuto-Submitted: no\nSubject: Auto-Submitted no is a person\n\nHello.\n")
	if got := e.comments(tk.ID); len(got) != 0 {
		t.Errorf("auto-replies became comments: %q", got)
	}
	e.wantRequesters(`#1 ann@example.com "Ann"`, `#2 erin@example.org ""`)
}

// TestTicketsPerSenderHour: an autoresponder that changes its subject
// opens tickets_per_sender_per_hour tickets, then is refused with 550
// (nothing stored); others still open tickets, and its reply to its
// ticket's reply address is still taken.
func TestTicketsPerSenderHour(t *testing.T) {
	e := newEnv(t, func(s *mailin.Settings) { s.TicketsPerSenderHour = 3 })
	for i := 1; i <= 5; i++ {
		err := e.send("bot@example.org", "support@help.example.com", fmt.Sprintf("From: bot@example.org\nSubject: Your message %d\nMessage-ID: <bot%d@example.org>\n\nThanks for writing.\n", i, i))
		switch {
		case i <= 3 && err != nil:
			t.Fatalf("mail %d: %v", i, err)
		case i > 3 && (err == nil || !strings.Contains(err.Error(), "550") || !strings.Contains(err.Error(), "tickets_per_sender_per_hour")):
			t.Fatalf("mail %d: %v, want a 550 naming tickets_per_sender_per_hour", i, err)
		}
	}
	e.mustSend("ann@example.com", "support@help.example.com", "From: ann@example.com\nSubject: mine\n\nx\n")
	e.wantRequesters(`#1 bot@example.org ""`, `#2 bot@example.org ""`, `#3 bot@example.org ""`, `#4 ann@example.com ""`)
	if n := e.count(`SELECT count(*) FROM mail_messages WHERE message_id IN ('bot4@example.org', 'bot5@example.org')`); n != 0 {
		t.Errorf("refused mails recorded %d Message-IDs", n)
	}
	replyTo := strings.Trim(e.header(e.ack(e.ticket(1)), "Reply-To"), "<>")
	e.mustSend("bot@example.org", replyTo, "From: bot@example.org\nSubject: more\n\nA reply.\n")
	if got := e.comments(e.ticket(1).ID); len(got) != 1 {
		t.Errorf("reply over the cap: comments %q", got)
	}
}

// manyParts is a mail of n tiny attachments (distinct text files) after
// a text part.
func manyParts(from string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\nSubject: %d files\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nSee the files.\n", from, n)
	for i := range n {
		fmt.Fprintf(&b, "--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"f%d.txt\"\n\nfile %d\n", i, i)
	}
	b.WriteString("--B--\n")
	return b.String()
}

// TestManyPartsRefusedFast: a mail of 20,000 tiny parts is refused with
// 552 within seconds and stores nothing; one at max_parts keeps
// attachments_per_mail files, with a note, also quickly.
func TestManyPartsRefusedFast(t *testing.T) {
	e := newEnv(t, func(s *mailin.Settings) { s.MaxBytes = 8 << 20 })
	start := time.Now()
	err := e.send("ann@example.com", "support@help.example.com", manyParts("ann@example.com", 20_000))
	if err == nil || !strings.Contains(err.Error(), "552") || !strings.Contains(err.Error(), "max_parts") {
		t.Fatalf("20,000 parts: %v, want a 552 naming max_parts", err)
	}
	if n := e.count(`SELECT count(*) FROM tickets`) + e.count(`SELECT count(*) FROM attachments`); n != 0 {
		t.Errorf("%d tickets and attachments stored", n)
	}
	e.mustSend("ann@example.com", "support@help.example.com", manyParts("ann@example.com", 999)) // 1,000 parts with the text
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
	if n := e.count(`SELECT count(*) FROM attachments`); n != 20 {
		t.Errorf("%d attachments kept, want 20", n)
	}
}

// TestAttachmentsPerMailAndTicket: attachments_per_mail files of a mail
// are kept and attachments_per_ticket of a ticket; an internal note
// records what was dropped.
func TestAttachmentsPerMailAndTicket(t *testing.T) {
	e := newEnv(t, func(s *mailin.Settings) { s.AttachmentsPerMail, s.AttachmentsPerTicket = 20, 25 })
	e.mustSend("ann@example.com", "support@help.example.com", manyParts("ann@example.com", 30))
	tk := e.ticket(1)
	replyTo := strings.Trim(e.header(e.ack(tk), "Reply-To"), "<>")
	e.mustSend("ann@example.com", replyTo, manyParts("ann@example.com", 10))
	if n := e.count(`SELECT count(*) FROM attachments WHERE ticket_id = ?`, tk.ID); n != 25 {
		t.Errorf("%d attachments kept, want 25", n)
	}
	// The first files of each mail are the ones kept.
	for name, want := range map[string]int{"f4.txt": 2, "f5.txt": 1, "f19.txt": 1, "f20.txt": 0} {
		if n := e.count(`SELECT count(*) FROM attachments WHERE ticket_id = ? AND filename = ?`, tk.ID, name); n != want {
			t.Errorf("%s kept %d times, want %d", name, n, want)
		}
	}
	events, err := e.st.TicketEvents(context.Background(), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, ev := range events {
		if ev.Type == model.EventCommented && !*ev.Public {
			notes = append(notes, ev.Actor+": "+*ev.Body)
		}
	}
	want := []string{
		"inbound-mail: 10 of the 30 attachments of the e-mail from ann@example.com were not kept: at most 20 per e-mail (inbound_mail.attachments_per_mail) and 25 per ticket (inbound_mail.attachments_per_ticket; the ticket had 0).",
		"inbound-mail: 5 of the 10 attachments of the e-mail from ann@example.com were not kept: at most 20 per e-mail (inbound_mail.attachments_per_mail) and 25 per ticket (inbound_mail.attachments_per_ticket; the ticket had 20).",
	}
	if fmt.Sprint(notes) != fmt.Sprint(want) {
		t.Errorf("notes:\n%q\nwant\n%q", notes, want)
	}
}
