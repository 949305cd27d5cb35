package automation_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
)

func TestConditions(t *testing.T) {
	ticket := &model.Ticket{ID: "T1", Subject: "VPN outage in Berlin", Description: "Nothing connects",
		RequesterEmail: "ann@Example.com", Priority: model.PriorityHigh, Status: model.StatusOpen, Team: "IT",
		Category: "network", Tags: []string{"vip", "vpn"}, Fields: map[string]string{"language": "de"}}
	comment := &model.Event{Type: model.EventCommented, ActorKind: model.ActorRequester, Actor: "ann@example.com",
		Body: model.Ptr("still broken"), Public: model.Ptr(true)}
	cals := automation.NewCalendars(metrics.DefaultConfig().Calendars) // office: Mon-Fri 09-17 Berlin
	monday10 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)            // 10:00 in Berlin
	sunday := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		match string
		conds string
		at    time.Time
		want  bool
	}{
		{"no conditions", "", `[]`, monday10, true},
		{"equals", "", `[{"field":"priority","op":"equals","value":"high"}]`, monday10, true},
		{"equals ignores case", "", `[{"field":"team","op":"equals","value":"it"}]`, monday10, true},
		{"not_equals", "", `[{"field":"priority","op":"not_equals","value":"high"}]`, monday10, false},
		{"in", "", `[{"field":"status","op":"in","values":["new","open"]}]`, monday10, true},
		{"not_in", "", `[{"field":"status","op":"not_in","values":["new","open"]}]`, monday10, false},
		{"contains", "", `[{"field":"subject","op":"contains","value":"outage"}]`, monday10, true},
		{"not_contains", "", `[{"field":"description","op":"not_contains","value":"printer"}]`, monday10, true},
		{"matches", "", `[{"field":"subject","op":"matches","value":"(?i)^vpn\\b"}]`, monday10, true},
		{"matches fails", "", `[{"field":"subject","op":"matches","value":"^Printer"}]`, monday10, false},
		{"tag present", "", `[{"op":"tag_present","value":"VIP"}]`, monday10, true},
		{"tag absent", "", `[{"op":"tag_absent","value":"vip"}]`, monday10, false},
		{"tags in", "", `[{"field":"tags","op":"in","values":["x","vpn"]}]`, monday10, true},
		{"requester domain", "", `[{"field":"requester_domain","op":"in","values":["example.com"]}]`, monday10, true},
		{"custom field", "", `[{"field":"custom.language","op":"equals","value":"de"}]`, monday10, true},
		{"empty", "", `[{"field":"assignee","op":"empty"}]`, monday10, true},
		{"business hours", "", `[{"op":"business_hours","value":"office"}]`, monday10, true},
		{"business hours on sunday", "", `[{"op":"business_hours","value":"office"}]`, sunday, false},
		{"outside business hours", "", `[{"op":"outside_business_hours","value":"office"}]`, sunday, true},
		{"event fields", "", `[{"field":"event.actor_kind","op":"equals","value":"requester"},{"field":"event.body","op":"contains","value":"broken"},{"field":"event.public","op":"equals","value":"true"}]`, monday10, true},
		{"all: one fails", "all", `[{"field":"priority","op":"equals","value":"high"},{"field":"team","op":"equals","value":"HR"}]`, monday10, false},
		{"any: one holds", "any", `[{"field":"priority","op":"equals","value":"low"},{"field":"team","op":"equals","value":"IT"}]`, monday10, true},
		{"any: none holds", "any", `[{"field":"priority","op":"equals","value":"low"},{"field":"team","op":"equals","value":"HR"}]`, monday10, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := fmt.Sprintf(`{"name":"r","trigger":"commented","match":%q,"conditions":%s,"actions":[{"type":"add_note","body":"x"}]}`, c.match, c.conds)
			r := mustRules(t, spec)[0]
			if got := r.Matches(&automation.Subject{Ticket: ticket, Event: comment, At: c.at}, cals); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestRuleValidation(t *testing.T) {
	cases := []struct{ name, spec, field string }{
		{"no name", `{"trigger":"created","actions":[{"type":"raise_priority"}]}`, "name"},
		{"bad trigger", `{"name":"a","trigger":"sometimes","actions":[{"type":"raise_priority"}]}`, "trigger.on"},
		{"time without for", `{"name":"a","trigger":{"on":"time","status":"pending"},"actions":[{"type":"raise_priority"}]}`, "trigger.for"},
		{"at risk without within", `{"name":"a","trigger":{"on":"sla_at_risk"},"actions":[{"type":"raise_priority"}]}`, "trigger.within"},
		{"no actions", `{"name":"a","trigger":"created","actions":[]}`, "actions"},
		{"bad op", `{"name":"a","trigger":"created","conditions":[{"field":"team","op":"like"}],"actions":[{"type":"raise_priority"}]}`, "conditions[0].op"},
		{"bad field", `{"name":"a","trigger":"created","conditions":[{"field":"colour","op":"equals","value":"x"}],"actions":[{"type":"raise_priority"}]}`, "conditions[0].field"},
		{"bad regexp", `{"name":"a","trigger":"created","conditions":[{"field":"subject","op":"matches","value":"("}],"actions":[{"type":"raise_priority"}]}`, "conditions[0].value"},
		{"bad priority", `{"name":"a","trigger":"created","actions":[{"type":"set_priority","value":"asap"}]}`, "actions[0].value"},
		{"bad email to", `{"name":"a","trigger":"created","actions":[{"type":"email","to":"boss","template":"x"}]}`, "actions[0].to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := automation.DecodeRule([]byte(c.spec))
			if err == nil {
				err = r.Validate()
			}
			ve, ok := err.(*model.ValidationError)
			if !ok || ve.Field != c.field {
				t.Fatalf("got %v, want an error on %s", err, c.field)
			}
		})
	}
	if d, err := automation.ParseDuration("1w2d3h"); err != nil || time.Duration(d) != 9*24*time.Hour+3*time.Hour {
		t.Errorf("ParseDuration: %v %v", time.Duration(d), err)
	}
}

// TestRulesAPI manages rules over HTTP: the config's defaults are seeded
// once, a rule can be created, read, replaced and deleted, and a deleted
// config rule is not seeded again at the next start.
func TestRulesAPI(t *testing.T) {
	defaults, err := automation.ParseRules(automation.Specs(automation.DefaultRules()))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, automation.Options{Rules: defaults})
	var list struct{ Rules []*automation.Rule }
	e.call("GET", "/api/v1/rules", "", 200, &list)
	if len(list.Rules) != 3 || list.Rules[0].Name != "acknowledge-new-tickets" || list.Rules[0].Source != "config" {
		t.Fatalf("defaults: %+v", list.Rules)
	}
	var r automation.Rule
	body := `{"name":"vip","trigger":"created","conditions":[{"op":"tag_present","value":"vip"}],"actions":[{"type":"set_priority","value":"urgent"}]}`
	e.call("POST", "/api/v1/rules", body, 201, &r)
	if r.ID == "" || !r.Enabled || r.Source != "api" || r.Match != "all" {
		t.Fatalf("created: %+v", r)
	}
	e.call("POST", "/api/v1/rules", body, 409, nil)
	e.call("POST", "/api/v1/rules", `{"name":"x","trigger":"created","actions":[{"type":"fly"}]}`, 400, nil)
	e.call("POST", "/api/v1/rules", `{"name":"x","trigger":"created","actions":[],"colour":"red"}`, 400, nil)
	var got automation.Rule
	e.call("GET", "/api/v1/rules/"+r.ID, "", 200, &got)
	if got.Name != "vip" || len(got.Conditions) != 1 {
		t.Fatalf("get: %+v", got)
	}
	e.call("PUT", "/api/v1/rules/"+r.ID, `{"name":"vip","enabled":false,"trigger":"created","actions":[{"type":"set_priority","value":"high"}]}`, 200, &got)
	if got.Enabled || got.Actions[0].Value != "high" || got.ID != r.ID {
		t.Fatalf("put: %+v", got)
	}
	e.call("GET", "/api/v1/rules/nope", "", 404, nil)
	e.call("DELETE", "/api/v1/rules/close-resolved-after-3-days", "", 204, nil)
	e.call("DELETE", "/api/v1/rules/close-resolved-after-3-days", "", 404, nil)
	e.restart()
	e.call("GET", "/api/v1/rules", "", 200, &list)
	var names []string
	for _, x := range list.Rules {
		names = append(names, x.Name)
	}
	if fmt.Sprint(names) != "[acknowledge-new-tickets escalate-resolution-at-risk vip]" {
		t.Fatalf("after restart: %v", names)
	}
}

// TestEventRules runs event rules end to end: their changes are system
// events by rule:<name>, later rules see earlier ones' changes, a rule
// does not trigger itself, and a chain of rules stops at the max depth.
func TestEventRules(t *testing.T) {
	rules := mustRules(t,
		`{"name":"outage","trigger":"created","conditions":[{"field":"subject","op":"contains","value":"outage"}],
		  "actions":[{"type":"set_priority","value":"urgent"},{"type":"add_tags","values":["outage"]},{"type":"set_team","value":"IT"},
		             {"type":"add_note","body":"Ticket #{{.Ticket.Number}} flagged by {{.Rule}}"}]}`,
		`{"name":"urgent-tag","trigger":"updated","conditions":[{"field":"priority","op":"equals","value":"urgent"},{"op":"tag_absent","value":"hot"}],
		  "actions":[{"type":"add_tags","values":["hot"]}]}`,
		`{"name":"self","trigger":"updated","conditions":[{"op":"tag_present","value":"loop"}],"actions":[{"type":"raise_priority"}]}`,
		`{"name":"ping","trigger":"updated","conditions":[{"field":"category","op":"equals","value":"b"}],"actions":[{"type":"set_category","value":"a"}]}`,
		`{"name":"pong","trigger":"updated","conditions":[{"field":"category","op":"equals","value":"a"}],"actions":[{"type":"set_category","value":"b"}]}`,
	)
	e := newEnv(t, automation.Options{Rules: rules})
	e.call("POST", "/api/v1/teams", `{"name":"IT"}`, 201, nil)

	tk := e.createTicket(`{"subject":"Network outage","requester_email":"ann@example.com"}`)
	got := e.ticket(tk.ID)
	if got.Priority != model.PriorityUrgent || got.Team != "IT" || fmt.Sprint(got.Tags) != "[hot outage]" {
		t.Fatalf("ticket after rules: %+v", got)
	}
	events := e.events(tk.ID)
	outage := byActor(events, "rule:outage")
	if len(outage) != 4 {
		t.Fatalf("rule:outage events: %d", len(outage))
	}
	for _, ev := range outage {
		if ev.ActorKind != model.ActorSystem {
			t.Errorf("event %s by %s is %s", ev.Type, ev.Actor, ev.ActorKind)
		}
	}
	if n := outage[3]; n.Type != model.EventCommented || *n.Public || *n.Body != fmt.Sprintf("Ticket #%d flagged by outage", tk.Number) {
		t.Errorf("note: %+v", n)
	}
	if len(byActor(events, "rule:urgent-tag")) != 1 || got.AgentReplies != 0 || got.FirstResponseAt != nil {
		t.Errorf("urgent-tag or the metrics: %+v", got)
	}

	// A rule's own change does not trigger it again: one raise, not up to urgent.
	tk = e.createTicket(`{"subject":"Printer","priority":"low"}`)
	e.call("PATCH", "/api/v1/tickets/"+tk.ID, `{"tags":["loop"]}`, 200, nil)
	e.sync()
	if p := e.ticket(tk.ID).Priority; p != model.PriorityNormal {
		t.Errorf("self-triggering: priority %s, want normal", p)
	}

	// ping and pong trigger each other; the chain stops at depth 5. Rules
	// run in order and see the changes of the ones before, so the human's
	// change fires both (depth 1), then one per level up to depth 5.
	tk = e.createTicket(`{"subject":"Chain"}`)
	e.call("PATCH", "/api/v1/tickets/"+tk.ID, `{"category":"b"}`, 200, nil)
	e.sync()
	events = e.events(tk.ID)
	n := len(byActor(events, "rule:ping")) + len(byActor(events, "rule:pong"))
	if n != automation.DefaultMaxDepth+1 {
		t.Errorf("chain made %d rule events, want %d", n, automation.DefaultMaxDepth+1)
	}
}

// TestTimeRules: the default close-after-3-days rule and a pending rule,
// ticked with a controllable clock; each acts once per episode, also
// after a restart, and again in a new episode.
func TestTimeRules(t *testing.T) {
	rules := mustRules(t,
		`{"name":"close-resolved","trigger":{"on":"time","status":"resolved","for":"3d"},"actions":[{"type":"set_status","value":"closed"}]}`,
		`{"name":"nudge","trigger":{"on":"time","status":"pending","for":"5d"},"actions":[{"type":"add_note","body":"pending since {{.Ticket.UpdatedAt}}"},{"type":"add_tags","values":["stale"]}]}`,
	)
	e := newEnv(t, automation.Options{Rules: rules})
	a := e.createTicket(`{"subject":"A"}`)
	b := e.createTicket(`{"subject":"B"}`)
	e.call("POST", "/api/v1/tickets/"+a.ID+"/resolve", "", 200, nil)
	e.call("POST", "/api/v1/tickets/"+b.ID+"/status", `{"status":"pending"}`, 200, nil)

	e.clock.Add(72*time.Hour - time.Minute)
	e.tick()
	if s := e.ticket(a.ID).Status; s != model.StatusResolved {
		t.Fatalf("closed too early: %s", s)
	}
	e.clock.Add(time.Minute)
	e.tick()
	if s := e.ticket(a.ID).Status; s != model.StatusClosed {
		t.Fatalf("not closed after 3 days: %s", s)
	}
	closed := byActor(e.events(a.ID), "rule:close-resolved")
	if len(closed) != 1 || closed[0].Type != model.EventClosed || closed[0].ActorKind != model.ActorSystem {
		t.Fatalf("close events: %+v", closed)
	}

	e.clock.Add(48 * time.Hour) // 5 days pending
	e.tick()
	e.tick()
	if n := len(byActor(e.events(b.ID), "rule:nudge")); n != 2 {
		t.Fatalf("nudge events after two ticks: %d, want 2 (note and tags)", n)
	}
	e.restart()
	e.clock.Add(time.Hour)
	e.tick()
	if n := len(byActor(e.events(b.ID), "rule:nudge")); n != 2 {
		t.Fatalf("nudge acted again after a restart: %d events", n)
	}
	// The requester answers (open), the agent sets pending again: a new episode.
	e.as("ann@example.com", "POST", "/api/v1/tickets/"+b.ID+"/comments", `{"body":"here you go"}`, 200)
	e.call("POST", "/api/v1/tickets/"+b.ID+"/status", `{"status":"pending"}`, 200, nil)
	e.clock.Add(5*24*time.Hour - time.Minute)
	e.tick()
	if n := len(byActor(e.events(b.ID), "rule:nudge")); n != 2 {
		t.Fatalf("second episode acted early: %d", n)
	}
	e.clock.Add(time.Minute)
	e.tick()
	if n := len(byActor(e.events(b.ID), "rule:nudge")); n != 3 { // a note; the tag is already there
		t.Fatalf("second episode: %d events, want 3", n)
	}
}

// TestSLARules: the default escalation (resolution under 1h left) and a
// first-response breach rule, on the metrics engine's clocks.
func TestSLARules(t *testing.T) {
	defaults, err := automation.ParseRules(automation.Specs(automation.DefaultRules()))
	if err != nil {
		t.Fatal(err)
	}
	rules := append(defaults[2:], mustRules(t,
		`{"name":"fr-breach","trigger":{"on":"sla_breached","target":"first_response"},"actions":[{"type":"add_tags","values":["fr-breached"]}]}`)...)
	e := newEnv(t, automation.Options{Rules: rules,
		Routing: automation.Routing{Teams: map[string]automation.TeamRouting{"IT": {Lead: "lead@example.com"}}}})
	e.call("POST", "/api/v1/teams", `{"name":"IT"}`, 201, nil)
	e.call("POST", "/api/v1/agents", `{"email":"bob@example.com","name":"Bob","teams":["IT"]}`, 201, nil)
	// Default policy: first response 8h, resolution 40h, around the clock.
	tk := e.createTicket(`{"subject":"Slow","team":"IT","assignee":"bob@example.com"}`)
	answered := e.createTicket(`{"subject":"Answered","team":"IT"}`)
	e.clock.Add(time.Hour)
	e.as("bob@example.com", "POST", "/api/v1/tickets/"+answered.ID+"/comments", `{"body":"on it"}`, 200)

	e.clock.Add(7*time.Hour + time.Minute) // 8h01 after creation: first response breached
	e.tick()
	if tags := e.ticket(tk.ID).Tags; fmt.Sprint(tags) != "[fr-breached]" {
		t.Fatalf("breach rule: tags %v", tags)
	}
	if tags := e.ticket(answered.ID).Tags; len(tags) != 0 {
		t.Fatalf("answered ticket tagged: %v", tags)
	}
	e.clock.Add(31 * time.Hour) // 39h01: 59 minutes of resolution left
	e.tick()
	got := e.ticket(tk.ID)
	if got.Priority != model.PriorityHigh || got.Assignee != "lead@example.com" {
		t.Fatalf("escalation: %+v", got)
	}
	esc := byActor(e.events(tk.ID), "rule:escalate-resolution-at-risk")
	if len(esc) != 3 || esc[2].Type != model.EventCommented {
		t.Fatalf("escalation events: %d", len(esc))
	}
	e.clock.Add(time.Minute)
	e.tick()
	if n := len(byActor(e.events(tk.ID), "rule:escalate-resolution-at-risk")); n != 3 {
		t.Fatalf("escalated twice: %d events", n)
	}
}

// TestDryRun replays past tickets: matches are listed with the actions,
// and nothing changes.
func TestDryRun(t *testing.T) {
	e := newEnv(t, automation.Options{})
	var vip, closer automation.Rule
	e.call("POST", "/api/v1/rules", `{"name":"vip","enabled":false,"trigger":"created","conditions":[{"op":"tag_present","value":"vip"}],"actions":[{"type":"set_priority","value":"urgent"}]}`, 201, &vip)
	e.call("POST", "/api/v1/rules", `{"name":"closer","enabled":false,"trigger":{"on":"time","status":"resolved","for":"3d"},"actions":[{"type":"set_status","value":"closed"}]}`, 201, &closer)
	var ids []string
	for i := range 6 {
		tags := `[]`
		if i%2 == 0 {
			tags = `["vip"]`
		}
		tk := e.createTicket(fmt.Sprintf(`{"subject":"T%d","tags":%s}`, i, tags))
		ids = append(ids, tk.ID)
		if i < 3 {
			e.call("POST", "/api/v1/tickets/"+tk.ID+"/resolve", "", 200, nil)
		}
		e.clock.Add(24 * time.Hour)
	}
	// now = t0 + 6 days: tickets 0, 1, 2 (resolved on days 0, 1, 2) have been resolved for 3 days or more.
	var seqBefore int64
	e.st.DB.QueryRow(`SELECT max(seq) FROM events`).Scan(&seqBefore)

	var res automation.DryRun
	e.call("GET", "/api/v1/rules/vip/dry-run?from=2026-03-01&to=2026-03-31", "", 200, &res)
	if res.Matched != 3 || res.Tickets != 6 || len(res.Matches) != 3 || res.Matches[0].Actions[0] != "priority → urgent" {
		t.Fatalf("vip dry run: %+v", res)
	}
	e.call("GET", "/api/v1/rules/"+closer.ID+"/dry-run?from=2026-03-01&to=2026-03-31", "", 200, &res)
	if res.Matched != 3 || res.Matches[0].Ticket != ids[0] || !res.Matches[0].At.Equal(t0.Add(72*time.Hour)) {
		t.Fatalf("closer dry run: %+v", res)
	}
	e.call("GET", "/api/v1/rules/"+closer.ID+"/dry-run?from=2026-03-01&to=2026-03-31&limit=1", "", 200, &res)
	if res.Matched != 3 || len(res.Matches) != 1 || !res.Truncated {
		t.Fatalf("limit: %+v", res)
	}
	e.call("GET", "/api/v1/rules/"+closer.ID+"/dry-run?from=2026-03-05&to=2026-03-06", "", 200, &res)
	if res.Matched != 1 {
		t.Fatalf("one day: %+v", res)
	}
	e.call("GET", "/api/v1/rules/"+closer.ID+"/dry-run?from=yesterday", "", 400, nil)
	var seqAfter int64
	e.st.DB.QueryRow(`SELECT max(seq) FROM events`).Scan(&seqAfter)
	if seqAfter != seqBefore {
		t.Fatalf("the dry run changed something: seq %d -> %d", seqBefore, seqAfter)
	}
	_ = http.StatusOK
	_ = json.Marshal
}

// TestImportedEventsSeen: events written by an import (not seen by the
// subscription) are in the state the rules evaluate afterwards.
func TestImportedEventsSeen(t *testing.T) {
	rules := mustRules(t, `{"name":"urgent-reply","trigger":"commented","conditions":[{"field":"priority","op":"equals","value":"urgent"}],"actions":[{"type":"add_tags","values":["hot"]}]}`)
	e := newEnv(t, automation.Options{Rules: rules})
	tk := e.createTicket(`{"subject":"Imported later"}`)
	e.call("POST", "/api/v1/tickets/"+tk.ID+"/comments", `{"body":"first"}`, 200, nil)
	e.sync()
	line := fmt.Sprintf(`{"id":"imp-1","ticket":%q,"type":"priority_changed","at":%q,"actor":"legacy","actor_kind":"system","priority":"urgent"}`,
		tk.ID, e.clock.Now().Add(time.Second).Format(time.RFC3339Nano))
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/import?format=ndjson", strings.NewReader(line+"\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("import: %d", resp.StatusCode)
	}
	e.clock.Add(time.Minute)
	e.call("POST", "/api/v1/tickets/"+tk.ID+"/comments", `{"body":"second"}`, 200, nil)
	e.sync()
	if tags := e.ticket(tk.ID).Tags; fmt.Sprint(tags) != "[hot]" {
		t.Fatalf("the rule did not see the imported priority: tags %v", tags)
	}
}

// TestSLACatchUpAfterDowntime: deskpulse is down from 1h to 13h after the
// tickets were created, so the first-response targets (8h, default
// policy) breach while nobody ticks. At the start the scheduler ticks at
// once and the breach rule acts on each breached ticket once; a second
// tick does nothing. The at-risk rule (2h left on first response) whose
// window passed during the downtime acts once too, late; an answered
// ticket is left alone.
func TestSLACatchUpAfterDowntime(t *testing.T) {
	rules := mustRules(t,
		`{"name":"fr-breach","trigger":{"on":"sla_breached","target":"first_response"},"actions":[{"type":"add_tags","values":["fr-breached"]}]}`,
		`{"name":"fr-risk","trigger":{"on":"sla_at_risk","target":"first_response","within":"2h"},"actions":[{"type":"add_tags","values":["fr-risk"]}]}`)
	e := newEnv(t, automation.Options{Rules: rules})
	e.call("POST", "/api/v1/agents", `{"email":"bob@example.com","name":"Bob"}`, 201, nil)
	a := e.createTicket(`{"subject":"A"}`)
	answered := e.createTicket(`{"subject":"Answered"}`)
	e.clock.Add(30 * time.Minute)
	e.as("bob@example.com", "POST", "/api/v1/tickets/"+answered.ID+"/comments", `{"body":"on it"}`, 200)
	e.clock.Add(30 * time.Minute)
	b := e.createTicket(`{"subject":"B"}`) // created 1h later: due 9h after t0
	e.tick()                               // the last tick before the downtime, 1h after t0
	if tags := e.ticket(a.ID).Tags; len(tags) != 0 {
		t.Fatalf("acted too early: %v", tags)
	}

	e.close()
	e.clock.Set(t0.Add(13 * time.Hour)) // 5h past a's due time, 4h past b's
	e.open()
	e.eng.StartScheduler(time.Hour) // ticks at once
	deadline := time.Now().Add(10 * time.Second)
	for len(e.ticket(b.ID).Tags) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	e.sync()
	for _, tk := range []*model.Ticket{a, b} {
		if tags := e.ticket(tk.ID).Tags; fmt.Sprint(tags) != "[fr-breached fr-risk]" {
			t.Fatalf("%s after the start: tags %v, want [fr-breached fr-risk]", tk.Subject, tags)
		}
	}
	if tags := e.ticket(answered.ID).Tags; len(tags) != 0 {
		t.Fatalf("answered ticket tagged: %v", tags)
	}
	e.clock.Add(time.Minute)
	e.tick()
	e.clock.Add(time.Hour)
	e.tick()
	for _, tk := range []*model.Ticket{a, b} {
		for _, rule := range []string{"rule:fr-breach", "rule:fr-risk"} {
			if n := len(byActor(e.events(tk.ID), rule)); n != 1 {
				t.Fatalf("%s: %d events by %s, want 1", tk.Subject, n, rule)
			}
		}
	}
}

// TestDryRunSLA replays SLA rules over hand-built tickets on the default
// policies (Default: first response 8h, resolution 40h around the clock;
// Urgent and high: 1h and 8h on the office calendar, Mon-Fri 09-17
// Berlin; t0 is Monday 09:00 in Berlin). Hours are after t0:
//
//	A  created 0, never answered
//	E  created 0, never answered, tagged ignore at 5
//	B  created 1, answered 6:30, pending from 20 (resolution clock paused)
//	F  created 1, never answered, tagged ignore at 10 (after its breach)
//	C  created 2, answered 8:30 (first response due 10)
//	G  created 2, resolved 4
//	H  created 0, priority high, answered 0:50 (10 office minutes left)
func TestDryRunSLA(t *testing.T) {
	e := newEnv(t, automation.Options{})
	e.call("POST", "/api/v1/agents", `{"email":"bob@example.com","name":"Bob"}`, 201, nil)
	rules := map[string]string{
		"fr-breach": `{"on":"sla_breached","target":"first_response"},"conditions":[{"op":"tag_absent","value":"ignore"}]`,
		"fr-risk":   `{"on":"sla_at_risk","target":"first_response","within":"2h"}`,
		"res-risk":  `{"on":"sla_at_risk","target":"resolution","within":"1h"}`,
	}
	for name, trigger := range rules {
		e.call("POST", "/api/v1/rules", `{"name":"`+name+`","enabled":false,"trigger":`+trigger+`,"actions":[{"type":"raise_priority"}]}`, 201, nil)
	}
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	reply := func(tk *model.Ticket) {
		e.as("bob@example.com", "POST", "/api/v1/tickets/"+tk.ID+"/comments", `{"body":"on it"}`, 200)
	}
	a := e.createTicket(`{"subject":"A"}`)
	tE := e.createTicket(`{"subject":"E"}`)
	h := e.createTicket(`{"subject":"H","priority":"high"}`)
	e.clock.Set(at(50.0 / 60))
	reply(h)
	e.clock.Set(at(1))
	b := e.createTicket(`{"subject":"B"}`)
	f := e.createTicket(`{"subject":"F"}`)
	e.clock.Set(at(2))
	c := e.createTicket(`{"subject":"C"}`)
	g := e.createTicket(`{"subject":"G"}`)
	e.clock.Set(at(4))
	e.call("POST", "/api/v1/tickets/"+g.ID+"/resolve", "", 200, nil)
	e.clock.Set(at(5))
	e.call("PATCH", "/api/v1/tickets/"+tE.ID, `{"tags":["ignore"]}`, 200, nil)
	e.clock.Set(at(6.5))
	reply(b)
	e.clock.Set(at(8.5))
	reply(c)
	e.clock.Set(at(10))
	e.call("PATCH", "/api/v1/tickets/"+f.ID, `{"tags":["ignore"]}`, 200, nil)
	e.clock.Set(at(20))
	e.call("POST", "/api/v1/tickets/"+b.ID+"/status", `{"status":"pending"}`, 200, nil)
	e.clock.Set(at(48))
	e.sync()
	var seqBefore, seqAfter int64
	e.st.DB.QueryRow(`SELECT max(seq) FROM events`).Scan(&seqBefore)

	name := map[string]string{}
	for _, tk := range []*model.Ticket{a, tE, b, f, c, g, h} {
		name[tk.ID] = tk.Subject
	}
	hits := func(rule, query string) string {
		t.Helper()
		var res automation.DryRun
		e.call("GET", "/api/v1/rules/"+rule+"/dry-run?"+query, "", 200, &res)
		if res.Tickets != 7 || res.Matched != len(res.Matches) {
			t.Fatalf("%s: replayed %d tickets, matched %d: %+v", rule, res.Tickets, res.Matched, res)
		}
		var out []string
		for _, m := range res.Matches {
			if m.DueAt == nil || m.Actions[0] != "raise priority one step" {
				t.Fatalf("%s: hit %+v", rule, m)
			}
			out = append(out, fmt.Sprintf("%s@%s(due %s)", name[m.Ticket], m.At.Sub(t0), m.DueAt.Sub(t0)))
		}
		return strings.Join(out, " ")
	}
	whole := "from=2026-03-02&to=2026-03-05"
	// A and F breach unanswered; E carried the ignore tag at its breach,
	// F got it only after hers.
	if got, want := hits("fr-breach", whole), "A@8h0m0s(due 8h0m0s) F@9h0m0s(due 9h0m0s)"; got != want {
		t.Errorf("fr-breach:\n got %s\nwant %s", got, want)
	}
	// Two hours before the due time while unanswered; C was answered 1h30
	// before its due time (at risk from 8h); B with 2h30 to spare never
	// was; H had 10 office minutes left when answered, its due time
	// (1h on the calendar) minus 2h is before its creation.
	sortedAtSix := "A@6h0m0s(due 8h0m0s) E@6h0m0s(due 8h0m0s)"
	if tE.ID < a.ID {
		sortedAtSix = "E@6h0m0s(due 8h0m0s) A@6h0m0s(due 8h0m0s)"
	}
	if got, want := hits("fr-risk", whole), "H@0s(due 1h0m0s) "+sortedAtSix+" F@7h0m0s(due 9h0m0s) C@8h0m0s(due 10h0m0s)"; got != want {
		t.Errorf("fr-risk:\n got %s\nwant %s", got, want)
	}
	if got, want := hits("fr-risk", "from=2026-03-02T14:30:00Z&to=2026-03-05T00:00:00Z"), "F@7h0m0s(due 9h0m0s) C@8h0m0s(due 10h0m0s)"; got != want {
		t.Errorf("fr-risk from 6:30:\n got %s\nwant %s", got, want)
	}
	// Resolution: H (8 office hours: due 17:00 Berlin), then the 40h
	// ones; B is paused, G resolved in time.
	sortedAt39 := strings.ReplaceAll(strings.ReplaceAll(sortedAtSix, "6h0m0s", "39h0m0s"), "8h0m0s", "40h0m0s")
	if got, want := hits("res-risk", whole), "H@7h0m0s(due 8h0m0s) "+sortedAt39+" F@40h0m0s(due 41h0m0s) C@41h0m0s(due 42h0m0s)"; got != want {
		t.Errorf("res-risk:\n got %s\nwant %s", got, want)
	}
	e.st.DB.QueryRow(`SELECT max(seq) FROM events`).Scan(&seqAfter)
	if seqAfter != seqBefore {
		t.Fatalf("the dry run changed something: seq %d -> %d", seqBefore, seqAfter)
	}
}

// TestDryRunTimeRule: a time rule (pending for 2 days, tagged waiting)
// fires once per stay, at the first moment its conditions hold: when the
// two days are up, or at a later event of the same stay (the tag added);
// a stay cut short does not fire; one that fired before the range does
// not fire again in it. Days are after t0.
//
//	P  pending 0, tagged waiting 3           fires at 3 (the tag)
//	Q  pending+waiting 0, open 1, pending 1.5 fires at 3.5
//	R  pending+waiting 0, tagged x at 4      fires at 2 (not again at 4)
func TestDryRunTimeRule(t *testing.T) {
	e := newEnv(t, automation.Options{})
	e.call("POST", "/api/v1/rules", `{"name":"stale","enabled":false,"trigger":{"on":"time","status":"pending","for":"2d"},
		"conditions":[{"op":"tag_present","value":"waiting"}],"actions":[{"type":"add_note","body":"stale"}]}`, 201, nil)
	day := func(d float64) time.Time { return t0.Add(time.Duration(d * 24 * float64(time.Hour))) }
	status := func(tk *model.Ticket, s string) {
		e.call("POST", "/api/v1/tickets/"+tk.ID+"/status", `{"status":"`+s+`"}`, 200, nil)
	}
	p := e.createTicket(`{"subject":"P"}`)
	q := e.createTicket(`{"subject":"Q","tags":["waiting"]}`)
	r := e.createTicket(`{"subject":"R","tags":["waiting"]}`)
	for _, tk := range []*model.Ticket{p, q, r} {
		status(tk, "pending")
	}
	e.clock.Set(day(1))
	status(q, "open")
	e.clock.Set(day(1.5))
	status(q, "pending")
	e.clock.Set(day(3))
	e.call("PATCH", "/api/v1/tickets/"+p.ID, `{"tags":["waiting"]}`, 200, nil)
	e.clock.Set(day(4))
	e.call("PATCH", "/api/v1/tickets/"+r.ID, `{"tags":["waiting","x"]}`, 200, nil)
	e.clock.Set(day(6))
	name := map[string]string{p.ID: "P", q.ID: "Q", r.ID: "R"}
	run := func(query string) string {
		t.Helper()
		var res automation.DryRun
		e.call("GET", "/api/v1/rules/stale/dry-run?"+query, "", 200, &res)
		var out []string
		for _, m := range res.Matches {
			out = append(out, fmt.Sprintf("%s@%s", name[m.Ticket], m.At.Sub(t0)))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	if got, want := run("from=2026-03-01&to=2026-03-31"), "P@72h0m0s Q@84h0m0s R@48h0m0s"; got != want {
		t.Errorf("whole range: %s, want %s", got, want)
	}
	if got, want := run("from=2026-03-04T20:00:00Z&to=2026-03-31T00:00:00Z"), "P@72h0m0s Q@84h0m0s"; got != want {
		t.Errorf("from day 2.5: %s, want %s", got, want)
	}
}
