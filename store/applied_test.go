package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIdempotencyKeysAreEnforcedByTheStore: a command key is stored
// exactly when its transaction commits and refused a second time, also
// after a reopen; an e-mail or webhook delivery key is unique (NULL, the
// unkeyed ones, may repeat) and ON CONFLICT DO NOTHING skips a repeat.
func TestIdempotencyKeysAreEnforcedByTheStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.duckdb")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	inTx := func(keys []AppliedKey, commit bool) error {
		conn, err := st.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
			t.Fatal(err)
		}
		err = AddAppliedKeys(ctx, conn, keys, at)
		end := `ROLLBACK`
		if err == nil && commit {
			end = `COMMIT`
		}
		if _, cerr := conn.ExecContext(ctx, end); cerr != nil && err == nil {
			err = cerr
		}
		return err
	}
	if err := inTx([]AppliedKey{{Key: "rule:r1:ev1", Ticket: "t1", Record: "0"}}, false); err != nil {
		t.Fatal(err)
	}
	if got, err := AppliedKeys(ctx, st.DB, []string{"rule:r1:ev1"}); err != nil || len(got) != 0 {
		t.Fatalf("a rolled-back key is stored: %v %v", got, err)
	}
	if err := inTx([]AppliedKey{{Key: "rule:r1:ev1", Ticket: "t1", Record: "0"}, {Key: "rule:r2:ev1", Ticket: "t1"}}, true); err != nil {
		t.Fatal(err)
	}
	if err := inTx([]AppliedKey{{Key: "rule:r1:ev1", Ticket: "t1", Record: "1"}}, true); err == nil || !strings.Contains(err.Error(), "Duplicate key") {
		t.Fatalf("a key stored twice: %v", err)
	}
	st.Close()

	if st, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := AppliedKeys(ctx, st.DB, []string{"rule:r1:ev1", "rule:r2:ev1", "rule:r3:ev1"})
	if err != nil || len(got) != 2 || got["rule:r1:ev1"] != "0" || got["rule:r2:ev1"] != "" {
		t.Fatalf("after a reopen: %v %v", got, err)
	}
	if err := inTx([]AppliedKey{{Key: "rule:r2:ev1", Ticket: "t1"}}, true); err == nil {
		t.Fatal("a key stored again after a reopen")
	}

	outbox := func(id string, key any, conflict string) (int64, error) {
		res, err := st.DB.ExecContext(ctx, `INSERT INTO mail_outbox (id, template, ticket_id, recipients, subject, text_body, html_body, status, next_at, created_at, effect_key)
			VALUES (?, 'reply', 't1', ['ann@example.com'], 's', 't', 'h', 'pending', ?, ?, ?) `+conflict, id, at, at, key)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	delivery := func(id string, key any, conflict string) (int64, error) {
		res, err := st.DB.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, url, secret, event_id, event_type, ticket_id, payload, status, next_at, created_at, effect_key)
			VALUES (?, 'w1', 'http://x.example/', 's', 'ev1', 'created', 't1', '{}', 'pending', ?, ?, ?) `+conflict, id, at, at, key)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	for name, insert := range map[string]func(string, any, string) (int64, error){"mail_outbox": outbox, "webhook_deliveries": delivery} {
		for i, c := range []struct {
			id      string
			key     any
			onDup   string
			rows    int64
			refused bool
		}{
			{"1", "notify:reply:ev1", "", 1, false},
			{"2", "notify:reply:ev1", "", 0, true},
			{"3", "notify:reply:ev1", "ON CONFLICT DO NOTHING", 0, false},
			{"4", nil, "", 1, false},
			{"5", nil, "", 1, false},
			{"6", "notify:reply:ev2", "ON CONFLICT DO NOTHING", 1, false},
		} {
			n, err := insert(c.id, c.key, c.onDup)
			if refused := err != nil && strings.Contains(err.Error(), "Duplicate key"); refused != c.refused || (err != nil && !c.refused) || n != c.rows {
				t.Fatalf("%s insert %d (key %v %s): %d rows, err %v", name, i+1, c.key, c.onDup, n, err)
			}
		}
		var n int
		if err := st.DB.QueryRowContext(ctx, `SELECT count(*) FROM `+name).Scan(&n); err != nil || n != 4 {
			t.Fatalf("%s holds %d rows, want 4 (%v)", name, n, err)
		}
	}
	// Updating a keyed row (sent, retried) does not trip its own key.
	if _, err := st.DB.ExecContext(ctx, `UPDATE mail_outbox SET status = 'sent', attempts = 1 WHERE id = '1'`); err != nil {
		t.Fatal(err)
	}
}
