package workspace

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Live updates: the hub listens to the writer's commits and tells every
// open workspace page, over a Server-Sent Events stream, which tickets
// changed ("event: ticket", "data: 42"). The pages' script then re-fetches
// what it shows. The stream carries ticket numbers only, which every user
// with the tickets permission may see anyway.
const (
	// clientBuffer is how many ticket numbers a stream may fall behind
	// before the hub drops it; the browser reconnects and re-fetches.
	clientBuffer = 64
	// heartbeatEvery keeps proxies from closing a quiet stream and finds
	// dead connections (a write to one fails).
	heartbeatEvery = 20 * time.Second
	// writeWait bounds one write to a stream, so a client that stops
	// reading ends its handler instead of holding it.
	writeWait = 10 * time.Second
	// numberCacheLimit bounds the hub's ticket id -> number map.
	numberCacheLimit = 100_000
)

type hub struct {
	st        *store.Store // for the numbers of tickets created before the hub started
	heartbeat time.Duration

	// The writer's callback only appends here and wakes run, so it never
	// waits for a store lookup or a client.
	qmu   sync.Mutex
	queue [][]*model.Event
	wake  chan struct{}

	mu      sync.Mutex
	clients map[*client]struct{}
	closed  bool

	done    chan struct{} // closed by close
	stopped chan struct{} // closed when run returns
	numbers map[string]int64
}

// client is one open stream.
type client struct {
	ch   chan string   // SSE messages, clientBuffer deep
	gone chan struct{} // closed when the hub drops the client or shuts down
	// viewing is the ticket whose page opened the stream (0 for the
	// inbox), as who (the user's name): the presence others see.
	viewing int64
	who     string
}

func newHub(st *store.Store) *hub {
	h := &hub{
		st: st, heartbeat: heartbeatEvery,
		wake: make(chan struct{}, 1), clients: map[*client]struct{}{},
		done: make(chan struct{}), stopped: make(chan struct{}), numbers: map[string]int64{},
	}
	go h.run()
	return h
}

// publish is the writer's subscriber (ingest.Writer.Subscribe): it runs
// on the writer goroutine, so it only queues.
func (h *hub) publish(events []*model.Event) {
	h.qmu.Lock()
	h.queue = append(h.queue, events)
	h.qmu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default: // run is already woken
	}
}

func (h *hub) run() {
	defer close(h.stopped)
	for {
		select {
		case <-h.done:
			return
		case <-h.wake:
		}
		h.qmu.Lock()
		batches := h.queue
		h.queue = nil
		h.qmu.Unlock()
		for _, events := range batches {
			for _, n := range h.ticketNumbers(events) {
				h.broadcast(n)
			}
		}
	}
}

// ticketNumbers is the numbers of the tickets a batch changed, each once,
// in commit order.
func (h *hub) ticketNumbers(events []*model.Event) []int64 {
	if len(h.numbers) > numberCacheLimit {
		h.numbers = map[string]int64{}
	}
	var out []int64
	seen := map[int64]bool{}
	for _, ev := range events {
		n, ok := h.numbers[ev.Ticket]
		if !ok && ev.Type == model.EventCreated && ev.Number > 0 {
			n, ok = ev.Number, true
		}
		if !ok && h.st != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			t, err := h.st.Ticket(ctx, ev.Ticket)
			cancel()
			if err != nil {
				slog.Warn("workspace: live update: ticket number", "ticket", ev.Ticket, "err", err)
				continue
			}
			n, ok = t.Number, true
		}
		if !ok {
			continue
		}
		h.numbers[ev.Ticket] = n // numbers never change
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// broadcast hands n to every client without waiting: a client whose
// buffer is full is dropped.
func (h *hub) broadcast(n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := "event: ticket\ndata: " + strconv.FormatInt(n, 10) + "\n\n"
	for c := range h.clients {
		h.offer(c, msg)
	}
}

// offer queues msg for c without waiting, dropping c when its buffer is
// full. h.mu is held.
func (h *hub) offer(c *client, msg string) {
	select {
	case c.ch <- msg:
	default:
		delete(h.clients, c)
		close(c.gone)
	}
}

// presence tells everyone on ticket n's page who else is on it: a
// "presence" event whose data is the other viewers' names, one per line
// (none: nobody else). h.mu is held.
func (h *hub) presence(n int64) {
	if n == 0 {
		return
	}
	var viewers []*client
	for c := range h.clients {
		if c.viewing == n {
			viewers = append(viewers, c)
		}
	}
	for _, c := range viewers {
		seen := map[string]bool{c.who: true}
		var others []string
		for _, o := range viewers {
			if !seen[o.who] {
				seen[o.who] = true
				others = append(others, o.who)
			}
		}
		slices.Sort(others)
		msg := "event: presence\ndata: " + strconv.FormatInt(n, 10) + "\n"
		for _, name := range others {
			msg += "data: " + name + "\n"
		}
		h.offer(c, msg+"\n")
	}
}

// add registers a stream of who, on ticket viewing's page (0: another
// page); nil once the hub is closed.
func (h *hub) add(viewing int64, who string) *client {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	c := &client{ch: make(chan string, clientBuffer), gone: make(chan struct{}), viewing: viewing, who: who}
	h.clients[c] = struct{}{}
	h.presence(viewing)
	return c
}

// remove forgets a stream whose request ended.
func (h *hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
	h.presence(c.viewing)
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// close ends every stream and stops the hub; streams opened later get 503.
func (h *hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	for c := range h.clients {
		delete(h.clients, c)
		close(c.gone)
	}
	h.mu.Unlock()
	close(h.done)
	<-h.stopped
}

// serve is GET /inbox/stream: an event-stream of "ticket" events whose
// data is a changed ticket's number, with a comment line as heartbeat.
func (h *hub) serve(w http.ResponseWriter, r *http.Request) {
	// ?viewing=N: the stream of ticket N's page, whose viewer the other
	// viewers of N are told about.
	var viewing int64
	if v := r.URL.Query().Get("viewing"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			http.Error(w, "viewing must be a ticket number", http.StatusBadRequest)
			return
		}
		viewing = n
	}
	who := "someone"
	if u := auth.UserFrom(r.Context()); u != nil {
		who = u.Name
		if who == "" {
			who = u.Email
		}
	}
	c := h.add(viewing, strings.ReplaceAll(who, "\n", " "))
	if c == nil {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.remove(c)
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // a proxy must not hold the events back
	w.WriteHeader(http.StatusOK)
	// retry: the browser reconnects after 2 s when the stream ends (a
	// drop, a restart); the page re-fetches on reconnecting.
	send := func(s string) bool {
		// Each write gets its own deadline, replacing the server's
		// WriteTimeout, which would cut a long stream.
		_ = rc.SetWriteDeadline(time.Now().Add(writeWait))
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n: connected\n\n") {
		return
	}
	tick := time.NewTicker(h.heartbeat)
	defer tick.Stop()
	for {
		var msg string
		select {
		case msg = <-c.ch:
		case <-tick.C:
			msg = ": heartbeat\n\n"
		case <-c.gone:
			return
		case <-r.Context().Done():
			return
		}
		if !send(msg) {
			return
		}
	}
}
