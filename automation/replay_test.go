package automation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/mailer"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/notify"
	"github.com/deskpulse/deskpulse/store"
)

// replayRule acknowledges a new ticket by e-mail, calls a webhook and
// tags it: one of each kind of effect.
const replayRule = `{"name":"ack","trigger":{"on":"created"},"conditions":[{"field":"requester_email","op":"not_empty"}],
	"actions":[{"type":"email","to":"requester","template":"ticket_created"},
		{"type":"webhook","url":"http://127.0.0.1:1/rule","secret":"0123456789abcdef0123"},
		{"type":"add_tags","values":["acked"]}]}`

// closedSMTP is a mailer whose SMTP port refuses: e-mails stay queued
// (retried an hour later).
func closedSMTP(st *store.Store) automation.Mailer {
	set := notifySettings()
	set.Retry.Backoff, set.Retry.MaxBackoff = time.Hour, time.Hour
	return notify.New(st, set, mailer.SMTP{Host: "127.0.0.1", Port: 1, TLS: "none", From: "help@example.com", Timeout: time.Second})
}

// onStore runs fn on the env's file while the env is closed.
func (e *env) onStore(fn func(st *store.Store)) {
	e.t.Helper()
	e.close()
	st, err := store.Open(context.Background(), e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	fn(st)
	if err := st.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) exec(st *store.Store, query string, args ...any) {
	e.t.Helper()
	if _, err := st.DB.Exec(query, args...); err != nil {
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

// TestReplayAfterCrashActsOnce replays every event, as a start after a
// crash that lost the cursor does, with one acknowledgement and one rule
// webhook call lost in between (a crash after the rule's note was
// committed, before its e-mail or call was queued): afterwards each
// ticket has exactly one acknowledgement, note, tag change, rule call and
// reply e-mail, and each subscribed event exactly one delivery.
func TestReplayAfterCrashActsOnce(t *testing.T) {
	e := newEnv(t, automation.Options{Rules: mustRules(t, replayRule), Webhooks: privateTargets}, closedSMTP)
	e.call("POST", "/api/v1/agents", `{"email":"bob@example.com","name":"Bob","teams":[]}`, 201, nil)
	e.call("POST", "/api/v1/webhooks", `{"url":"http://127.0.0.1:1/sub","events":["created","commented"]}`, 201, nil)
	var ids []string
	for i := range 3 {
		tk := e.createTicket(fmt.Sprintf(`{"subject":"ticket %d","requester_email":"r%d@example.com"}`, i, i))
		e.as("bob@example.com", "POST", "/api/v1/tickets/"+tk.ID+"/comments", `{"body":"On it."}`, 200)
		ids = append(ids, tk.ID)
	}
	e.sync()
	e.onStore(func(st *store.Store) {
		e.exec(st, `UPDATE automation_state SET value = '0' WHERE key = 'cursor'`)
		e.exec(st, `DELETE FROM mail_outbox WHERE ticket_id = ? AND template = 'ticket_created'`, ids[0])
		e.exec(st, `DELETE FROM webhook_deliveries WHERE ticket_id = ? AND webhook_id = 'rule:ack'`, ids[1])
	})
	e.sync() // the catch-up replays every event
	e.restart()
	e.sync()

	for _, id := range ids {
		for what, c := range map[string]struct {
			query string
			want  int
		}{
			"acknowledgements":     {`SELECT count(*) FROM mail_outbox WHERE ticket_id = ? AND template = 'ticket_created'`, 1},
			"reply e-mails":        {`SELECT count(*) FROM mail_outbox WHERE ticket_id = ? AND template = 'reply'`, 1},
			"rule webhook calls":   {`SELECT count(*) FROM webhook_deliveries WHERE ticket_id = ? AND webhook_id = 'rule:ack'`, 1},
			"rule events":          {`SELECT count(*) FROM events WHERE ticket_id = ? AND actor = 'rule:ack'`, 3}, // two notes, one tag change
			"e-mail queued notes":  {`SELECT count(*) FROM events WHERE ticket_id = ? AND actor = 'rule:ack' AND body LIKE '%e-mail to the requester queued%'`, 1},
			"events without calls": {`SELECT count(*) FROM events ev WHERE ticket_id = ? AND type IN ('created', 'commented') AND (SELECT count(*) FROM webhook_deliveries d WHERE d.event_id = ev.event_id AND d.webhook_id <> 'rule:ack') <> 1`, 0},
		} {
			if got := e.count(c.query, id); got != c.want {
				t.Errorf("ticket %s: %d %s, want %d", id, got, what, c.want)
			}
		}
		if tags := e.ticket(id).Tags; len(tags) != 1 || tags[0] != "acked" {
			t.Errorf("ticket %s: tags %v", id, tags)
		}
	}
	// The keys are kept while a replay can reach their events (the
	// one-hour catch-up window), then forgotten.
	e.clock.Add(90 * time.Minute)
	e.tick()
	if n := e.count(`SELECT count(*) FROM applied_commands`); n != 3 {
		t.Errorf("%d applied keys after 90 minutes, want the 3 rule commands'", n)
	}
	e.clock.Add(time.Hour)
	e.tick()
	if n := e.count(`SELECT count(*) FROM applied_commands`); n != 0 {
		t.Errorf("%d applied keys after 2.5 hours, want 0", n)
	}
}

// TestCloseStopsCatchUpAndNextStartResumes: Close during a long catch-up
// returns within the stop grace with the cursor saved part way, and the
// next start goes on from there: every ticket acknowledged exactly once.
func TestCloseStopsCatchUpAndNextStartResumes(t *testing.T) {
	e := newEnv(t, automation.Options{Rules: mustRules(t, replayRule), Webhooks: privateTargets}, closedSMTP)
	e.createTicket(`{"subject":"first","requester_email":"first@example.com"}`)
	const backlog = 150
	var maxSeq int64
	e.onStore(func(st *store.Store) {
		w, err := ingest.NewWriter(context.Background(), st, ingest.WriterOptions{Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for c := range 16 {
			wg.Go(func() {
				for n := c; n < backlog; n += 16 {
					if _, err := w.Do(context.Background(), &ingest.CreateTicket{Actor: model.Actor{Name: "api", Kind: model.ActorSystem},
						Subject: fmt.Sprintf("backlog %d", n), RequesterEmail: fmt.Sprintf("b%d@example.com", n)}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		maxSeq, _ = st.MaxSeq(context.Background())
		w.Close()
	})
	start := time.Now()
	if err := e.eng.Close(); err != nil { // the catch-up has just begun
		t.Fatal(err)
	}
	if took := time.Since(start); took > automation.StopGrace+2*time.Second {
		t.Fatalf("Close took %v during a catch-up", took)
	}
	cursor := e.count(`SELECT CAST(value AS INTEGER) FROM automation_state WHERE key = 'cursor'`)
	acks := e.count(`SELECT count(*) FROM mail_outbox WHERE template = 'ticket_created'`)
	if int64(cursor) >= maxSeq || acks >= backlog+1 {
		t.Fatalf("Close let the catch-up finish: cursor %d of %d, %d acknowledgements", cursor, maxSeq, acks)
	}
	e.restart()
	e.sync()
	if got := e.count(`SELECT count(*) FROM (SELECT t.id FROM tickets t JOIN mail_outbox o ON o.ticket_id = t.id AND o.template = 'ticket_created'
			GROUP BY t.id HAVING count(*) = 1)`); got != backlog+1 {
		t.Fatalf("%d of %d tickets acknowledged exactly once", got, backlog+1)
	}
	if got := e.count(`SELECT count(*) FROM mail_outbox WHERE template = 'ticket_created'`); got != backlog+1 {
		t.Fatalf("%d acknowledgements for %d tickets", got, backlog+1)
	}
}

// privateTargets lets the replay tests' webhooks name 127.0.0.1 (their
// calls fail there, which the tests want: only the queue is counted).
var privateTargets = automation.WebhookSettings{AllowPrivate: true}
