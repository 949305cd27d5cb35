package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/deskpulse/deskpulse/store"
)

// SLA target statuses.
const (
	StatusAchieved = "achieved" // fulfilled within target
	StatusBreached = "breached" // the target was missed (fulfilled late, or not fulfilled and past due)
	StatusActive   = "active"   // not fulfilled, clock running, not yet due
	StatusPaused   = "paused"   // resolution clock stopped: pending or on_hold (or resolved, for a reopened ticket)
)

// Clock is one SLA target of a ticket.
type Clock struct {
	Policy   string `json:"policy"`
	Calendar string `json:"calendar"` // "" when the policy runs around the clock
	Status   string `json:"status"`   // achieved | breached | active | paused
	// TargetMinutes and ElapsedMinutes are business minutes of the
	// calendar (calendar minutes for a 24x7 policy). Elapsed is measured up
	// to the fulfilment, or up to AsOf while unfulfilled; the resolution
	// clock does not run while the ticket is pending, on_hold or resolved.
	TargetMinutes  float64    `json:"target_minutes"`
	ElapsedMinutes float64    `json:"elapsed_minutes"`
	FulfilledAt    *time.Time `json:"fulfilled_at"`
	DueAt          *time.Time `json:"due_at"`      // for active targets: when they breach if nothing happens
	BreachedAt     *time.Time `json:"breached_at"` // for breached targets
}

// TicketSLA is GET /api/v1/tickets/{id}/sla: a ticket's SLA clocks. A
// clock is null when no policy applies to the ticket.
type TicketSLA struct {
	TicketID      string    `json:"ticket_id"`
	AsOf          time.Time `json:"as_of"`
	FirstResponse *Clock    `json:"first_response"`
	Resolution    *Clock    `json:"resolution"`
}

// TicketSLA replays one ticket's events up to now into its SLA clocks.
// ref is a ticket id or number; an unknown ticket is model.ErrNotFound.
func (e *Engine) TicketSLA(ctx context.Context, ref string) (*TicketSLA, error) {
	t, err := e.st.Ticket(ctx, ref)
	if err != nil {
		return nil, err
	}
	now := e.now()
	return e.ticketSLAAt(ctx, t.ID, now)
}

func (e *Engine) ticketSLAAt(ctx context.Context, id string, k time.Time) (*TicketSLA, error) {
	e.mu.Lock()
	lo, hi := e.spanRange()
	e.mu.Unlock()
	if k.After(hi) {
		hi = k.AddDate(0, 0, 400)
	}
	filter := fmt.Sprintf("ticket_id = %s AND occurred_at <= %s", store.Literal(id), tsLit(k))
	rows, err := e.rows(ctx, `SELECT fr_policy, fr_calendar, fr_target, fr_fulfilled_at, fr_elapsed, fr_outcome, fr_breach_at,
		res_policy, res_calendar, res_target, res_fulfilled_at, res_elapsed, res_outcome, res_breach_at, res_running
		FROM (`+ticketSQL(&e.cfg, filter, &k, lo, hi)+`)`)
	if err != nil {
		return nil, err
	}
	out := &TicketSLA{TicketID: id, AsOf: k}
	if len(rows) == 0 {
		return out, nil
	}
	r := rows[0]
	out.FirstResponse = clockAt(r[0:7], true, k)
	out.Resolution = clockAt(r[7:14], r[14] == true, k)
	return out, nil
}

// clockAt reads policy, calendar, target, fulfilled_at, elapsed, outcome,
// breach_at and says the status at k.
func clockAt(r []any, running bool, k time.Time) *Clock {
	if r[0] == nil {
		return nil
	}
	c := &Clock{Policy: asString(r[0]), Calendar: asString(r[1]), FulfilledAt: asTime(r[3])}
	c.TargetMinutes = *asFloat(r[2])
	if el := asFloat(r[4]); el != nil {
		c.ElapsedMinutes = *round2(el)
	}
	outcome, breach := asString(r[5]), asTime(r[6])
	switch {
	case outcome == StatusAchieved:
		c.Status = StatusAchieved
	case outcome == StatusBreached:
		c.Status, c.BreachedAt = StatusBreached, breach
	case breach != nil && !breach.After(k):
		c.Status, c.BreachedAt = StatusBreached, breach
	case running:
		c.Status, c.DueAt = StatusActive, breach
	default:
		c.Status = StatusPaused
	}
	return c
}
