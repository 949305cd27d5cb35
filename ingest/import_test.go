package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

func openImport(t *testing.T) (*store.Store, *ingest.Writer) {
	t.Helper()
	st, w := open(t, filepath.Join(t.TempDir(), "import.duckdb"))
	t.Cleanup(func() { w.Close(); st.Close() })
	return st, w
}

func importText(t *testing.T, w *ingest.Writer, name, text string, opts ingest.ImportOptions) (*ingest.ImportSummary, error) {
	t.Helper()
	return w.Import(context.Background(), []ingest.Input{{Name: name, R: strings.NewReader(text)}}, opts)
}

// fingerprint is a count and an order-independent hash of every stored
// event and ticket, to show that a failed import changed nothing.
func fingerprint(t *testing.T, st *store.Store) string {
	t.Helper()
	var ne, nt int64
	var he, ht any
	if err := st.DB.QueryRow(`SELECT count(*), bit_xor(hash(e)) FROM events e`).Scan(&ne, &he); err != nil {
		t.Fatal(err)
	}
	if err := st.DB.QueryRow(`SELECT count(*), bit_xor(hash(t)) FROM tickets t`).Scan(&nt, &ht); err != nil {
		t.Fatal(err)
	}
	return strings.Join([]string{itoa(ne), itoa(nt), anyStr(he), anyStr(ht)}, "/")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
func anyStr(v any) string {
	if v == nil {
		return "nil"
	}
	b, _ := jsonMarshal(v)
	return string(b)
}

func TestImportCanonicalExample(t *testing.T) {
	ctx := context.Background()
	st, w := openImport(t)
	data, err := os.ReadFile("testdata/import_example.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := importText(t, w, "example.ndjson", string(data), ingest.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 7 || sum.Imported != 7 || sum.Duplicates != 0 || sum.Rejected != 0 || sum.TicketsTouched != 1 {
		t.Fatalf("summary %+v", sum)
	}
	tk, err := st.Ticket(ctx, "EXT-1")
	if err != nil {
		t.Fatal(err)
	}
	cet := time.FixedZone("", 3600)
	want := func(name string, got *time.Time, at time.Time) {
		t.Helper()
		if got == nil || !got.Equal(at) {
			t.Errorf("%s = %v, want %v", name, got, at)
		}
	}
	if tk.Subject != "VPN down" || tk.Priority != model.PriorityHigh || tk.Category != "network" || tk.Channel != model.ChannelEmail ||
		tk.Team != "IT" || tk.Assignee != "bob@example.com" || tk.Status != model.StatusResolved || tk.RequesterEmail != "ann@example.com" ||
		tk.AgentReplies != 1 || tk.CSATScore == nil || *tk.CSATScore != 5 || tk.CSATComment != "fast" || tk.Number != 1 {
		t.Fatalf("ticket %+v", tk)
	}
	want("created_at", &tk.CreatedAt, time.Date(2026, 1, 5, 9, 0, 0, 0, cet))
	want("first_response_at", tk.FirstResponseAt, time.Date(2026, 1, 5, 10, 0, 0, 0, cet))
	want("resolved_at", tk.ResolvedAt, time.Date(2026, 1, 6, 11, 0, 0, 0, cet))
	want("updated_at", &tk.UpdatedAt, time.Date(2026, 1, 6, 12, 0, 0, 0, cet))
	evs, err := st.TicketEvents(ctx, "EXT-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		ids = append(ids, e.ID+":"+string(e.Type))
	}
	if got := strings.Join(ids, " "); got != "e1:created e2:assigned e3:commented e4:status_changed e5:status_changed e6:resolved e7:csat_rated" {
		t.Fatalf("timeline %s", got)
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild: %d %v", n, err)
	}

	// The same file again adds nothing.
	before := fingerprint(t, st)
	sum, err = importText(t, w, "example.ndjson", string(data), ingest.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 0 || sum.Duplicates != 7 || sum.TicketsTouched != 0 {
		t.Fatalf("second import %+v", sum)
	}
	if after := fingerprint(t, st); after != before {
		t.Fatalf("second import changed the store: %s -> %s", before, after)
	}
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

func TestImportGzipOutOfOrderMixAndHashIDs(t *testing.T) {
	ctx := context.Background()
	st, w := openImport(t)
	data, _ := os.ReadFile("testdata/import_example.ndjson")
	if _, err := importText(t, w, "example.ndjson", string(data), ingest.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// A new ticket with its lines reversed and without ids, and a late
	// event of the existing ticket, in one gzip file.
	more := `{"ticket":"EXT-2","type":"closed","at":"2026-01-08T10:00:00Z","actor":"bob@example.com","actor_kind":"agent"}
{"ticket":"EXT-2","type":"resolved","at":"2026-01-08T09:00:00Z","actor":"bob@example.com","actor_kind":"agent"}

{"ticket":"EXT-2","type":"created","at":"2026-01-07T09:00:00Z","actor":"cat@example.com","actor_kind":"requester","subject":"Printer"}
{"id":"e8","ticket":"EXT-1","type":"closed","at":"2026-01-09T09:00:00Z","actor":"system","actor_kind":"system"}
`
	in := []ingest.Input{{Name: "more.ndjson.gz", R: bytes.NewReader(gz(t, more))}}
	sum, err := w.Import(ctx, in, ingest.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 4 || sum.Imported != 4 || sum.TicketsTouched != 2 {
		t.Fatalf("summary %+v", sum)
	}
	t1, _ := st.Ticket(ctx, "EXT-1")
	t2, _ := st.Ticket(ctx, "EXT-2")
	if t1.Status != model.StatusClosed || t2 == nil || t2.Status != model.StatusClosed || t2.Number != 2 || t2.ResolvedAt == nil {
		t.Fatalf("tickets %+v %+v", t1, t2)
	}
	in = []ingest.Input{{Name: "more.ndjson.gz", R: bytes.NewReader(gz(t, more))}}
	sum, err = w.Import(ctx, in, ingest.ImportOptions{})
	if err != nil || sum.Imported != 0 || sum.Duplicates != 4 {
		t.Fatalf("again: %+v %v", sum, err)
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild: %d %v", n, err)
	}
}

const badFile = `{"id":"b1","ticket":"B-1","type":"created","at":"2026-02-01T09:00:00Z","actor":"x@example.com","actor_kind":"requester","subject":"ok"}
{"id":"b2","ticket":"B-1","type":"closed","at":"2026-02-01T10:00:00Z","actor":"x@example.com","actor_kind":"agent"}
not json
{"id":"b3","ticket":"B-1","type":"status_changed","at":"2026-02-01T11:00:00Z","actor":"x@example.com","actor_kind":"agent","status":"open"}
{"id":"b4","ticket":"B-1","type":"commented","at":"2026-02-01T12:00:00Z","actor":"x@example.com","actor_kind":"agent","colour":"red"}
{"id":"b5","ticket":"B-2","type":"created","at":"2026-02-01T12:00:00Z","actor":"x@example.com","actor_kind":"requester","subject":"fine"}
`

func TestImportBadRowsAbortLeavesStoreAsBefore(t *testing.T) {
	st, w := openImport(t)
	data, _ := os.ReadFile("testdata/import_example.ndjson")
	if _, err := importText(t, w, "example.ndjson", string(data), ingest.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := fingerprint(t, st)
	_, err := importText(t, w, "bad.ndjson", badFile, ingest.ImportOptions{})
	var ie *ingest.ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("want an ImportError, got %v", err)
	}
	var got []string
	for _, r := range ie.Rows {
		got = append(got, r.String())
	}
	want := []string{
		"bad.ndjson:2: cannot apply closed to a new ticket: resolve the ticket before closing it",
		"bad.ndjson:3: malformed event: invalid JSON at byte 2: invalid character 'o' in literal null (expecting 'u')",
		`bad.ndjson:5: malformed event: unknown field "colour"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("bad rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if after := fingerprint(t, st); after != before {
		t.Fatalf("an aborted import changed the store: %s -> %s", before, after)
	}
	// A dry run stores nothing either.
	sum, err := importText(t, w, "bad.ndjson", badFile, ingest.ImportOptions{Skip: true, DryRun: true})
	if err != nil || sum.Imported != 3 || sum.Rejected != 3 {
		t.Fatalf("dry run: %+v %v", sum, err)
	}
	if after := fingerprint(t, st); after != before {
		t.Fatal("a dry run changed the store")
	}
	// Skip stores the good rows.
	sum, err = importText(t, w, "bad.ndjson", badFile, ingest.ImportOptions{Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 6 || sum.Imported != 3 || sum.Rejected != 3 || sum.TicketsTouched != 2 || len(sum.Rejects) != 3 {
		t.Fatalf("skip: %+v", sum)
	}
	tk, err := st.Ticket(context.Background(), "B-1")
	if err != nil || tk.Status != model.StatusOpen {
		t.Fatalf("B-1: %+v %v", tk, err)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func TestImportTicketsCSVShape(t *testing.T) {
	ctx := context.Background()
	st, w := openImport(t)
	m, err := ingest.LoadMapping("../examples/mappings/tickets-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("testdata/tickets_example.csv")
	sum, err := importText(t, w, "tickets.csv", string(data), ingest.ImportOptions{Mapping: m, Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 5 || sum.Rejected != 1 || sum.TicketsTouched != 4 || sum.Rejects[0].Line != 5 ||
		sum.Rejects[0].Reason != "First reply at is before Created at" {
		t.Fatalf("summary %+v", *sum)
	}
	tk := mustTicket(t, st, "ZD-101")
	if tk.Status != model.StatusClosed || tk.Priority != model.PriorityHigh || tk.Channel != model.ChannelEmail || tk.Team != "IT" ||
		tk.Assignee != "bob@example.com" || tk.CSATScore == nil || *tk.CSATScore != 5 || tk.AgentReplies != 1 || tk.Subject != "Laptop broken" {
		t.Fatalf("ZD-101 %+v", tk)
	}
	sameTime(t, "first_response_at", tk.FirstResponseAt, utc(2026, 3, 2, 9, 30))
	sameTime(t, "resolved_at", tk.ResolvedAt, utc(2026, 3, 3, 12, 0))
	sameTime(t, "closed_at", tk.ClosedAt, utc(2026, 3, 6, 12, 0))
	if tk := mustTicket(t, st, "ZD-102"); tk.Status != model.StatusNew || tk.FirstResponseAt == nil {
		t.Fatalf("ZD-102 %+v", tk)
	}
	if tk := mustTicket(t, st, "ZD-105"); tk.Status != model.StatusClosed || tk.ResolvedAt == nil || *tk.CSATScore != 1 {
		t.Fatalf("ZD-105 %+v", tk)
	}
	// A later export with ticket 102 solved adds only the resolution.
	later := strings.Replace(string(data), "2026-03-02 11:00,,", "2026-03-02 11:00,2026-03-07 10:00,", 1)
	sum, err = importText(t, w, "tickets.csv", later, ingest.ImportOptions{Mapping: m, Skip: true})
	if err != nil || sum.Imported != 1 || sum.TicketsTouched != 1 {
		t.Fatalf("later export %+v %v", sum, err)
	}
	if tk := mustTicket(t, st, "ZD-102"); tk.Status != model.StatusResolved {
		t.Fatalf("ZD-102 after %+v", tk)
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs: %d %v", n, err)
	}
}

// TestBulkLoadLeavesNoObjects: a load leaves no temporary table or view
// behind on the writer's connection (they would end up in backups).
func TestBulkLoadLeavesNoObjects(t *testing.T) {
	_, w := openImport(t)
	data, _ := os.ReadFile("testdata/import_example.ndjson")
	if _, err := importText(t, w, "example.ndjson", string(data), ingest.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := importText(t, w, "example.ndjson", string(data), ingest.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var names string
	err := w.Exclusive(context.Background(), func(conn *sql.Conn) error {
		return conn.QueryRowContext(context.Background(), `SELECT coalesce(string_agg(view_name, ','), '') FROM duckdb_views() WHERE NOT internal`).Scan(&names)
	})
	if err != nil || names != "" {
		t.Fatalf("views left behind: %q %v", names, err)
	}
}

// TestCommandsGoOnWhileAnImportReads: an import takes the writer's turn
// only after its inputs are read, so a slow upload does not hold up
// ticket commands; the ticket created meanwhile gets number 1 and the
// imported one number 2.
func TestCommandsGoOnWhileAnImportReads(t *testing.T) {
	ctx := context.Background()
	st, w := openImport(t)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := w.Import(ctx, []ingest.Input{{Name: "slow.ndjson", R: pr}}, ingest.ImportOptions{})
		done <- err
	}()
	pw.Write([]byte(`{"id":"s1","ticket":"SLOW-1","type":"created","at":"2026-01-05T09:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"Slow"}` + "\n"))
	cmdCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := w.Do(cmdCtx, &ingest.CreateTicket{Actor: requester, Subject: "Meanwhile"})
	if err != nil {
		t.Fatalf("a command while the import reads: %v", err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	slow := mustTicket(t, st, "SLOW-1")
	if res.Ticket.Number != 1 || slow.Number != 2 {
		t.Fatalf("numbers: command %d, import %d", res.Ticket.Number, slow.Number)
	}
}

// TestShortImportsFinish: imports that end at once (an empty input) must
// not wait for a staging goroutine that has not started yet (it once took
// the channel after finish had cleared it, and the import hung).
func TestShortImportsFinish(t *testing.T) {
	_, w := openImport(t)
	for i := range 300 {
		if _, err := importText(t, w, "empty.ndjson", "", ingest.ImportOptions{}); err != nil {
			t.Fatalf("import %d: %v", i, err)
		}
	}
}
