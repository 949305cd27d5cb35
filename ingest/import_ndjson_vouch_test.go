package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/store"
)

// FuzzVouchedLineIsStagedAsGoStagesIt holds DuckDB's vouching to the Go
// path line by line: a one-line file that readNDJSON rejects, or whose
// event Normalize refuses, must not be vouched for; one DuckDB vouches
// for must be staged exactly as the Go path stages its event. (Cheap
// enough to fuzz: one store for all inputs.)
func FuzzVouchedLineIsStagedAsGoStagesIt(f *testing.F) {
	for _, seed := range []string{
		`{"id":"e1","ticket":"EXT-1","type":"created","at":"2026-01-05T09:00:00+01:00","actor":"ann@example.com","actor_kind":"requester","subject":"VPN down","priority":"high"}`,
		`{"id":"e7","ticket":"EXT-1","type":"csat_rated","at":"2026-01-06T12:00:00.1234567+01:00","actor":"ann@example.com","actor_kind":"requester","score":5,"comment":"fast"}`,
		`{"id":"e2","ticket":"T","type":"created","at":"2026-01-05T09:00:00Z","actor":"a","actor_kind":"agent","subject":"s","tags":["X","y","x"],"fields":{"b":"1","a":""},"number":7}`,
		`{"id":"e3","ticket":"T","type":"commented","at":"2026-01-05T09:00:00Z","actor":"a","actor_kind":"requester","body":"\u00e9\n","public":null}`,
		`{"id":"e4","ticket":"T","type":"fields_changed","at":"2026-01-05T09:00:00Z","actor":"a","actor_kind":"agent","fields":{}}`,
		`{"id":"12","ticket":"3","type":"assigned","at":"2026-01-05T09:00:00Z","actor":"-","actor_kind":"agent","team":"true"}`,
		`{"id":1}`, `{"at":"yesterday"}`, `{}`, `{} {}`, `not json`, `{"tags":[1,2]}`, "\xef\xbb\xbf{}",
		`{"id":"e5","ticket":"T","type":"resolved","at":"2026-01-05T09:00:00Z","actor":"a","actor_kind":"agent",}`,
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), "vouch.duckdb"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return // one line
		}
		path := filepath.Join(dir, "line.ndjson")
		if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := &collector{opts: &ImportOptions{}}
		if err := readNDJSON(ctx, c, "line.ndjson", strings.NewReader(line+"\n")); err != nil {
			return // a line past the size limit
		}
		goTakes := len(c.events) == 1 && c.reasons[0] == ""

		conn, err := st.DB.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		s, err := newStaging(ctx, conn)
		defer s.drop()
		if err != nil {
			t.Fatal(err)
		}
		lines, vouched, err := s.stageNDJSONFile(ctx, "line.ndjson", path, false, new(int64), 0, func(int64) {})
		if err != nil {
			t.Fatal(err)
		}
		if !vouched {
			return
		}
		if lines == 0 { // a blank line
			if len(c.events)+len(c.bad) != 0 {
				t.Fatalf("DuckDB staged nothing of %q, the Go path %+v / %+v", line, c.events, c.bad)
			}
			return
		}
		if !goTakes {
			t.Fatalf("DuckDB vouched for %q, which the Go path takes as %+v / %+v", line, c.reasons, c.bad)
		}
		if err := s.stage(c.events, c.origins, c.reasons); err != nil {
			t.Fatal(err)
		}
		rows := stagedRows(t, conn)
		if len(rows) != 2 || rows[0] != rows[1] {
			t.Fatalf("%q staged differently:\nDuckDB: %s\nGo:     %s", line, rows[0], rows[len(rows)-1])
		}
	})
}

// stagedRows renders the staging table's rows by position, without it.
func stagedRows(t *testing.T, conn *sql.Conn) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), `SELECT * EXCLUDE (pos) FROM `+stagingTable+` ORDER BY pos`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(values...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
