//go:build !duckdb_arrow

package metrics

import "context"

func (e *Engine) scanEventRows(ctx context.Context, query string, args []any, fn func(*EventRow) error) error {
	return e.scanEventRowsSQL(ctx, query, args, fn)
}
