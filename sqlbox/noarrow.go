//go:build !duckdb_arrow

package sqlbox

import (
	"context"
	"database/sql"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// available is false: the sandbox is filled with Arrow record batches, so
// a build without the duckdb_arrow tag (the Makefile sets it) has no SQL.
const available = false

const arrowStreamType = "application/vnd.apache.arrow.stream"

var errNoArrow = errors.New("this deskpulse was built without Arrow (build with -tags=duckdb_arrow); the SQL sandbox needs it")

func newIPCReader(io.Reader) (array.RecordReader, error) { return nil, errNoArrow }

func exportArrow(context.Context, *sql.Conn, io.Writer, string, ...any) error { return errNoArrow }

func writeArrow(context.Context, *sql.Conn, string, int, io.Writer) (bool, error) {
	return false, errNoArrow
}

func (c *child) apply(context.Context, string, string, string, string, io.Reader) error {
	return errNoArrow
}
