package ingest_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/ingest"
)

const limitEvent = `{"id":"z1","ticket":"Z-1","type":"created","at":"2026-02-01T09:00:00Z","actor":"x@example.com","actor_kind":"requester","subject":"ok"}` + "\n"

func zipped(t *testing.T, member, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	f, err := zw.Create(member)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// TestImportRefusesDecompressionBombs: a compressed input that inflates
// past MaxInflated (here 1 MiB: an event, then newlines) fails with an
// *InflatedTooLargeError naming it, whether gzip read by Go, gzip on disk
// (read by DuckDB's reader), a zip member, or gzip files that each fit
// but together do not; the store is unchanged. Exactly the limit imports.
func TestImportRefusesDecompressionBombs(t *testing.T) {
	ctx := context.Background()
	st, w := openImport(t)
	data, _ := os.ReadFile("testdata/import_example.ndjson")
	if _, err := importText(t, w, "example.ndjson", string(data), ingest.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	before := fingerprint(t, st)
	const limit = 1 << 20
	bomb := limitEvent + strings.Repeat("\n", 4*limit)
	third := limitEvent + strings.Repeat("\n", limit/3)
	onDisk := func(name string, data []byte) ingest.Input {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return ingest.Input{Name: name, R: f, Path: path}
	}
	for _, tc := range []struct {
		name   string
		inputs []ingest.Input
		file   string // the input named in the error
	}{
		{"gzip stream", []ingest.Input{{Name: "bomb.ndjson.gz", R: bytes.NewReader(gz(t, bomb))}}, "bomb.ndjson.gz"},
		{"gzip file", []ingest.Input{onDisk("bomb.ndjson.gz", gz(t, bomb))}, "bomb.ndjson.gz"},
		{"zip", []ingest.Input{{Name: "bomb.zip", R: bytes.NewReader(zipped(t, "bomb.ndjson", bomb))}}, "bomb.zip"},
		{"zip file", []ingest.Input{onDisk("bomb.zip", zipped(t, "bomb.ndjson", bomb))}, "bomb.zip"},
		{"together", []ingest.Input{onDisk("a.ndjson.gz", gz(t, third)), {Name: "b.ndjson.gz", R: bytes.NewReader(gz(t, third))}, onDisk("c.ndjson.gz", gz(t, third))}, "c.ndjson.gz"},
	} {
		sum, err := w.Import(ctx, tc.inputs, ingest.ImportOptions{MaxInflated: limit})
		var tooLarge *ingest.InflatedTooLargeError
		if !errors.As(err, &tooLarge) || tooLarge.File != tc.file || tooLarge.Limit != limit {
			t.Fatalf("%s: %+v, %v; want an InflatedTooLargeError for %s", tc.name, sum, err, tc.file)
		}
		if want := tc.file + ": the compressed input inflates past 1048576 bytes (import.max_inflated_bytes)"; err.Error() != want {
			t.Fatalf("%s: %q, want %q", tc.name, err, want)
		}
		if after := fingerprint(t, st); after != before {
			t.Fatalf("%s: the refused import changed the store: %s -> %s", tc.name, before, after)
		}
	}
	exact := limitEvent + strings.Repeat("\n", limit-len(limitEvent))
	for _, in := range []ingest.Input{{Name: "exact.ndjson.gz", R: bytes.NewReader(gz(t, exact))}, onDisk("exact.ndjson.gz", gz(t, exact))} {
		sum, err := w.Import(ctx, []ingest.Input{in}, ingest.ImportOptions{MaxInflated: limit, DryRun: true})
		if err != nil || sum.Read != 1 || sum.Imported != 1 {
			t.Fatalf("%s of exactly the limit: %+v %v", in.Name, sum, err)
		}
	}
}

// TestImportBlankRunsKeepLineNumbers: runs of empty lines are passed over
// in one step; the lines after them keep their numbers, in both readers.
func TestImportBlankRunsKeepLineNumbers(t *testing.T) {
	_, w := openImport(t)
	text := strings.Repeat("\n", 100000) + limitEvent + "\n\n\r\n  \n" + "not json\n" + strings.Repeat("\n", 5000)
	path := filepath.Join(t.TempDir(), "blanks.ndjson")
	os.WriteFile(path, []byte(text), 0o644)
	f, _ := os.Open(path)
	defer f.Close()
	for _, in := range []ingest.Input{{Name: "blanks.ndjson", R: strings.NewReader(text)}, {Name: "blanks.ndjson", R: f, Path: path}} {
		_, err := w.Import(context.Background(), []ingest.Input{in}, ingest.ImportOptions{})
		var ie *ingest.ImportError
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Line != 100006 {
			t.Fatalf("path %q: %v, want line 100006 refused", in.Path, err)
		}
	}
}

// TestImportRefusesInvalidUTF8: a line that is not UTF-8 (here a \xff in
// a subject, which encoding/json would turn into U+FFFD) is refused with
// its number and where, by the Go reader and for a file on disk (which
// DuckDB's reader leaves to the Go one); with skip the others are stored
// and the bad line is not. A CSV row that is not UTF-8 is refused too.
func TestImportRefusesInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	st, w := openImport(t)
	bad := `{"id":"u2","ticket":"U-2","type":"created","at":"2026-02-01T09:00:00Z","actor":"x@example.com","actor_kind":"requester","subject":"caf` + "\xff" + `"}`
	text := limitEvent + bad + "\n"
	path := filepath.Join(t.TempDir(), "utf8.ndjson")
	os.WriteFile(path, []byte(text), 0o644)
	f, _ := os.Open(path)
	defer f.Close()
	inputs := []ingest.Input{{Name: "utf8.ndjson", R: strings.NewReader(text)}, {Name: "utf8.ndjson", R: f, Path: path}}
	for _, in := range inputs {
		_, err := w.Import(ctx, []ingest.Input{in}, ingest.ImportOptions{})
		var ie *ingest.ImportError
		want := ingest.RowError{File: "utf8.ndjson", Line: 2, Reason: "invalid UTF-8 at byte 135 (the file must be UTF-8)", Row: bad}
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0] != want {
			t.Fatalf("path %q: %v, want %+v", in.Path, err, want)
		}
	}
	f.Seek(0, 0)
	sum, err := w.Import(ctx, inputs[1:], ingest.ImportOptions{Skip: true})
	if err != nil || sum.Imported != 1 || sum.Rejected != 1 {
		t.Fatalf("skip: %+v %v", sum, err)
	}
	var n int
	if err := st.DB.QueryRow(`SELECT count(*) FROM events WHERE ticket_id = 'U-2' OR contains(subject, '\ufffd')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the bad line was stored: %d %v", n, err)
	}

	// CSV keeps the bytes, and the event checks refuse the row.
	m, err := ingest.LoadMapping("../examples/mappings/tickets-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	csv := "Ticket ID,Subject,Requester,Created at,First reply at,Solved at,Closed at,Priority,Via,Group,Assignee,Satisfaction\n" +
		"201,Caf\xff,ann@example.com,2026-03-02 09:00,,,,High,Email,IT,bob@example.com,\n"
	_, err = w.Import(ctx, []ingest.Input{{Name: "latin1.csv", R: strings.NewReader(csv)}}, ingest.ImportOptions{Mapping: m})
	var ie *ingest.ImportError
	if !errors.As(err, &ie) || ie.Rows[0].File != "latin1.csv" || ie.Rows[0].Line != 2 || ie.Rows[0].Reason != "subject: must be valid UTF-8 of at most 500 bytes" {
		t.Fatalf("CSV: %v", err)
	}
}
