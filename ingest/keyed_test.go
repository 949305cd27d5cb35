package ingest_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
)

// keyedComment is a comment that must be added once per key, as an
// automation rule's note is once per triggering event.
type keyedComment struct {
	ingest.Comment
	key, record string
}

func (c *keyedComment) Key() string    { return c.key }
func (c *keyedComment) Record() string { return c.record }

// TestKeyedCommandAppliesOnceAcrossRestarts: a keyed command sent again,
// by 16 clients at once (in one batch or several), or after the writer and store were
// reopened, adds nothing; the repeats are answered Applied with the
// first one's record. A command with an empty key is not keyed.
func TestKeyedCommandAppliesOnceAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyed.duckdb")
	st, w := open(t, path)
	tk := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "VPN down", RequesterEmail: "ann@example.com"}).Ticket
	note := func(key, record string) *keyedComment {
		return &keyedComment{Comment: ingest.Comment{ID: tk.ID, Actor: agent, Body: "note " + key}, key: key, record: record}
	}
	if r := do(t, w, note("k1", "0,2")); r.Applied || len(r.Events) != 1 {
		t.Fatalf("first: applied %v, %d events", r.Applied, len(r.Events))
	}
	if r := do(t, w, note("k1", "other")); !r.Applied || len(r.Events) != 0 || r.Record != "0,2" || r.Ticket == nil || r.Ticket.ID != tk.ID {
		t.Fatalf("repeat: %+v", r)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	fresh, repeats := 0, 0
	for range 16 {
		wg.Go(func() {
			r, err := w.Do(ctx, note("k2", "1"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if r.Applied {
				repeats++
			} else if len(r.Events) == 1 {
				fresh++
			}
		})
	}
	wg.Wait()
	if fresh != 1 || repeats != 15 {
		t.Fatalf("16 at once: %d applied, %d repeats", fresh, repeats)
	}
	for range 2 {
		if r := do(t, w, note("", "")); r.Applied || len(r.Events) != 1 {
			t.Fatalf("unkeyed: applied %v, %d events", r.Applied, len(r.Events))
		}
	}
	w.Close()
	st.Close()

	st, w = open(t, path)
	defer st.Close()
	defer w.Close()
	if r := do(t, w, note("k1", "x")); !r.Applied || r.Record != "0,2" {
		t.Fatalf("after a restart: %+v", r)
	}
	events, err := st.TicketEvents(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	comments := 0
	for _, ev := range events {
		if ev.Type == model.EventCommented {
			comments++
		}
	}
	if comments != 4 { // k1, k2 and the two unkeyed ones
		t.Fatalf("%d comments, want 4", comments)
	}
}
