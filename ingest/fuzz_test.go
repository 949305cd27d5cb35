package ingest

import (
	"bytes"
	"context"
	"encoding/csv"
	"testing"
)

// FuzzNDJSONLine feeds arbitrary import lines to the canonical NDJSON
// reader: it must never panic, and every non-blank line must end up
// either as an event or as a rejected row with a line number and a reason.
func FuzzNDJSONLine(f *testing.F) {
	for _, seed := range []string{
		`{"id":"e1","ticket":"EXT-1","type":"created","at":"2026-01-05T09:00:00+01:00","actor":"ann@example.com","actor_kind":"requester","subject":"VPN down","priority":"high"}`,
		`{"id":"e7","ticket":"EXT-1","type":"csat_rated","at":"2026-01-06T12:00:00+01:00","actor":"ann@example.com","actor_kind":"requester","score":5,"comment":"fast"}`,
		`{"id":1}`, `{"at":"yesterday"}`, `{}`, `{} {}`, `not json`, `{"tags":[1,2]}`, "\xef\xbb\xbf{}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\n\r") {
			return // one line at a time
		}
		c := &collector{opts: &ImportOptions{}}
		if err := readNDJSON(context.Background(), c, "fuzz.ndjson", bytes.NewReader(line)); err != nil {
			return // a line over the size limit is a file error, reported as such
		}
		blank := len(bytes.TrimSpace(bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")))) == 0
		got := len(c.events) + len(c.bad)
		if blank && got != 0 || !blank && got != 1 {
			t.Fatalf("%q gave %d events and %d rejects", line, len(c.events), len(c.bad))
		}
		for _, b := range c.bad {
			if b.Line != 1 || b.Reason == "" || b.File != "fuzz.ndjson" {
				t.Fatalf("reject without place or reason: %+v", b)
			}
		}
	})
}

// FuzzMappedCSVRow feeds arbitrary rows to the generic CSV importer with
// a small mapping: no panic, and a row is imported or rejected with a
// reason.
func FuzzMappedCSVRow(f *testing.F) {
	mapping, err := ParseMapping([]byte(fuzzMapping))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]string{
		{"T1", "2026-01-05 09:00", "Open", "High"},
		{"T1", "2026-01-05 10:00", "Closed", "Low"},
		{"", "", "", ""}, {"T2", "05/01/2026", "?", "?"}, {"T3", "2026-13-45 99:99", "Open", "High"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, id, at, status, priority string) {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"case", "time", "status", "priority"})
		w.Write([]string{id, at, status, priority})
		w.Flush()
		c := &collector{opts: &ImportOptions{}}
		if err := readMappedCSV(context.Background(), c, "fuzz.csv", &buf, mapping, c.opts); err != nil {
			return
		}
		for _, b := range c.bad {
			if b.Reason == "" || b.File != "fuzz.csv" {
				t.Fatalf("reject without place or reason: %+v", b)
			}
		}
	})
}

const fuzzMapping = `
ticket: case
time: {column: time, layout: "2006-01-02 15:04", zone: UTC}
empty: ["?"]
priority: {column: priority, map: {High: high, Low: low}, default: normal}
status: {column: status, map: {Open: open, Closed: closed}}
`
