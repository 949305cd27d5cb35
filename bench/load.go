package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LoadOptions size a run of the HTTP write path.
type LoadOptions struct {
	Commands int // commands sent after seeding (default 20,000)
	Clients  int // concurrent clients (default 64)
	Seeded   int // tickets created before the clock starts (default 2,000)
}

// LoadResult is what a write-path run measured.
type LoadResult struct {
	Commands   int
	Seconds    float64
	PerSecond  float64
	P50, P99   time.Duration
	ServerErrs int64
}

// Load drives the ticket write path of a deskpulse API at base (e.g.
// http://127.0.0.1:8080, with the handler trusting X-Actor, as
// api.Server.Handler does) as agents do: Clients concurrent clients send a
// mix of 20% creates, 30% public replies, 10% internal notes, 10%
// assignments, 10% status changes, 10% requester replies, 10% more replies
// on Seeded tickets (the mix of api/bench_test.go's BenchmarkHTTPCommands).
// The store must be empty: ticket numbers 1..Seeded are the seeded ones.
func Load(ctx context.Context, base string, opts LoadOptions) (*LoadResult, error) {
	if opts.Commands <= 0 {
		opts.Commands = 20_000
	}
	if opts.Clients <= 0 {
		opts.Clients = 64
	}
	if opts.Seeded <= 0 {
		opts.Seeded = 2_000
	}
	const ann, bob = "ann@example.com", "bob@example.com"
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = opts.Clients
	transport.MaxIdleConns = 2 * opts.Clients
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	defer transport.CloseIdleConnections()
	post := func(path, actor, body string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", base+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Actor", actor)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for _, r := range [][2]string{{"/api/v1/teams", `{"name":"IT"}`}, {"/api/v1/agents", `{"email":"bob@example.com","name":"Bob","teams":["IT"]}`}} {
		if status, err := post(r[0], "", r[1]); err != nil || status >= 300 {
			return nil, fmt.Errorf("load: POST %s: status %d %v", r[0], status, err)
		}
	}
	// seed concurrently (the numbers are 1..Seeded whatever the order)
	var seeded atomic.Int64
	var seedErr atomic.Value
	var sg sync.WaitGroup
	for range opts.Clients {
		sg.Go(func() {
			for seeded.Add(1) <= int64(opts.Seeded) {
				if status, err := post("/api/v1/tickets", ann, `{"subject":"seed","priority":"normal"}`); err != nil || status != 201 {
					seedErr.CompareAndSwap(nil, fmt.Errorf("load: seeding a ticket: status %d %v", status, err))
					return
				}
			}
		})
	}
	sg.Wait()
	if err, _ := seedErr.Load().(error); err != nil {
		return nil, err
	}

	latencies := make([]time.Duration, opts.Commands)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := range opts.Clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(opts.Commands) {
					return
				}
				ticket := 1 + (i*7919+int64(c))%int64(opts.Seeded)
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
				status, err := post(path, actor, body)
				latencies[i] = time.Since(t0)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					failed.Add(1)
				} else if status >= 500 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, fmt.Errorf("load: %d commands failed: %w", failed.Load(), err)
	}
	slices.Sort(latencies)
	return &LoadResult{
		Commands: opts.Commands, Seconds: elapsed.Seconds(), PerSecond: float64(opts.Commands) / elapsed.Seconds(),
		P50: latencies[len(latencies)/2], P99: latencies[len(latencies)*99/100], ServerErrs: failed.Load(),
	}, nil
}
