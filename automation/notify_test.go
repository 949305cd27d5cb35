package automation_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/mailer"
	"github.com/deskpulse/deskpulse/notify"
	"github.com/deskpulse/deskpulse/store"
)

// mailpit is a real SMTP server on 127.0.0.1 with an HTTP API listing what
// it received (as in the reports tests).
func notifySettings() notify.Settings {
	var s notify.Settings
	s.Enabled, s.StatusURL = true, "https://help.example.com/t/{number}"
	s.Requester.Reply, s.Requester.Resolved = true, true
	s.Agent.Assigned, s.Agent.Mentioned = true, true
	s.Retry.Attempts, s.Retry.Backoff, s.Retry.MaxBackoff = 100, 30*time.Millisecond, 60*time.Millisecond
	return s
}

// TestNotificationsThroughRealSMTP: the acknowledge rule, a routing
// assignment, a public reply, an @mention in an internal note and the
// resolution each send one e-mail with a text and an HTML part.
func TestNotificationsThroughRealSMTP(t *testing.T) {
	mp := testtools.StartMailpit(t)
	defaults, err := automation.ParseRules(automation.Specs(automation.DefaultRules()))
	if err != nil {
		t.Fatal(err)
	}
	smtp := mailer.SMTP{Host: "127.0.0.1", Port: mp.SMTPPort, TLS: "none", From: "help@example.com", Timeout: 5 * time.Second}
	e := newEnv(t, automation.Options{Rules: defaults[:1],
		Routing: automation.Routing{Teams: map[string]automation.TeamRouting{"IT": {Mode: "least_loaded"}}}},
		func(st *store.Store) automation.Mailer { return notify.New(st, notifySettings(), smtp) })
	e.call("POST", "/api/v1/teams", `{"name":"IT"}`, 201, nil)
	e.call("POST", "/api/v1/agents", `{"email":"bob@example.com","name":"Bob","teams":["IT"]}`, 201, nil)
	e.call("POST", "/api/v1/agents", `{"email":"carol@example.com","name":"Carol","teams":[]}`, 201, nil)

	tk := e.createTicket(`{"subject":"Printer <jammed>","requester_name":"Ann","requester_email":"ann@example.com","team":"IT"}`)
	e.as("bob@example.com", "POST", "/api/v1/tickets/"+tk.ID+"/comments", `{"body":"Turn it off and on again."}`, 200)
	e.as("bob@example.com", "POST", "/api/v1/tickets/"+tk.ID+"/comments", `{"body":"@carol can you order toner? cc @nobody","public":false}`, 200)
	e.as("bob@example.com", "POST", "/api/v1/tickets/"+tk.ID+"/resolve", ``, 200)
	e.sync()

	msgs := mp.WaitFull(t, 5)
	if len(msgs) != 5 {
		t.Fatalf("%d messages, want 5", len(msgs))
	}
	type sent struct{ to, subject string }
	var got []sent
	for _, m := range msgs {
		got = append(got, sent{m.To[0].Address, m.Subject})
		if m.Text == "" || m.HTML == "" || !strings.HasSuffix(m.MessageID, "@deskpulse") {
			t.Errorf("%s: text %d bytes, html %d bytes, id %s", m.Subject, len(m.Text), len(m.HTML), m.MessageID)
		}
	}
	want := []sent{
		{"ann@example.com", fmt.Sprintf("[#%d] We received your request: Printer <jammed>", tk.Number)},
		{"bob@example.com", fmt.Sprintf("[#%d] Assigned to you: Printer <jammed>", tk.Number)},
		{"ann@example.com", fmt.Sprintf("[#%d] New reply: Printer <jammed>", tk.Number)},
		{"carol@example.com", fmt.Sprintf("[#%d] bob@example.com mentioned you: Printer <jammed>", tk.Number)},
		{"ann@example.com", fmt.Sprintf("[#%d] Resolved: Printer <jammed>", tk.Number)},
	}
	sortSent := func(s []sent) {
		slices.SortFunc(s, func(a, b sent) int { return strings.Compare(a.to+a.subject, b.to+b.subject) })
	}
	sortSent(got)
	sortSent(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sent:\n%v\nwant:\n%v", got, want)
	}
	for _, m := range msgs {
		if strings.HasPrefix(m.Subject, fmt.Sprintf("[#%d] We received", tk.Number)) {
			link := fmt.Sprintf("https://help.example.com/t/%d", tk.Number)
			if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, link) || !strings.Contains(m.HTML, "Printer &lt;jammed&gt;") {
				t.Errorf("acknowledgement:\n%s\n%s", m.Text, m.HTML)
			}
		}
		if strings.Contains(m.Subject, "Assigned") && !strings.Contains(m.Text, "least_loaded") {
			t.Errorf("assignment without the routing reason: %s", m.Text)
		}
	}
}

// TestMailQueueSurvivesRestart: e-mails queued while the SMTP server is
// unreachable are retried, and sent after a restart, each once.
func TestMailQueueSurvivesRestart(t *testing.T) {
	mp := testtools.StartMailpit(t)
	var port atomic.Int64
	port.Store(int64(testtools.FreePort(t))) // nothing listens there
	var last *notify.Notifier
	mk := func(st *store.Store) automation.Mailer {
		smtp := mailer.SMTP{Host: "127.0.0.1", Port: int(port.Load()), TLS: "none", From: "help@example.com", Timeout: 2 * time.Second}
		last = notify.New(st, notifySettings(), smtp)
		return last
	}
	rules := mustRules(t, `{"name":"ack","trigger":"created","actions":[{"type":"email","to":"requester","template":"ticket_created"}]}`)
	e := newEnv(t, automation.Options{Rules: rules}, mk)
	for i := range 3 {
		e.createTicket(fmt.Sprintf(`{"subject":"S%d","requester_email":"r%d@example.com"}`, i, i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := last.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tried := 0
		for _, o := range list {
			if o.Status == "pending" && o.Attempts >= 2 && o.LastError != "" {
				tried++
			}
		}
		if tried == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue: %+v", list)
		}
		time.Sleep(20 * time.Millisecond)
	}
	port.Store(int64(mp.SMTPPort))
	e.restart()
	msgs := mp.WaitFull(t, 3)
	if len(msgs) != 3 {
		t.Fatalf("%d messages after the restart, want 3", len(msgs))
	}
	list, _ := last.List(context.Background())
	for _, o := range list {
		if o.Status != "sent" {
			t.Errorf("%s: %s", o.Subject, o.Status)
		}
	}
}
