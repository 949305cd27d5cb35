package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
)

// Limits of POST /api/v1/sql.
const (
	sqlMaxText        = 100 << 10
	sqlDefaultRows    = 10_000
	sqlMaxRows        = 100_000
	sqlDefaultTimeout = 10 * time.Second
	sqlMaxTimeout     = 60 * time.Second
)

// sqlTables are the relations an analyst's query may read. Anything else
// (the users and sessions tables, DuckDB's catalog, a file name used as a
// table) is refused.
var sqlTables = []string{"events", "tickets", "ticket_metrics", "sla_targets", "teams", "agents"}

// sqlTableFunctions are the table functions a query may call: none of
// them reads files or runs SQL.
var sqlTableFunctions = []string{"range", "generate_series", "unnest"}

// sqlDeniedFunctions are scalar functions that reveal the host or change
// state.
var sqlDeniedFunctions = []string{"getenv", "current_setting", "nextval", "currval", "setseed", "sql_auto_complete"}

// arrowStreamType is the media type of the Arrow IPC stream format.
const arrowStreamType = "application/vnd.apache.arrow.stream"

type sqlRequest struct {
	SQL       string `json:"sql"`
	Format    string `json:"format"`     // json (default), csv or arrow; also ?format= or Accept: text/csv or application/vnd.apache.arrow.stream
	MaxRows   int    `json:"max_rows"`   // default 10000, at most 100000
	TimeoutMS int    `json:"timeout_ms"` // default 10000, at most 60000
}

// querySQL is POST /api/v1/sql: one read-only SELECT over the documented
// relations. The statement is parsed by DuckDB (json_serialize_sql), which
// serialises only SELECT statements; the parse tree must hold exactly one,
// read only the allowed relations and call no file-reading or SQL-running
// table function. It then runs inside a READ ONLY transaction on its own
// connection with a time limit and a row cap, and is rolled back.
//
// The instance-wide `SET enable_external_access=false` is not used: it
// cannot be undone and would break Parquet export and every other file
// feature of the process; the parse-tree check refuses file access per
// query instead.
func (s *Server) querySQL(w http.ResponseWriter, r *http.Request) {
	var req sqlRequest
	if err := decode(w, r, &req, false); err != nil {
		writeError(w, r, err)
		return
	}
	format := req.Format
	if f := r.URL.Query().Get("format"); f != "" {
		format = f
	}
	if format == "" {
		format = "json"
		for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
			switch mt, _, _ := mime.ParseMediaType(strings.TrimSpace(a)); mt {
			case "text/csv":
				format = "csv"
			case arrowStreamType:
				format = "arrow"
			}
		}
	}
	switch {
	case format == "arrow" && !arrowOut:
		writeError(w, r, badRequest("format", "this deskpulse was built without Arrow (build with -tags=duckdb_arrow)"))
		return
	case format != "json" && format != "csv" && format != "arrow":
		writeError(w, r, badRequest("format", "format must be json, csv or arrow"))
		return
	}
	if strings.TrimSpace(req.SQL) == "" || len(req.SQL) > sqlMaxText {
		writeError(w, r, badRequest("sql", "sql must be one SELECT statement of at most %d bytes", sqlMaxText))
		return
	}
	maxRows := req.MaxRows
	if maxRows <= 0 {
		maxRows = sqlDefaultRows
	}
	if maxRows > sqlMaxRows {
		writeError(w, r, badRequest("max_rows", "max_rows must be at most %d", sqlMaxRows))
		return
	}
	timeout := sqlDefaultTimeout
	if req.TimeoutMS > 0 {
		timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	if timeout > sqlMaxTimeout {
		writeError(w, r, badRequest("timeout_ms", "timeout_ms must be at most %d", sqlMaxTimeout.Milliseconds()))
		return
	}
	if err := s.checkSelect(r.Context(), req.SQL); err != nil {
		writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	failed := func(err error) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			writeError(w, r, &Error{Status: http.StatusBadRequest, Code: "timeout", Field: "sql", Message: fmt.Sprintf("the query ran longer than %s and was stopped", timeout)})
			return
		}
		writeError(w, r, &Error{Status: http.StatusBadRequest, Code: "query_failed", Field: "sql", Message: err.Error()})
	}
	if format == "arrow" {
		stream, truncated, err := s.runArrow(ctx, req.SQL, maxRows)
		if err != nil {
			failed(err)
			return
		}
		w.Header().Set("Content-Type", arrowStreamType)
		if truncated {
			w.Header().Set("X-Truncated", "true")
		}
		w.Write(stream)
		return
	}
	began := time.Now()
	res, err := s.runReadOnly(ctx, req.SQL, maxRows)
	if err != nil {
		failed(err)
		return
	}
	res.MS = time.Since(began).Milliseconds()
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		if res.Truncated {
			w.Header().Set("X-Truncated", "true")
		}
		cw := csv.NewWriter(w)
		names := make([]string, len(res.Columns))
		for i, c := range res.Columns {
			names[i] = c.Name
		}
		cw.Write(names)
		rec := make([]string, len(res.Columns))
		for _, row := range res.Rows {
			for i, v := range row {
				rec[i] = csvValue(v)
			}
			cw.Write(rec)
		}
		cw.Flush()
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type sqlColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type sqlResult struct {
	Columns   []sqlColumn `json:"columns"`
	Rows      [][]any     `json:"rows"`
	RowCount  int         `json:"row_count"`
	Truncated bool        `json:"truncated"`
	MS        int64       `json:"ms"`
}

func refuse(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "refused", Field: "sql", Message: fmt.Sprintf(format, args...)}
}

// checkSelect parses q with DuckDB and accepts exactly one SELECT that
// reads only allowed relations.
func (s *Server) checkSelect(ctx context.Context, q string) error {
	var tree string
	if err := s.store.DB.QueryRowContext(ctx, `SELECT json_serialize_sql(?::VARCHAR)::VARCHAR`, q).Scan(&tree); err != nil {
		return err
	}
	var parsed struct {
		Error        bool             `json:"error"`
		ErrorType    string           `json:"error_type"`
		ErrorMessage string           `json:"error_message"`
		Statements   []map[string]any `json:"statements"`
	}
	if err := json.Unmarshal([]byte(tree), &parsed); err != nil {
		return err
	}
	if parsed.Error {
		if parsed.ErrorType == "not implemented" {
			return refuse("only a SELECT is allowed: statements that write, copy, attach, load, install or set anything are refused")
		}
		return refuse("the SQL does not parse: %s", parsed.ErrorMessage)
	}
	if len(parsed.Statements) != 1 {
		return refuse("send exactly one SELECT statement, not %d", len(parsed.Statements))
	}
	ctes := map[string]bool{}
	collectCTEs(parsed.Statements[0], ctes)
	return walkSelect(parsed.Statements[0], ctes)
}

func collectCTEs(v any, into map[string]bool) {
	switch n := v.(type) {
	case map[string]any:
		if cm, ok := n["cte_map"].(map[string]any); ok {
			if entries, ok := cm["map"].([]any); ok {
				for _, e := range entries {
					if em, ok := e.(map[string]any); ok {
						if k, ok := em["key"].(string); ok {
							into[strings.ToLower(k)] = true
						}
					}
				}
			}
		}
		for _, c := range n {
			collectCTEs(c, into)
		}
	case []any:
		for _, c := range n {
			collectCTEs(c, into)
		}
	}
}

func walkSelect(v any, ctes map[string]bool) error {
	switch n := v.(type) {
	case map[string]any:
		switch n["type"] {
		case "BASE_TABLE":
			name := strings.ToLower(fmt.Sprint(n["table_name"]))
			schema, catalog := fmt.Sprint(n["schema_name"]), fmt.Sprint(n["catalog_name"])
			qualified := (schema != "" && schema != "main") || catalog != ""
			if qualified || (!slices.Contains(sqlTables, name) && !ctes[name]) {
				return refuse("%q cannot be read: a query may read only %s", n["table_name"], strings.Join(sqlTables, ", "))
			}
		case "TABLE_FUNCTION":
			fn, _ := n["function"].(map[string]any)
			name := strings.ToLower(fmt.Sprint(fn["function_name"]))
			if !slices.Contains(sqlTableFunctions, name) {
				return refuse("the table function %s is not allowed (files and other databases cannot be read here)", name)
			}
		}
		if n["class"] == "FUNCTION" {
			name := strings.ToLower(fmt.Sprint(n["function_name"]))
			if slices.Contains(sqlDeniedFunctions, name) {
				return refuse("the function %s is not allowed", name)
			}
		}
		for _, c := range n {
			if err := walkSelect(c, ctes); err != nil {
				return err
			}
		}
	case []any:
		for _, c := range n {
			if err := walkSelect(c, ctes); err != nil {
				return err
			}
		}
	}
	return nil
}

// runReadOnly runs q in a READ ONLY transaction on a connection of its
// own and rolls back, returning at most maxRows rows.
func (s *Server) runReadOnly(ctx context.Context, q string, maxRows int) (*sqlResult, error) {
	conn, err := s.store.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION READ ONLY`); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	res := &sqlResult{Rows: [][]any{}}
	for _, t := range types {
		res.Columns = append(res.Columns, sqlColumn{Name: t.Name(), Type: t.DatabaseTypeName()})
	}
	for rows.Next() {
		if len(res.Rows) == maxRows {
			res.Truncated = true
			break
		}
		vals := make([]any, len(types))
		ptrs := make([]any, len(types))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			vals[i] = jsonValue(v)
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	res.RowCount = len(res.Rows)
	return res, nil
}

// jsonValue makes a scanned DuckDB value JSON-friendly.
func jsonValue(v any) any {
	switch x := v.(type) {
	case duckdb.OrderedMap:
		out := map[string]any{}
		keys, values := x.Keys(), x.Values()
		for i := range keys {
			out[fmt.Sprint(keys[i])] = jsonValue(values[i])
		}
		return out
	case duckdb.Map:
		out := map[string]any{}
		for k, val := range x {
			out[fmt.Sprint(k)] = jsonValue(val)
		}
		return out
	case []any:
		for i := range x {
			x[i] = jsonValue(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = jsonValue(x[k])
		}
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}
