//go:build duckdb_arrow

package api

import (
	"bytes"
	"context"
	"database/sql/driver"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/duckdb/duckdb-go/v2"
)

// arrowOut is true when this build can answer SQL as Arrow IPC (the
// duckdb_arrow build tag, set in the Makefile).
const arrowOut = true

// runArrow is runReadOnly with the result as an Arrow IPC stream: DuckDB's
// own record batches, written unchanged, so types (timestamps with zone,
// lists, maps, decimals) survive that JSON and CSV flatten. At most
// maxRows rows; the stream is built in memory (the row cap bounds it) so
// that truncation can still be said in a header.
func (s *Server) runArrow(ctx context.Context, q string, maxRows int) (out []byte, truncated bool, err error) {
	conn, err := s.store.DB.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION READ ONLY`); err != nil {
		return nil, false, err
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	var buf bytes.Buffer
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err := ar.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rr.Release()
		w := ipc.NewWriter(&buf, ipc.WithSchema(rr.Schema()))
		left := int64(maxRows)
		for rr.Next() {
			rec := rr.RecordBatch()
			if rec.NumRows() > left {
				truncated = true
				part := rec.NewSlice(0, left)
				err := w.Write(part)
				part.Release()
				if err != nil {
					return err
				}
				break
			}
			if err := w.Write(rec); err != nil {
				return err
			}
			left -= rec.NumRows()
			if left == 0 {
				// One more row means the cap cut the result.
				truncated = rr.Next() && rr.RecordBatch().NumRows() > 0
				break
			}
		}
		if err := rr.Err(); err != nil {
			return err
		}
		return w.Close()
	})
	if err != nil {
		return nil, false, err
	}
	return buf.Bytes(), truncated, nil
}
