package workspace

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// stream opens GET url as an event stream and sends each "ticket"
// event's data, and each heartbeat as "♥", to the returned channel.
func stream(t *testing.T, ctx context.Context, url string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			switch line := sc.Text(); {
			case strings.HasPrefix(line, "data: "):
				out <- strings.TrimPrefix(line, "data: ")
			case line == ": heartbeat":
				out <- "♥"
			}
		}
	}()
	return out
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing on the stream in 5 s")
	}
	return ""
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
	}
}

// created is a batch creating tickets with the given numbers (the hub
// needs no store for those).
func created(numbers ...int64) []*model.Event {
	var evs []*model.Event
	for _, n := range numbers {
		id := "t" + itoa(int(n))
		evs = append(evs, &model.Event{Ticket: id, Type: model.EventCreated, Number: n},
			&model.Event{Ticket: id, Type: model.EventCommented})
	}
	return evs
}

// TestHubStreams: two open streams both receive a commit's ticket numbers
// (each ticket once, in commit order), a later commit on a known ticket
// too, and heartbeats; closing a stream unsubscribes it; closing the hub
// ends the streams at once.
func TestHubStreams(t *testing.T) {
	h := newHub(nil)
	h.heartbeat = 200 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	defer srv.Close()
	defer h.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := stream(t, ctx, srv.URL)
	bctx, bcancel := context.WithCancel(ctx)
	b := stream(t, bctx, srv.URL)
	waitFor(t, "two clients", func() bool { return h.count() == 2 })

	h.publish(created(41, 42))
	h.publish([]*model.Event{{Ticket: "t41", Type: model.EventAssigned}})
	for name, ch := range map[string]<-chan string{"a": a, "b": b} {
		var got []string
		for len(got) < 3 {
			if s := next(t, ch); s != "♥" {
				got = append(got, s)
			}
		}
		if want := []string{"41", "42", "41"}; !slices.Equal(got, want) {
			t.Errorf("%s got %v, want %v", name, got, want)
		}
	}
	for next(t, a) != "♥" {
	}

	bcancel()
	waitFor(t, "the closed stream still subscribed", func() bool { return h.count() == 1 })

	start := time.Now()
	h.close()
	for range a {
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("closing the hub took %v to end the stream", d)
	}
	if resp, err := http.Get(srv.URL); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream after close: %v %v, want 503", resp.StatusCode, err)
	}
}

// TestHubDropsSlowClient: a client that does not take its messages is
// dropped once its buffer is full, and publishing never waits for it; the
// reading client gets every number.
func TestHubDropsSlowClient(t *testing.T) {
	h := newHub(nil)
	defer h.close()
	slow, fast := h.add(0, "slow"), h.add(0, "fast")
	var longest time.Duration
	for n := range int64(3 * clientBuffer) {
		start := time.Now()
		h.publish(created(n + 1))
		longest = max(longest, time.Since(start))
		select {
		case v := <-fast.ch:
			if want := "event: ticket\ndata: " + strconv.FormatInt(n+1, 10) + "\n\n"; v != want {
				t.Fatalf("fast client got %q, want %q", v, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("fast client: number %d did not come", n+1)
		}
		select {
		case <-slow.gone:
			if n+1 <= clientBuffer {
				t.Fatalf("the slow client was dropped after %d numbers, its buffer holds %d", n+1, clientBuffer)
			}
		default:
			// Number n+1 reached the fast client, so n is through the
			// broadcast (one at a time, to every client).
			if n > clientBuffer {
				t.Fatalf("the slow client is still there after %d numbers", n+1)
			}
		}
	}
	if longest > 50*time.Millisecond {
		t.Errorf("a publish took %v", longest)
	}
	if c := h.count(); c != 1 {
		t.Errorf("%d clients after the drop, want 1", c)
	}
}

// TestHubPresence: everyone on a ticket's page is told who else is on it,
// when someone comes and when someone goes; other pages hear nothing.
func TestHubPresence(t *testing.T) {
	h := newHub(nil)
	defer h.close()
	next := func(c *client) string {
		t.Helper()
		select {
		case m := <-c.ch:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no message")
			return ""
		}
	}
	ann := h.add(7, "Ann")
	if got := next(ann); got != "event: presence\ndata: 7\n\n" {
		t.Fatalf("Ann alone: %q", got)
	}
	inbox := h.add(0, "Cid")
	bob := h.add(7, "Bob")
	if got := next(ann); got != "event: presence\ndata: 7\ndata: Bob\n\n" {
		t.Fatalf("Ann, when Bob comes: %q", got)
	}
	if got := next(bob); got != "event: presence\ndata: 7\ndata: Ann\n\n" {
		t.Fatalf("Bob: %q", got)
	}
	h.remove(bob)
	if got := next(ann); got != "event: presence\ndata: 7\n\n" {
		t.Fatalf("Ann, when Bob goes: %q", got)
	}
	select {
	case m := <-inbox.ch:
		t.Fatalf("the inbox heard %q", m)
	default:
	}
}
