package api_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPCommands drives the write path as agents do: 64 concurrent
// HTTP clients on loopback, a mix of creates, replies, notes, status
// changes and assignments on a few thousand tickets. It reports commands/s
// and the 99th percentile latency. Run:
//
//	go test ./api -run '^$' -bench HTTPCommands -benchtime 20000x
func BenchmarkHTTPCommands(b *testing.B) {
	e := start(b, filepath.Join(b.TempDir(), "bench.duckdb"))
	post := func(path, actor, body string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Actor", actor)
		resp, err := e.client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	post("/api/v1/teams", "", `{"name":"IT"}`)
	post("/api/v1/agents", "", `{"email":"bob@example.com","name":"Bob","teams":["IT"]}`)
	const seeded = 2000
	for range seeded {
		post("/api/v1/tickets", ann, `{"subject":"seed","priority":"normal"}`)
	}
	transport := e.client.Transport.(*http.Transport)
	transport.MaxIdleConnsPerHost = 64

	const clients = 64
	latencies := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				ticket := 1 + (i*7919+int64(c))%seeded
				path, actor, body := fmt.Sprintf("/api/v1/tickets/%d/comments", ticket), bob, `{"body":"On it","public":true}`
				switch i % 10 {
				case 0, 1:
					path, actor, body = "/api/v1/tickets", ann, `{"subject":"Printer jam","priority":"high","category":"hardware"}`
				case 2:
					body = `{"body":"internal note","public":false}`
				case 3:
					path, body = fmt.Sprintf("/api/v1/tickets/%d/assign", ticket), `{"team":"IT","assignee":"bob@example.com"}`
				case 4:
					path, body = fmt.Sprintf("/api/v1/tickets/%d/status", ticket), `{"status":"pending"}`
				case 5:
					path, actor, body = fmt.Sprintf("/api/v1/tickets/%d/comments", ticket), ann, `{"body":"any news?"}`
				}
				t0 := time.Now()
				status := post(path, actor, body)
				latencies[i] = time.Since(t0)
				if status >= 500 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d commands failed with a server error", failed.Load())
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "cmds/s")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
}
