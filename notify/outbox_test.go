package notify

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/mailer"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// TestOutboxRetryBackoff drives the queue by hand on a stopped clock: a
// mail to an SMTP port where nothing listens is retried after 1, 2, then
// 3 minutes (doubling, capped at max_backoff), is not tried before it is
// due, and is sent once the real server (mailpit) answers; a mail that
// fails its last attempt is marked failed and never sent.
func TestOutboxRetryBackoff(t *testing.T) {
	mp := testtools.StartMailpit(t)
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "deskpulse.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var set Settings
	set.Enabled = true
	set.Retry.Attempts, set.Retry.Backoff, set.Retry.MaxBackoff = 4, time.Minute, 3*time.Minute
	n := New(st, set, mailer.SMTP{Host: "127.0.0.1", Port: testtools.FreePort(t), TLS: "none", From: "help@example.com", Timeout: 2 * time.Second})
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	now := t0
	n.Now = func() time.Time { return now }

	tk := &model.Ticket{ID: "t1", Number: 7, Subject: "Printer", RequesterEmail: "ann@example.com"}
	if err := n.Queue(ctx, []string{"ann@example.com"}, "ticket_created", tk, nil); err != nil {
		t.Fatal(err)
	}
	state := func() (status string, attempts int, next time.Time, lastErr string) {
		t.Helper()
		if err := st.DB.QueryRow(`SELECT status, attempts, next_at, last_error FROM mail_outbox`).Scan(&status, &attempts, &next, &lastErr); err != nil {
			t.Fatal(err)
		}
		return status, attempts, next.UTC(), lastErr
	}
	step := func(at time.Time, wantAttempts int, wantNext time.Time) {
		t.Helper()
		now = at
		if _, err := n.sendDue(ctx); err != nil {
			t.Fatal(err)
		}
		status, attempts, next, lastErr := state()
		if status != "pending" || attempts != wantAttempts || !next.Equal(wantNext) || lastErr == "" {
			t.Fatalf("at +%s: %s, %d attempts, next +%s (%q); want pending, %d, +%s",
				at.Sub(t0), status, attempts, next.Sub(t0), lastErr, wantAttempts, wantNext.Sub(t0))
		}
	}
	step(t0, 1, t0.Add(time.Minute))
	step(t0.Add(59*time.Second), 1, t0.Add(time.Minute)) // not due yet: not tried
	step(t0.Add(time.Minute), 2, t0.Add(3*time.Minute))
	step(t0.Add(3*time.Minute), 3, t0.Add(6*time.Minute)) // 4 minutes capped at 3

	n.smtp.Port = mp.SMTPPort // the server is back
	now = t0.Add(6 * time.Minute)
	if _, err := n.sendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if status, attempts, _, lastErr := state(); status != "sent" || attempts != 4 || lastErr != "" {
		t.Fatalf("after the server came back: %s, %d attempts, %q", status, attempts, lastErr)
	}
	msgs := mp.WaitFull(t, 1)
	if len(msgs) != 1 || msgs[0].Subject != "[#7] We received your request: Printer" {
		t.Fatalf("mailpit holds %d mails: %+v", len(msgs), msgs)
	}

	// The last attempt failing marks the mail failed for good.
	n.smtp.Port = testtools.FreePort(t)
	n.set.Retry.Attempts = 1
	if err := n.Queue(ctx, []string{"ann@example.com"}, "resolved", tk, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := n.sendDue(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := n.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[1].Status != "failed" || list[1].Attempts != 1 || !strings.Contains(list[1].LastError, "127.0.0.1") {
		t.Fatalf("queue: %+v", list[1])
	}
	if wait, err := n.sendDue(ctx); err != nil || wait != time.Hour {
		t.Errorf("nothing pending: next look in %s (%v), want 1h", wait, err)
	}
}
