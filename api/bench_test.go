package api_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/deskpulse/deskpulse/bench"
)

// BenchmarkHTTPCommands drives the write path as agents do (bench.Load: 64
// concurrent HTTP clients on loopback, a mix of creates, replies, notes,
// status changes and assignments on 2,000 seeded tickets) and reports
// commands/s and latency percentiles. b.N is the number of commands. Run:
//
//	go test ./api -run '^$' -bench HTTPCommands -benchtime 20000x
func BenchmarkHTTPCommands(b *testing.B) {
	e := start(b, filepath.Join(b.TempDir(), "bench.duckdb"))
	b.ResetTimer()
	res, err := bench.Load(context.Background(), e.srv.URL, bench.LoadOptions{Commands: b.N})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.ServerErrs > 0 {
		b.Fatalf("%d commands failed with a server error", res.ServerErrs)
	}
	b.ReportMetric(res.PerSecond, "cmds/s")
	b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
}
