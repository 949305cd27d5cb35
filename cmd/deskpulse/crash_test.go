package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/store"
)

// TestMain lets the test binary double as the deskpulse command, so that
// the crash test can run a real server process and kill it, and the bench
// harness its child export.
func TestMain(m *testing.M) {
	if args := os.Getenv("DESKPULSE_TEST_CHILD_ARGS"); args != "" {
		if err := run(strings.Fields(args), os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	benchSelf = childCommand
	os.Exit(m.Run())
}

// childCommand is `deskpulse args...` run by this test binary (args
// without spaces).
func childCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DESKPULSE_TEST_CHILD_ARGS="+strings.Join(args, " "))
	return cmd
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `deskpulse serve` as a child process and waits until it
// is ready.
func startServer(t *testing.T, db, addr string) *exec.Cmd {
	t.Helper()
	cmd := childCommand(context.Background(), "serve", "--db", db, "--addr", addr, "--config", "../../config.yaml")
	cmd.Env = append(cmd.Env, "DESKPULSE_DEMO_ON_EMPTY=false", "DESKPULSE_LOG_LEVEL=warn", "DESKPULSE_ADMIN_TOKEN="+testToken)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitReady(t, addr, cmd)
	return cmd
}

// waitReady waits up to 30 s for the server at addr to answer /readyz;
// it kills cmd and fails the test when it does not.
func waitReady(t *testing.T, addr string, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("server did not become ready")
}

// TestKillDuringWritesLosesNoAcknowledgedWrite drives 64 concurrent
// clients against a real server process, kills it with SIGKILL mid-stream,
// restarts it and checks that every write that got a 2xx is there and that
// the projection equals a rebuild from the events.
func TestKillDuringWritesLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server process")
	}
	db := filepath.Join(t.TempDir(), "crash.duckdb")
	addr := freeAddr(t)
	server := startServer(t, db, addr)
	base := "http://" + addr + "/api/v1"
	client := &http.Client{Timeout: 10 * time.Second, Transport: authorized{&http.Transport{MaxIdleConnsPerHost: 64}}}

	var (
		mu       sync.Mutex
		acked    = map[string]int{} // ticket id -> acknowledged comments
		writes   atomic.Int64
		stop     atomic.Bool
		wg       sync.WaitGroup
		postJSON = func(path, body string) (int, map[string]any) {
			resp, err := client.Post(base+path, "application/json", strings.NewReader(body))
			if err != nil {
				return 0, nil
			}
			defer resp.Body.Close()
			var out map[string]any
			raw, _ := io.ReadAll(resp.Body)
			json.Unmarshal(raw, &out)
			return resp.StatusCode, out
		}
	)
	for c := range 64 {
		wg.Go(func() {
			for !stop.Load() {
				code, tk := postJSON("/tickets", fmt.Sprintf(`{"subject":"client %d","requester_email":"c%d@example.com"}`, c, c))
				if code != 201 {
					continue
				}
				id := tk["id"].(string)
				mu.Lock()
				acked[id] = 0
				mu.Unlock()
				writes.Add(1)
				for range 3 {
					if code, _ := postJSON("/tickets/"+id+"/comments", `{"body":"more detail"}`); code == 200 {
						mu.Lock()
						acked[id]++
						mu.Unlock()
						writes.Add(1)
					}
				}
			}
		})
	}
	for writes.Load() < 1500 {
		time.Sleep(10 * time.Millisecond)
	}
	server.Process.Signal(syscall.SIGKILL)
	server.Wait()
	stop.Store(true)
	wg.Wait()
	t.Logf("%d writes acknowledged before SIGKILL", writes.Load())

	server = startServer(t, db, addr)
	for id, comments := range acked {
		resp, err := client.Get(base + "/tickets/" + id + "/events")
		if err != nil {
			t.Fatal(err)
		}
		var tl struct{ Events []struct{ Type string } }
		json.NewDecoder(resp.Body).Decode(&tl)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("acknowledged ticket %s lost (%d)", id, resp.StatusCode)
		}
		got := 0
		for _, e := range tl.Events {
			if e.Type == "commented" {
				got++
			}
		}
		if got < comments {
			t.Fatalf("ticket %s: %d comments stored, %d acknowledged", id, got, comments)
		}
	}
	server.Process.Signal(syscall.SIGTERM)
	if err := server.Wait(); err != nil {
		t.Fatalf("server did not stop cleanly on SIGTERM: %v", err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.ProjectionDiff(context.Background()); err != nil || n != 0 {
		t.Fatalf("after the crash the projection differs from a rebuild in %d rows (%v)", n, err)
	}
}
