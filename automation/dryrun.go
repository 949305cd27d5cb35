package automation

import (
	"context"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// DryRun is what a rule would have done over a period: the past tickets'
// events replayed (model.Ticket.Apply), the rule evaluated where it would
// have fired. Nothing is changed.
type DryRun struct {
	Rule      string      `json:"rule"`
	From      time.Time   `json:"from"`
	To        time.Time   `json:"to"`
	Tickets   int         `json:"tickets_replayed"`
	Matched   int         `json:"matched"`
	Matches   []DryRunHit `json:"matches"`
	Truncated bool        `json:"truncated"` // more tickets than replayed, or more matches than listed
	Note      string      `json:"note,omitempty"`
}

// DryRunHit is one time the rule would have acted.
type DryRunHit struct {
	Ticket  string    `json:"ticket"`
	Number  int64     `json:"number"`
	At      time.Time `json:"at"`
	Event   string    `json:"event,omitempty"` // the triggering event type (event triggers)
	Actions []string  `json:"actions"`
}

// MaxDryRunTickets bounds a dry run's replay.
const MaxDryRunTickets = 20_000

// DryRun replays the tickets with events in [from, to) and lists at most
// limit matches. SLA triggers depend on the metrics engine's clocks and
// are not replayed (the answer says so).
func (e *Engine) DryRun(ctx context.Context, id string, from, to time.Time, limit int) (*DryRun, error) {
	r, err := e.Rule(id)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, model.Invalid("from", "must be before to")
	}
	if limit <= 0 {
		limit = 100
	}
	out := &DryRun{Rule: r.Name, From: from, To: to, Matches: []DryRunHit{}}
	if r.Trigger.On == OnSLAAtRisk || r.Trigger.On == OnSLABreached {
		out.Note = "SLA triggers follow the metrics engine's live clocks and are not replayed; GET /api/v1/sla/at-risk shows the targets at risk now"
		return out, nil
	}
	// A time rule fires For after a status change: look that far back.
	events, err := e.st.EventsOfActiveTickets(ctx, from.Add(-time.Duration(r.Trigger.For)), to, MaxDryRunTickets+1)
	if err != nil {
		return nil, err
	}
	actions := make([]string, len(r.Actions))
	for i := range r.Actions {
		actions[i] = r.Actions[i].Describe()
	}
	hit := func(t *model.Ticket, at time.Time, ev string) {
		out.Matched++
		if len(out.Matches) < limit {
			out.Matches = append(out.Matches, DryRunHit{Ticket: t.ID, Number: t.Number, At: at, Event: ev, Actions: actions})
		} else {
			out.Truncated = true
		}
	}
	now := e.now()
	end := to
	if now.Before(end) {
		end = now
	}
	for i := 0; i < len(events); {
		j := i
		for j < len(events) && events[j].Ticket == events[i].Ticket {
			j++
		}
		out.Tickets++
		if out.Tickets > MaxDryRunTickets {
			out.Tickets--
			out.Truncated = true
			break
		}
		e.replay(r, events[i:j], from, to, end, hit)
		i = j
	}
	return out, nil
}

// replay runs one ticket's events through Apply and reports where r fires.
func (e *Engine) replay(r *Rule, events []*model.Event, from, to, end time.Time, hit func(*model.Ticket, time.Time, string)) {
	t := &model.Ticket{}
	var since time.Time // when the ticket entered its current status
	fired := false      // time rule: acted in this episode
	checkTime := func(until time.Time) {
		if r.Trigger.On != OnTime || fired || t.ID == "" || t.Status != r.Trigger.Status {
			return
		}
		at := since.Add(time.Duration(r.Trigger.For))
		if at.After(until) || at.Before(from) || !at.Before(to) {
			return
		}
		if r.Matches(&Subject{Ticket: t, At: at}, e.cals) {
			fired = true
			hit(t, at, "")
		}
	}
	for _, ev := range events {
		checkTime(ev.At)
		prev := t.Status
		if err := t.Apply(ev); err != nil {
			continue // a refused event changes nothing, as in the store
		}
		if t.Status != prev || ev.Type == model.EventCreated {
			since, fired = ev.At, false
		}
		if r.Trigger.On != OnTime && !ev.At.Before(from) && ev.At.Before(to) && r.TriggeredBy(ev) &&
			r.Matches(&Subject{Ticket: t, Event: ev, At: ev.At}, e.cals) {
			hit(t, ev.At, string(ev.Type))
		}
	}
	checkTime(end)
}
