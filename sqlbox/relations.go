package sqlbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// relation is one documented relation that analysts may read, and how
// its copy is kept current.
type relation struct {
	Name string
	// Key is the column by which changed rows are replaced: "seq" for the
	// append-only events, the ticket id for per-ticket relations; "" means
	// the relation is small and copied whole each time.
	Key string
	// TicketKey says Key is a ticket id, so the rows to replace are those
	// of the tickets that new events touched.
	TicketKey bool
}

// Relations are what an analyst's query can read: nothing else is in the
// sandbox. docs/import.md lists them with their columns.
var Relations = []relation{
	{Name: "events", Key: "seq"},
	{Name: "tickets", Key: "id", TicketKey: true},
	{Name: "metrics_tickets", Key: "ticket_id", TicketKey: true},
	{Name: "teams"},
	{Name: "agents"},
}

func relationByName(name string) (relation, bool) {
	for _, r := range Relations {
		if r.Name == name {
			return r, true
		}
	}
	return relation{}, false
}

// state is how far the sandbox's copies are: every event up to Seq (Count
// of them, the one at Seq being LastID), with the relations' columns as
// they were (Shape). A store whose prefix differs (restored, erased, or
// another file) or whose columns changed is copied again whole.
type state struct {
	Seq    int64  `json:"seq"`
	Count  int64  `json:"count"`
	LastID string `json:"last_id"`
	Shape  string `json:"shape"`
	// Small holds a fingerprint of each relation copied whole, so that
	// it is copied again only when it changed.
	Small map[string]string `json:"small"`
}

func (b *Box) loadState() state {
	var s state
	if b.stateLog == "" {
		return state{Seq: -1}
	}
	raw, err := os.ReadFile(b.stateLog)
	if err != nil || json.Unmarshal(raw, &s) != nil {
		return state{Seq: -1}
	}
	return s
}

func (b *Box) saveState(s state) error {
	b.state = s
	if b.stateLog == "" {
		return nil
	}
	raw, _ := json.Marshal(s)
	tmp := b.stateLog + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, b.stateLog)
}

// sync brings the sandbox's copies up to the store's latest events. All
// of it reads one snapshot of the store; each load is idempotent and the
// state is saved last, so a sync cut short is simply done again.
func (b *Box) sync(ctx context.Context, p *process) error {
	if b.refresh != nil {
		if err := b.refresh(ctx); err != nil {
			return err
		}
	}
	conn, err := b.st.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION READ ONLY`); err != nil {
		return err
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)

	present, shape, err := shapeOf(ctx, conn)
	if err != nil {
		return err
	}
	next := state{Shape: shape}
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&next.Seq); err != nil {
		return err
	}
	if present["metrics_tickets"] {
		// metrics_tickets may lag the events; copy only as far as it has
		// come, so that the tickets after it are copied again next time.
		var computed sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT max(value::BIGINT) FROM metrics_state WHERE key = 'seq'`).Scan(&computed); err != nil {
			return err
		}
		next.Seq = min(next.Seq, computed.Int64)
	}
	if err := conn.QueryRowContext(ctx, `SELECT count(*), coalesce(max(event_id) FILTER (seq = $1), '') FROM events WHERE seq <= $1`, next.Seq).Scan(&next.Count, &next.LastID); err != nil {
		return err
	}
	cur := b.state
	full := cur.Seq < 0 || cur.Shape != shape || cur.Seq > next.Seq
	if !full && cur.Seq > 0 {
		var n int64
		var id string
		if err := conn.QueryRowContext(ctx, `SELECT count(*), coalesce(max(event_id) FILTER (seq = $1), '') FROM events WHERE seq <= $1`, cur.Seq).Scan(&n, &id); err != nil {
			return err
		}
		full = n != cur.Count || id != cur.LastID
	}
	next.Small = map[string]string{}
	for _, r := range Relations {
		if r.Key == "" && present[r.Name] {
			var fp string
			if err := conn.QueryRowContext(ctx, `SELECT count(*)::VARCHAR || ' ' || coalesce(bit_xor(hash(t)), 0)::VARCHAR FROM `+quoteIdent(r.Name)+` t`).Scan(&fp); err != nil {
				return err
			}
			next.Small[r.Name] = fp
		}
	}
	if full {
		b.log.Info("sql sandbox: copying the analyst relations", "events", next.Count)
	}
	changed := false
	for _, r := range Relations {
		if !present[r.Name] {
			continue
		}
		t := quoteIdent(r.Name)
		switch {
		case full:
			err = p.load(ctx, conn, r.Name, "all", "", 0, `SELECT * FROM `+t)
		case r.Key == "":
			if next.Small[r.Name] == cur.Small[r.Name] {
				continue
			}
			err = p.load(ctx, conn, r.Name, "all", "", 0, `SELECT * FROM `+t)
		case cur.Seq == next.Seq:
			continue
		case r.TicketKey:
			err = p.load(ctx, conn, r.Name, "keys", r.Key, 0, fmt.Sprintf(`SELECT * FROM %s WHERE %s IN (SELECT DISTINCT ticket_id FROM events WHERE seq > $1 AND seq <= $2)`, t, quoteIdent(r.Key)), cur.Seq, next.Seq)
		default:
			err = p.load(ctx, conn, r.Name, "after", r.Key, cur.Seq, fmt.Sprintf(`SELECT * FROM %s WHERE %s > $1 AND %[2]s <= $2`, t, quoteIdent(r.Key)), cur.Seq, next.Seq)
		}
		if err != nil {
			return err
		}
		changed = true
	}
	if !changed {
		return nil
	}
	return b.saveState(next)
}

// shapeOf lists which relations the store has and their columns, as one
// text that changes when any column does.
func shapeOf(ctx context.Context, conn *sql.Conn) (map[string]bool, string, error) {
	names := make([]string, len(Relations))
	for i, r := range Relations {
		names[i] = `'` + r.Name + `'` // constants of this file, not input
	}
	rows, err := conn.QueryContext(ctx, `SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY column_index)
		FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
		AND table_name IN (`+strings.Join(names, ", ")+`) GROUP BY table_name ORDER BY table_name`)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	present := map[string]bool{}
	var shape strings.Builder
	for rows.Next() {
		var name, cols string
		if err := rows.Scan(&name, &cols); err != nil {
			return nil, "", err
		}
		present[name] = true
		fmt.Fprintf(&shape, "%s(%s); ", name, cols)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if !present["events"] {
		return nil, "", errors.New("the store has no events table")
	}
	return present, shape.String(), nil
}
