package automation

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
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
	Ticket  string     `json:"ticket"`
	Number  int64      `json:"number"`
	At      time.Time  `json:"at"`
	Event   string     `json:"event,omitempty"`  // the triggering event type (event triggers)
	Target  string     `json:"target,omitempty"` // SLA triggers: first_response or resolution
	DueAt   *time.Time `json:"due_at,omitempty"` // SLA triggers: the target's due time
	Actions []string   `json:"actions"`
}

// MaxDryRunTickets bounds a dry run's replay.
const MaxDryRunTickets = 20_000

// DryRun replays the tickets with events in [from, to) and lists at most
// limit matches. SLA triggers are replayed from the metrics engine's
// clocks (dryRunSLA).
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
	actions := make([]string, len(r.Actions))
	for i := range r.Actions {
		actions[i] = r.Actions[i].Describe()
	}
	add := func(h DryRunHit) {
		out.Matched++
		if len(out.Matches) < limit {
			h.Actions = actions
			out.Matches = append(out.Matches, h)
		} else {
			out.Truncated = true
		}
	}
	hit := func(t *model.Ticket, at time.Time, ev string) {
		add(DryRunHit{Ticket: t.ID, Number: t.Number, At: at, Event: ev})
	}
	now := e.now()
	end := to
	if now.Before(end) {
		end = now
	}
	if r.Trigger.On == OnSLAAtRisk || r.Trigger.On == OnSLABreached {
		if e.m == nil {
			out.Note = "no metrics engine: SLA triggers cannot be replayed"
			return out, nil
		}
		return out, e.dryRunSLA(ctx, r, from, to, end, out, add)
	}
	// A time rule fires For after a status change: look that far back.
	events, err := e.st.EventsOfActiveTickets(ctx, from.Add(-time.Duration(r.Trigger.For)), to, MaxDryRunTickets+1)
	if err != nil {
		return nil, err
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
//
// A time rule fires, once per stay in its status, at the first instant
// from `for` after the ticket entered the status at which its conditions
// hold, as the scheduler's ticks find it: at that moment, or at a later
// event of the same stay that makes them hold (a tag added, say). One
// that fired before the range does not fire again in it.
func (e *Engine) replay(r *Rule, events []*model.Event, from, to, end time.Time, hit func(*model.Ticket, time.Time, string)) {
	t := &model.Ticket{}
	timed := r.Trigger.On == OnTime
	var since time.Time            // when the ticket entered its current status
	fired, dueSeen := false, false // time rule, this stay: acted; its moment looked at
	try := func(at time.Time) {
		if fired || at.After(end) || !r.Matches(&Subject{Ticket: t, At: at}, e.cals) {
			return
		}
		fired = true
		if !at.Before(from) && at.Before(to) {
			hit(t, at, "")
		}
	}
	staying := func() bool { return timed && t.ID != "" && t.Status == r.Trigger.Status }
	for _, ev := range events {
		if due := since.Add(time.Duration(r.Trigger.For)); staying() && !dueSeen && !due.After(ev.At) {
			dueSeen = true
			try(due)
		}
		prev := t.Status
		if err := t.Apply(ev); err != nil {
			continue // a refused event changes nothing, as in the store
		}
		if t.Status != prev || ev.Type == model.EventCreated {
			since, fired, dueSeen = ev.At, false, false
		} else if staying() && dueSeen {
			try(ev.At)
		}
		if !timed && !ev.At.Before(from) && ev.At.Before(to) && r.TriggeredBy(ev) &&
			r.Matches(&Subject{Ticket: t, Event: ev, At: ev.At}, e.cals) {
			hit(t, ev.At, string(ev.Type))
		}
	}
	if due := since.Add(time.Duration(r.Trigger.For)); staying() && !dueSeen {
		try(due)
	}
}

// SLADryRunLookback is how long before a dry run's range a ticket may
// have been created for its SLA moments in the range to be replayed.
const SLADryRunLookback = 30 * 24 * time.Hour

// slaMoment is when an SLA rule would have fired on a ticket's target.
type slaMoment struct {
	ticket, target string
	at, due        time.Time
}

// dryRunSLA replays an SLA rule. The tickets' targets come from the
// metrics engine's clocks as of end (TicketRows: policies, calendars,
// pauses); a breach rule fires at the breach, an at-risk rule at the due
// time minus within (at the creation if the target is shorter), also for
// a target fulfilled in that last stretch. The ticket's events up to that
// moment give the state the conditions see; as the scheduler does, the
// rule fires only on an unresolved ticket, an at-risk first response not
// yet answered and an at-risk resolution clock running (new or open).
// The due time is the one the target ended with: a pause after the
// moment, which moved it, is not unpicked.
func (e *Engine) dryRunSLA(ctx context.Context, r *Rule, from, to, end time.Time, out *DryRun, add func(DryRunHit)) error {
	out.Note = "SLA moments from the targets' clocks as of " + end.UTC().Format(time.RFC3339) +
		": breached at the breach, at risk at the due time minus within; conditions on the ticket as it was then"
	if !end.After(from) {
		return nil
	}
	calendarOf := map[string]string{}
	for _, p := range e.m.Config().SLA.Policies {
		calendarOf[p.Name] = p.Calendar
	}
	within := time.Duration(r.Trigger.Within)
	var moments []slaMoment
	tickets := 0
	q := metrics.Query{From: from.Add(-SLADryRunLookback), To: end, AsOf: end}
	err := e.m.TicketRows(ctx, q, func(row *metrics.TicketRow) error {
		tickets++
		for _, tg := range []struct {
			name string
			row  metrics.TargetRow
		}{{"first_response", row.FirstResponseSLA}, {"resolution", row.ResolutionSLA}} {
			if r.Trigger.Target != "" && r.Trigger.Target != tg.name {
				continue
			}
			m, ok := e.slaMomentOf(r.Trigger.On, tg.row, within, calendarOf[tg.row.Policy], row.CreatedAt)
			if ok && !m.at.Before(from) && m.at.Before(to) && !m.at.After(end) {
				m.ticket, m.target = row.ID, tg.name
				moments = append(moments, m)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	out.Tickets = tickets
	if len(moments) == 0 {
		return nil
	}
	slices.SortFunc(moments, func(a, b slaMoment) int {
		return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.ticket, b.ticket), cmp.Compare(a.target, b.target))
	})
	ids := make([]string, 0, len(moments))
	for _, m := range moments {
		if !slices.Contains(ids, m.ticket) {
			ids = append(ids, m.ticket)
		}
	}
	events, err := e.st.EventsOfTickets(ctx, ids)
	if err != nil {
		return err
	}
	byTicket := map[string][]*model.Event{}
	for _, ev := range events {
		byTicket[ev.Ticket] = append(byTicket[ev.Ticket], ev)
	}
	for _, m := range moments {
		t := stateAt(byTicket[m.ticket], m.at)
		if t.ID == "" || !t.Status.Unresolved() {
			continue
		}
		if r.Trigger.On == OnSLAAtRisk {
			if m.target == "first_response" && t.FirstResponseAt != nil {
				continue
			}
			if m.target == "resolution" && t.Status != model.StatusNew && t.Status != model.StatusOpen {
				continue
			}
		}
		if !r.Matches(&Subject{Ticket: t, At: m.at}, e.cals) {
			continue
		}
		due := m.due
		add(DryRunHit{Ticket: t.ID, Number: t.Number, At: m.at, Target: m.target, DueAt: &due})
	}
	return nil
}

// slaMomentOf says when an SLA trigger fires on one target (its state as
// of the dry run's end), if it does.
func (e *Engine) slaMomentOf(on string, tg metrics.TargetRow, within time.Duration, calendar string, created time.Time) (slaMoment, bool) {
	if on == OnSLABreached {
		if tg.Status != metrics.StatusBreached || tg.DecidedAt == nil {
			return slaMoment{}, false
		}
		return slaMoment{at: *tg.DecidedAt, due: *tg.DecidedAt}, true
	}
	var due time.Time
	var fulfilled *time.Time
	switch {
	case tg.Status == metrics.StatusBreached && tg.DecidedAt != nil:
		due = *tg.DecidedAt
	case tg.Status == metrics.StatusActive && tg.DueAt != nil:
		due = *tg.DueAt
	case tg.Status == metrics.StatusAchieved && tg.DecidedAt != nil && tg.TargetMinutes != nil && tg.ElapsedMinutes != nil:
		// Fulfilled with this much of the target left: due that much
		// business time later, at risk if that is within `within`.
		fulfilled = tg.DecidedAt
		left := *tg.TargetMinutes - *tg.ElapsedMinutes
		d, ok := e.cals.after(calendar, *fulfilled, left, within)
		if !ok {
			return slaMoment{}, false
		}
		due = d
	default:
		return slaMoment{}, false // paused, or no policy
	}
	at := due.Add(-within)
	if at.Before(created) {
		at = created
	}
	if fulfilled != nil && !at.Before(*fulfilled) {
		return slaMoment{}, false
	}
	return slaMoment{at: at, due: due}, true
}

// stateAt replays a ticket's events (timeline order) up to and including
// instant at.
func stateAt(events []*model.Event, at time.Time) *model.Ticket {
	t := &model.Ticket{}
	for _, ev := range events {
		if ev.At.After(at) {
			break
		}
		_ = t.Apply(ev) // a refused event changes nothing, as in the store
	}
	return t
}
