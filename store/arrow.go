//go:build duckdb_arrow

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/duckdb/duckdb-go/v2"
)

// QueryArrow runs q on conn and hands fn its result as DuckDB's own Arrow
// record batches (the duckdb_arrow build tag), released when fn returns:
// column-wise reads and Arrow IPC without a Go value per cell.
func QueryArrow(ctx context.Context, conn *sql.Conn, q string, args []any, fn func(array.RecordReader) error) error {
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rr.Release()
		return fn(rr)
	})
}
