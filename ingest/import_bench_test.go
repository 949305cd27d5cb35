package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
)

// canonicalNDJSON makes n canonical events as NDJSON: tickets of five
// events each (created, assigned, commented, resolved, closed).
func canonicalNDJSON(n int) []byte {
	var b bytes.Buffer
	base := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n/5; i++ {
		at := base.Add(time.Duration(i) * 37 * time.Second)
		ts := func(min int) string { return at.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
		fmt.Fprintf(&b, `{"id":"b%d-1","ticket":"T-%d","type":"created","at":"%s","actor":"user%d@example.com","actor_kind":"requester","subject":"Printer %d jammed","priority":"normal","category":"hardware","channel":"email"}`+"\n", i, i, ts(0), i%5000, i)
		fmt.Fprintf(&b, `{"id":"b%d-2","ticket":"T-%d","type":"assigned","at":"%s","actor":"system","actor_kind":"system","team":"IT","assignee":"agent%d@example.com"}`+"\n", i, i, ts(3), i%40)
		fmt.Fprintf(&b, `{"id":"b%d-3","ticket":"T-%d","type":"commented","at":"%s","actor":"agent%d@example.com","actor_kind":"agent","public":true,"body":"On it"}`+"\n", i, i, ts(30), i%40)
		fmt.Fprintf(&b, `{"id":"b%d-4","ticket":"T-%d","type":"resolved","at":"%s","actor":"agent%d@example.com","actor_kind":"agent"}`+"\n", i, i, ts(240), i%40)
		fmt.Fprintf(&b, `{"id":"b%d-5","ticket":"T-%d","type":"closed","at":"%s","actor":"system","actor_kind":"system"}`+"\n", i, i, ts(4000))
	}
	return b.Bytes()
}

// BenchmarkImport1M imports one million canonical NDJSON events into an
// empty store file (parse, de-duplicate, check, append, rebuild).
//
//	go test -run '^$' -bench Import1M -benchtime 1x ./ingest
func BenchmarkImport1M(b *testing.B) {
	data := canonicalNDJSON(1_000_000)
	b.SetBytes(int64(len(data)))
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, w := openDemoStore(b, filepath.Join(b.TempDir(), "bench.duckdb"))
		b.StartTimer()
		began := time.Now()
		sum, err := w.Import(context.Background(), []ingest.Input{{Name: "bench.ndjson", R: bytes.NewReader(data)}}, ingest.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(began)
		b.Logf("phases %v", sum.Phases)
		if sum.Imported != 1_000_000 {
			b.Fatalf("imported %d", sum.Imported)
		}
		b.StopTimer()
		w.Close()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*1e6/total.Seconds(), "events/s")
}
