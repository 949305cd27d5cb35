package notify

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/mailer"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// TestQueueOnceQueuesOneMailPerKey: a rule's e-mail queued again under
// its key (the replay after a crash) is not queued twice and mints no
// second status link; the built-in notifications of a batch seen twice
// are queued once per event; an unkeyed Queue still queues each time.
func TestQueueOnceQueuesOneMailPerKey(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "once.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var set Settings
	set.Enabled, set.StatusURL = true, "https://help.example.com/support/t/{token}"
	set.Requester.Reply = true
	n := New(st, set, mailer.SMTP{Host: "127.0.0.1", Port: 1, TLS: "none", From: "help@example.com"})
	tk := &model.Ticket{ID: "t1", Number: 7, Subject: "Printer", RequesterEmail: "ann@example.com", Status: model.StatusOpen}
	for range 3 {
		if err := n.QueueOnce(ctx, "rule:r1:ev1:0", []string{"ann@example.com"}, "ticket_created", tk, map[string]string{"rule": "ack"}); err != nil {
			t.Fatal(err)
		}
	}
	reply := &model.Event{ID: "ev2", Ticket: "t1", Type: model.EventCommented, Actor: "bob@example.com", ActorKind: model.ActorAgent,
		Public: model.Ptr(true), Body: model.Ptr("On it."), At: time.Now()}
	for range 2 {
		n.Committed(ctx, []*model.Event{reply}, map[string]*model.Ticket{"t1": tk})
	}
	for range 2 {
		if err := n.Queue(ctx, []string{"ann@example.com"}, "resolved", tk, nil); err != nil {
			t.Fatal(err)
		}
	}
	count := func(query string) int {
		t.Helper()
		var c int
		if err := st.DB.QueryRow(query).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for tmpl, want := range map[string]int{"ticket_created": 1, "reply": 1, "resolved": 2} {
		if got := count(`SELECT count(*) FROM mail_outbox WHERE template = '` + tmpl + `'`); got != want {
			t.Errorf("%s: %d e-mails queued, want %d", tmpl, got, want)
		}
	}
	if got := count(`SELECT count(*) FROM portal_links`); got != 4 {
		t.Errorf("%d status links minted, want 4 (one per queued e-mail)", got)
	}
	if got := count(`SELECT count(*) FROM mail_outbox WHERE effect_key IN ('rule:r1:ev1:0', 'notify:reply:ev2')`); got != 2 {
		t.Errorf("%d keyed e-mails, want 2", got)
	}
}
