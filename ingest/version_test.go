package ingest_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
)

// TestStaleWriteRefused: a command that names the version (updated_at)
// its sender saw is refused with a StaleError once the ticket moved on,
// and of two commands sent at once on one version exactly one passes,
// since the check is in Decide on the writer's own state.
func TestStaleWriteRefused(t *testing.T) {
	ctx := context.Background()
	st, w := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer st.Close()
	defer w.Close()
	tk := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "Printer"}).Ticket
	seen := tk.UpdatedAt

	r := do(t, w, &ingest.Comment{ID: tk.ID, Actor: agent, Body: "first", Public: false, IfVersion: &seen})
	if len(r.Events) != 1 || !r.Ticket.UpdatedAt.After(seen) {
		t.Fatalf("the write on the current version: %d events, updated %v", len(r.Events), r.Ticket.UpdatedAt)
	}
	// Each command the workspace's forms use refuses the old version.
	prio := model.PriorityHigh
	for _, cmd := range []ingest.Command{
		&ingest.Comment{ID: tk.ID, Actor: agent, Body: "second", IfVersion: &seen},
		&ingest.Assign{ID: tk.ID, Actor: agent, Assignee: model.Ptr("bob@example.com"), IfVersion: &seen},
		&ingest.SetStatus{ID: tk.ID, Actor: agent, Status: model.StatusPending, IfVersion: &seen},
		&ingest.UpdateTicket{ID: tk.ID, Actor: agent, Priority: &prio, IfVersion: &seen},
	} {
		_, err := w.Do(ctx, cmd)
		var se *ingest.StaleError
		if !errors.As(err, &se) || !se.Seen.Equal(seen) || !se.Current.Equal(r.Ticket.UpdatedAt) {
			t.Errorf("%T on an old version: %v", cmd, err)
		}
	}
	events, err := st.TicketEvents(ctx, tk.ID)
	if err != nil || len(events) != 2 {
		t.Fatalf("stored %d events (want created and the first note): %v", len(events), err)
	}

	// Two agents on one version at once: one note is stored, one refused.
	now := r.Ticket.UpdatedAt
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.Do(ctx, &ingest.Comment{ID: tk.ID, Actor: agent, Body: "race", IfVersion: &now})
		}()
	}
	wg.Wait()
	var stale int
	for _, err := range errs {
		var se *ingest.StaleError
		switch {
		case err == nil:
		case errors.As(err, &se):
			stale++
		default:
			t.Fatal(err)
		}
	}
	if events, _ := st.TicketEvents(ctx, tk.ID); stale != 1 || len(events) != 3 {
		t.Errorf("two writes on one version: %d refused, %d events stored (want 1 and 3)", stale, len(events))
	}
}

// TestThen: a reply and a status change as one command: the reply's
// follow-up (new -> open) comes first, then the change; a step the
// state refuses leaves nothing stored.
func TestThen(t *testing.T) {
	ctx := context.Background()
	st, w := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer st.Close()
	defer w.Close()
	tk := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "Printer"}).Ticket
	r := do(t, w, ingest.Then{
		&ingest.Comment{ID: tk.ID, Actor: agent, Body: "Fixed.", Public: true},
		&ingest.SetStatus{ID: tk.ID, Actor: agent, Status: model.StatusResolved},
	})
	var types []model.EventType
	for _, e := range r.Events {
		types = append(types, e.Type)
	}
	want := []model.EventType{model.EventCommented, model.EventStatusChanged, model.EventResolved}
	if len(types) != 3 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Fatalf("events %v, want %v", types, want)
	}
	if r.Ticket.Status != model.StatusResolved || r.Ticket.AgentReplies != 1 {
		t.Errorf("ticket after reply and solve: %s, %d replies", r.Ticket.Status, r.Ticket.AgentReplies)
	}
	// A resolved ticket cannot go to pending: the reply is not stored either.
	_, err := w.Do(ctx, ingest.Then{
		&ingest.Comment{ID: tk.ID, Actor: agent, Body: "One more thing", Public: true},
		&ingest.SetStatus{ID: tk.ID, Actor: agent, Status: model.StatusPending},
	})
	var te *model.TransitionError
	if !errors.As(err, &te) {
		t.Errorf("reply and pending on a resolved ticket: %v", err)
	}
	if events, _ := st.TicketEvents(ctx, tk.ID); len(events) != 4 {
		t.Errorf("%d events stored, want 4", len(events))
	}
}
