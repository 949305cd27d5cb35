package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
)

// canonicalNDJSON makes n canonical events as NDJSON: tickets of five
// events each (created, assigned, commented, resolved, closed).
func canonicalNDJSON(n int) []byte {
	var b bytes.Buffer
	writeCanonicalNDJSON(&b, n)
	return b.Bytes()
}

func writeCanonicalNDJSON(w io.Writer, n int) {
	b := bufio.NewWriterSize(w, 1<<20)
	defer b.Flush()
	base := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n/5; i++ {
		at := base.Add(time.Duration(i) * 37 * time.Second)
		ts := func(min int) string { return at.Add(time.Duration(min) * time.Minute).Format(time.RFC3339) }
		fmt.Fprintf(b, `{"id":"b%d-1","ticket":"T-%d","type":"created","at":"%s","actor":"user%d@example.com","actor_kind":"requester","subject":"Printer %d jammed","priority":"normal","category":"hardware","channel":"email"}`+"\n", i, i, ts(0), i%5000, i)
		fmt.Fprintf(b, `{"id":"b%d-2","ticket":"T-%d","type":"assigned","at":"%s","actor":"system","actor_kind":"system","team":"IT","assignee":"agent%d@example.com"}`+"\n", i, i, ts(3), i%40)
		fmt.Fprintf(b, `{"id":"b%d-3","ticket":"T-%d","type":"commented","at":"%s","actor":"agent%d@example.com","actor_kind":"agent","public":true,"body":"On it"}`+"\n", i, i, ts(30), i%40)
		fmt.Fprintf(b, `{"id":"b%d-4","ticket":"T-%d","type":"resolved","at":"%s","actor":"agent%d@example.com","actor_kind":"agent"}`+"\n", i, i, ts(240), i%40)
		fmt.Fprintf(b, `{"id":"b%d-5","ticket":"T-%d","type":"closed","at":"%s","actor":"system","actor_kind":"system"}`+"\n", i, i, ts(4000))
	}
}

// BenchmarkImport1M imports one million canonical NDJSON events from a
// file into an empty store file (parse, de-duplicate, check, append,
// rebuild). It reports events/s, the process's peak RSS during the import
// (VmHWM, reset just before it) and the peak Go heap.
//
//	go test -tags duckdb_arrow -run '^$' -bench Import1M -benchtime 1x ./ingest
//
// BenchmarkImport10M does the same with ten million events (a 1.6 GB file).
// DESKPULSE_BENCH_MEMORY_LIMIT (e.g. 2GB) sets DuckDB's memory_limit
// first (default: 80% of RAM), to see the import spill instead.
func BenchmarkImport1M(b *testing.B)  { benchImport(b, 1_000_000) }
func BenchmarkImport10M(b *testing.B) { benchImport(b, 10_000_000) }

func benchImport(b *testing.B, n int) {
	path := filepath.Join(b.TempDir(), "bench.ndjson")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	writeCanonicalNDJSON(f, n)
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	var total time.Duration
	var peakRSS, peakHeap uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		store, w := openDemoStore(b, filepath.Join(b.TempDir(), "bench.duckdb"))
		if limit := os.Getenv("DESKPULSE_BENCH_MEMORY_LIMIT"); limit != "" {
			if _, err := store.DB.Exec(`SET memory_limit = ?`, limit); err != nil {
				b.Fatal(err)
			}
		}
		in, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		resetPeakRSS()
		heap := sampleHeap()
		b.StartTimer()
		began := time.Now()
		sum, err := w.Import(context.Background(), []ingest.Input{{Name: "bench.ndjson", R: in, Path: path}}, ingest.ImportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(began)
		b.StopTimer()
		peakRSS, peakHeap = max(peakRSS, readPeakRSS()), max(peakHeap, heap())
		b.Logf("phases %v", sum.Phases)
		if sum.Imported != n {
			b.Fatalf("imported %d", sum.Imported)
		}
		in.Close()
		w.Close()
		store.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*float64(n)/total.Seconds(), "events/s")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident memory (VmHWM) to its current RSS.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// readPeakRSS returns VmHWM in bytes (0 when /proc is not there).
func readPeakRSS() uint64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// sampleHeap watches the Go heap (live and not yet swept objects) every
// 10 ms until the returned function is called, which returns the peak.
func sampleHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
