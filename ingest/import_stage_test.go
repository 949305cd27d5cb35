package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// TestImportMatchesInMemoryCheck holds the staged, set-based import to the
// in-memory path it replaced (de-duplication by a map, checkEvents,
// storeEvents, as BulkLoad still does): on the same inputs, over the same
// stored history, both must store the same events with the same seq and
// ticket numbers, the same projection, and report the same bad rows. The
// inputs mix new and stored tickets, duplicates (in the input and of
// stored events), malformed events, refused transitions, events older
// than the stored history, ties in time within and across tickets, and
// created events with and without a number.
func TestImportMatchesInMemoryCheck(t *testing.T) {
	ctx := context.Background()
	seed := randomHistory(rand.New(rand.NewPCG(1, 2)), "S", 60, 0)
	for round, input := range []string{
		randomHistory(rand.New(rand.NewPCG(3, 4)), "N", 80, 25) + seed[:len(seed)/2],
		randomHistory(rand.New(rand.NewPCG(5, 6)), "S", 60, 40), // more of the stored tickets' ids: duplicates and clashes
		handWrittenMix,
	} {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			staged, inMemory := openPair(t)
			for _, w := range []*Writer{staged, inMemory} {
				if _, err := w.Import(ctx, []Input{{Name: "seed.ndjson", R: strings.NewReader(seed)}}, ImportOptions{Skip: true}); err != nil {
					t.Fatal(err)
				}
			}
			sum, err := staged.Import(ctx, []Input{{Name: "in.ndjson", R: strings.NewReader(input)}}, ImportOptions{Skip: true})
			if err != nil {
				t.Fatal(err)
			}
			want := importInMemory(t, inMemory, "in.ndjson", input)
			if got := rowErrors(sum.Rejects); got != rowErrors(want) {
				t.Fatalf("bad rows differ:\nstaged:\n%s\nin memory:\n%s", got, rowErrors(want))
			}
			if sum.Rejected == 0 || sum.Duplicates == 0 || sum.Imported == 0 {
				t.Fatalf("the input should have bad rows, duplicates and imports: %+v", sum)
			}
			for _, q := range []string{
				`SELECT * FROM events ORDER BY seq`,
				`SELECT * FROM tickets ORDER BY id`,
			} {
				if a, b := dump(t, staged, q), dump(t, inMemory, q); a != b {
					t.Fatalf("%s differs:\nstaged:\n%s\nin memory:\n%s", q, a, b)
				}
			}
		})
	}
}

// handWrittenMix has a created event with its own number, one without an
// actor (malformed, so the ticket's next event has no ticket), three
// tickets created at the same instant, and an event of a stored ticket.
const handWrittenMix = `{"id":"h1","ticket":"Z-2","type":"created","at":"2026-01-01T09:00:00Z","actor":"a@x","actor_kind":"requester","subject":"two"}
{"id":"h2","ticket":"Z-1","type":"created","at":"2026-01-01T09:00:00Z","actor":"a@x","actor_kind":"requester","subject":"one","number":500}
{"id":"h3","ticket":"Z-3","type":"created","at":"2026-01-01T09:00:00Z","actor":" ","actor_kind":"requester","subject":"three"}
{"id":"h4","ticket":"Z-3","type":"resolved","at":"2026-01-01T10:00:00Z","actor":"b@x","actor_kind":"agent"}
{"id":"h5","ticket":"Z-0","type":"created","at":"2026-01-01T09:00:00Z","actor":"a@x","actor_kind":"requester","subject":"zero","tags":["B","a","b"]}
{"id":"h6","ticket":"Z-0","type":"commented","at":"2026-01-01T09:00:00Z","actor":"b@x","actor_kind":"agent","body":"hi"}
{"id":"h1","ticket":"Z-9","type":"created","at":"2026-01-01T08:00:00Z","actor":"a@x","actor_kind":"requester","subject":"dup id"}
{"id":"h7","ticket":"S-1","type":"commented","at":"2030-01-01T09:00:00Z","actor":"b@x","actor_kind":"agent","body":"late"}
{"id":"h8","ticket":"S-2","type":"commented","at":"2000-01-01T09:00:00Z","actor":"b@x","actor_kind":"agent","body":"early"}
`

// randomHistory makes NDJSON events for tickets prefix-0..n-1 with random
// types and times on a coarse grid (so that times tie), in shuffled
// order; noise percent of the lines are also repeated or broken.
func randomHistory(r *rand.Rand, prefix string, n, noise int) string {
	types := []string{"assigned", "commented", "status_changed", "resolved", "reopened", "closed", "csat_rated", "priority_changed", "created"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var lines []string
	for i := range n {
		ticket := fmt.Sprintf("%s-%d", prefix, i)
		at := base.Add(time.Duration(r.IntN(20)) * time.Hour)
		lines = append(lines, fmt.Sprintf(`{"id":"%s-c","ticket":"%s","type":"created","at":"%s","actor":"r%d@x","actor_kind":"requester","subject":"s %d"}`, ticket, ticket, at.Format(time.RFC3339), i%7, i))
		for k := range r.IntN(8) {
			at = at.Add(time.Duration(r.IntN(3)) * time.Hour)
			typ := types[r.IntN(len(types))]
			extra := ""
			switch typ {
			case "assigned":
				extra = `,"team":"IT","assignee":"b@x"`
			case "commented":
				extra = fmt.Sprintf(`,"body":"b","public":%v`, r.IntN(2) == 0)
			case "status_changed":
				extra = `,"status":"` + []string{"open", "pending", "on_hold"}[r.IntN(3)] + `"`
			case "csat_rated":
				extra = fmt.Sprintf(`,"score":%d`, 1+r.IntN(5))
			case "priority_changed":
				extra = `,"priority":"high"`
			case "created":
				extra = `,"subject":"again"`
			}
			lines = append(lines, fmt.Sprintf(`{"id":"%s-%d","ticket":"%s","type":"%s","at":"%s","actor":"b@x","actor_kind":"agent"%s}`, ticket, k, ticket, typ, at.Format(time.RFC3339), extra))
		}
	}
	for i := range len(lines) * noise / 100 {
		switch l := lines[r.IntN(len(lines))]; i % 3 {
		case 0:
			lines = append(lines, l) // the same event again
		case 1:
			lines = append(lines, strings.Replace(l, `"actor_kind":"agent"`, `"actor_kind":"robot"`, 1)) // malformed
		case 2:
			lines = append(lines, strings.Replace(l, `-`, `-x`, 1)) // an id never seen
		}
	}
	r.Shuffle(len(lines), func(i, j int) { lines[i], lines[j] = lines[j], lines[i] })
	return strings.Join(lines, "\n") + "\n"
}

func openPair(t *testing.T) (*Writer, *Writer) {
	t.Helper()
	var out []*Writer
	for _, name := range []string{"staged.duckdb", "memory.duckdb"} {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		w, err := NewWriter(context.Background(), st, WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close(); st.Close() })
		out = append(out, w)
	}
	return out[0], out[1]
}

// importInMemory is the import as it was before staging: every event in
// memory, de-duplicated with a map, checked with checkEvents and stored
// with storeEvents.
func importInMemory(t *testing.T, w *Writer, file, input string) []RowError {
	t.Helper()
	ctx := context.Background()
	c := &collector{opts: &ImportOptions{}}
	if err := readNDJSON(ctx, c, file, strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	bad := c.bad
	err := w.Exclusive(ctx, func(conn *sql.Conn) error {
		seen := map[string]bool{}
		rows, err := conn.QueryContext(ctx, `SELECT event_id FROM events`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			rows.Scan(&id)
			seen[id] = true
		}
		rows.Close()
		var fresh []*model.Event
		var origins []origin
		for i, e := range c.events {
			if !seen[e.ID] {
				seen[e.ID] = true
				fresh = append(fresh, e)
				origins = append(origins, c.origins[i])
			}
		}
		sorted, touched, rejects, err := checkEvents(ctx, w, conn, fresh, false)
		if err != nil {
			return err
		}
		for _, r := range rejects {
			bad = append(bad, RowError{File: origins[r.Index].file, Line: origins[r.Index].line, Reason: r.Err.Error(), EventID: r.Event.ID})
		}
		return storeEvents(ctx, conn, sorted, touched)
	})
	if err != nil {
		t.Fatal(err)
	}
	return sortRowErrors(bad, []string{file})
}

func rowErrors(rows []RowError) string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s %s %s", r.String(), r.EventID, r.Row))
	}
	slices.Sort(out) // several bad events of one line may come in any order
	return strings.Join(out, "\n")
}

// dump renders a query's rows as text (rowsText).
func dump(t *testing.T, w *Writer, query string) string {
	t.Helper()
	var text string
	err := w.Exclusive(context.Background(), func(conn *sql.Conn) error {
		rows, err := conn.QueryContext(context.Background(), query)
		if err != nil {
			return err
		}
		defer rows.Close()
		text, err = rowsText(rows)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// rowsText renders rows as text, a line per row of column=value, times in
// UTC.
func rowsText(rows *sql.Rows) (string, error) {
	cols, _ := rows.Columns()
	values := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	var b strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for i, v := range values {
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(&b, "%s=%v ", cols[i], v)
		}
		b.WriteByte('\n')
	}
	return b.String(), rows.Err()
}

// TestImportInvalidUTF8IsABadRow: a subject that is not UTF-8 (CSV bytes
// are taken as they come) is a bad row with Normalize's reason, as before
// staging, not a failure of the whole import when it is staged.
func TestImportInvalidUTF8IsABadRow(t *testing.T) {
	staged, _ := openPair(t)
	m, err := LoadMapping("../examples/mappings/tickets-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data := "Ticket ID,Subject,Requester,Created at,First reply at,Solved at,Closed at,Priority,Via,Group,Assignee,Satisfaction\n" +
		"101,Laptop \xff broken,ann@example.com,2026-03-02 09:00,,,,High,Email,IT,bob@example.com,\n" +
		"102,Fine,ann@example.com,2026-03-02 09:00,,,,High,Email,IT,bob@example.com,\n"
	sum, err := staged.Import(context.Background(), []Input{{Name: "t.csv", R: strings.NewReader(data)}}, ImportOptions{Mapping: m, Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 1 || sum.Rejected != 1 || sum.Rejects[0].Line != 2 || sum.Rejects[0].Reason != "subject: must be valid UTF-8 of at most 500 bytes" {
		t.Fatalf("summary %+v", sum)
	}
}
