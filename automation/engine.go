package automation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// DefaultMaxDepth is how many rules may trigger one another in a chain
// before the engine stops it with a warning.
const DefaultMaxDepth = 5

// Options configure an Engine.
type Options struct {
	Store   *store.Store
	Writer  *ingest.Writer
	Metrics *metrics.Engine // SLA triggers; nil: they never fire
	// Rules from config.yaml; each is stored the first time its name is
	// seen and managed over the API from then on.
	Rules     []*Rule
	Calendars map[string]metrics.Calendar // for business_hours conditions
	Routing   Routing                     // auto-assignment per team
	Mailer    Mailer                      // e-mail actions and notifications; nil: e-mail actions are skipped
	Webhooks  WebhookSettings             // timeouts and retries of webhook deliveries
	Now       func() time.Time            // the clock of time and SLA triggers; default time.Now
	MaxDepth  int                         // default DefaultMaxDepth
	// CatchUp: at start, events stored while the engine was not running
	// (after its cursor) that occurred within this window are processed;
	// default 1h. Older ones (imports of history) are not.
	CatchUp time.Duration
	// MaxPerTick caps the tickets one time or SLA rule acts on per tick
	// (the rest follow at the next ticks); default 500.
	MaxPerTick int
}

// Mailer queues e-mails rendered from a named template (package notify),
// each at most once per key (a rule, its triggering event and the
// action; "" is not keyed). A Mailer that is also a Listener sees every
// committed batch (built-in notifications), and must itself queue each
// once per event: the engine replays the events after a crash. One with
// Start() and Close() error runs and stops with the engine.
type Mailer interface {
	QueueOnce(ctx context.Context, key string, to []string, template string, t *model.Ticket, data map[string]string) error
}

// Listener sees every committed batch of events on the engine goroutine,
// with the touched tickets as they are now; it must not block for long.
// After a crash it sees the events since the last saved cursor again, so
// what it does must be idempotent per event.
type Listener interface {
	Committed(ctx context.Context, events []*model.Event, tickets map[string]*model.Ticket)
}

// Engine evaluates the rules.
type Engine struct {
	opts Options
	st   *store.Store
	w    *ingest.Writer
	m    *metrics.Engine
	cals *Calendars
	now  func() time.Time

	mu    sync.RWMutex
	rules []*Rule

	qmu     sync.Mutex
	queue   [][]*model.Event
	wake    chan struct{}
	reqs    chan func()
	stop    chan struct{}
	done    chan struct{}
	started bool
	closed  bool
	// ctx is the engine goroutine's; Close cancels it when the stop grace
	// is over, which interrupts the batch in hand (replayed next start).
	ctx    context.Context
	cancel context.CancelFunc

	// owned by the engine goroutine
	depth     map[string]int // event id -> rule chain depth of the event
	listeners []Listener
	router    *router
	hooks     *Webhooks
	cache     map[string]*model.Ticket // ticket states after the events processed
	lastSeq   int64                    // the last event processed
	catchUpTo int64                    // the last event stored at Start: the catch-up's, later ones come queued
	cursor    int64                    // every event up to this one was processed, with all it caused
	saved     int64                    // the cursor as stored
	savedAt   time.Time
}

// New opens the engine over a store: seeds the config's rules and loads
// the stored ones. Start begins processing.
func New(ctx context.Context, o Options) (*Engine, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.CatchUp <= 0 {
		o.CatchUp = time.Hour
	}
	if o.MaxPerTick <= 0 {
		o.MaxPerTick = 500
	}
	e := &Engine{
		opts: o, st: o.Store, w: o.Writer, m: o.Metrics, cals: NewCalendars(o.Calendars), now: o.Now,
		wake: make(chan struct{}, 1), reqs: make(chan func()), stop: make(chan struct{}), done: make(chan struct{}),
		depth: map[string]int{}, cache: map[string]*model.Ticket{},
	}
	if err := o.Routing.validate(); err != nil {
		return nil, err
	}
	e.router = newRouter(e, o.Routing)
	e.hooks = newWebhooks(o.Store, o.Webhooks)
	if err := e.hooks.load(ctx); err != nil {
		return nil, fmt.Errorf("automation: webhooks: %w", err)
	}
	e.listeners = []Listener{e.hooks}
	if l, ok := o.Mailer.(Listener); ok {
		e.listeners = append(e.listeners, l)
	}
	if err := e.seed(ctx, o.Rules); err != nil {
		return nil, fmt.Errorf("automation: seed rules: %w", err)
	}
	if err := e.loadRules(ctx); err != nil {
		return nil, fmt.Errorf("automation: %w", err)
	}
	return e, nil
}

// Webhooks are the webhook subscriptions and their deliveries.
func (e *Engine) Webhooks() *Webhooks { return e.hooks }

// AddListener adds a listener (webhooks, notifications); call before Start.
func (e *Engine) AddListener(l Listener) { e.listeners = append(e.listeners, l) }

// Start subscribes to the writer's committed events and starts the
// engine goroutine, which first catches up on the events stored after
// the saved cursor (those of a crash or of a stop in the middle of a
// catch-up), then follows the committed ones.
func (e *Engine) Start(ctx context.Context) error {
	e.w.Subscribe(e.enqueue)
	maxSeq, err := e.st.MaxSeq(ctx)
	if err != nil {
		return err
	}
	cur, ok, err := e.state(ctx, "cursor")
	if err != nil {
		return err
	}
	e.cursor = maxSeq // first start: the history is not acted on
	if ok {
		saved, _ := strconv.ParseInt(cur, 10, 64)
		e.cursor = min(saved, maxSeq)
	}
	e.saved, e.catchUpTo = -1, maxSeq
	if err := e.saveCursor(ctx); err != nil {
		return err
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.started = true
	e.hooks.start()
	if s, ok := e.opts.Mailer.(interface{ Start() }); ok {
		s.Start()
	}
	go e.run()
	return nil
}

// catchUpPage is how many stored events the catch-up processes between
// saving the cursor and looking for a stop. A page takes 15-60 ms an event
// on a busy 2-core machine, so 25 keeps the work a stop abandons (and the
// next start replays) to about a second.
const catchUpPage = 25

func filterSeq(events []*model.Event, upTo int64) []*model.Event {
	out := events[:0]
	for _, ev := range events {
		if ev.Seq <= upTo {
			out = append(out, ev)
		}
	}
	return out
}

// enqueue is the writer's subscriber: it only queues.
func (e *Engine) enqueue(events []*model.Event) {
	e.qmu.Lock()
	e.queue = append(e.queue, events)
	e.qmu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) run() {
	defer close(e.done)
	defer e.finalCursor()
	ctx := e.ctx
	if !e.catchUp(ctx) {
		return // stopped: the next start goes on from the cursor
	}
	for {
		select {
		case <-e.wake:
			e.drain(ctx)
		case fn := <-e.reqs:
			e.drain(ctx)
			fn()
		case <-e.stop:
			e.drain(ctx) // until the queue is empty or the stop grace is over
			return
		}
	}
}

// catchUp processes the events stored after the cursor up to the last
// one at Start, a page at a time, saving the cursor after each page; it
// returns false when Close stopped it (the cursor says how far it got).
// Events older than the catch-up window are not acted on.
func (e *Engine) catchUp(ctx context.Context) bool {
	since := e.now().Add(-e.opts.CatchUp)
	total := 0
	for e.cursor < e.catchUpTo {
		if e.stopping() {
			slog.Info("automation: catch-up stopped; the next start resumes it", "events", total, "cursor", e.cursor)
			return false
		}
		page, err := e.st.EventsAfter(ctx, e.cursor, since, catchUpPage)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			slog.Error("automation: catch up", "err", err)
			break
		}
		page = filterSeq(page, e.catchUpTo)
		if len(page) == 0 {
			break // the rest is older than the window
		}
		if total == 0 {
			slog.Info("automation: catching up on events stored while not running", "after", e.cursor, "up_to", e.catchUpTo)
		}
		if !e.process(ctx, page, true) {
			return false
		}
		total += len(page)
		e.cursor = page[len(page)-1].Seq
		if err := e.saveCursor(ctx); err != nil {
			slog.Warn("automation: save cursor", "err", err)
		}
	}
	e.cursor = max(e.cursor, e.catchUpTo)
	slog.Info("automation: caught up", "events", total, "cursor", e.cursor)
	return true
}

// stopping says whether Close was called.
func (e *Engine) stopping() bool {
	select {
	case <-e.stop:
		return true
	default:
		return e.ctx.Err() != nil
	}
}

// cursorEvery is how often the cursor is saved while events keep coming
// (and whenever the queue runs empty): what a crash leaves to replay,
// which the idempotency keys make harmless.
const cursorEvery = 250 * time.Millisecond

func (e *Engine) drain(ctx context.Context) {
	for ctx.Err() == nil {
		e.qmu.Lock()
		if len(e.queue) == 0 {
			e.qmu.Unlock()
			if err := e.saveCursor(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("automation: save cursor", "err", err)
			}
			return
		}
		batch := e.queue[0]
		e.queue[0] = nil
		e.queue = e.queue[1:]
		e.qmu.Unlock()
		batch = skipSeq(batch, e.catchUpTo)
		if len(batch) == 0 {
			continue
		}
		if !e.process(ctx, batch, false) {
			return // interrupted: replayed from the cursor at the next start
		}
		e.cursor = max(e.cursor, batch[len(batch)-1].Seq)
		if time.Since(e.savedAt) >= cursorEvery {
			if err := e.saveCursor(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("automation: save cursor", "err", err)
			}
		}
	}
}

func skipSeq(events []*model.Event, upTo int64) []*model.Event {
	for len(events) > 0 && events[0].Seq <= upTo {
		events = events[1:]
	}
	return events
}

// saveCursor stores the cursor: every event up to it was processed with
// all its effects, so a restart goes on after it.
func (e *Engine) saveCursor(ctx context.Context) error {
	if e.cursor == e.saved {
		return nil
	}
	if err := e.setState(ctx, "cursor", strconv.FormatInt(e.cursor, 10)); err != nil {
		return err
	}
	e.saved, e.savedAt = e.cursor, time.Now()
	return nil
}

// finalCursor saves the cursor as the engine stops (its context may be
// cancelled by then).
func (e *Engine) finalCursor() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.saveCursor(ctx); err != nil {
		slog.Warn("automation: save cursor", "err", err)
	}
}

// do runs fn on the engine goroutine and waits for it.
func (e *Engine) do(ctx context.Context, fn func() error) error {
	if !e.started {
		return errors.New("automation: the engine is not started")
	}
	errc := make(chan error, 1)
	select {
	case e.reqs <- func() { errc <- fn() }:
	case <-e.done:
		return errors.New("automation: the engine is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sync waits until every event committed before the call, and everything
// the rules did in response, has been processed (tests).
func (e *Engine) Sync(ctx context.Context) error {
	for range 2 {
		if err := e.do(ctx, func() error { return nil }); err != nil {
			return err
		}
	}
	return nil
}

// Tick runs the time and SLA triggers as of now (the scheduler calls it
// each minute; tests call it with their own clock).
func (e *Engine) Tick(ctx context.Context, now time.Time) error {
	return e.do(ctx, func() error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(e.ctx, cancel)() // Close's grace ends a long tick too
		return e.tick(ctx, now)
	})
}

// StartScheduler ticks at once (catching up on what came due while
// deskpulse was down) and then every interval with the engine's clock
// until Close.
func (e *Engine) StartScheduler(interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if err := e.Tick(context.Background(), e.now()); err != nil && !e.isClosed() {
				slog.Warn("automation: scheduled tick", "err", err)
			}
			select {
			case <-t.C:
			case <-e.done:
				return
			}
		}
	}()
}

func (e *Engine) isClosed() bool {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	return e.closed
}

// StopGrace is how long Close lets the engine work through its queue
// before it interrupts the batch in hand; what is left is processed at
// the next start (from the saved cursor). A catch-up stops at once,
// after its current page.
const StopGrace = 3 * time.Second

// Close processes what is queued (for up to StopGrace) and stops the
// engine; call it before closing the writer.
func (e *Engine) Close() error {
	e.qmu.Lock()
	if e.closed || !e.started {
		e.closed = true
		e.qmu.Unlock()
		return nil
	}
	e.closed = true
	e.qmu.Unlock()
	close(e.stop)
	grace := time.AfterFunc(StopGrace, e.cancel)
	<-e.done
	grace.Stop()
	e.cancel()
	e.hooks.close()
	if c, ok := e.opts.Mailer.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// process evaluates the event rules on one batch: committed (live) or
// stored (replay: the catch-up after a start, whose events a run before
// a crash may have acted on already). It returns false when the engine's
// context was cancelled before the batch was through.
//
// Every effect happens once per triggering event: a rule's actions are a
// command keyed by rule and event (the writer refuses the key a second
// time), its e-mails and webhook calls are queued under keys the store
// keeps unique, and so are the listeners' notifications and deliveries.
// On a replay, the rules already applied to an event are not matched
// again (the ticket has moved on since): only what their commit left to
// do is finished.
func (e *Engine) process(ctx context.Context, events []*model.Event, replay bool) bool {
	tickets, err := e.tickets(ctx, events)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		slog.Error("automation: load tickets", "err", err)
		return true
	}
	for _, l := range e.listeners {
		l.Committed(ctx, events, tickets)
	}
	rules := e.Rules()
	var applied map[string]string
	if replay {
		if applied, err = e.appliedRules(ctx, rules, events); err != nil {
			slog.Warn("automation: applied rules of a replayed batch", "err", err)
		}
	}
	fired := map[[2]string]bool{}
	for _, ev := range events {
		if ctx.Err() != nil {
			return false
		}
		d := e.depth[ev.ID]
		delete(e.depth, ev.ID)
		t := tickets[ev.Ticket]
		if t == nil {
			continue
		}
		for _, r := range rules {
			key := [2]string{r.ID, t.ID}
			if fired[key] || !r.Enabled || !r.TriggeredBy(ev) {
				continue
			}
			if record, ok := applied[ruleKey(r, ev.ID)]; ok {
				fired[key] = true
				e.sideEffects(ctx, ruleKey(r, ev.ID), r, parseEffects(record), t, ev, nil)
				continue
			}
			if !r.Matches(&Subject{Ticket: t, Event: ev, At: ev.At}, e.cals) {
				continue
			}
			if d >= e.opts.MaxDepth {
				slog.Warn("automation: rule chain stopped at the maximum depth", "rule", r.Name, "ticket", t.ID, "depth", d, "event", ev.Type, "actor", ev.Actor)
				continue
			}
			fired[key] = true
			if next := e.act(ctx, r, t, ev, ev.ID, d+1, nil, nil); next != nil {
				tickets[t.ID] = next
				t = next
			}
		}
		if d < e.opts.MaxDepth {
			if next := e.router.route(ctx, ev, t, d+1); next != nil {
				tickets[t.ID] = next
			}
		}
	}
	if len(e.depth) > 100_000 {
		e.depth = map[string]int{}
	}
	return ctx.Err() == nil
}

// ruleKey is the idempotency key of rule r acting on what triggered it
// (origin: an event id, or a time or SLA episode).
func ruleKey(r *Rule, origin string) string { return "rule:" + r.ID + ":" + origin }

// appliedRules returns the records of the event rules already applied to
// the events, by ruleKey.
func (e *Engine) appliedRules(ctx context.Context, rules []*Rule, events []*model.Event) (map[string]string, error) {
	var keys []string
	for _, r := range rules {
		if !r.Enabled || r.Trigger.On == OnTime || r.Trigger.On == OnSLAAtRisk || r.Trigger.On == OnSLABreached {
			continue
		}
		for _, ev := range events {
			if r.TriggeredBy(ev) {
				keys = append(keys, ruleKey(r, ev.ID))
			}
		}
	}
	return store.AppliedKeys(ctx, e.st.DB, keys)
}

// tickets loads the current state of the tickets the events touch.
//
// The engine keeps the states it has seen and brings them forward with
// the batch's events (model.Ticket.Apply) instead of reading the store: a
// read costs about a millisecond, more than everything else per event.
// The store is read for tickets not in the cache, when Apply refuses an
// event, and after a gap in the sequence numbers (a bulk load or import
// wrote events the subscription does not see). A ticket read from the
// store may already hold an event of a batch still in the queue; applying
// it again is harmless for what rules test (fields, not counters).
func (e *Engine) tickets(ctx context.Context, events []*model.Event) (map[string]*model.Ticket, error) {
	if len(events) > 0 {
		if e.lastSeq != 0 && events[0].Seq != e.lastSeq+1 || len(e.cache) > ticketCacheLimit {
			e.cache = map[string]*model.Ticket{}
		}
		e.lastSeq = events[len(events)-1].Seq
	}
	out := map[string]*model.Ticket{}
	var missing []string
	stale := map[string]bool{}
	for _, ev := range events {
		if stale[ev.Ticket] {
			continue
		}
		t := out[ev.Ticket]
		if t == nil {
			if c := e.cache[ev.Ticket]; c != nil {
				t = c.Clone()
			} else if ev.Type == model.EventCreated {
				t = &model.Ticket{}
			} else {
				stale[ev.Ticket] = true
				missing = append(missing, ev.Ticket)
				continue
			}
			out[ev.Ticket] = t
		}
		if err := t.Apply(ev); err != nil {
			delete(out, ev.Ticket)
			stale[ev.Ticket] = true
			missing = append(missing, ev.Ticket)
		}
	}
	if len(missing) > 0 {
		loaded, err := e.ticketsByID(ctx, missing)
		if err != nil {
			return nil, err
		}
		for id, t := range loaded {
			out[id] = t
		}
	}
	for id, t := range out {
		e.cache[id] = t.Clone()
	}
	return out, nil
}

// ticketCacheLimit bounds the engine's ticket cache; past it the cache
// starts over.
const ticketCacheLimit = 50_000

func (e *Engine) ticketsByID(ctx context.Context, ids []string) (map[string]*model.Ticket, error) {
	if len(ids) == 1 { // a point read by primary key is several times faster than the IN list
		t, err := e.st.Ticket(ctx, ids[0])
		if errors.Is(err, model.ErrNotFound) {
			return map[string]*model.Ticket{}, nil
		}
		if err != nil {
			return nil, err
		}
		if t.ID == ids[0] { // (an all-digit id may have named another ticket's number)
			return map[string]*model.Ticket{t.ID: t}, nil
		}
	}
	conn, err := e.st.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return store.TicketsByID(ctx, conn, ids)
}

// act runs r's actions on the ticket as one command, keyed by the rule
// and origin (what triggered it: the event's id, or a time or SLA
// episode); guard (may be nil) re-checks at commit time that the trigger
// still holds. It returns the ticket afterwards (nil when nothing
// changed, or when the command had been applied before a crash: then
// only its e-mails and webhook calls are queued, if they were not).
func (e *Engine) act(ctx context.Context, r *Rule, t *model.Ticket, ev *model.Event, origin string, depth int, guard func(*model.Ticket) bool, data map[string]string) *model.Ticket {
	cmd := &ruleCommand{id: t.ID, key: ruleKey(r, origin), rule: r, guard: guard, data: data, assignee: e.resolveAssignees(ctx, r, t)}
	res, err := e.w.Do(ctx, cmd)
	if err != nil {
		slog.Warn("automation: rule failed", "rule", r.Name, "ticket", t.ID, "err", err)
		return nil
	}
	if res.Applied {
		if res.Ticket != nil {
			e.sideEffects(ctx, cmd.key, r, parseEffects(res.Record), res.Ticket, ev, data)
		}
		return nil
	}
	for _, x := range res.Events {
		e.depth[x.ID] = depth
	}
	e.routed(ctx, cmd, res.Events)
	e.sideEffects(ctx, cmd.key, r, cmd.sideEffects, res.Ticket, ev, data)
	if len(res.Events) > 0 {
		slog.Debug("automation: rule acted", "rule", r.Name, "ticket", t.ID, "events", len(res.Events))
	}
	return res.Ticket
}

// resolveAssignees gives set_assignee's special values their agent:
// team_lead (routing.teams.TEAM.lead) and auto (the team's routing).
//
// Both go by the team the ticket has when the action runs: its team, or
// the one an earlier set_team of the rule gives it.
func (e *Engine) resolveAssignees(ctx context.Context, r *Rule, t *model.Ticket) map[int]assignment {
	out := map[int]assignment{}
	team := t.Team
	for i, a := range r.Actions {
		if a.Type == "set_team" {
			team = a.Value
		}
		if a.Type != "set_assignee" {
			continue
		}
		switch a.Value {
		case "team_lead":
			lead := e.opts.Routing.team(team).Lead
			if lead == "" {
				slog.Info("automation: no team lead to assign", "team", team, "ticket", t.ID, "rule", r.Name)
			}
			out[i] = assignment{value: lead, reason: "escalated to the lead of team " + team, skip: lead == ""}
		case "auto":
			in := t
			if team != t.Team {
				in = t.Clone()
				in.Team = team
			}
			agent, reason := e.router.pick(ctx, in)
			out[i] = assignment{value: agent, reason: reason, skip: agent == "", team: team, routed: true}
		}
	}
	return out
}

// routed tells the router which of the rule's auto assignments were
// committed, so that a round-robin team moves on past the agent.
func (e *Engine) routed(ctx context.Context, cmd *ruleCommand, events []*model.Event) {
	for _, a := range cmd.assignee {
		if !a.routed || a.skip {
			continue
		}
		for _, ev := range events {
			if ev.Type == model.EventAssigned && ev.Assignee != nil && *ev.Assignee == a.value {
				e.router.assigned(ctx, a.team, a.value)
				break
			}
		}
	}
}

// sideEffects queues the e-mails and webhook calls of the rule's actions
// (by index) after their notes are committed, each under the rule
// command's key and the action's index: queued once, however often a
// replay asks.
func (e *Engine) sideEffects(ctx context.Context, key string, r *Rule, actions []int, t *model.Ticket, ev *model.Event, data map[string]string) {
	for _, i := range actions {
		if i >= 0 && i < len(r.Actions) && ctx.Err() == nil {
			e.sideEffect(ctx, key+":"+strconv.Itoa(i), r, &r.Actions[i], t, ev, data)
		}
	}
}

// sideEffect queues one action's e-mail or webhook call.
func (e *Engine) sideEffect(ctx context.Context, key string, r *Rule, a *Action, t *model.Ticket, ev *model.Event, data map[string]string) {
	switch a.Type {
	case "email":
		if e.opts.Mailer == nil {
			slog.Warn("automation: e-mail action without a mailer", "rule", r.Name)
			return
		}
		to, err := e.recipients(ctx, a.To, t)
		if err != nil || len(to) == 0 {
			slog.Info("automation: no recipient for the e-mail", "rule", r.Name, "to", a.To, "ticket", t.ID, "err", err)
			return
		}
		d := map[string]string{"rule": r.Name}
		for k, v := range data {
			d[k] = v
		}
		if err := e.opts.Mailer.QueueOnce(ctx, key, to, a.Template, t, d); err != nil {
			slog.Warn("automation: queue e-mail", "rule", r.Name, "err", err)
		}
	case "webhook":
		if err := e.queueRuleWebhook(ctx, key, a, r, t, ev); err != nil {
			slog.Warn("automation: queue webhook", "rule", r.Name, "err", err)
		}
	}
}

// recipients resolves an e-mail action's To.
func (e *Engine) recipients(ctx context.Context, to string, t *model.Ticket) ([]string, error) {
	switch to {
	case "requester":
		if t.RequesterEmail == "" {
			return nil, nil
		}
		return []string{t.RequesterEmail}, nil
	case "assignee":
		if t.Assignee == "" {
			return nil, nil
		}
		return []string{t.Assignee}, nil
	case "team":
		if t.Team == "" {
			return nil, nil
		}
		rows, err := e.st.DB.QueryContext(ctx, `SELECT email FROM agents WHERE list_contains(teams, ?) ORDER BY email`, t.Team)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, rows.Err()
	}
	return nil, nil
}
