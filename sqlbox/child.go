package sqlbox

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/internal/csvsafe"
	"github.com/deskpulse/deskpulse/store"
)

// childEnv names the environment variable that makes a deskpulse process
// (or a test binary that links this package) the sandbox: its value is
// the JSON of childConfig.
const childEnv = "DESKPULSE_SQLBOX"

// childConfig is what the parent tells the sandbox process.
type childConfig struct {
	Socket      string `json:"socket"`       // unix socket to serve on
	DB          string `json:"db"`           // the sandbox's own DuckDB file ("" in memory)
	MemoryLimit string `json:"memory_limit"` // DuckDB's memory_limit
	Threads     int    `json:"threads"`
}

// init turns the process into the sandbox when the parent started it so;
// it never returns then. Every binary that links this package (deskpulse
// and the test binaries of the packages that serve SQL) can so be its own
// sandbox, with no extra command to wire up.
func init() {
	raw := os.Getenv(childEnv)
	if raw == "" {
		return
	}
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sqlbox:", err)
		os.Exit(2)
	}
	if err := runChild(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "sqlbox:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// incomingView is the name under which a load's Arrow stream is read.
const incomingView = "sqlbox_incoming"

// child is the sandbox process: a DuckDB instance of its own that holds
// only the analyst relations, locked so that no query can reach a file or
// change a setting.
type child struct {
	db *sql.DB
}

func runChild(cfg childConfig) error {
	// The parent holds the other end of stdin: when it goes away, so does
	// the sandbox (no orphan outlives a killed server).
	db, err := openLocked(cfg)
	if err != nil {
		return err
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		db.Close()
		os.Exit(0)
	}()
	c := &child{db: db}
	os.Remove(cfg.Socket)
	ln, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /load", c.load)
	mux.HandleFunc("POST /query", c.query)
	mux.HandleFunc("GET /limit", c.limit)
	// The parent waits for this line before it sends anything.
	fmt.Fprintln(os.Stdout, "ready")
	return http.Serve(ln, mux)
}

// openLocked opens the sandbox database with its bounds, then switches off
// every way out of it: enable_external_access=false refuses files, globs,
// ATTACH, COPY and extensions; lock_configuration=true refuses any SET that
// would undo that or lift the memory limit.
func openLocked(cfg childConfig) (*sql.DB, error) {
	connector, err := duckdb.NewConnector(cfg.DB, nil)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	settings := []string{`SET autoinstall_known_extensions = false`, `SET autoload_known_extensions = false`}
	if cfg.MemoryLimit != "" {
		settings = append(settings, `SET memory_limit = `+store.Literal(cfg.MemoryLimit))
	}
	if cfg.Threads > 0 {
		settings = append(settings, fmt.Sprintf(`SET threads = %d`, cfg.Threads))
	}
	settings = append(settings, `SET enable_external_access = false`, `SET lock_configuration = true`,
		`DROP VIEW IF EXISTS `+incomingView)
	for _, s := range settings {
		if _, err := db.Exec(s); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	return db, nil
}

// load replaces rows of one relation with the Arrow IPC stream in the
// body, in one transaction. mode "all" replaces the whole table (creating
// it from the stream's schema); "keys" deletes the rows whose key column
// is in the stream and inserts the stream; "after" deletes the rows whose
// key column is greater than ?after= and appends the stream. Each mode is
// idempotent, so a refresh cut short by a crash can simply be sent again.
func (c *child) load(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	table, mode, key := q.Get("table"), q.Get("mode"), q.Get("key")
	if _, ok := relationByName(table); !ok {
		http.Error(w, "unknown relation", http.StatusBadRequest)
		return
	}
	if err := c.apply(r.Context(), table, mode, key, q.Get("after"), bufio.NewReaderSize(r.Body, 1<<20)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// limit answers DuckDB's memory limit in bytes, from which the parent
// sets the size at which it stops the process.
func (c *child) limit(w http.ResponseWriter, r *http.Request) {
	var setting string
	if err := c.db.QueryRowContext(r.Context(), `SELECT current_setting('memory_limit')`).Scan(&setting); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n, err := store.ParseSize(setting)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, n)
}

// queryRequest is what the parent sends for one analyst query.
type queryRequest struct {
	SQL      string `json:"sql"`
	Format   string `json:"format"` // json, csv or arrow
	MaxRows  int    `json:"max_rows"`
	MaxBytes int    `json:"max_bytes"`
}

// query checks that the text is one SELECT and runs it in a read-only
// transaction, answering the whole result in the asked format, or a JSON
// error with the status the API should give.
func (c *child) query(w http.ResponseWriter, r *http.Request) {
	var req queryRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	began := time.Now()
	if err := c.checkSelect(ctx, req.SQL); err != nil {
		writeFailure(w, err)
		return
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		writeFailure(w, err)
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION READ ONLY`); err != nil {
		writeFailure(w, err)
		return
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	out := &cappedBuffer{max: req.MaxBytes}
	var contentType string
	var truncated bool
	switch req.Format {
	case "arrow":
		contentType = arrowStreamType
		truncated, err = writeArrow(ctx, conn, req.SQL, req.MaxRows, out)
	case "csv":
		contentType = "text/csv; charset=utf-8"
		truncated, err = writeRows(ctx, conn, req.SQL, req.MaxRows, out, newCSVSink(out))
	default:
		contentType = "application/json"
		truncated, err = writeRows(ctx, conn, req.SQL, req.MaxRows, out, newJSONSink(out, began))
	}
	if err != nil {
		if errors.Is(err, errTooLarge) {
			err = &Failure{Status: http.StatusBadRequest, Code: "result_too_large", Field: "sql",
				Message: fmt.Sprintf("the result is larger than %d bytes: select fewer rows or columns (max_rows, LIMIT) or aggregate", req.MaxBytes)}
		}
		writeFailure(w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	if truncated {
		w.Header().Set("X-Truncated", "true")
	}
	w.Write(out.Bytes())
}

// errTooLarge is returned by a cappedBuffer past its size.
var errTooLarge = errors.New("result too large")

// cappedBuffer is a buffer that refuses to grow past max bytes, so that a
// result is stopped while it is built, not after.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.max > 0 && b.Len()+len(p) > b.max {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

// rowSink writes a result row by row.
type rowSink interface {
	header(cols []column) error
	row(vals []any) error
	end(rows int, truncated bool) error
}

type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func writeRows(ctx context.Context, conn *sql.Conn, q string, maxRows int, out *cappedBuffer, sink rowSink) (truncated bool, err error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return false, err
	}
	cols := make([]column, len(types))
	for i, t := range types {
		cols[i] = column{Name: t.Name(), Type: t.DatabaseTypeName()}
	}
	if err := sink.header(cols); err != nil {
		return false, err
	}
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if n == maxRows {
			truncated = true
			break
		}
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		if err := sink.row(vals); err != nil {
			return false, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	return truncated, sink.end(n, truncated)
}

// jsonSink writes {"columns":[...],"rows":[[...],...],"row_count":N,
// "truncated":B,"ms":M}, the API's JSON answer.
type jsonSink struct {
	w     io.Writer
	began time.Time
	n     int
}

func newJSONSink(w io.Writer, began time.Time) *jsonSink { return &jsonSink{w: w, began: began} }

func (s *jsonSink) header(cols []column) error {
	b, _ := json.Marshal(cols)
	_, err := fmt.Fprintf(s.w, `{"columns":%s,"rows":[`, b)
	return err
}

func (s *jsonSink) row(vals []any) error {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = jsonValue(v)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if s.n > 0 {
		if _, err := s.w.Write([]byte{','}); err != nil {
			return err
		}
	}
	s.n++
	_, err = s.w.Write(b)
	return err
}

func (s *jsonSink) end(rows int, truncated bool) error {
	_, err := fmt.Fprintf(s.w, `],"row_count":%d,"truncated":%t,"ms":%d}`, rows, truncated, time.Since(s.began).Milliseconds())
	return err
}

// csvSink writes the header and rows as CSV; text cells that a
// spreadsheet would take for a formula are neutralised.
type csvSink struct {
	cw  *csv.Writer
	rec []string
}

func newCSVSink(w io.Writer) *csvSink { return &csvSink{cw: csv.NewWriter(w)} }

func (s *csvSink) header(cols []column) error {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = csvsafe.Cell(c.Name)
	}
	s.rec = make([]string, len(cols))
	s.cw.Write(names)
	return s.cw.Error()
}

func (s *csvSink) row(vals []any) error {
	for i, v := range vals {
		s.rec[i] = csvValue(jsonValue(v))
	}
	s.cw.Write(s.rec)
	// Flush per row so that the buffer's cap sees the bytes as they come.
	s.cw.Flush()
	return s.cw.Error()
}

func (s *csvSink) end(int, bool) error {
	s.cw.Flush()
	return s.cw.Error()
}

// quoteIdent quotes a SQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
