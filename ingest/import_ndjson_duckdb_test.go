package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/store"
)

// cleanNDJSON is canonical NDJSON that DuckDB's reader can vouch for in
// full, with what Normalize fills or rewrites: default fields of created
// events, tags to lower-case and sorted, fields by name, a time with more
// than microseconds and an offset, number 0 (none), escapes (\", \n,
// \u00e9) and non-ASCII text, CRLF line ends, a null value, an empty
// object, strings that look like other JSON values, a blank line at the
// end. The state machine refuses two events (a comment on a ticket
// that does not exist, a second resolved), which both paths must report
// alike.
const cleanNDJSON = `{"id":"c1","ticket":"K-1","type":"created","at":"2026-03-02T09:00:00.1234567+01:00","actor":"ann@example.com","actor_kind":"requester","subject":"Imprimante bloqu\u00e9e","tags":["VIP","net","vip"],"fields":{"site":"Lyon","floor":"2"},"number":0}
{"id":"c2","ticket":"K-1","type":"assigned","at":"2026-03-02T09:05:00Z","actor":"system","actor_kind":"system","team":"IT","assignee":"bob@example.com"}
{"id":"c3","ticket":"K-1","type":"commented","at":"2026-03-02T09:30:00Z","actor":"bob@example.com","actor_kind":"agent","body":"On it:\n\"step 1\""}` + "\r" + `
{"id":"c4","ticket":"K-1","type":"commented","at":"2026-03-02T09:40:00Z","actor":"ann@example.com","actor_kind":"requester","public":true,"body":"Merci, très bien"}
{"id":"c5","ticket":"K-1","type":"status_changed","at":"2026-03-02T09:45:00Z","actor":"bob@example.com","actor_kind":"agent","status":"pending"}
{"id":"c6","ticket":"K-1","type":"priority_changed","at":"2026-03-02T09:50:00Z","actor":"bob@example.com","actor_kind":"agent","priority":"high","comment":null}
{"id":"c7","ticket":"K-1","type":"category_changed","at":"2026-03-02T09:51:00Z","actor":"bob@example.com","actor_kind":"agent","category":"printers"}
{"id":"c8","ticket":"K-1","type":"tags_changed","at":"2026-03-02T09:52:00Z","actor":"bob@example.com","actor_kind":"agent"}
{"id":"c9","ticket":"K-1","type":"fields_changed","at":"2026-03-02T09:53:00Z","actor":"bob@example.com","actor_kind":"agent","fields":{"b":"2","a":"1"}}
{"id":"c10","ticket":"K-1","type":"resolved","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent"}
{"id":"c11","ticket":"K-1","type":"resolved","at":"2026-03-02T10:01:00Z","actor":"bob@example.com","actor_kind":"agent"}
{"id":"c12","ticket":"K-1","type":"csat_rated","at":"2026-03-02T11:00:00Z","actor":"ann@example.com","actor_kind":"requester","score":4,"comment":"fast"}
{"id":"c13","ticket":"K-2","type":"created","at":"2026-03-02T08:00:00-05:30","actor":"cat@example.com","actor_kind":"agent","subject":"VPN","description":"d","requester_name":"Cat","requester_email":"cat@example.com","ticket_type":"question","priority":"low","category":"net","channel":"phone","tags":[],"number":70}
{"id":"c14","ticket":"K-9","type":"commented","at":"2026-03-02T12:00:00Z","actor":"bob@example.com","actor_kind":"agent","public":false,"body":"nobody here"}
{"id":"c15","ticket":"K-2","type":"assigned","at":"2026-03-02T14:00:00Z","actor":"cat@example.com","actor_kind":"agent","assignee":"cat@example.com","fields":{}}
{"id":"1600","ticket":"42","type":"created","at":"2026-03-02T15:00:00Z","actor":"2nd@example.com","actor_kind":"requester","subject":"true","description":"-1","category":"[x]"}

`

// importResult is what one import of a file did, as text that two
// imports can be compared by.
type importResult struct {
	duckdb  bool   // DuckDB's reader staged the file
	summary string // the summary without timings, or the error
	events  string
	tickets string
}

// importNDJSONFile writes data to a file named name and imports it, after the
// seed text (read by the Go path), into a new store; goOnly forces the Go
// path for NDJSON.
func importNDJSONFile(t *testing.T, name string, data []byte, seed string, opts ingest.ImportOptions, goOnly bool) importResult {
	t.Helper()
	ctx := context.Background()
	st, w := openImport(t)
	if seed != "" {
		if _, err := importText(t, w, "seed.ndjson", seed, ingest.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var res importResult
	opts = ingest.ObserveNDJSON(opts, func(file string, duckdb bool) { res.duckdb = duckdb })
	if goOnly {
		opts = ingest.GoNDJSON(opts)
	}
	sum, err := w.Import(ctx, []ingest.Input{{Name: name, R: f, Path: path}}, opts)
	switch {
	case err != nil:
		var ie *ingest.ImportError
		if !errors.As(err, &ie) {
			t.Fatal(err)
		}
		rows, _ := json.Marshal(ie.Rows)
		res.summary = err.Error() + "\n" + string(rows)
	default:
		sum.Seconds, sum.Phases = 0, nil
		b, _ := json.Marshal(sum)
		res.summary = string(b)
	}
	res.events = tableText(t, st, `SELECT * FROM events ORDER BY seq`)
	res.tickets = tableText(t, st, `SELECT * FROM tickets ORDER BY id`)
	return res
}

// tableText renders a query's rows (RowsText).
func tableText(t *testing.T, st *store.Store, query string) string {
	t.Helper()
	rows, err := st.DB.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	text, err := ingest.RowsText(rows)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// sameResult fails unless the two imports did the same.
func sameResult(t *testing.T, duckdb, goPath importResult) {
	t.Helper()
	if duckdb.summary != goPath.summary {
		t.Errorf("summaries differ:\nDuckDB: %s\nGo:     %s", duckdb.summary, goPath.summary)
	}
	if duckdb.events != goPath.events {
		t.Errorf("events differ:\nDuckDB:\n%s\nGo:\n%s", duckdb.events, goPath.events)
	}
	if duckdb.tickets != goPath.tickets {
		t.Errorf("tickets differ:\nDuckDB:\n%s\nGo:\n%s", duckdb.tickets, goPath.tickets)
	}
}

// seedNDJSON is a stored ticket that the clean file's K-9 comment does not
// touch, and a stored event id that the file does not repeat, so that
// the import numbers its tickets after a stored one.
const seedNDJSON = `{"id":"s1","ticket":"S-1","type":"created","at":"2026-03-01T09:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"old"}
`

func TestDuckDBReadsCleanNDJSONAsTheGoPathDoes(t *testing.T) {
	for _, gzipped := range []bool{false, true} {
		t.Run(fmt.Sprint("gzip=", gzipped), func(t *testing.T) {
			data, name := []byte(cleanNDJSON), "clean.ndjson"
			if gzipped {
				data, name = gz(t, cleanNDJSON), "clean.ndjson.gz"
			}
			var progress []int64
			opts := ingest.ImportOptions{Skip: true, Progress: func(rows int64) { progress = append(progress, rows) }}
			fast := importNDJSONFile(t, name, data, seedNDJSON, opts, false)
			if !fast.duckdb {
				t.Fatal("DuckDB's reader did not stage the clean file")
			}
			if len(progress) == 0 || progress[len(progress)-1] != 16 {
				t.Errorf("progress %v, want it to end at 16 rows", progress)
			}
			goPath := importNDJSONFile(t, name, data, seedNDJSON, ingest.ImportOptions{Skip: true}, true)
			if goPath.duckdb {
				t.Fatal("the Go path was forced")
			}
			sameResult(t, fast, goPath)

			// Hand-computed: 16 lines, 14 events stored, c11 (resolved twice)
			// and c14 (no ticket K-9) refused on lines 11 and 14.
			for _, want := range []string{
				`"read":16,"events":16,"imported":14,"duplicates":0,"rejected":2,"tickets_touched":3`,
				`"line":11,"reason":"cannot apply resolved to a resolved ticket: the ticket is already resolved","event_id":"c11"`,
				`"line":14,"reason":"the ticket does not exist (its created event is missing or was rejected)","event_id":"c14"`,
			} {
				if !strings.Contains(fast.summary, want) {
					t.Errorf("summary lacks %s:\n%s", want, fast.summary)
				}
			}
			for _, want := range []string{
				// c1: microseconds kept, +01:00 applied, defaults filled, tags
				// and fields normalized, number 0 is none (S-1 has 1, K-1 and
				// K-2 follow in time order: K-2 created 13:30Z is after K-1).
				"event_id=c1 ticket_id=K-1 type=created occurred_at=2026-03-02T08:00:00.123456Z actor=ann@example.com actor_kind=requester number=2 subject=Imprimante bloquée description= requester_name= requester_email=ann@example.com ticket_type=incident priority=normal category= channel=api tags=[net vip] fields=OrderedMap{floor: 2, site: Lyon}",
				"event_id=c3 ticket_id=K-1 type=commented occurred_at=2026-03-02T09:30:00Z actor=bob@example.com actor_kind=agent number=<nil> subject=<nil> description=<nil> requester_name=<nil> requester_email=<nil> ticket_type=<nil> priority=<nil> category=<nil> channel=<nil> tags=<nil> fields=<nil> team=<nil> assignee=<nil> status=<nil> public=true body=On it:\n\"step 1\"",
				"event_id=c8 ticket_id=K-1 type=tags_changed occurred_at=2026-03-02T09:52:00Z actor=bob@example.com actor_kind=agent number=<nil> subject=<nil> description=<nil> requester_name=<nil> requester_email=<nil> ticket_type=<nil> priority=<nil> category=<nil> channel=<nil> tags=[] fields=<nil>",
				"fields=OrderedMap{a: 1, b: 2}",
				"event_id=c13 ticket_id=K-2 type=created occurred_at=2026-03-02T13:30:00Z actor=cat@example.com actor_kind=agent number=70 subject=VPN description=d requester_name=Cat requester_email=cat@example.com ticket_type=question priority=low category=net channel=phone tags=[] fields=<nil>",
				"fields=OrderedMap{} team=<nil> assignee=cat@example.com",
				"event_id=1600 ticket_id=42 type=created occurred_at=2026-03-02T15:00:00Z actor=2nd@example.com actor_kind=requester number=3 subject=true description=-1 requester_name= requester_email=2nd@example.com ticket_type=incident priority=normal category=[x] channel=api tags=[] fields=<nil>",
				"event_id=c12 ticket_id=K-1 type=csat_rated occurred_at=2026-03-02T11:00:00Z actor=ann@example.com actor_kind=requester number=<nil> subject=<nil> description=<nil> requester_name=<nil> requester_email=<nil> ticket_type=<nil> priority=<nil> category=<nil> channel=<nil> tags=<nil> fields=<nil> team=<nil> assignee=<nil> status=<nil> public=<nil> body=<nil> score=4 comment=fast",
			} {
				if !strings.Contains(fast.events, want) {
					t.Errorf("events lack\n%s\nin\n%s", want, fast.events)
				}
			}
			if !strings.Contains(fast.tickets, "id=K-1 number=2 subject=Imprimante bloquée") || !strings.Contains(fast.tickets, "id=K-2 number=70 subject=VPN") {
				t.Errorf("tickets:\n%s", fast.tickets)
			}
		})
	}
}

// TestDuckDBLeavesWhatItCannotVouchForToTheGoPath: a line that DuckDB's
// reader would take differently from encoding/json and Normalize, or that
// would shift line numbers, sends the whole file to the Go path, which
// reports it with its own reason; with --on-error skip the rest is stored
// as the Go path stores it, without it the import fails alike.
func TestDuckDBLeavesWhatItCannotVouchForToTheGoPath(t *testing.T) {
	const good = `{"id":"g1","ticket":"G-1","type":"created","at":"2026-03-02T09:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"ok"}`
	const tail = `{"id":"g3","ticket":"G-1","type":"resolved","at":"2026-03-02T11:00:00Z","actor":"bob@example.com","actor_kind":"agent"}` + "\n"
	for _, c := range []struct {
		name, line string
		first      bool // the line opens the file
	}{
		{name: "unknown key", line: `{"id":"g2","ticket":"G-1","type":"commented","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","body":"hi","colour":"red"}`},
		{name: "key in other case", line: `{"id":"g2","ticket":"G-1","type":"commented","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","Body":"hi"}`},
		{name: "key twice", line: `{"id":"g2","ticket":"G-1","type":"commented","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","body":"hi","body":" "}`},
		{name: "score as a string", line: `{"id":"g2","ticket":"G-1","type":"csat_rated","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester","score":"5"}`},
		{name: "score not whole", line: `{"id":"g2","ticket":"G-1","type":"csat_rated","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester","score":4.0}`},
		{name: "id as a number", line: `{"id":2,"ticket":"G-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "public as a string", line: `{"id":"g2","ticket":"G-1","type":"commented","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","body":"hi","public":"true"}`},
		{name: "tag not a string", line: `{"id":"g2","ticket":"G-1","type":"tags_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","tags":["a",1]}`},
		{name: "tag with a space", line: `{"id":"g2","ticket":"G-1","type":"tags_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","tags":[" a "]}`},
		{name: "field value not a string", line: `{"id":"g2","ticket":"G-1","type":"fields_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","fields":{"a":1}}`},
		{name: "field name twice", line: `{"id":"g2","ticket":"G-1","type":"fields_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","fields":{"a":"1","a":"2"}}`},
		{name: "blank field name", line: `{"id":"g2","ticket":"G-1","type":"fields_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","fields":{" ":"1"}}`},
		{name: "null tag", line: `{"id":"g2","ticket":"G-1","type":"tags_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","tags":["a",null]}`},
		{name: "number as a string", line: `{"id":"g2","ticket":"G-2","type":"created","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"x","number":"7"}`},
		{name: "number too big", line: `{"id":"g2","ticket":"G-2","type":"created","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"x","number":9223372036854775808}`},
		{name: "score past 32 bits", line: `{"id":"g2","ticket":"G-1","type":"commented","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","body":"hi","score":3000000000}`},
		{name: "score out of range", line: `{"id":"g2","ticket":"G-1","type":"csat_rated","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester","score":6}`},
		{name: "nanoseconds past 9 digits", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":"2026-03-02T10:00:00.1234567891Z","actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "created without subject", line: `{"id":"g2","ticket":"G-2","type":"created","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester"}`},
		{name: "NaN", line: `{"id":"g2","ticket":"G-1","type":"csat_rated","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester","score":NaN}`},
		{name: "trailing comma", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":"system","actor_kind":"system","team":"IT",}`},
		{name: "time without zone", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":"2026-03-02 10:00:00","actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "time out of range", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":"2026-02-30T10:00:00Z","actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "escaped time", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":"2026\u002d03-02T10:00:00Z","actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "time as a number", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":20260302,"actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "no id", line: `{"ticket":"G-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "blank id", line: `{"id":" ","ticket":"G-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":"system","actor_kind":"system","team":"IT"}`},
		{name: "actor to trim", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":" system","actor_kind":"system","team":"IT"}`},
		{name: "invalid enum", line: `{"id":"g2","ticket":"G-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":"system","actor_kind":"robot","team":"IT"}`},
		{name: "status a status_changed cannot set", line: `{"id":"g2","ticket":"G-1","type":"status_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","status":"resolved"}`},
		{name: "requester's internal note", line: `{"id":"g2","ticket":"G-1","type":"commented","at":"2026-03-02T10:00:00Z","actor":"ann@example.com","actor_kind":"requester","body":"x","public":false}`},
		{name: "subject too long", line: `{"id":"g2","ticket":"G-1","type":"fields_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","subject":"` + strings.Repeat("é", 251) + `"}`},
		{name: "malformed JSON", line: `{"id":"g2","ticket":"G-1"`},
		{name: "two values", line: `{"id":"g2"} {"id":"g4"}`},
		{name: "not an object", line: `["g2"]`},
		{name: "invalid UTF-8", line: "{\"id\":\"g2\",\"ticket\":\"G-1\",\"type\":\"commented\",\"at\":\"2026-03-02T10:00:00Z\",\"actor\":\"bob@example.com\",\"actor_kind\":\"agent\",\"body\":\"\xff\"}"},
		{name: "blank line", line: "  \t"},
		{name: "byte order mark", line: "\xef\xbb\xbf" + good, first: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := good + "\n" + c.line + "\n" + tail
			if c.first {
				text = c.line + "\n" + tail
			}
			for _, skip := range []bool{true, false} {
				opts := ingest.ImportOptions{Skip: skip}
				fast := importNDJSONFile(t, "mixed.ndjson", []byte(text), "", opts, false)
				if fast.duckdb {
					t.Fatalf("DuckDB's reader vouched for %q", c.line)
				}
				sameResult(t, fast, importNDJSONFile(t, "mixed.ndjson", []byte(text), "", opts, true))
			}
		})
	}
}

// TestDuckDBKeepsInputOrderAndLines: a file large enough for DuckDB to
// read in parallel (30 MB), in which order decides (the first of two
// events with one id is kept) and bad rows must carry their line, stages
// as the Go path does.
func TestDuckDBKeepsInputOrderAndLines(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 200,000 events twice")
	}
	var b strings.Builder
	const tickets = 50_000
	for i := range tickets {
		fmt.Fprintf(&b, `{"id":"o%d","ticket":"O-%d","type":"created","at":"2026-03-02T09:00:00Z","actor":"a%d@example.com","actor_kind":"requester","subject":"first %d"}`+"\n", i, i, i%100, i)
		fmt.Fprintf(&b, `{"id":"o%d-r","ticket":"O-%d","type":"resolved","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent"}`+"\n", i, i)
	}
	for i := range tickets {
		fmt.Fprintf(&b, `{"id":"o%d","ticket":"O-%d","type":"created","at":"2026-03-02T08:00:00Z","actor":"a@example.com","actor_kind":"requester","subject":"second %d"}`+"\n", i, i, i)
		if i%997 == 0 { // refused: the ticket is resolved already
			fmt.Fprintf(&b, `{"id":"o%d-x","ticket":"O-%d","type":"resolved","at":"2026-03-02T11:00:00Z","actor":"bob@example.com","actor_kind":"agent"}`+"\n", i, i)
		} else {
			fmt.Fprintf(&b, `{"id":"o%d-c","ticket":"O-%d","type":"closed","at":"2026-03-02T11:00:00Z","actor":"bob@example.com","actor_kind":"agent"}`+"\n", i, i)
		}
	}
	opts := ingest.ImportOptions{Skip: true}
	fast := importNDJSONFile(t, "big.ndjson", []byte(b.String()), seedNDJSON, opts, false)
	if !fast.duckdb {
		t.Fatal("DuckDB's reader did not stage the file")
	}
	goPath := importNDJSONFile(t, "big.ndjson", []byte(b.String()), seedNDJSON, opts, true)
	if fast.summary != goPath.summary {
		t.Fatalf("summaries differ:\nDuckDB: %.2000s\nGo:     %.2000s", fast.summary, goPath.summary)
	}
	if fast.events != goPath.events || fast.tickets != goPath.tickets {
		t.Fatal("the stored events or tickets differ")
	}
	// Hand-computed: 200,000 lines, 50,000 duplicate ids, 51 refused
	// (i = 0, 997, ..., 49,850) on line 100,001 + 2i + 1.
	if !strings.Contains(fast.summary, `"read":200000,"events":200000,"imported":149949,"duplicates":50000,"rejected":51`) ||
		!strings.Contains(fast.summary, `"line":100002,"reason":"cannot apply resolved to a resolved ticket: the ticket is already resolved","event_id":"o0-x"`) ||
		!strings.Contains(fast.summary, `"line":199702,"reason":"cannot apply resolved to a resolved ticket: the ticket is already resolved","event_id":"o49850-x"`) {
		t.Fatalf("summary %.3000s", fast.summary)
	}
	if !strings.Contains(fast.tickets, "subject=first 49999 ") || strings.Contains(fast.tickets, "subject=second") {
		t.Fatal("a created event that came second in the file won")
	}
}

// TestEveryEventKeyIsVouchedFor: DuckDB's reader knows the keys of
// model.Event; a key it did not know would send every file that uses it
// to the Go path, a key it knew wrongly would be stored nowhere.
func TestEveryEventKeyIsVouchedFor(t *testing.T) {
	want := []string{"id", "ticket", "type", "at", "actor", "actor_kind", "number", "subject", "description", "requester_name",
		"requester_email", "ticket_type", "priority", "category", "channel", "tags", "fields", "team", "assignee", "status",
		"public", "body", "score", "comment"}
	if got := ingest.EventJSONKeys(); !slices.Equal(got, want) {
		t.Fatalf("keys %v", got)
	}
}

// TestDuckDBAndGoPathsMixInOneImport: files read by the Go path (a reader
// without a file, a file DuckDB cannot vouch for) and by DuckDB's reader
// share one import's positions, file names and de-duplication.
func TestDuckDBAndGoPathsMixInOneImport(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	first := `{"id":"m1","ticket":"M-1","type":"created","at":"2026-03-02T09:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"from stdin"}` + "\n"
	plain := write("plain.ndjson", `{"id":"m1","ticket":"M-1","type":"created","at":"2026-03-02T08:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"again"}
{"id":"m2","ticket":"M-1","type":"resolved","at":"2026-03-02T09:00:00Z","actor":"bob@example.com","actor_kind":"agent"}
{"id":"m3","ticket":"M-2","type":"created","at":"2026-03-02T09:00:00Z","actor":"cat@example.com","actor_kind":"requester","subject":"tie"}
`)
	odd := write("odd.ndjson", `{"id":"m4","ticket":"M-1","type":"closed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","colour":"red"}
{"id":"m3","ticket":"M-3","type":"created","at":"2026-03-02T07:00:00Z","actor":"cat@example.com","actor_kind":"requester","subject":"dup"}
{"id":"m5","ticket":"M-2","type":"closed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent"}
`)
	run := func(goOnly bool) (importResult, map[string]bool) {
		st, w := openImport(t)
		seen := map[string]bool{}
		opts := ingest.ObserveNDJSON(ingest.ImportOptions{Skip: true}, func(file string, duckdb bool) { seen[file] = duckdb })
		if goOnly {
			opts = ingest.GoNDJSON(opts)
		}
		var inputs []ingest.Input
		inputs = append(inputs, ingest.Input{Name: "stdin", R: strings.NewReader(first)})
		for _, p := range []string{plain, odd} {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			inputs = append(inputs, ingest.Input{Name: filepath.Base(p), R: f, Path: p})
		}
		sum, err := w.Import(ctx, inputs, opts)
		if err != nil {
			t.Fatal(err)
		}
		sum.Seconds, sum.Phases = 0, nil
		b, _ := json.Marshal(sum)
		return importResult{summary: string(b), events: tableText(t, st, `SELECT * FROM events ORDER BY seq`), tickets: tableText(t, st, `SELECT * FROM tickets ORDER BY id`)}, seen
	}
	mixed, seen := run(false)
	if !seen["plain.ndjson"] || seen["odd.ndjson"] {
		t.Fatalf("readers %v, want DuckDB's for plain.ndjson only", seen)
	}
	goPath, _ := run(true)
	sameResult(t, mixed, goPath)
	// Hand-computed: 7 lines, m1 (plain.ndjson) and m3 (odd.ndjson) are
	// duplicates, m4's unknown key and m5 (closing a new ticket) are bad
	// rows; M-1 and M-2 are stored with their first created events.
	if !strings.Contains(mixed.summary, `"read":7,"events":6,"imported":3,"duplicates":2,"rejected":2`) ||
		!strings.Contains(mixed.summary, `{"file":"odd.ndjson","line":1,"reason":"malformed event: unknown field \"colour\""`) ||
		!strings.Contains(mixed.tickets, "id=M-1 number=1 subject=from stdin") || !strings.Contains(mixed.tickets, "id=M-2 number=2 subject=tie") {
		t.Fatalf("summary %s\ntickets\n%s", mixed.summary, mixed.tickets)
	}
}

// FuzzDuckDBReadsLikeGo: whatever a line holds, a file of it between two
// good lines imports alike through DuckDB's reader (when it vouches for
// the file) and through the Go path, end to end. Each input opens four
// stores (a few inputs a second): FuzzVouchedLineIsStagedAsGoStagesIt is
// the one to fuzz for long.
func FuzzDuckDBReadsLikeGo(f *testing.F) {
	for _, seed := range []string{
		`{"id":"f2","ticket":"F-1","type":"commented","at":"2026-03-02T10:00:00.5-02:00","actor":"bob@example.com","actor_kind":"agent","body":"x\ty","public":false}`,
		`{"id":"f2","ticket":"F-1","type":"tags_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","tags":["B","a"]}`,
		`{"id":"f2","ticket":"F-1","type":"fields_changed","at":"2026-03-02T10:00:00Z","actor":"bob@example.com","actor_kind":"agent","fields":{"k":"v"},"score":-3}`,
		`{"id":"42","ticket":"F-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":"true","actor_kind":"system","team":null,"assignee":"[1]"}`,
		`{"id":"f2","ticket":"F-1","type":"assigned","at":"2026-03-02T10:00:00Z","actor":"system","actor_kind":"system","team":"IT","number":-0}`,
		`{"id":"f2","ticket":"F-1","type":"priority_changed","at":"2026-03-02T10:00:00Z","actor":"b","actor_kind":"agent","priority":"HIGH"}`,
		`{"id":"f2","ticket":"F-1","type":"resolved","at":"2026-03-02T10:00:00Z","actor":"b","actor_kind":"agent",}`,
		`{"id":"f2","id":"f3","ticket":"F-1","type":"resolved","at":"2026-03-02T10:00:00Z","actor":"b","actor_kind":"agent"}`,
		`{"id":"f2","ticket":"F-1","type":"resolved","at":"2026-03-02T10:00:00Z","actor":"b\u00a0","actor_kind":"agent"}`,
		`{"id":"f2","ticket":"F-1","type":"resolved","at":"2026-03-02T10:00:00Z","actor":"b","actor_kind":"agent","public":1}`,
		`{}`, ``, `null`,
	} {
		f.Add(seed)
	}
	const good = `{"id":"f1","ticket":"F-1","type":"created","at":"2026-03-02T09:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"ok"}`
	const last = `{"id":"f9","ticket":"F-9","type":"created","at":"2026-03-02T11:00:00Z","actor":"ann@example.com","actor_kind":"requester","subject":"last"}`
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n\r") {
			return // one line
		}
		data := []byte(good + "\n" + line + "\n" + last + "\n")
		opts := ingest.ImportOptions{Skip: true}
		sameResult(t, importNDJSONFile(t, "fuzz.ndjson", data, "", opts, false), importNDJSONFile(t, "fuzz.ndjson", data, "", opts, true))
	})
}

// TestDuckDBReadStopsWhenCancelled: cancelling the import while DuckDB
// reads a file stops it with the context's error and stores nothing; the
// next import on the same writer works.
func TestDuckDBReadStopsWhenCancelled(t *testing.T) {
	var b strings.Builder
	for i := range 300_000 {
		fmt.Fprintf(&b, `{"id":"x%d","ticket":"X-%d","type":"created","at":"2026-03-02T09:00:00Z","actor":"a@example.com","actor_kind":"requester","subject":"s"}`+"\n", i, i)
	}
	path := filepath.Join(t.TempDir(), "big.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	st, w := openImport(t)
	ctx, cancel := context.WithCancel(context.Background())
	var reader bool
	opts := ingest.ObserveNDJSON(ingest.ImportOptions{}, func(string, bool) { reader = true })
	go func() {
		time.Sleep(150 * time.Millisecond) // reading and staging 45 MB takes longer
		cancel()
	}()
	f, _ := os.Open(path)
	defer f.Close()
	_, err := w.Import(ctx, []ingest.Input{{Name: "big.ndjson", R: f, Path: path}}, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("import returned %v, want context.Canceled", err)
	}
	if !reader {
		t.Fatal("the import stopped before DuckDB's reader had the file")
	}
	if got := fingerprint(t, st); !strings.HasPrefix(got, "0/0/") {
		t.Fatalf("store after a cancelled import: %s", got)
	}
	sum, err := importText(t, w, "small.ndjson", cleanNDJSON, ingest.ImportOptions{Skip: true})
	if err != nil || sum.Imported != 14 {
		t.Fatalf("next import: %+v %v", sum, err)
	}
}
