// Package ingest is deskpulse's write path: it turns commands into
// validated lifecycle events and stores them with their ticket projection,
// and it loads history in bulk (demo data, imports).
package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Command is a request to change one ticket. Decide looks at the ticket's
// current state (nil when it does not exist yet) and returns the events the
// change consists of; the Writer then validates and applies them.
type Command interface {
	TicketID() string
	Decide(t *model.Ticket, at time.Time) ([]*model.Event, error)
}

// Keyed is a command that must take effect at most once however often
// it is sent (an automation rule acting on one event, replayed after a
// crash). The writer stores Key in the transaction of the command's
// events, with Record (asked after Decide: what the command leaves to do
// once committed), and answers a command whose key is stored already
// without deciding it: no events, Result.Applied and the stored Record.
// A command that decides no events stores no key, nor one whose Key is "".
type Keyed interface {
	Command
	Key() string
	Record() string
}

// Result is what a committed command did.
type Result struct {
	Ticket *model.Ticket
	Events []*model.Event
	// Applied: a Keyed command whose key was stored already; nothing
	// was done, and Record is what the first one stored.
	Applied bool
	Record  string
}

// ErrClosed is returned for commands sent after Close.
var ErrClosed = errors.New("the writer is shutting down")

// Writer is the single writer of a store. DuckDB takes one writer at a
// time and many small transactions are slow, so every command from every
// request goes through one goroutine that commits them in batches (group
// commit) and answers each request once its batch is durable. A command
// that the ticket's state forbids fails alone; its neighbours still commit.
type Writer struct {
	store    *store.Store
	conn     *sql.Conn
	in       chan *request
	mu       sync.RWMutex
	closed   bool
	done     chan struct{}
	maxBatch int
	linger   time.Duration
	now      func() time.Time
	subMu    sync.Mutex                                     // serializes Subscribe and its unsubscribe
	subs     atomic.Pointer[[]*func(events []*model.Event)] // copied on change, read lock-free by the writer
	observer atomic.Pointer[Observer]
	lastSeq  atomic.Int64 // the newest stored event, for readers off the writer goroutine

	// owned by the writer goroutine
	cache      map[string]*model.Ticket
	nextSeq    int64
	nextNumber int64
}

// cacheLimit bounds the writer's cache of ticket states; past it the cache
// starts over (it is only a shortcut around a primary-key lookup).
const cacheLimit = 100_000

type request struct {
	ctx       context.Context
	cmd       Command
	exclusive func(*sql.Conn) error
	reply     chan response
}

type response struct {
	result *Result
	err    error
}

// WriterOptions tune a Writer; zero values take defaults.
type WriterOptions struct {
	MaxBatch int              // commands per transaction, default 256
	Linger   time.Duration    // how long a batch waits for more commands, default 2ms
	Now      func() time.Time // the clock, default time.Now
}

// NewWriter starts the writer goroutine of st.
func NewWriter(ctx context.Context, st *store.Store, opts WriterOptions) (*Writer, error) {
	conn, err := st.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &Writer{
		store: st, conn: conn, in: make(chan *request, 1024), done: make(chan struct{}),
		maxBatch: opts.MaxBatch, linger: opts.Linger, now: opts.Now, cache: map[string]*model.Ticket{},
	}
	if w.maxBatch <= 0 {
		w.maxBatch = 256
	}
	if w.linger <= 0 {
		w.linger = 2 * time.Millisecond
	}
	if w.now == nil {
		w.now = time.Now
	}
	if err := store.PrepareWriter(ctx, conn); err != nil {
		conn.Close()
		return nil, err
	}
	if err := w.loadCounters(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	go w.run()
	return w, nil
}

func (w *Writer) loadCounters(ctx context.Context) error {
	seq, err := w.store.MaxSeq(ctx)
	if err != nil {
		return err
	}
	number, err := w.store.MaxTicketNumber(ctx)
	if err != nil {
		return err
	}
	w.nextSeq, w.nextNumber = seq+1, number+1
	w.lastSeq.Store(seq)
	return nil
}

// Observer sees the writer's work for monitoring (package telemetry): one
// call per committed or failed batch, never one per event, on the writer
// goroutine, so it must be quick.
type Observer interface {
	Batch(BatchStats)
	// Command is one answered Do call's time from sending to the answer
	// (queueing, lingering and committing), on the caller's goroutine.
	Command(time.Duration)
}

// BatchStats is one batch's outcome. Commands = Committed + Applied +
// Rejected + Failed.
type BatchStats struct {
	Commands  int
	Events    int
	Committed int           // decided and stored (or a no-op)
	Applied   int           // keyed commands answered from their stored key
	Rejected  int           // refused by the ticket's state or validation
	Failed    int           // the store failed them
	Duration  time.Duration // deciding and committing the batch
}

// Observe makes o see every batch from now on.
func (w *Writer) Observe(o Observer) { w.observer.Store(&o) }

// QueueDepth is the number of commands waiting for the writer goroutine.
func (w *Writer) QueueDepth() int { return len(w.in) }

// QueueCapacity is how many commands may wait before senders block.
func (w *Writer) QueueCapacity() int { return cap(w.in) }

// LastSeq is the seq of the newest stored event (0 in an empty store).
func (w *Writer) LastSeq() int64 { return w.lastSeq.Load() }

func (w *Writer) observe(s BatchStats) {
	if o := w.observer.Load(); o != nil {
		(*o).Batch(s)
	}
}

// Subscribe makes fn receive the events of every committed batch of
// commands (not bulk loads), in commit order, on the writer goroutine: fn
// must not block (hand the events to a queue or channel of its own) and
// must not call Do. Several subscribers may listen (automation, the
// workspace's live updates); each gets the same slice and must not change
// it. The returned func removes fn; after it returns, fn gets no batch
// that starts committing later.
func (w *Writer) Subscribe(fn func(events []*model.Event)) (unsubscribe func()) {
	p := &fn
	w.subMu.Lock()
	defer w.subMu.Unlock()
	var list []*func(events []*model.Event)
	if old := w.subs.Load(); old != nil {
		list = append(list, *old...)
	}
	list = append(list, p)
	w.subs.Store(&list)
	return func() {
		w.subMu.Lock()
		defer w.subMu.Unlock()
		var rest []*func(events []*model.Event)
		for _, q := range *w.subs.Load() {
			if q != p {
				rest = append(rest, q)
			}
		}
		w.subs.Store(&rest)
	}
}

// Do runs cmd and waits until it is committed or rejected.
func (w *Writer) Do(ctx context.Context, cmd Command) (*Result, error) {
	start := time.Now()
	resp, err := w.send(ctx, &request{ctx: ctx, cmd: cmd})
	if err != nil {
		return nil, err
	}
	if o := w.observer.Load(); o != nil {
		(*o).Command(time.Since(start))
	}
	return resp.result, resp.err
}

// Exclusive runs fn on the writer's connection between batches, e.g. a bulk
// import. fn manages its own transaction. Afterwards the writer reloads its
// counters and forgets cached tickets, since fn may have changed anything.
func (w *Writer) Exclusive(ctx context.Context, fn func(*sql.Conn) error) error {
	resp, err := w.send(ctx, &request{ctx: ctx, exclusive: fn})
	if err != nil {
		return err
	}
	return resp.err
}

func (w *Writer) send(ctx context.Context, r *request) (response, error) {
	r.reply = make(chan response, 1)
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return response{}, ErrClosed
	}
	select {
	case w.in <- r:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return response{}, ctx.Err()
	}
	// Once queued, a command is committed or rejected even if the caller
	// leaves: waiting here is only about answering.
	select {
	case resp := <-r.reply:
		return resp, nil
	case <-ctx.Done():
		return response{}, ctx.Err()
	}
}

// Close stops taking commands, commits those already queued and releases
// the connection.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.in)
	}
	w.mu.Unlock()
	<-w.done
	return w.conn.Close()
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]*request, 0, w.maxBatch)
	linger := time.NewTimer(0)
	for first := range w.in {
		if first.exclusive != nil {
			w.runExclusive(first)
			continue
		}
		batch = append(batch[:0], first)
		// A commit costs a few milliseconds whatever its size, so wait a
		// moment for the commands that busy clients are about to send.
		linger.Reset(w.linger)
	collect:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-w.in:
				if !ok {
					break collect
				}
				if r.exclusive != nil {
					w.commit(batch)
					batch = batch[:0]
					w.runExclusive(r)
					continue
				}
				batch = append(batch, r)
			case <-linger.C:
				break collect
			}
		}
		linger.Stop()
		if len(batch) > 0 {
			w.commit(batch)
		}
	}
}

func (w *Writer) runExclusive(r *request) {
	err := r.exclusive(w.conn)
	w.cache = map[string]*model.Ticket{}
	if lerr := w.loadCounters(context.Background()); lerr != nil {
		err = errors.Join(err, lerr)
	}
	r.reply <- response{err: err}
}

// staged is one command's outcome inside a batch before the commit.
type staged struct {
	req    *request
	result *Result
	err    error
}

// commit decides every command of the batch against the ticket states,
// then stores all accepted events and the touched tickets in one
// transaction. If the transaction fails, each command is retried alone so
// that one bad apple cannot sink the rest.
func (w *Writer) commit(batch []*request) {
	ctx := context.Background()
	start := time.Now()
	outcomes, events, tickets, keys, err := w.decide(ctx, batch)
	if err == nil {
		err = w.persist(ctx, events, tickets, keys)
	}
	if err != nil {
		w.rollbackCounters(events)
		if len(batch) > 1 {
			slog.Warn("batch commit failed; retrying its commands one by one", "commands", len(batch), "err", err)
			for _, r := range batch {
				w.commit([]*request{r})
			}
			return
		}
		for id := range tickets {
			delete(w.cache, id)
		}
		batch[0].reply <- response{err: fmt.Errorf("store: %w", err)}
		w.observe(BatchStats{Commands: 1, Failed: 1, Duration: time.Since(start)})
		return
	}
	if len(events) > 0 {
		w.lastSeq.Store(events[len(events)-1].Seq)
	}
	stats := BatchStats{Commands: len(batch), Events: len(events), Duration: time.Since(start)}
	if len(w.cache) > cacheLimit {
		w.cache = map[string]*model.Ticket{}
	}
	for id, t := range tickets {
		w.cache[id] = t
	}
	if subs := w.subs.Load(); subs != nil && len(events) > 0 {
		for _, fn := range *subs {
			(*fn)(events)
		}
	}
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			stats.Rejected++
		case o.result.Applied:
			stats.Applied++
		default:
			stats.Committed++
		}
		o.req.reply <- response{result: o.result, err: o.err}
	}
	w.observe(stats)
}

// decide runs each command on the state left by the commands before it,
// and returns the keys of the Keyed ones that decided events.
func (w *Writer) decide(ctx context.Context, batch []*request) ([]staged, []*model.Event, map[string]*model.Ticket, []store.AppliedKey, error) {
	var missing, keyList []string
	for _, r := range batch {
		if k, ok := r.cmd.(Keyed); ok && k.Key() != "" {
			keyList = append(keyList, k.Key())
		}
		if _, isNew := r.cmd.(*CreateTicket); isNew {
			continue // a fresh id: nothing to load
		}
		if id := r.cmd.TicketID(); w.cache[id] == nil {
			missing = append(missing, id)
		}
	}
	loaded, err := store.TicketsByID(ctx, w.conn, missing)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	applied, err := store.AppliedKeys(ctx, w.conn, keyList)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var keys []store.AppliedKey
	current := func(id string) *model.Ticket {
		if t := w.cache[id]; t != nil {
			return t
		}
		return loaded[id]
	}
	touched := map[string]*model.Ticket{}
	var events []*model.Event
	outcomes := make([]staged, len(batch))
	for i, r := range batch {
		outcomes[i].req = r
		id := r.cmd.TicketID()
		t := touched[id]
		if t == nil {
			t = current(id)
		}
		keyed, _ := r.cmd.(Keyed)
		if keyed != nil && keyed.Key() == "" {
			keyed = nil // not keyed this time
		}
		if keyed != nil {
			if rec, done := applied[keyed.Key()]; done {
				outcomes[i].result = &Result{Applied: true, Record: rec}
				if t != nil {
					outcomes[i].result.Ticket = t.Clone()
				}
				continue
			}
		}
		evs, next, err := w.apply(r.cmd, t)
		if err != nil {
			outcomes[i].err = err
			continue
		}
		if len(evs) > 0 { // a no-op leaves the stored ticket as it is
			touched[id] = next
			if keyed != nil {
				rec := keyed.Record()
				applied[keyed.Key()] = rec // the same key later in the batch
				keys = append(keys, store.AppliedKey{Key: keyed.Key(), Ticket: id, Record: rec})
			}
		}
		events = append(events, evs...)
		outcomes[i].result = &Result{Ticket: next.Clone(), Events: evs}
	}
	return outcomes, events, touched, keys, nil
}

// apply decides cmd on a copy of t and returns its events and the new state.
func (w *Writer) apply(cmd Command, t *model.Ticket) ([]*model.Event, *model.Ticket, error) {
	at := w.now().UTC().Truncate(time.Microsecond) // DuckDB keeps microseconds
	next := &model.Ticket{}
	if t != nil {
		// Keep each ticket's events in time order even if the clock steps back.
		if at.Before(t.UpdatedAt) {
			at = t.UpdatedAt
		}
		next = t.Clone()
	}
	evs, err := cmd.Decide(t, at)
	if err != nil {
		return nil, nil, err
	}
	if len(evs) == 0 && t == nil {
		return nil, nil, model.ErrNotFound
	}
	seq, number := w.nextSeq, w.nextNumber
	for _, e := range evs {
		if e.Type == model.EventCreated && e.Number == 0 {
			e.Number = number
			number++
		}
		if err := e.Normalize(); err != nil {
			return nil, nil, err
		}
		if err := next.Apply(e); err != nil {
			return nil, nil, err
		}
		e.Seq = seq
		seq++
	}
	w.nextSeq, w.nextNumber = seq, number
	return evs, next, nil
}

// rollbackCounters gives back the sequence numbers of a failed batch's
// events so that stored seq stays dense; ticket numbers are not reused.
func (w *Writer) rollbackCounters(events []*model.Event) {
	if len(events) > 0 {
		w.nextSeq = events[0].Seq
	}
}

func (w *Writer) persist(ctx context.Context, events []*model.Event, tickets map[string]*model.Ticket, keys []store.AppliedKey) error {
	if len(events) == 0 {
		return nil
	}
	list := make([]*model.Ticket, 0, len(tickets))
	for _, t := range tickets {
		list = append(list, t)
	}
	return inTransaction(ctx, w.conn, func() error {
		if err := store.AppendEvents(w.conn, events); err != nil {
			return err
		}
		if err := store.AddAppliedKeys(ctx, w.conn, keys, events[0].At); err != nil {
			return err
		}
		return store.UpsertTickets(ctx, w.conn, list)
	})
}
