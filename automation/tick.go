package automation

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
)

// tick runs the time and SLA rules as of now. Each acts on a ticket once
// per episode: a time rule once per stay in its status (the episode is
// when the ticket entered it), an SLA rule once per target and due time.
// Episodes are claimed in automation_episodes before acting, so neither a
// second tick nor a restart acts twice.
//
// A tick also acts on what it would have done while deskpulse was down:
// the SLA targets are looked at as of the last successful tick
// (automation_state last_tick), so a breach during a downtime of any
// length is acted on at the first tick after the start.
func (e *Engine) tick(ctx context.Context, now time.Time) error {
	last, err := e.lastTick(ctx)
	if err != nil {
		return err
	}
	if err := e.tickRules(ctx, now, last); err != nil {
		return err
	}
	if err := e.forgetAppliedKeys(ctx, now); err != nil {
		return err
	}
	if last.IsZero() || now.After(last) {
		return e.setState(ctx, lastTickKey, now.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// forgetAppliedKeys drops the applied command keys no replay can reach
// any more: a start replays only events of the catch-up window, and a
// key is stored after its event. (Time and SLA rules have their claimed
// episodes besides.)
func (e *Engine) forgetAppliedKeys(ctx context.Context, now time.Time) error {
	_, err := e.st.DB.ExecContext(ctx, `DELETE FROM applied_commands WHERE applied_at < ?`, now.Add(-2*e.opts.CatchUp))
	return err
}

// lastTickKey is the automation_state key of the last successful tick.
const lastTickKey = "last_tick"

// lastTick is the instant of the last successful tick (zero: none yet).
func (e *Engine) lastTick(ctx context.Context) (time.Time, error) {
	v, ok, err := e.state(ctx, lastTickKey)
	if err != nil || !ok {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		slog.Warn("automation: unreadable last tick, catching up on the last hour only", "value", v)
		return time.Time{}, nil
	}
	return t, nil
}

func (e *Engine) tickRules(ctx context.Context, now, last time.Time) error {
	if err := e.router.tick(ctx); err != nil {
		return err
	}
	var sla []*Rule
	for _, r := range e.Rules() {
		if !r.Enabled {
			continue
		}
		switch r.Trigger.On {
		case OnTime:
			if err := e.tickTime(ctx, r, now); err != nil {
				return err
			}
		case OnSLAAtRisk, OnSLABreached:
			sla = append(sla, r)
		}
	}
	if len(sla) > 0 && e.m != nil {
		return e.tickSLA(ctx, sla, now, last)
	}
	return nil
}

// statusEvents are the event types that set a ticket's status; the last
// one is when the ticket entered its current status.
const statusEvents = `('created', 'status_changed', 'resolved', 'reopened', 'closed')`

func (e *Engine) tickTime(ctx context.Context, r *Rule, now time.Time) error {
	due := now.Add(-time.Duration(r.Trigger.For))
	rows, err := e.st.DB.QueryContext(ctx, `WITH c AS (
			SELECT t.id, max(ev.occurred_at) AS since
			FROM tickets t JOIN events ev ON ev.ticket_id = t.id
			WHERE t.status = ? AND ev.type IN `+statusEvents+`
			GROUP BY t.id)
		SELECT id, since FROM c WHERE since <= ? AND NOT EXISTS (
			SELECT 1 FROM automation_episodes a
			WHERE a.rule_id = ? AND a.ticket_id = c.id AND a.episode = CAST(epoch_us(c.since) AS VARCHAR))
		ORDER BY since, id LIMIT ?`, string(r.Trigger.Status), due, r.ID, e.opts.MaxPerTick)
	if err != nil {
		return err
	}
	type cand struct {
		id    string
		since time.Time
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.id, &c.since); err != nil {
			rows.Close()
			return err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(cands) == 0 {
		return err
	}
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.id
	}
	tickets, err := e.ticketsByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, c := range cands {
		t := tickets[c.id]
		if t == nil || !r.Matches(&Subject{Ticket: t, At: now}, e.cals) {
			continue
		}
		episode := strconv.FormatInt(c.since.UnixMicro(), 10)
		ok, err := e.claim(ctx, r.ID, t.ID, episode, now)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		status, since := r.Trigger.Status, c.since
		guard := func(cur *model.Ticket) bool { return cur.Status == status && !cur.UpdatedAt.Before(since) }
		e.act(ctx, r, t, nil, "episode:"+t.ID+":"+episode, 1, guard, map[string]string{"since": since.UTC().Format(time.RFC3339)})
	}
	return nil
}

// slaLookback is how far back the SLA checks look at least: a target
// that breached in the last hour is acted on even if no tick saw it
// running (ticks are a minute apart; the metrics clocks settle late
// events). After a longer pause they look back to the last successful
// tick.
const slaLookback = time.Hour

// tickSLA runs the SLA rules at now. last is the last successful tick
// (zero: none); the targets running since then whose trigger moment
// passed by now are acted on, each once per episode.
func (e *Engine) tickSLA(ctx context.Context, rules []*Rule, now, last time.Time) error {
	var atRisk, breached []*Rule
	maxWithin, minWithin := time.Duration(0), time.Duration(0)
	for _, r := range rules {
		if r.Trigger.On == OnSLAAtRisk {
			atRisk = append(atRisk, r)
			maxWithin = max(maxWithin, time.Duration(r.Trigger.Within))
			if minWithin == 0 || time.Duration(r.Trigger.Within) < minWithin {
				minWithin = time.Duration(r.Trigger.Within)
			}
		} else {
			breached = append(breached, r)
		}
	}
	since := now.Add(-slaLookback)
	if !last.IsZero() && last.Before(since) {
		since = last
	}
	q := metrics.Query{From: now.Add(-24 * time.Hour), To: now, AsOf: now}
	if len(atRisk) > 0 {
		targets, err := e.m.AtRisk(ctx, q, 100_000)
		if err != nil {
			return err
		}
		for _, tg := range targets {
			if tg.DueAt.Sub(now) > maxWithin {
				break // least time left first
			}
			for _, r := range atRisk {
				if (r.Trigger.Target == "" || r.Trigger.Target == tg.Target) && tg.DueAt.Sub(now) <= time.Duration(r.Trigger.Within) {
					if err := e.slaAct(ctx, r, tg, now); err != nil {
						return err
					}
				}
			}
		}
	}
	// The targets running at since (an hour ago, or the last tick before
	// a downtime) that were due by now: breached unless fulfilled in
	// between, which the ticket's clocks tell. An at-risk rule whose
	// moment (due - within) came after the last tick, with the target
	// breached unanswered by now (deskpulse was down through the whole
	// window), acts too: late, but once.
	if len(breached) == 0 && (last.IsZero() || now.Sub(last) <= minWithin) {
		return nil // no breach rule, and no at-risk window fits in between ticks
	}
	q.AsOf = since
	targets, err := e.m.AtRisk(ctx, q, 100_000)
	if err != nil {
		return err
	}
	for _, tg := range targets {
		if tg.DueAt.After(now) {
			break
		}
		for _, r := range breached {
			if r.Trigger.Target == "" || r.Trigger.Target == tg.Target {
				if err := e.slaAct(ctx, r, tg, now); err != nil {
					return err
				}
			}
		}
		if last.IsZero() {
			continue
		}
		for _, r := range atRisk {
			if (r.Trigger.Target == "" || r.Trigger.Target == tg.Target) && tg.DueAt.Add(-time.Duration(r.Trigger.Within)).After(last) {
				if err := e.slaAct(ctx, r, tg, now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// slaAct acts on one SLA target. The episode is the target within one
// resolution of the ticket: a rule escalates a target once, however its
// due time moves (a raised priority changes the policy), and again only
// after a reopen. A target due by now is checked on the ticket's clocks
// first: a breach rule acts on a breach, an at-risk rule (catching up)
// on a breach not fulfilled yet.
func (e *Engine) slaAct(ctx context.Context, r *Rule, tg metrics.AtRiskTarget, now time.Time) error {
	tickets, err := e.ticketsByID(ctx, []string{tg.TicketID})
	if err != nil {
		return err
	}
	t := tickets[tg.TicketID]
	if t == nil || !t.Status.Unresolved() {
		return nil
	}
	episode := tg.Target + ":" + strconv.Itoa(t.Reopens)
	var n int
	if err := e.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM automation_episodes WHERE rule_id = ? AND ticket_id = ? AND episode = ?`, r.ID, t.ID, episode).Scan(&n); err != nil || n > 0 {
		return err
	}
	if !tg.DueAt.After(now) {
		sla, err := e.m.TicketSLA(ctx, t.ID)
		if err != nil {
			return err
		}
		c := sla.Resolution
		if tg.Target == "first_response" {
			c = sla.FirstResponse
		}
		switch {
		case r.Trigger.On == OnSLABreached && (c == nil || c.Status == metrics.StatusAchieved):
			_, err := e.claim(ctx, r.ID, t.ID, episode, now) // settled: no breach
			return err
		case c == nil || c.Status != metrics.StatusBreached:
			return nil // paused or moved: looked at again next tick
		case r.Trigger.On == OnSLAAtRisk && c.FulfilledAt != nil:
			return nil // answered, late: nothing left to escalate
		}
	}
	if !r.Matches(&Subject{Ticket: t, At: now}, e.cals) {
		return nil
	}
	ok, err := e.claim(ctx, r.ID, t.ID, episode, now)
	if err != nil || !ok {
		return err
	}
	data := map[string]string{"due_at": tg.DueAt.UTC().Format(time.RFC3339), "target": tg.Target}
	e.act(ctx, r, t, nil, "episode:"+t.ID+":"+episode, 1, func(cur *model.Ticket) bool { return cur.Status.Unresolved() }, data)
	slog.Info("automation: SLA rule acted", "rule", r.Name, "ticket", t.ID, "target", tg.Target, "due_at", tg.DueAt)
	return nil
}
