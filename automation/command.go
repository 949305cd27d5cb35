package automation

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
)

// assignment is a set_assignee value resolved before the command runs
// (team_lead, auto) with the reason the event records.
type assignment struct {
	value, reason string
	skip          bool
	team          string // auto: the team whose routing chose value
	routed        bool   // auto: chosen by the team's routing
}

// ruleCommand applies a rule's actions to one ticket in one transaction,
// on the ticket's state at commit time. An action the state machine
// refuses (closing an unresolved ticket, say) is skipped; the others
// still apply. E-mail and webhook actions become an internal note saying
// what was sent, and are carried out once the note is committed.
//
// The command is keyed (ingest.Keyed) by the rule and what triggered it,
// so that a replay after a crash does not apply it again; its record is
// the e-mail and webhook actions still to carry out after the commit.
type ruleCommand struct {
	id       string
	key      string
	rule     *Rule
	guard    func(*model.Ticket) bool
	data     map[string]string
	assignee map[int]assignment

	sideEffects []int // indexes of the e-mail and webhook actions applied, set by Decide
}

func (c *ruleCommand) TicketID() string { return c.id }

func (c *ruleCommand) Key() string { return c.key }

func (c *ruleCommand) Record() string { return formatEffects(c.sideEffects) }

// formatEffects and parseEffects write and read a rule command's record:
// the indexes of its e-mail and webhook actions, as "0,2".
func formatEffects(actions []int) string {
	parts := make([]string, len(actions))
	for i, a := range actions {
		parts[i] = strconv.Itoa(a)
	}
	return strings.Join(parts, ",")
}

func parseEffects(record string) []int {
	var out []int
	for _, p := range strings.Split(record, ",") {
		if i, err := strconv.Atoi(p); err == nil {
			out = append(out, i)
		}
	}
	return out
}

func (c *ruleCommand) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	c.sideEffects = nil
	if t == nil {
		return nil, model.ErrNotFound
	}
	if c.guard != nil && !c.guard(t) {
		return nil, nil
	}
	actor := c.rule.Actor()
	cur := t.Clone()
	var out []*model.Event
	for i := range c.rule.Actions {
		a := &c.rule.Actions[i]
		evs, err := c.action(i, a, cur, at, actor)
		if err == nil {
			next := cur.Clone()
			for _, e := range evs {
				if err = e.Normalize(); err == nil {
					err = next.Apply(e)
				}
				if err != nil {
					break
				}
			}
			if err == nil {
				cur = next
				out = append(out, evs...)
				if a.Type == "email" || a.Type == "webhook" {
					c.sideEffects = append(c.sideEffects, i)
				}
				continue
			}
		}
		slog.Info("automation: action skipped", "rule", c.rule.Name, "ticket", t.ID, "action", a.Type, "reason", err)
	}
	return out, nil
}

// action builds one action's events on the current state.
func (c *ruleCommand) action(i int, a *Action, cur *model.Ticket, at time.Time, actor model.Actor) ([]*model.Event, error) {
	var cmd ingest.Command
	switch a.Type {
	case "set_priority":
		p := model.Priority(a.Value)
		cmd = &ingest.UpdateTicket{ID: cur.ID, Actor: actor, Priority: &p}
	case "raise_priority":
		rank := min(cur.Priority.Rank()+1, len(model.Priorities))
		p := model.Priorities[max(rank, 1)-1]
		cmd = &ingest.UpdateTicket{ID: cur.ID, Actor: actor, Priority: &p}
	case "set_type":
		tt := model.TicketType(a.Value)
		cmd = &ingest.UpdateTicket{ID: cur.ID, Actor: actor, Type: &tt}
	case "set_category":
		cmd = &ingest.UpdateTicket{ID: cur.ID, Actor: actor, Category: &a.Value}
	case "set_tags", "add_tags", "remove_tags":
		tags := slices.Clone(a.Values)
		switch a.Type {
		case "add_tags":
			tags = append(slices.Clone(cur.Tags), a.Values...)
		case "remove_tags":
			tags = slices.DeleteFunc(slices.Clone(cur.Tags), func(t string) bool { return slices.Contains(a.Values, t) })
		}
		cmd = &ingest.UpdateTicket{ID: cur.ID, Actor: actor, Tags: &tags}
	case "set_team":
		cmd = &ingest.Assign{ID: cur.ID, Actor: actor, Team: &a.Value}
	case "set_assignee":
		v := assignment{value: a.Value}
		if r, ok := c.assignee[i]; ok {
			v = r
		}
		if v.skip {
			return nil, fmt.Errorf("no agent for %q", a.Value)
		}
		evs, err := (&ingest.Assign{ID: cur.ID, Actor: actor, Assignee: &v.value}).Decide(cur, at)
		if v.reason != "" {
			for _, e := range evs {
				e.Comment = model.Ptr(v.reason)
			}
		}
		return evs, err
	case "set_status":
		cmd = &ingest.SetStatus{ID: cur.ID, Actor: actor, Status: model.Status(a.Value)}
	case "add_note":
		var b strings.Builder
		data := map[string]any{"Ticket": cur, "Rule": c.rule.Name, "DueAt": c.data["due_at"], "Target": c.data["target"]}
		if err := a.body.Execute(&b, data); err != nil {
			return nil, err
		}
		cmd = &ingest.Comment{ID: cur.ID, Actor: actor, Body: b.String(), Public: false}
	case "email":
		cmd = &ingest.Comment{ID: cur.ID, Actor: actor, Public: false,
			Body: fmt.Sprintf("Rule %s: e-mail to the %s queued (template %s).", c.rule.Name, a.To, a.Template)}
	case "webhook":
		cmd = &ingest.Comment{ID: cur.ID, Actor: actor, Public: false,
			Body: fmt.Sprintf("Rule %s: webhook call to %s queued.", c.rule.Name, a.URL)}
	default:
		return nil, fmt.Errorf("unknown action %q", a.Type)
	}
	return cmd.Decide(cur, at)
}
