//go:build duckdb_arrow

package api_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// TestSQLArrowStream reads /api/v1/sql answers back with Arrow's own IPC
// reader: the types DuckDB gives (timestamp with zone, integers) arrive
// unchanged, and the row cap cuts the stream and says so.
func TestSQLArrowStream(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "arrow.duckdb"))
	importExample(t, e)

	query := func(q, extra, accept string) (rows []arrow.RecordBatch, schema *arrow.Schema, h http.Header) {
		t.Helper()
		b, _ := json.Marshal(q)
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/sql", strings.NewReader(`{"sql":`+string(b)+extra+`}`))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apache.arrow.stream" {
			t.Fatalf("%s: status %d, type %s", q, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		r, err := ipc.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Release()
		for r.Next() {
			rec := r.RecordBatch()
			rec.Retain()
			rows = append(rows, rec)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		return rows, r.Schema(), resp.Header
	}

	recs, schema, _ := query(`SELECT ticket_id, count(*) AS events, min(occurred_at) AS first FROM events GROUP BY ticket_id`, "", "application/vnd.apache.arrow.stream")
	if len(recs) != 1 || recs[0].NumRows() != 1 {
		t.Fatalf("%d batches", len(recs))
	}
	if got := schema.Field(1).Type.ID(); got != arrow.INT64 {
		t.Fatalf("count is %s, want int64", schema.Field(1).Type)
	}
	ts, ok := schema.Field(2).Type.(*arrow.TimestampType)
	if !ok || ts.TimeZone == "" {
		t.Fatalf("first is %s, want a timestamp with zone", schema.Field(2).Type)
	}
	rec := recs[0]
	first := rec.Column(2).(*array.Timestamp).Value(0).ToTime(ts.Unit)
	if id := rec.Column(0).(*array.String).Value(0); id != "EXT-1" || rec.Column(1).(*array.Int64).Value(0) != 7 ||
		!first.Equal(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("row %s %d %v", id, rec.Column(1).(*array.Int64).Value(0), first)
	}

	count := func(recs []arrow.RecordBatch) (n int64, last int64) {
		for _, r := range recs {
			n += r.NumRows()
			if r.NumRows() > 0 {
				last = r.Column(0).(*array.Int64).Value(int(r.NumRows() - 1))
			}
		}
		return
	}
	recs, _, h := query(`SELECT * FROM range(5000)`, `,"max_rows":3000,"format":"arrow"`, "")
	if n, last := count(recs); n != 3000 || last != 2999 || h.Get("X-Truncated") != "true" {
		t.Fatalf("row cap: %d rows, last %d, truncated %q", n, last, h.Get("X-Truncated"))
	}
	recs, _, h = query(`SELECT * FROM range(3000)`, `,"max_rows":3000,"format":"arrow"`, "")
	if n, _ := count(recs); n != 3000 || h.Get("X-Truncated") != "" {
		t.Fatalf("exactly the cap: %d rows, truncated %q", n, h.Get("X-Truncated"))
	}
}
