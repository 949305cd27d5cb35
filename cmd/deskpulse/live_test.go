package main

import (
	"bufio"
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLiveStreamsEndOnClose: the workspace's live-update stream carries
// the number of a ticket created through the API (the writer's commits
// reach it beside automation), and Close stops the server promptly with
// streams still open.
func TestLiveStreamsEndOnClose(t *testing.T) {
	m := NewMain(testConfig(t, filepath.Join(t.TempDir(), "live.duckdb")))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()
	base := "http://" + m.Addr()
	var lines []chan string
	for range 3 {
		resp, err := http.Get(base + "/inbox/stream") // the default client carries the admin token
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		ch := make(chan string, 100)
		lines = append(lines, ch)
		go func() {
			defer resp.Body.Close()
			defer close(ch)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				ch <- sc.Text()
			}
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); m.Workspace.LiveClients() != 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open, want 3", m.Workspace.LiveClients())
		}
	}
	resp, err := http.Post(base+"/api/v1/tickets", "application/json", strings.NewReader(`{"subject":"Live","requester_email":"liv@example.com"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	n, err := m.Store.MaxTicketNumber(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "data: " + strconv.FormatInt(n, 10)
	for i, ch := range lines {
		timeout := time.After(5 * time.Second)
	read:
		for {
			select {
			case line := <-ch:
				if line == want {
					break read
				}
			case <-timeout:
				t.Fatalf("stream %d: no %q in 5 s", i, want)
			}
		}
	}

	start := time.Now()
	closed = true
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with streams open", d)
	}
	for i, ch := range lines {
		timeout := time.After(time.Second)
	drain:
		for {
			select {
			case _, open := <-ch:
				if !open {
					break drain
				}
			case <-timeout:
				t.Errorf("stream %d still open after Close", i)
				break drain
			}
		}
	}
}
