package store

import (
	"context"
	"database/sql"
	"time"
)

// Applied command keys (migration 12): a command that must take effect
// once whatever retries and restarts happen (an automation rule acting on
// one triggering event) carries a key; the writer stores the key in the
// transaction of the command's events, so a key is there exactly when the
// events are, and refuses the key a second time.

// AppliedKey is one applied command: its key, its ticket and what the
// command left to do after its commit (a rule's e-mail and webhook
// actions), for a replay to finish.
type AppliedKey struct {
	Key, Ticket, Record string
}

// AddAppliedKeys stores keys inside conn's open transaction; a key stored
// already fails the transaction (the primary key).
func AddAppliedKeys(ctx context.Context, conn *sql.Conn, keys []AppliedKey, at time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	k, ticket, record := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, a := range keys {
		k[i], ticket[i], record[i] = a.Key, a.Ticket, a.Record
	}
	_, err := conn.ExecContext(ctx, `INSERT INTO applied_commands (key, ticket_id, record, applied_at)
		SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), ?`, k, ticket, record, at.UTC())
	return err
}

// AppliedKeys returns which of keys are stored, with their records.
func AppliedKeys(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, keys []string) (map[string]string, error) {
	out := map[string]string{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT key, record FROM applied_commands WHERE key IN (SELECT unnest(?::VARCHAR[]))`, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, r string
		if err := rows.Scan(&k, &r); err != nil {
			return nil, err
		}
		out[k] = r
	}
	return out, rows.Err()
}
