//go:build !duckdb_arrow

package ingest

import (
	"context"
	"database/sql"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// appendEvents appends checked events inside conn's open transaction with
// the DuckDB Appender. Built with the duckdb_arrow tag (the Makefile sets
// it), Arrow record batches are used instead.
func appendEvents(_ context.Context, conn *sql.Conn, events []*model.Event) error {
	return store.AppendEvents(conn, events)
}
