package metrics

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// builder collects hand-written historical events for BulkLoad.
type builder struct {
	t      *testing.T
	events []*model.Event
	n      int
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func (b *builder) add(ticket string, typ model.EventType, at string, kind model.ActorKind, set func(e *model.Event)) {
	b.n++
	actor := map[model.ActorKind]string{model.ActorAgent: "bob@example.com", model.ActorRequester: "ann@example.com", model.ActorSystem: "system"}[kind]
	e := &model.Event{ID: fmt.Sprintf("ev-%04d", b.n), Ticket: ticket, Type: typ, At: ts(at), Actor: actor, ActorKind: kind}
	if set != nil {
		set(e)
	}
	b.events = append(b.events, e)
}

func (b *builder) create(ticket, at string, prio model.Priority, category string) {
	b.add(ticket, model.EventCreated, at, model.ActorRequester, func(e *model.Event) {
		e.Subject, e.Priority, e.Category = model.Ptr("subject "+ticket), model.Ptr(prio), model.Ptr(category)
	})
}

func (b *builder) assign(ticket, at, team, agent string) {
	b.add(ticket, model.EventAssigned, at, model.ActorAgent, func(e *model.Event) { e.Team, e.Assignee = &team, &agent })
}

// reply is an agent's public reply; on a new ticket it opens it, as the
// Comment command does.
func (b *builder) reply(ticket, at string, opens bool) {
	b.add(ticket, model.EventCommented, at, model.ActorAgent, func(e *model.Event) { e.Body, e.Public = model.Ptr("hi"), model.Ptr(true) })
	if opens {
		b.status(ticket, at, model.StatusOpen)
	}
}

func (b *builder) note(ticket, at string) {
	b.add(ticket, model.EventCommented, at, model.ActorAgent, func(e *model.Event) { e.Body, e.Public = model.Ptr("internal"), model.Ptr(false) })
}

func (b *builder) requesterComment(ticket, at string) {
	b.add(ticket, model.EventCommented, at, model.ActorRequester, func(e *model.Event) { e.Body, e.Public = model.Ptr("thanks"), model.Ptr(true) })
}

func (b *builder) status(ticket, at string, s model.Status) {
	b.add(ticket, model.EventStatusChanged, at, model.ActorAgent, func(e *model.Event) { e.Status = model.Ptr(s) })
}

func (b *builder) resolve(ticket, at string) {
	b.add(ticket, model.EventResolved, at, model.ActorAgent, nil)
}
func (b *builder) reopen(ticket, at string) {
	b.add(ticket, model.EventReopened, at, model.ActorRequester, nil)
}
func (b *builder) priority(ticket, at string, p model.Priority) {
	b.add(ticket, model.EventPriorityChanged, at, model.ActorAgent, func(e *model.Event) { e.Priority = model.Ptr(p) })
}
func (b *builder) rate(ticket, at string, score int) {
	b.add(ticket, model.EventCSATRated, at, model.ActorRequester, func(e *model.Event) { e.Score = model.Ptr(score) })
}

// testConfig is DefaultConfig with the holiday 2026-01-06 on the
// office calendar (Europe/Berlin, Mon-Fri 09:00-17:00).
func testConfig(now string) Config {
	cfg := DefaultConfig()
	office := cfg.Calendars["office"]
	office.Holidays = []string{"2026-01-06", "2026-12-25"}
	cfg.Calendars["office"] = office
	n := ts(now)
	cfg.Now = func() time.Time { return n }
	return cfg
}

// load opens a fresh DuckDB file, bulk-loads the events and starts an engine.
func load(t *testing.T, b *builder, cfg Config) (*Engine, *store.Store, *ingest.Writer) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); st.Close() })
	if err := w.BulkLoad(ctx, b.events); err != nil {
		t.Fatal(err)
	}
	e, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, st, w
}
