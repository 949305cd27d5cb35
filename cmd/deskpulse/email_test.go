package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/smtp"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"
)

// TestEmailChannelEndToEnd runs `deskpulse serve` with inbound mail on: a
// mail sent by a real SMTP client opens a ticket, the acknowledgement rule
// answers it in the same thread (Reply-To the ticket's secret reply
// address, Auto-Submitted: auto-replied) with a status link that opens the
// status page, an agent's public reply is mailed in that thread, and the
// requester's answer to it lands on the ticket.
func TestEmailChannelEndToEnd(t *testing.T) {
	mp := testtools.StartMailpit(t)
	port := testtools.FreePort(t)
	t.Setenv("DESKPULSE_DEMO_ON_EMPTY", "false")
	t.Setenv("DESKPULSE_INBOUND_MAIL_ENABLED", "true")
	t.Setenv("DESKPULSE_INBOUND_MAIL_ADDR", "127.0.0.1:0")
	t.Setenv("DESKPULSE_INBOUND_MAIL_DOMAINS", "help.example.com")
	t.Setenv("DESKPULSE_INBOUND_MAIL_ADDRESS", "support@help.example.com")
	t.Setenv("DESKPULSE_NOTIFICATIONS_STATUS_URL", fmt.Sprintf("http://127.0.0.1:%d/support/t/{token}", port))
	cfg := testConfig(t, filepath.Join(t.TempDir(), "deskpulse.duckdb"))
	cfg.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS = "127.0.0.1", mp.SMTPPort, "none"
	m := NewMain(cfg)
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	send := func(msg string) {
		t.Helper()
		if err := smtp.SendMail(m.MailIn.Addr(), nil, "ann@example.com", []string{"support@help.example.com"},
			[]byte(strings.ReplaceAll(msg, "\n", "\r\n"))); err != nil {
			t.Fatal(err)
		}
	}
	send("From: Ann <ann@example.com>\nTo: support@help.example.com\nSubject: VPN down\nMessage-ID: <vpn1@example.com>\n\nThe VPN drops every minute.\n-- \nAnn\n")

	ack := mp.WaitFull(t, 1)[0]
	headers := mp.Headers(t, ack.ID)
	if ack.Subject != "[#1] We received your request: VPN down" || ack.To[0].Address != "ann@example.com" ||
		fmt.Sprint(headers["In-Reply-To"]) != "[<vpn1@example.com>]" || !regexp.MustCompile(`^\[<support\+[a-z2-7]{32}@help\.example\.com>\]$`).MatchString(fmt.Sprint(headers["Reply-To"])) ||
		fmt.Sprint(headers["Auto-Submitted"]) != "[auto-replied]" {
		t.Fatalf("acknowledgement %q to %s, headers %v", ack.Subject, ack.To[0].Address, headers)
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/support/t/[A-Za-z0-9_-]{43}`).FindString(ack.Text)
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "#1 VPN down") || !strings.Contains(string(page), "The VPN drops every minute.") {
		t.Fatalf("GET %q: %d\n%s", link, resp.StatusCode, page)
	}

	base := "http://" + m.Addr() + "/api/v1/tickets/1"
	resp, err = http.Post(base+"/comments", "application/json", bytes.NewReader([]byte(`{"body":"Please update the client.","public":true}`)))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("agent reply: %v %v", resp, err)
	}
	resp.Body.Close()
	msgs := mp.WaitFull(t, 2)
	reply := msgs[1]
	if h := mp.Headers(t, reply.ID); reply.Subject != "[#1] New reply: VPN down" || fmt.Sprint(h["References"]) != "[<vpn1@example.com>]" {
		t.Fatalf("reply %q, headers %v", reply.Subject, h)
	}

	send(fmt.Sprintf("From: ann@example.com\nTo: support@help.example.com\nSubject: Re: [#1] New reply: VPN down\nMessage-ID: <vpn2@example.com>\nIn-Reply-To: <%s>\n\nUpdated, it works.\n\nOn Mon, Support wrote:\n> Please update the client.\n", reply.MessageID))
	var timeline struct {
		Events []struct{ Type, Actor, Body string }
	}
	if code := getJSON(t, base+"/events", &timeline); code != 200 || len(timeline.Events) == 0 {
		t.Fatalf("GET events: %d, %d events", code, len(timeline.Events))
	}
	last := timeline.Events[len(timeline.Events)-1]
	if got := fmt.Sprintf("%s %s %q", last.Type, last.Actor, last.Body); got != `commented ann@example.com "Updated, it works."` {
		t.Fatalf("last event: %s", got)
	}
}

// TestAutoresponderFloodEndToEnd runs `deskpulse serve` with inbound mail
// on and the shipped defaults: an autoresponder that changes its subject
// opens 10 tickets (inbound_mail.tickets_per_sender_per_hour), its 11th
// mail is refused, and it gets 5 acknowledgements
// (notifications.requester.max_acks_per_hour); auto-replies known by their
// headers open nothing and get nothing; another requester is acknowledged
// as usual.
func TestAutoresponderFloodEndToEnd(t *testing.T) {
	mp := testtools.StartMailpit(t)
	t.Setenv("DESKPULSE_DEMO_ON_EMPTY", "false")
	t.Setenv("DESKPULSE_INBOUND_MAIL_ENABLED", "true")
	t.Setenv("DESKPULSE_INBOUND_MAIL_ADDR", "127.0.0.1:0")
	t.Setenv("DESKPULSE_INBOUND_MAIL_DOMAINS", "help.example.com")
	t.Setenv("DESKPULSE_INBOUND_MAIL_ADDRESS", "support@help.example.com")
	cfg := testConfig(t, filepath.Join(t.TempDir(), "deskpulse.duckdb"))
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS = "127.0.0.1", mp.SMTPPort, "none"
	m := NewMain(cfg)
	if err := m.Run(t.Context()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	send := func(from, msg string) error {
		return smtp.SendMail(m.MailIn.Addr(), nil, from, []string{"support@help.example.com"}, []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
	}
	for i := 1; i <= 11; i++ {
		err := send("bot@example.org", fmt.Sprintf("From: bot@example.org\nSubject: Re: your message %d\n\nThank you for your message.\n", i))
		if (i <= 10) != (err == nil) {
			t.Fatalf("autoresponder mail %d: %v", i, err)
		}
	}
	for _, h := range []string{"Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All", "Precedence: bulk", "X-Autoreply: yes"} {
		if err := send("carol@example.org", "From: carol@example.org\n"+h+"\nSubject: Away\n\nAway.\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := send("ann@example.com", "From: ann@example.com\nSubject: VPN down\n\nDown.\n"); err != nil {
		t.Fatal(err)
	}
	opened := map[string]int{}
	rows, err := m.Store.DB.Query(`SELECT requester_email, count(*) FROM tickets GROUP BY ALL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var email string
		var n int
		if err := rows.Scan(&email, &n); err != nil {
			t.Fatal(err)
		}
		opened[email] = n
	}
	rows.Close()
	if fmt.Sprint(opened) != "map[ann@example.com:1 bot@example.org:10]" {
		t.Errorf("tickets per requester: %v", opened)
	}
	// Ann's acknowledgement comes last: the bot's would have come before.
	deadline := time.Now().Add(60 * time.Second)
	for {
		msgs := mp.Messages(t)
		if len(msgs) > 0 && strings.HasSuffix(msgs[0].Subject, "VPN down") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	acks := map[string]int{}
	for _, msg := range mp.WaitFull(t, 1) {
		acks[msg.To[0].Address]++
		if h := mp.Headers(t, msg.ID)["Auto-Submitted"]; fmt.Sprint(h) != "[auto-replied]" {
			t.Errorf("%s: Auto-Submitted %v", msg.Subject, h)
		}
	}
	if fmt.Sprint(acks) != "map[ann@example.com:1 bot@example.org:5]" {
		t.Errorf("acknowledgements per address: %v", acks)
	}
}
