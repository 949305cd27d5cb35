package automation_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/model"
)

func routingEnv(t *testing.T, teams map[string]automation.TeamRouting, agents ...string) *env {
	t.Helper()
	e := newEnv(t, automation.Options{Routing: automation.Routing{Teams: teams}})
	for _, name := range []string{"IT", "HR", "NET"} {
		e.call("POST", "/api/v1/teams", fmt.Sprintf(`{"name":%q}`, name), 201, nil)
	}
	for _, a := range agents {
		e.call("POST", "/api/v1/agents", a, 201, nil)
	}
	return e
}

// counts returns open tickets per assignee ("" unassigned).
func (e *env) counts() map[string]int {
	e.t.Helper()
	rows, err := e.st.DB.Query(`SELECT assignee, count(*) FROM tickets WHERE status NOT IN ('resolved', 'closed') GROUP BY assignee`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var a string
		var n int
		rows.Scan(&a, &n)
		out[a] = n
	}
	return out
}

func TestRoundRobin(t *testing.T) {
	e := routingEnv(t, map[string]automation.TeamRouting{"it": {Mode: "round_robin"}}, // viper lower-cases the key
		`{"email":"a@x.com","name":"A","teams":["IT"]}`,
		`{"email":"b@x.com","name":"B","teams":["IT"]}`,
		`{"email":"c@x.com","name":"C","teams":["IT"],"availability":"away"}`,
		`{"email":"d@x.com","name":"D","teams":["HR"]}`)
	var got []string
	for i := range 6 {
		tk := e.createTicket(fmt.Sprintf(`{"subject":"T%d","team":"IT"}`, i))
		got = append(got, e.ticket(tk.ID).Assignee)
		if i == 0 {
			r := byActor(e.events(tk.ID), "router")
			if len(r) != 1 || r[0].Type != model.EventAssigned || r[0].ActorKind != model.ActorSystem || r[0].Comment == nil ||
				!strings.Contains(*r[0].Comment, "round_robin") {
				t.Fatalf("router event: %+v", r)
			}
		}
	}
	if want := "[a@x.com b@x.com a@x.com b@x.com a@x.com b@x.com]"; fmt.Sprint(got) != want {
		t.Fatalf("round robin: %v, want %v", got, want)
	}
	// c comes back; d goes offline (not in IT anyway).
	e.call("PATCH", "/api/v1/agents/c@x.com", `{"availability":"available"}`, 200, nil)
	e.call("PATCH", "/api/v1/agents/c@x.com", `{"availability":"asleep"}`, 400, nil)
	e.call("PATCH", "/api/v1/agents/nobody@x.com", `{"availability":"away"}`, 404, nil)
	got = nil
	for i := range 3 {
		tk := e.createTicket(fmt.Sprintf(`{"subject":"U%d","team":"IT"}`, i))
		got = append(got, e.ticket(tk.ID).Assignee)
	}
	if want := "[c@x.com a@x.com b@x.com]"; fmt.Sprint(got) != want {
		t.Fatalf("after c is back: %v, want %v", got, want)
	}
	// A ticket created with an assignee, or in a manual team, is left alone.
	tk := e.createTicket(`{"subject":"Mine","team":"IT","assignee":"d@x.com"}`)
	if a := e.ticket(tk.ID).Assignee; a != "d@x.com" {
		t.Fatalf("explicit assignee replaced: %s", a)
	}
	tk = e.createTicket(`{"subject":"No team"}`)
	if a := e.ticket(tk.ID).Assignee; a != "" {
		t.Fatalf("ticket without a team assigned to %s", a)
	}
}

func TestLeastLoadedWithCap(t *testing.T) {
	e := routingEnv(t, map[string]automation.TeamRouting{"HR": {Mode: "least_loaded", MaxOpen: 3}},
		`{"email":"x@x.com","name":"X","teams":["HR"]}`,
		`{"email":"y@x.com","name":"Y","teams":["HR"]}`,
		`{"email":"z@x.com","name":"Z","teams":["HR"]}`)
	// z already has two tickets assigned by hand.
	for range 2 {
		e.createTicket(`{"subject":"old","assignee":"z@x.com"}`)
	}
	var ids []string
	for i := range 11 {
		tk := e.createTicket(fmt.Sprintf(`{"subject":"T%d","team":"HR"}`, i))
		ids = append(ids, tk.ID)
	}
	c := e.counts()
	if c["x@x.com"] != 3 || c["y@x.com"] != 3 || c["z@x.com"] != 3 || c[""] != 4 {
		t.Fatalf("fair and capped: %v", c)
	}
	// Fair on the way: the first four went x, y, x, y before z (who had 2).
	var first []string
	for _, id := range ids[:5] {
		first = append(first, e.ticket(id).Assignee)
	}
	if want := "[x@x.com y@x.com x@x.com y@x.com x@x.com]"; fmt.Sprint(first) != want {
		t.Errorf("order: %v, want %v", first, want)
	}
	// y resolves one: the next tick gives y the oldest waiting ticket.
	var yTicket string
	for _, id := range ids {
		if e.ticket(id).Assignee == "y@x.com" {
			yTicket = id
			break
		}
	}
	e.call("POST", "/api/v1/tickets/"+yTicket+"/resolve", "", 200, nil)
	e.sync()
	e.tick()
	c = e.counts()
	if c["y@x.com"] != 3 || c[""] != 3 {
		t.Fatalf("after a resolve and a tick: %v", c)
	}
	if a := e.ticket(ids[7]).Assignee; a != "y@x.com" {
		t.Errorf("oldest waiting ticket went to %q", a)
	}
}

func TestSkillsRouting(t *testing.T) {
	e := routingEnv(t, map[string]automation.TeamRouting{"net": {Mode: "skills"}},
		`{"email":"n1@x.com","name":"N1","teams":["NET"],"skills":["network"]}`,
		`{"email":"n2@x.com","name":"N2","teams":["NET"],"skills":["vpn","de"]}`,
		`{"email":"n3@x.com","name":"N3","teams":["NET"]}`)
	cases := []struct{ body, want string }{
		{`{"subject":"s","team":"NET","category":"Network"}`, "n1@x.com"},
		{`{"subject":"s","team":"NET","tags":["vpn"]}`, "n2@x.com"},
		{`{"subject":"s","team":"NET","custom_fields":{"language":"de"}}`, "n2@x.com"},
		{`{"subject":"s","team":"NET","category":"printer"}`, "n3@x.com"},                // no skill matches: least loaded
		{`{"subject":"s","team":"NET","category":"network","tags":["vpn"]}`, "n1@x.com"}, // both match one: least loaded (1 vs 2)
	}
	for i, c := range cases {
		tk := e.createTicket(c.body)
		got := e.ticket(tk.ID)
		if got.Assignee != c.want {
			t.Errorf("case %d: assigned to %q, want %q", i, got.Assignee, c.want)
		}
		if r := byActor(e.events(tk.ID), "router"); len(r) != 1 || !strings.HasPrefix(*r[0].Comment, "skills") {
			t.Errorf("case %d: reason %+v", i, r)
		}
	}
}

// TestAutoAssignRotates: a rule's set_assignee auto goes through the
// team's routing and moves the round-robin pointer like the router does,
// so rule and router assignments share one fair rotation; on a
// least-loaded team it respects max_open.
func TestAutoAssignRotates(t *testing.T) {
	rules := mustRules(t,
		`{"name":"to-it","trigger":"created","conditions":[{"op":"tag_present","value":"it"}],
		  "actions":[{"type":"set_team","value":"IT"},{"type":"set_assignee","value":"auto"}]}`,
		`{"name":"to-hr","trigger":"created","conditions":[{"op":"tag_present","value":"hr"}],
		  "actions":[{"type":"set_team","value":"HR"},{"type":"set_assignee","value":"auto"}]}`)
	e := newEnv(t, automation.Options{Rules: rules, Routing: automation.Routing{Teams: map[string]automation.TeamRouting{
		"it": {Mode: "round_robin"}, "hr": {Mode: "least_loaded", MaxOpen: 2}}}})
	for _, name := range []string{"IT", "HR"} {
		e.call("POST", "/api/v1/teams", fmt.Sprintf(`{"name":%q}`, name), 201, nil)
	}
	for _, a := range []string{
		`{"email":"a@x.com","name":"A","teams":["IT"]}`, `{"email":"b@x.com","name":"B","teams":["IT"]}`,
		`{"email":"c@x.com","name":"C","teams":["IT"]}`,
		`{"email":"x@x.com","name":"X","teams":["HR"]}`, `{"email":"y@x.com","name":"Y","teams":["HR"]}`} {
		e.call("POST", "/api/v1/agents", a, 201, nil)
	}

	// Rule assignments (tag it) and router assignments (created in team
	// IT) alternate; together they go round a, b, c twice.
	var got []string
	for i := range 6 {
		body := fmt.Sprintf(`{"subject":"R%d","tags":["it"]}`, i)
		if i%3 == 1 {
			body = fmt.Sprintf(`{"subject":"D%d","team":"IT"}`, i)
		}
		tk := e.createTicket(body)
		got = append(got, e.ticket(tk.ID).Assignee)
		if i == 0 {
			ev := byActor(e.events(tk.ID), "rule:to-it")
			if len(ev) != 2 || ev[1].Comment == nil || !strings.HasPrefix(*ev[1].Comment, "round_robin in team IT") {
				t.Fatalf("rule's routed assignment: %+v", ev)
			}
		}
	}
	if want := "[a@x.com b@x.com c@x.com a@x.com b@x.com c@x.com]"; fmt.Sprint(got) != want {
		t.Fatalf("rotation: %v, want %v", got, want)
	}
	c := e.counts()
	if c["a@x.com"] != 2 || c["b@x.com"] != 2 || c["c@x.com"] != 2 {
		t.Fatalf("distribution: %v", c)
	}

	// Least loaded, max 2 each: x, y, x, y, then nobody (the ticket waits
	// in HR unassigned, the action skipped).
	got = nil
	for i := range 5 {
		tk := e.createTicket(fmt.Sprintf(`{"subject":"H%d","tags":["hr"]}`, i))
		tk = e.ticket(tk.ID)
		if tk.Team != "HR" {
			t.Fatalf("team not set: %+v", tk)
		}
		got = append(got, tk.Assignee)
	}
	if want := "[x@x.com y@x.com x@x.com y@x.com ]"; fmt.Sprint(got) != want {
		t.Fatalf("least loaded with a cap: %v, want %v", got, want)
	}
}
