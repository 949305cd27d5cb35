package automation

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// benchRules makes n rules over every event trigger whose conditions all
// hold except the last, so each is evaluated in full and none acts.
func benchRules(b *testing.B, n int, triggers ...string) []*Rule {
	b.Helper()
	if len(triggers) == 0 {
		triggers = []string{OnCreated, OnUpdated, OnCommented, OnStatusChanged}
	}
	var specs []map[string]any
	for i := range n {
		spec := fmt.Sprintf(`{"name":"r%03d","trigger":%q,"conditions":[
			{"field":"priority","op":"in","values":["normal","high"]},
			{"field":"subject","op":"contains","value":"printer"},
			{"field":"description","op":"matches","value":"(?i)toner|paper"},
			{"op":"tag_present","value":"office"},
			{"op":"business_hours","value":"office"},
			{"field":"requester_domain","op":"equals","value":"example.com"},
			{"field":"team","op":"equals","value":"team-%d"}],
			"actions":[{"type":"set_priority","value":"urgent"},{"type":"add_note","body":"rule {{.Rule}}"}]}`, i, triggers[i%len(triggers)], i)
		var m map[string]any
		if err := json.Unmarshal([]byte(spec), &m); err != nil {
			b.Fatal(err)
		}
		specs = append(specs, m)
	}
	rules, err := ParseRules(specs)
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range rules {
		r.ID = fmt.Sprint(i)
	}
	return rules
}

func benchTicket() (*model.Ticket, []*model.Event) {
	t := &model.Ticket{ID: "T1", Number: 1, Subject: "Printer on floor 3", Description: "Out of toner again",
		RequesterEmail: "ann@example.com", Priority: model.PriorityHigh, Status: model.StatusOpen, Team: "IT",
		Tags: []string{"office", "printer"}, Fields: map[string]string{}}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // business hours in Berlin
	events := []*model.Event{
		{ID: "e1", Ticket: "T1", Type: model.EventCommented, At: at, Actor: "ann@example.com", ActorKind: model.ActorRequester, Body: model.Ptr("any news?"), Public: model.Ptr(true)},
		{ID: "e2", Ticket: "T1", Type: model.EventPriorityChanged, At: at, Actor: "bob@example.com", ActorKind: model.ActorAgent, Priority: model.Ptr(model.PriorityHigh)},
		{ID: "e3", Ticket: "T1", Type: model.EventStatusChanged, At: at, Actor: "bob@example.com", ActorKind: model.ActorAgent, Status: model.Ptr(model.StatusOpen)},
		{ID: "e4", Ticket: "T1", Type: model.EventCreated, At: at, Actor: "ann@example.com", ActorKind: model.ActorRequester},
	}
	return t, events
}

// BenchmarkRuleEvaluation100 is the rule matching for one event against
// 100 rules (trigger and conditions), in memory.
func BenchmarkRuleEvaluation100(b *testing.B) {
	rules := benchRules(b, 100)
	cals := NewCalendars(metrics.DefaultConfig().Calendars)
	t, events := benchTicket()
	b.ReportAllocs()
	b.ResetTimer()
	matched := 0
	for i := 0; b.Loop(); i++ {
		ev := events[i%len(events)]
		s := &Subject{Ticket: t, Event: ev, At: ev.At}
		for _, r := range rules {
			if r.TriggeredBy(ev) && r.Matches(s, cals) {
				matched++
			}
		}
	}
	if matched > 0 {
		b.Fatal("a rule matched")
	}
}

// BenchmarkRuleEvaluation100SameTrigger is the worst case: all 100 rules
// fire on the event's trigger, so every condition of every rule runs.
func BenchmarkRuleEvaluation100SameTrigger(b *testing.B) {
	rules := benchRules(b, 100, OnCommented)
	cals := NewCalendars(metrics.DefaultConfig().Calendars)
	t, events := benchTicket()
	ev := events[0]
	s := &Subject{Ticket: t, Event: ev, At: ev.At}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range rules {
			if r.TriggeredBy(ev) && r.Matches(s, cals) {
				b.Fatal("a rule matched")
			}
		}
	}
}

// BenchmarkEngineEvent100 is what the engine adds per committed event
// with 100 rules: the event handed over by the writer, the ticket loaded
// from the engine's cache (or DuckDB once per ticket), every rule
// evaluated, the webhook listener consulted (one event per batch, the
// worst case; none of the rules acts).
func BenchmarkEngineEvent100(b *testing.B) { benchEngine(b, false) }

// BenchmarkEngineEvent100Cold is the same with the engine's ticket cache
// emptied before every event, so each reads its ticket from DuckDB (the
// first event of a ticket after a start or an import).
func BenchmarkEngineEvent100Cold(b *testing.B) { benchEngine(b, true) }

func benchEngine(b *testing.B, cold bool) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.duckdb"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var ids []string
	for i := range 200 {
		res, err := w.Do(ctx, &ingest.CreateTicket{Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorRequester},
			Subject: fmt.Sprintf("Printer %d", i), Description: "toner", Tags: []string{"office"}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, res.Ticket.ID)
	}
	eng, err := New(ctx, Options{Store: st, Writer: w, Rules: benchRules(b, 100), Calendars: metrics.DefaultConfig().Calendars})
	if err != nil {
		b.Fatal(err)
	}
	_, events := benchTicket()
	b.ReportAllocs()
	b.ResetTimer()
	seq, err := st.MaxSeq(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		ev := *events[i%2] // a comment or a priority change of an existing ticket
		ev.Ticket, ev.Seq = ids[i%len(ids)], seq+int64(i)+1
		if cold {
			clear(eng.cache)
		}
		eng.process(ctx, []*model.Event{&ev}, false)
	}
	b.StopTimer()
	if n := len(eng.depth); n > 0 {
		b.Fatalf("rules acted (%d events)", n)
	}
}
