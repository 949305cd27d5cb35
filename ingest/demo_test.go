package ingest_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

func openDemoStore(tb testing.TB, path string) (*store.Store, *ingest.Writer) {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return st, w
}

// demoEnd is a fixed end of history (a Wednesday afternoon in Berlin).
var demoEnd = time.Date(2026, 3, 18, 15, 30, 0, 0, time.UTC)

func TestDemoIsDeterministic(t *testing.T) {
	opts := ingest.DemoOptions{Tickets: 400, Days: 30, Seed: 7, End: demoEnd}
	e1, t1, a1 := ingest.Demo(opts)
	e2, t2, a2 := ingest.Demo(opts)
	if !reflect.DeepEqual(e1, e2) || !reflect.DeepEqual(t1, t2) || !reflect.DeepEqual(a1, a2) {
		t.Fatal("two runs with the same seed and end differ")
	}
	opts.Seed = 8
	e3, _, _ := ingest.Demo(opts)
	if e3[0].Ticket == e1[0].Ticket || e3[0].ID == e1[0].ID {
		t.Fatal("another seed gives the same ids")
	}
}

func TestDemoDefaults(t *testing.T) {
	before := time.Now()
	events, _, _ := ingest.Demo(ingest.DemoOptions{Tickets: 50})
	after := time.Now()
	if len(events) < 50 || events[0].At.Before(before.AddDate(0, 0, -181)) || events[len(events)-1].At.After(after) {
		t.Fatalf("%d events from %s to %s", len(events), events[0].At, events[len(events)-1].At)
	}
}

// TestDemoReplays checks every event with Normalize and Apply in time
// order, as BulkLoad does, and the shape of the history.
func TestDemoReplays(t *testing.T) {
	events, teams, agents := ingest.Demo(ingest.DemoOptions{Tickets: 2000, Days: 60, Seed: 3, End: demoEnd})
	if len(teams) < 4 || len(teams) > 5 {
		t.Fatalf("%d teams", len(teams))
	}
	perTeam := map[string]int{}
	agentEmails := map[string]bool{}
	for _, a := range agents {
		if !strings.HasSuffix(a.Email, "@deskpulse.example") || len(a.Teams) != 1 || len(a.Skills) == 0 {
			t.Fatalf("agent %+v", a)
		}
		perTeam[a.Teams[0]]++
		agentEmails[a.Email] = true
	}
	for _, tm := range teams {
		if n := perTeam[tm.Name]; n < 3 || n > 6 {
			t.Fatalf("team %s has %d agents", tm.Name, n)
		}
	}

	loc, _ := time.LoadLocation("Europe/Berlin")
	start := demoEnd.AddDate(0, 0, -60)
	tickets := map[string]*model.Ticket{}
	ids := map[string]bool{}
	requesters := map[string]bool{}
	var weekday, weekendN, nightN, dayN, agentReplies, inHours int
	kinds := map[model.ActorKind]int{}
	for i, e := range events {
		if ids[e.ID] {
			t.Fatalf("duplicate event id %s", e.ID)
		}
		ids[e.ID] = true
		if e.At.After(demoEnd) || e.At.Before(start) {
			t.Fatalf("event %d at %s, outside the history", i, e.At)
		}
		if i > 0 && e.At.Before(events[i-1].At) {
			t.Fatalf("events not in time order at %d", i)
		}
		if err := e.Normalize(); err != nil {
			t.Fatalf("event %d %+v: %v", i, e, err)
		}
		tk := tickets[e.Ticket]
		if tk == nil {
			tk = &model.Ticket{}
			tickets[e.Ticket] = tk
		}
		if err := tk.Apply(e); err != nil {
			t.Fatalf("event %d (%s on %s): %v", i, e.Type, e.Ticket, err)
		}
		kinds[e.ActorKind]++
		if e.Type == model.EventCommented && *e.Public && e.ActorKind == model.ActorAgent && tk.Priority != model.PriorityUrgent {
			agentReplies++
			l := e.At.In(loc)
			if l.Weekday() != time.Saturday && l.Weekday() != time.Sunday && l.Hour() >= 9 && l.Hour() < 17 {
				inHours++
			}
		}
		switch {
		case e.ActorKind == model.ActorAgent && !agentEmails[e.Actor]:
			t.Fatalf("agent actor %q is no agent", e.Actor)
		case e.ActorKind == model.ActorSystem && e.Actor != "router" && e.Actor != "automation":
			t.Fatalf("system actor %q", e.Actor)
		case e.Type == model.EventAssigned && e.Assignee != nil && !agentEmails[*e.Assignee]:
			t.Fatalf("assigned to %q", *e.Assignee)
		}
		if e.Type == model.EventCreated {
			requesters[*e.RequesterEmail] = true
			l := e.At.In(loc)
			if l.Weekday() == time.Saturday || l.Weekday() == time.Sunday {
				weekendN++
			} else {
				weekday++
			}
			if l.Hour() < 7 || l.Hour() >= 20 {
				nightN++
			} else if l.Hour() >= 9 && l.Hour() < 17 {
				dayN++
			}
		}
	}
	if len(tickets) != 2000 {
		t.Fatalf("%d tickets", len(tickets))
	}
	if n := len(requesters); n < 200 || n > 600 {
		t.Fatalf("%d distinct requesters", n)
	}
	// Per day, weekdays see several times the tickets of weekend days.
	if float64(weekday)/5 < 3*float64(weekendN)/2 {
		t.Fatalf("weekday tickets %d vs weekend %d", weekday, weekendN)
	}
	if dayN < 4*nightN {
		t.Fatalf("business-hour tickets %d vs night %d", dayN, nightN)
	}
	// Agents answer in business hours, except on urgent tickets and phone
	// calls.
	if float64(inHours) < 0.9*float64(agentReplies) {
		t.Fatalf("%d of %d agent replies in business hours", inHours, agentReplies)
	}
	if kinds[model.ActorAgent] == 0 || kinds[model.ActorRequester] == 0 || kinds[model.ActorSystem] == 0 {
		t.Fatalf("actor kinds %v", kinds)
	}
	// Each ticket's history follows the lifecycle.
	var resolved, rated, reopened, unresolved, closed, answered int
	prios := map[model.Priority]int{}
	for _, tk := range tickets {
		prios[tk.Priority]++
		if tk.Status.Unresolved() {
			unresolved++
		} else {
			resolved++
		}
		if tk.Status == model.StatusClosed {
			closed++
		}
		if tk.CSATScore != nil {
			rated++
			if tk.Status.Unresolved() {
				t.Fatalf("rated but unresolved: %+v", tk)
			}
		}
		if tk.Reopens > 0 {
			reopened++
		}
		if tk.FirstResponseAt != nil {
			answered++
		}
	}
	t.Logf("%d of %d agent replies in business hours", inHours, agentReplies)
	t.Logf("%d events, %d resolved (%d closed), %d unresolved, %d rated, %d reopened, priorities %v",
		len(events), resolved, closed, unresolved, rated, reopened, prios)
	if r := float64(rated) / float64(resolved); r < 0.2 || r > 0.4 {
		t.Fatalf("%.0f%% of resolved tickets rated", 100*r)
	}
	if r := float64(reopened) / float64(resolved); r < 0.04 || r > 0.14 {
		t.Fatalf("%.0f%% of resolved tickets reopened", 100*r)
	}
	if unresolved == 0 || unresolved > 400 || closed == 0 || answered < 1800 {
		t.Fatalf("unresolved %d, closed %d, answered %d", unresolved, closed, answered)
	}
	if p := prios[model.PriorityNormal]; p < 900 || p > 1300 {
		t.Fatalf("priorities %v", prios)
	}
}

func TestLoadDemo(t *testing.T) {
	ctx := context.Background()
	st, w := openDemoStore(t, filepath.Join(t.TempDir(), "demo.duckdb"))
	defer st.Close()
	defer w.Close()
	stats, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: 500, Days: 30, End: demoEnd})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Tickets != 500 || stats.Events < 500*6 {
		t.Fatalf("stats %+v", stats)
	}
	if n, err := st.CountTickets(ctx); err != nil || n != 500 {
		t.Fatalf("%d tickets stored (%v)", n, err)
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild in %d rows (%v)", n, err)
	}
	var resolved, rated, unresolved, reopened, maxNumber int64
	var latest time.Time
	err = st.DB.QueryRowContext(ctx, `SELECT
			count(*) FILTER (status IN ('resolved', 'closed')),
			count(*) FILTER (csat_score IS NOT NULL),
			count(*) FILTER (status NOT IN ('resolved', 'closed')),
			count(*) FILTER (reopens > 0),
			max(number)
		FROM tickets`).Scan(&resolved, &rated, &unresolved, &reopened, &maxNumber)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DB.QueryRowContext(ctx, `SELECT max(occurred_at) FROM events`).Scan(&latest); err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v; resolved %d, rated %d, unresolved %d, reopened %d", stats, resolved, rated, unresolved, reopened)
	if r := float64(rated) / float64(resolved); r < 0.2 || r > 0.4 {
		t.Fatalf("%.0f%% of resolved tickets rated", 100*r)
	}
	if unresolved == 0 || reopened == 0 || maxNumber != 500 || latest.After(demoEnd) {
		t.Fatalf("unresolved %d, reopened %d, max number %d, latest %s", unresolved, reopened, maxNumber, latest)
	}
	teams, _ := st.Teams(ctx)
	agents, _ := st.Agents(ctx)
	if len(teams) != 5 || len(agents) < 15 {
		t.Fatalf("%d teams, %d agents", len(teams), len(agents))
	}

	// The writer carries on after the demo: numbers continue, and commands
	// on demo tickets work.
	created := do(t, w, &ingest.CreateTicket{Actor: requester, Subject: "After the demo"})
	if created.Ticket.Number != 501 {
		t.Fatalf("number after the demo %d", created.Ticket.Number)
	}
	backlog, err := st.ListTickets(ctx, store.TicketFilter{Status: []string{"open", "pending"}, Limit: 5})
	if err != nil || len(backlog) == 0 {
		t.Fatalf("open demo tickets: %d (%v)", len(backlog), err)
	}
	r := do(t, w, &ingest.Comment{ID: backlog[0].ID, Actor: agent, Body: "Picking this up", Public: true})
	if r.Ticket.AgentReplies != backlog[0].AgentReplies+1 {
		t.Fatalf("replies %d after %d", r.Ticket.AgentReplies, backlog[0].AgentReplies)
	}
	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild in %d rows (%v)", n, err)
	}
	// The same seed again would repeat ticket ids: refused, nothing stored.
	if _, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: 500, Days: 30, End: demoEnd}); err == nil {
		t.Fatal("loading the same demo twice succeeded")
	}
	if n, _ := st.CountTickets(ctx); n != 501 {
		t.Fatalf("%d tickets after the refused load", n)
	}
}

func BenchmarkDemo20k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		st, w := openDemoStore(b, filepath.Join(b.TempDir(), "bench.duckdb"))
		stats, err := ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{End: demoEnd})
		if err != nil {
			b.Fatal(err)
		}
		var unresolved int64
		st.DB.QueryRowContext(ctx, `SELECT count(*) FILTER (status NOT IN ('resolved', 'closed')) FROM tickets`).Scan(&unresolved)
		b.ReportMetric(float64(stats.Events), "events")
		b.ReportMetric(float64(unresolved), "unresolved")
		b.ReportMetric(stats.Elapsed.Seconds(), "load-s")
		w.Close()
		st.Close()
	}
}
