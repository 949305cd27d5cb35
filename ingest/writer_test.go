package ingest_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

var (
	agent     = model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}
	requester = model.Actor{Name: "ann@example.com", Kind: model.ActorRequester}
)

func open(t *testing.T, path string) (*store.Store, *ingest.Writer) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st, w
}

func do(t *testing.T, w *ingest.Writer, cmd ingest.Command) *ingest.Result {
	t.Helper()
	r, err := w.Do(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%T: %v", cmd, err)
	}
	return r
}

func TestLifecycleRebuildAndRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	st, w := open(t, path)
	created := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "VPN down", Priority: model.PriorityHigh,
		Tags: []string{"VPN", "remote"}, Fields: map[string]string{"site": "Berlin"}, Team: "IT"})
	id := created.Ticket.ID
	if created.Ticket.Number != 1 || created.Ticket.Status != model.StatusNew || created.Ticket.Team != "IT" {
		t.Fatalf("created: %+v", created.Ticket)
	}
	do(t, w, &ingest.Assign{ID: id, Actor: agent, Assignee: model.Ptr("bob@example.com")})
	r := do(t, w, &ingest.Comment{ID: id, Actor: agent, Body: "Looking into it", Public: true})
	if r.Ticket.Status != model.StatusOpen || r.Ticket.FirstResponseAt == nil || len(r.Events) != 2 {
		t.Fatalf("after reply: %+v, %d events", r.Ticket, len(r.Events))
	}
	do(t, w, &ingest.SetStatus{ID: id, Actor: agent, Status: model.StatusPending})
	do(t, w, &ingest.Comment{ID: id, Actor: requester, Body: "Still down", Public: true}) // back to open
	do(t, w, &ingest.UpdateTicket{ID: id, Actor: agent, Category: model.Ptr("network"), Fields: map[string]string{"site": "", "os": "linux"}})
	do(t, w, &ingest.Transition{ID: id, Actor: agent, Type: model.EventResolved})
	_, err := w.Do(ctx, &ingest.Transition{ID: id, Actor: agent, Type: model.EventResolved})
	var te *model.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("resolving twice: %v", err)
	}
	do(t, w, &ingest.RateCSAT{ID: id, Actor: requester, Score: 5, Comment: "fast"})
	final := do(t, w, &ingest.Transition{ID: id, Actor: agent, Type: model.EventClosed}).Ticket
	if final.Status != model.StatusClosed || *final.CSATScore != 5 || final.Category != "network" ||
		final.Fields["os"] != "linux" || len(final.Fields) != 1 || final.AgentReplies != 1 {
		t.Fatalf("final: %+v", final)
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild in %d rows (%v)", n, err)
	}
	events, _ := st.TicketEvents(ctx, id)
	if len(events) != 13 {
		t.Fatalf("%d events, want 13", len(events))
	}
	w.Close()
	st.Close()

	st, w = open(t, path)
	defer st.Close()
	defer w.Close()
	again, err := st.Ticket(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != id || again.Status != model.StatusClosed || !again.UpdatedAt.Equal(final.UpdatedAt) {
		t.Fatalf("after restart %+v", again)
	}
	next := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "Printer"})
	if next.Ticket.Number != 2 {
		t.Fatalf("number after restart %d", next.Ticket.Number)
	}
}

func TestConcurrentCommandsOnOneTicketLoseNothing(t *testing.T) {
	ctx := context.Background()
	st, w := open(t, filepath.Join(t.TempDir(), "c.duckdb"))
	defer st.Close()
	defer w.Close()
	id := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "Busy"}).Ticket.ID
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 10 {
				_, err := w.Do(ctx, &ingest.Comment{ID: id, Actor: agent, Body: time.Now().String(), Public: g%2 == 0 || i%2 == 0})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	events, _ := st.TicketEvents(ctx, id)
	comments := 0
	for _, e := range events {
		if e.Type == model.EventCommented {
			comments++
		}
	}
	if comments != 640 {
		t.Fatalf("%d comments stored, want 640", comments)
	}
	tk, _ := st.Ticket(ctx, id)
	if tk.AgentReplies != 480 {
		t.Fatalf("agent replies %d, want 480", tk.AgentReplies)
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild in %d rows (%v)", n, err)
	}
}

// TestInvalidCommandFailsAloneInItsBatch sends valid and invalid commands
// at the same moment, so that they share batches: every invalid one gets
// its own error and every valid one commits.
func TestInvalidCommandFailsAloneInItsBatch(t *testing.T) {
	ctx := context.Background()
	st, w := open(t, filepath.Join(t.TempDir(), "b.duckdb"))
	defer st.Close()
	defer w.Close()
	obs := &tally{}
	w.Observe(obs)
	var ids []string
	for range 32 {
		ids = append(ids, do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "x"}).Ticket.ID)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused, accepted := 0, 0
	for i, id := range ids {
		for _, cmd := range []ingest.Command{
			&ingest.Transition{ID: id, Actor: agent, Type: model.EventReopened}, // not resolved: refused
			&ingest.Comment{ID: id, Actor: agent, Body: "hello", Public: true},  // fine
			&ingest.RateCSAT{ID: id, Actor: requester, Score: 3},                // not resolved: refused
			&ingest.Assign{ID: id, Actor: agent, Assignee: model.Ptr("bob@example.com")},
		} {
			wg.Go(func() {
				_, err := w.Do(ctx, cmd)
				mu.Lock()
				defer mu.Unlock()
				var te *model.TransitionError
				switch {
				case err == nil:
					accepted++
				case errors.As(err, &te):
					refused++
				default:
					t.Errorf("ticket %d: %v", i, err)
				}
			})
		}
	}
	wg.Wait()
	if accepted != 64 || refused != 64 {
		t.Fatalf("accepted %d, refused %d; want 64 and 64", accepted, refused)
	}
	for _, id := range ids {
		tk, err := st.Ticket(ctx, id)
		if err != nil || tk.Assignee != "bob@example.com" || tk.AgentReplies != 1 || tk.Status != model.StatusOpen {
			t.Fatalf("ticket %s: %+v %v", id, tk, err)
		}
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild in %d rows (%v)", n, err)
	}
	// What the observer saw (package telemetry's counters) adds up.
	var stored int
	st.DB.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&stored)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := ingest.BatchStats{Commands: 160, Events: stored, Committed: 96, Rejected: 64}
	if got := obs.sum; got.Duration <= 0 || got.Commands != want.Commands || got.Events != want.Events ||
		got.Committed != want.Committed || got.Rejected != want.Rejected || got.Applied != 0 || got.Failed != 0 || obs.commands != 160 {
		t.Fatalf("observed %+v and %d answers, want %+v and 160", got, obs.commands, want)
	}
}

// tally adds up what a Writer's observer is told.
type tally struct {
	mu       sync.Mutex
	sum      ingest.BatchStats
	commands int
}

func (o *tally) Batch(s ingest.BatchStats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sum.Commands += s.Commands
	o.sum.Events += s.Events
	o.sum.Committed += s.Committed
	o.sum.Applied += s.Applied
	o.sum.Rejected += s.Rejected
	o.sum.Failed += s.Failed
	o.sum.Duration += s.Duration
}

func (o *tally) Command(time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commands++
}

// Several subscribers get every committed batch, in commit order; one
// that unsubscribes gets nothing more, and the others keep receiving.
func TestSubscribersFanOut(t *testing.T) {
	st, w := open(t, filepath.Join(t.TempDir(), "s.duckdb"))
	defer st.Close()
	defer w.Close()
	var mu sync.Mutex
	got := map[string][]model.EventType{}
	listen := func(name string) func() {
		return w.Subscribe(func(events []*model.Event) {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range events {
				got[name] = append(got[name], ev.Type)
			}
		})
	}
	listen("a")
	stopB := listen("b")
	id := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "x"}).Ticket.ID
	stopB()
	stopB()                                                                   // a second call is harmless
	do(t, w, &ingest.Comment{ID: id, Actor: agent, Body: "hi", Public: true}) // opens the new ticket too

	mu.Lock()
	defer mu.Unlock()
	if want := []model.EventType{model.EventCreated, model.EventCommented, model.EventStatusChanged}; !slices.Equal(got["a"], want) {
		t.Errorf("a got %v, want %v", got["a"], want)
	}
	if want := []model.EventType{model.EventCreated}; !slices.Equal(got["b"], want) {
		t.Errorf("b got %v, want %v", got["b"], want)
	}
}
