// Package bench is the reusable part of `deskpulse bench`: generated data
// in the canonical import format and as CSV, the HTTP write-path load
// generator, peak-RSS measurement and a throwaway PostgreSQL 15 cluster
// that runs the same core KPI queries over the same events.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/store"
)

// Data is a generated event history in the formats the benchmark loads.
type Data struct {
	Tickets, Events int64
	NDJSON          string  // canonical events (docs/events.md), for deskpulse import
	CSV             string  // the same events as CSV with a header, for PostgreSQL COPY
	Seconds         float64 // generation and writing both files (0 when reused)
}

// Generate writes n tickets of k events each (k <= 10: the first k events
// of each ticket made by metrics.GenerateSQL, so every ticket's history
// stays valid) to dir/events-N-K.ndjson and .csv. Files from an earlier run
// with the same sizes are reused.
func Generate(ctx context.Context, dir string, n, k int) (*Data, error) {
	if k < 1 || k > 10 {
		return nil, fmt.Errorf("events per ticket must be 1-10 (the generator writes 10 and keeps the first K), not %d", k)
	}
	base := filepath.Join(dir, fmt.Sprintf("events-%d-%d", n, k))
	d := &Data{Tickets: int64(n), NDJSON: base + ".ndjson", CSV: base + ".csv"}
	done := base + ".done"
	if b, err := os.ReadFile(done); err == nil {
		if _, err := fmt.Sscan(string(b), &d.Events); err == nil {
			return d, nil
		}
	}
	began := time.Now()
	src := base + ".source.duckdb"
	os.Remove(src)
	os.Remove(src + ".wal")
	defer os.Remove(src)
	defer os.Remove(src + ".wal")
	st, err := store.Open(ctx, src)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	db := st.DB
	if _, err := db.ExecContext(ctx, metrics.GenerateSQL(n)); err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if k < 10 {
		if _, err := db.ExecContext(ctx, `DELETE FROM events WHERE split_part(event_id, '-', 2)::INTEGER >= ?`, k); err != nil {
			return nil, err
		}
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&d.Events); err != nil {
		return nil, err
	}
	if err := writeNDJSON(ctx, db, d.NDJSON); err != nil {
		return nil, err
	}
	if err := writeCSV(ctx, db, d.CSV); err != nil {
		return nil, err
	}
	d.Seconds = time.Since(began).Seconds()
	return d, os.WriteFile(done, fmt.Appendf(nil, "%d\n", d.Events), 0o644)
}

// ndjsonFields are the canonical event's keys and the events column each
// comes from; null (and empty tags) are left out, as in docs/events.md.
var ndjsonFields = [][2]string{
	{"id", "event_id"}, {"ticket", "ticket_id"}, {"type", "type"},
	{"at", `strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')`},
	{"actor", "actor"}, {"actor_kind", "actor_kind"}, {"number", "number"},
	{"subject", "subject"}, {"description", "description"}, {"requester_name", "requester_name"},
	{"requester_email", "requester_email"}, {"ticket_type", "ticket_type"}, {"priority", "priority"},
	{"category", "category"}, {"channel", "channel"}, {"tags", "CASE WHEN len(tags) > 0 THEN tags END"},
	{"team", "team"}, {"assignee", "assignee"}, {"status", "status"}, {"public", "public"},
	{"body", "body"}, {"score", "score"},
}

// writeNDJSON writes one canonical event per line in storage order. The
// lines are built in SQL (concat_ws drops the null fields) and written as
// a one-column "CSV" whose quote character never occurs in JSON.
func writeNDJSON(ctx context.Context, db *sql.DB, path string) error {
	var parts []string
	for _, f := range ndjsonFields {
		parts = append(parts, fmt.Sprintf(`'"%s":' || to_json(%s)`, f[0], f[1]))
	}
	q := fmt.Sprintf(`COPY (SELECT '{' || concat_ws(',', %s) || '}' FROM events ORDER BY seq) TO %s
		(FORMAT csv, HEADER false, DELIMITER '%s', QUOTE '%s', ESCAPE '%s')`,
		strings.Join(parts, ", "), store.Literal(path), "\t", "\x01", "\x01")
	_, err := db.ExecContext(ctx, q)
	return err
}

// CSVColumns are the columns of the CSV (and of the PostgreSQL table).
var CSVColumns = []string{"seq", "event_id", "ticket_id", "type", "occurred_at", "actor", "actor_kind", "number",
	"subject", "description", "requester_name", "requester_email", "ticket_type", "priority", "category",
	"channel", "tags", "team", "assignee", "status", "public", "body", "score"}

// writeCSV writes the events as CSV; tags as a PostgreSQL array literal.
func writeCSV(ctx context.Context, db *sql.DB, path string) error {
	cols := make([]string, len(CSVColumns))
	for i, c := range CSVColumns {
		switch c {
		case "tags":
			cols[i] = `CASE WHEN tags IS NOT NULL THEN '{' || array_to_string(tags, ',') || '}' END AS tags`
		case "occurred_at":
			cols[i] = `strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S.%f+00') AS occurred_at`
		default:
			cols[i] = c
		}
	}
	_, err := db.ExecContext(ctx, fmt.Sprintf(`COPY (SELECT %s FROM events ORDER BY seq) TO %s (FORMAT csv, HEADER true)`,
		strings.Join(cols, ", "), store.Literal(path)))
	return err
}
