package api

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/sqlbox"
)

// Limits of POST /api/v1/sql.
const (
	sqlMaxText        = 100 << 10
	sqlDefaultRows    = 10_000
	sqlMaxRows        = 100_000
	sqlDefaultTimeout = 10 * time.Second
	sqlMaxTimeout     = 60 * time.Second
)

// arrowStreamType is the media type of the Arrow IPC stream format.
const arrowStreamType = "application/vnd.apache.arrow.stream"

type sqlRequest struct {
	SQL       string `json:"sql"`
	Format    string `json:"format"`     // json (default), csv or arrow; also ?format= or Accept: text/csv or application/vnd.apache.arrow.stream
	MaxRows   int    `json:"max_rows"`   // default 10000, at most 100000
	TimeoutMS int    `json:"timeout_ms"` // default 10000, at most 60000
}

// querySQL is POST /api/v1/sql: one read-only SELECT over the documented
// relations (sqlbox.Relations), run by package sqlbox in a process and a
// database of their own that hold nothing else, with a row cap, a time
// limit, a memory bound and a cap on the answer's bytes.
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
	case format == "arrow" && !sqlbox.Available:
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
	ans, err := s.sql.Query(r.Context(), sqlbox.Request{SQL: req.SQL, Format: format, MaxRows: maxRows, Timeout: timeout})
	if err != nil {
		writeError(w, r, &Error{Status: http.StatusServiceUnavailable, Code: "sandbox_unavailable", Message: err.Error()})
		return
	}
	w.Header().Set("Content-Type", ans.ContentType)
	if ans.Truncated {
		w.Header().Set("X-Truncated", "true")
	}
	w.WriteHeader(ans.Status)
	w.Write(ans.Body)
}
