//go:build duckdb_arrow

package sqlbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/store"
)

// available is true: this build moves relations into the sandbox as Arrow
// record batches (the duckdb_arrow build tag, set in the Makefile).
const available = true

// arrowStreamType is the media type of the Arrow IPC stream format.
const arrowStreamType = "application/vnd.apache.arrow.stream"

func newIPCReader(r io.Reader) (array.RecordReader, error) { return ipc.NewReader(r) }

// exportArrow runs q on conn (the store) and writes its result to w as an
// Arrow IPC stream, batch by batch, so that nothing is held whole.
func exportArrow(ctx context.Context, conn *sql.Conn, w io.Writer, q string, args ...any) error {
	return store.QueryArrow(ctx, conn, q, args, func(rr array.RecordReader) error {
		iw := ipc.NewWriter(w, ipc.WithSchema(rr.Schema()))
		for rr.Next() {
			if err := iw.Write(rr.RecordBatch()); err != nil {
				return err
			}
		}
		if err := rr.Err(); err != nil {
			return err
		}
		return iw.Close()
	})
}

// writeArrow runs q and writes at most maxRows rows of its result to out
// as an Arrow IPC stream of DuckDB's own record batches, so that types
// (timestamps with zone, lists, maps, decimals) survive as they are.
func writeArrow(ctx context.Context, conn *sql.Conn, q string, maxRows int, out io.Writer) (truncated bool, err error) {
	err = store.QueryArrow(ctx, conn, q, nil, func(rr array.RecordReader) error {
		w := ipc.NewWriter(out, ipc.WithSchema(rr.Schema()))
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
	return truncated, err
}

func (c *child) apply(ctx context.Context, table, mode, key, after string, body io.Reader) error {
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		rr, err := newIPCReader(body)
		if err != nil {
			return err
		}
		defer rr.Release()
		// DuckDB registers the stream as a view in the database itself:
		// it is dropped again when the load ends (and at start, should a
		// crash have left one), so that only the relations remain.
		release, err := ar.RegisterView(rr, incomingView)
		if err != nil {
			return err
		}
		defer release()
		ex := dc.(driver.ExecerContext)
		run := func(q string) error {
			_, err := ex.ExecContext(ctx, q, nil)
			return err
		}
		defer ex.ExecContext(context.Background(), `DROP VIEW IF EXISTS `+incomingView, nil)
		if err := run(`BEGIN TRANSACTION`); err != nil {
			return err
		}
		t, k := quoteIdent(table), quoteIdent(key)
		switch mode {
		case "all":
			err = run(`CREATE OR REPLACE TABLE ` + t + ` AS SELECT * FROM ` + incomingView + ``)
		case "keys":
			// The stream can be read once: hold it while the old rows go.
			err = run(`CREATE OR REPLACE TEMP TABLE changed AS SELECT * FROM ` + incomingView + ``)
			if err == nil {
				err = run(`DELETE FROM ` + t + ` WHERE ` + k + ` IN (SELECT ` + k + ` FROM changed)`)
			}
			if err == nil {
				err = run(`INSERT INTO ` + t + ` SELECT * FROM changed`)
			}
			if err == nil {
				err = run(`DROP TABLE changed`)
			}
		case "after":
			var n int64
			if _, err = fmt.Sscan(after, &n); err == nil {
				err = run(fmt.Sprintf(`DELETE FROM %s WHERE %s > %d`, t, k, n))
			}
			if err == nil {
				err = run(`INSERT INTO ` + t + ` SELECT * FROM ` + incomingView + ``)
			}
		default:
			err = fmt.Errorf("unknown mode %q", mode)
		}
		if err != nil {
			run(`ROLLBACK`)
			return err
		}
		return run(`COMMIT`)
	})
}
