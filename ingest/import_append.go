//go:build !duckdb_arrow

package ingest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// appendEvents appends checked events inside conn's open transaction with
// the DuckDB Appender. Built with the duckdb_arrow tag (the Makefile sets
// it), Arrow record batches are used instead.
func appendEvents(_ context.Context, conn *sql.Conn, events []*model.Event) error {
	return store.AppendEvents(conn, events)
}

// appendStaged appends rows to the import's staging table with the DuckDB
// Appender (Arrow record batches with the duckdb_arrow tag).
func appendStaged(_ context.Context, conn *sql.Conn, rows []stagedRow) error {
	return store.WithAppender(conn, stagingTable, func(a *duckdb.Appender) error {
		for _, r := range rows {
			var reason driver.Value
			if r.reason != "" {
				reason = r.reason
			}
			values := append(store.EventValues(r.event), r.file, r.line, reason)
			if err := a.AppendRow(values...); err != nil {
				return fmt.Errorf("event %s: %w", r.event.ID, err)
			}
		}
		return nil
	})
}

// scanCheckRows runs query (checkQuery's columns) and calls fn for each
// row, with database/sql (Arrow record batches with the duckdb_arrow tag).
func scanCheckRows(ctx context.Context, conn *sql.Conn, query string, fn func(*checkRow) error) error {
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r checkRow
	for rows.Next() {
		var status, storedStatus sql.NullString
		var storedUpdated sql.NullTime
		if err := rows.Scan(&r.pos, &r.ticket, &r.typ, &r.at, &status, &r.stored, &storedStatus, &storedUpdated); err != nil {
			return err
		}
		r.status, r.storedStatus, r.storedUpdated = status.String, storedStatus.String, storedUpdated.Time
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}
