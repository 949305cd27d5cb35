package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportCommandRejectsAndAbort(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "x.duckdb")
	bad := filepath.Join(dir, "bad.ndjson")
	os.WriteFile(bad, []byte(`{"id":"a1","ticket":"A-1","type":"created","at":"2026-02-01T09:00:00Z","actor":"x@example.com","actor_kind":"requester","subject":"ok"}
{"id":"a2","ticket":"A-1","type":"closed","at":"2026-02-01T10:00:00Z","actor":"x@example.com","actor_kind":"agent"}
{broken
`), 0o644)
	var out, errOut bytes.Buffer
	err := run([]string{"import", "--db", db, bad}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 bad rows, nothing imported") ||
		!strings.Contains(err.Error(), "bad.ndjson:2: cannot apply closed to a new ticket") || !strings.Contains(err.Error(), "bad.ndjson:3: malformed event") {
		t.Fatalf("abort: %v", err)
	}
	rejects := filepath.Join(dir, "rejects.ndjson")
	if err := run([]string{"import", "--db", db, "--on-error", "skip", "--rejects", rejects, bad}, &out, &errOut); err != nil {
		t.Fatalf("skip: %v", err)
	}
	data, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("rejects file:\n%s", data)
	}
	var r struct {
		File   string `json:"file"`
		Line   int    `json:"line"`
		Reason string `json:"reason"`
		Row    string `json:"row"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &r); err != nil || r.File != bad || r.Line != 3 || r.Row != "{broken" || r.Reason == "" {
		t.Fatalf("reject %s: %+v %v", lines[1], r, err)
	}
	good := "../../ingest/testdata/import_example.ndjson"
	if err := run([]string{"import", "--db", db, good}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	// stdin, gzip: all duplicates now.
	raw, _ := os.ReadFile(good)
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf)
	zw.Write(raw)
	zw.Close()
	pr, pw, _ := os.Pipe()
	go func() { pw.Write(gzBuf.Bytes()); pw.Close() }()
	stdin := os.Stdin
	os.Stdin = pr
	err = run([]string{"import", "--db", db, "-"}, &out, &errOut)
	os.Stdin = stdin
	if err != nil {
		t.Fatalf("stdin: %v", err)
	}
	for _, args := range [][]string{
		{"import", "--db", db},
		{"import", "--db", db, "--on-error", "maybe", good},
		{"import", "--db", db, "--format", "xml", good},
		{"import", "--db", db, "--tz", "Mars/Olympus", good},
		{"import", "--db", db, "--profile", "nope", good},
		{"import", "--db", db, "--mapping", filepath.Join(dir, "missing.yaml"), good},
		{"import", "--db", db, "--format", "csv", good},
		{"import", "--db", db, filepath.Join(dir, "absent.ndjson")},
	} {
		if err := run(args, &out, &errOut); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
}
