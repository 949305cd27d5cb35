package metrics

import (
	"context"
	"errors"
	"math"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// All expected numbers below are worked out by hand from the events; the
// office calendar is Europe/Berlin Mon-Fri 09:00-17:00 (CET = UTC+1 until
// 2026-03-29 01:00 UTC, CEST = UTC+2 after), 2026-01-06 is a holiday.
// "Urgent and high" = office calendar, 60 min first response, 480 min
// resolution; "Default" = 24x7, 480 / 2400 min.

func fixtures() *builder {
	b := &builder{}
	// A, reply over a weekend (high -> Urgent and high, office calendar).
	b.create("A", "2026-01-09T15:30:00Z", model.PriorityHigh, "weekend") // Fri 16:30 Berlin
	b.reply("A", "2026-01-12T08:30:00Z", true)                           // Mon 09:30 Berlin
	b.resolve("A", "2026-01-12T14:00:00Z")                               // Mon 15:00 Berlin

	// B, holiday: urgent, created Mon 2026-01-05 16:00 Berlin, replied Wed 09:30 Berlin; Tue is a holiday.
	b.create("B", "2026-01-05T15:00:00Z", model.PriorityUrgent, "holiday")
	b.reply("B", "2026-01-07T08:30:00Z", true)

	// C, DST change in the calendar zone: Fri 2026-03-27 16:00 CET, reply Mon 2026-03-30 09:30 CEST.
	b.create("C", "2026-03-27T15:00:00Z", model.PriorityHigh, "dst")
	b.reply("C", "2026-03-30T07:30:00Z", true)

	// D, paused twice (normal -> Default, 24x7).
	b.create("D", "2026-02-02T08:00:00Z", model.PriorityNormal, "paused")
	b.reply("D", "2026-02-02T09:00:00Z", true)
	b.status("D", "2026-02-02T10:00:00Z", model.StatusPending)
	b.status("D", "2026-02-02T12:00:00Z", model.StatusOpen)
	b.status("D", "2026-02-02T14:00:00Z", model.StatusOnHold)
	b.status("D", "2026-02-02T20:00:00Z", model.StatusOpen)
	b.resolve("D", "2026-02-02T22:00:00Z")

	// E, pending for a day, still open, never replied (Default).
	b.create("E", "2026-02-02T08:00:00Z", model.PriorityNormal, "pending")
	b.status("E", "2026-02-02T09:00:00Z", model.StatusPending)
	b.status("E", "2026-02-03T09:00:00Z", model.StatusOpen)

	// Range boundary fixtures, category "range", all Default (24x7).
	// F: reopened ticket.
	b.create("F", "2026-02-09T08:00:00Z", model.PriorityNormal, "range")
	b.assign("F", "2026-02-09T08:00:00Z", "Support", "bob@example.com")
	b.reply("F", "2026-02-09T08:30:00Z", true)
	b.resolve("F", "2026-02-09T10:00:00Z")
	b.rate("F", "2026-02-09T10:30:00Z", 5)
	b.reopen("F", "2026-02-10T08:00:00Z")
	b.resolve("F", "2026-02-10T09:00:00Z")
	b.rate("F", "2026-02-10T10:00:00Z", 2)
	// G: only internal notes (and a requester comment), resolved without a reply.
	b.create("G", "2026-02-09T09:00:00Z", model.PriorityNormal, "range")
	b.assign("G", "2026-02-09T09:00:00Z", "Support", "eve@example.com")
	b.note("G", "2026-02-09T09:10:00Z")
	b.requesterComment("G", "2026-02-09T09:20:00Z")
	b.resolve("G", "2026-02-09T11:00:00Z")
	b.rate("G", "2026-02-09T12:00:00Z", 4)
	// H: created the day before the range, replied and resolved across its boundaries.
	b.create("H", "2026-02-08T23:00:00Z", model.PriorityNormal, "range")
	b.reply("H", "2026-02-09T00:30:00Z", true)
	b.resolve("H", "2026-02-10T01:00:00Z")

	// P: created normal Mon 2026-01-12 09:00 Berlin, made urgent at 11:00 Berlin.
	b.create("P", "2026-01-12T08:00:00Z", model.PriorityNormal, "policy")
	b.priority("P", "2026-01-12T10:00:00Z", model.PriorityUrgent)
	b.reply("P", "2026-01-12T10:30:00Z", true)
	b.resolve("P", "2026-01-12T15:00:00Z")
	// Q: created urgent Tue 2026-01-13 09:00 Berlin, made low at 09:30 Berlin.
	b.create("Q", "2026-01-13T08:00:00Z", model.PriorityUrgent, "policy")
	b.priority("Q", "2026-01-13T08:30:00Z", model.PriorityLow)
	b.reply("Q", "2026-01-13T10:00:00Z", true)

	// N1, N2: DST change in the reporting zone America/New_York (2026-03-08 02:00 EST -> 03:00 EDT).
	b.create("N1", "2026-03-08T04:30:00Z", model.PriorityLow, "ny") // Sat 2026-03-07 23:30 EST
	b.create("N2", "2026-03-09T04:30:00Z", model.PriorityLow, "ny") // Mon 2026-03-09 00:30 EDT
	return b
}

func fp(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.006 || math.IsNaN(a) && math.IsNaN(b) }

func checkStats(t *testing.T, what string, got Stats, count int64, mean, p50, p90 float64) {
	t.Helper()
	if got.Count != count || !near(fp(got.Mean), mean) || !near(fp(got.P50), p50) || !near(fp(got.P90), p90) {
		t.Errorf("%s: got count %d mean %v p50 %v p90 %v, want %d %v %v %v", what, got.Count, fp(got.Mean), fp(got.P50), fp(got.P90), count, mean, p50, p90)
	}
}

func checkClock(t *testing.T, what string, c *Clock, policy, status string, target, elapsed float64, due, breached string) {
	t.Helper()
	if c == nil {
		t.Fatalf("%s: no clock", what)
	}
	str := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.UTC().Format(time.RFC3339)
	}
	if c.Policy != policy || c.Status != status || !near(c.TargetMinutes, target) || !near(c.ElapsedMinutes, elapsed) ||
		str(c.DueAt) != due || str(c.BreachedAt) != breached {
		t.Errorf("%s: got %s %s target %v elapsed %v due %q breached %q; want %s %s %v %v %q %q", what,
			c.Policy, c.Status, c.TargetMinutes, c.ElapsedMinutes, str(c.DueAt), str(c.BreachedAt),
			policy, status, target, elapsed, due, breached)
	}
}

func query(t *testing.T, e *Engine, raw string) Query {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParseQuery(v, e.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func sla(t *testing.T, e *Engine, id, at string) *TicketSLA {
	t.Helper()
	s, err := e.ticketSLAAt(context.Background(), id, ts(at))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func summary(t *testing.T, e *Engine, raw string) *Summary {
	t.Helper()
	s, err := e.Summary(context.Background(), query(t, e, raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTicketClocks(t *testing.T) {
	e, _, _ := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	const urgent, def = "Urgent and high", "Default"

	// A: first response Fri 16:30-17:00 (30) + Mon 09:00-09:30 (30) = 60
	// business minutes = the 60 target: achieved. Resolution: 30 + Mon
	// 09:00-15:00 (360) = 390 <= 480: achieved.
	a := sla(t, e, "A", "2026-04-01T00:00:00Z")
	checkClock(t, "A first response", a.FirstResponse, urgent, StatusAchieved, 60, 60, "", "")
	checkClock(t, "A resolution", a.Resolution, urgent, StatusAchieved, 480, 390, "", "")

	// B: Mon 16:00-17:00 (60), Tue holiday (0), Wed 09:00-09:30 (30) = 90 >
	// 60: breached when the 60th minute passed, Mon 17:00 Berlin = 16:00Z.
	// Resolution (still open) at Wed 13:00 Berlin: 60 + 240 = 300, due when
	// 420 more Wed minutes have passed, 16:00 Berlin = 15:00Z.
	b := sla(t, e, "B", "2026-01-07T12:00:00Z")
	checkClock(t, "B first response", b.FirstResponse, urgent, StatusBreached, 60, 90, "", "2026-01-05T16:00:00Z")
	checkClock(t, "B resolution", b.Resolution, urgent, StatusActive, 480, 300, "2026-01-07T15:00:00Z", "")
	// As of Thu 10:00Z (11:00 Berlin) it has breached: Mon 60 + Wed 480 +
	// Thu 09:00-11:00 120 = 660.
	b = sla(t, e, "B", "2026-01-08T10:00:00Z")
	checkClock(t, "B resolution later", b.Resolution, urgent, StatusBreached, 480, 660, "", "2026-01-07T15:00:00Z")

	// C: Fri 16:00-17:00 CET (60) + Mon 09:00-09:30 CEST (30) = 90 > 60:
	// breached at Fri 17:00 CET = 16:00Z. (Ignoring DST, Mon 07:30Z would be
	// 08:30 and the answer 60, achieved.)
	c := sla(t, e, "C", "2026-04-01T00:00:00Z")
	checkClock(t, "C first response", c.FirstResponse, urgent, StatusBreached, 60, 90, "", "2026-03-27T16:00:00Z")

	// D: 24x7; running 08-10, 12-14, 20-22 = 360 <= 2400: achieved;
	// first response 08:00 -> 09:00 = 60.
	d := sla(t, e, "D", "2026-04-01T00:00:00Z")
	checkClock(t, "D first response", d.FirstResponse, def, StatusAchieved, 480, 60, "", "")
	checkClock(t, "D resolution", d.Resolution, def, StatusAchieved, 2400, 360, "", "")

	// E at 2026-02-02 12:00Z: pending since 09:00, resolution paused at 60;
	// first response running 4h = 240, due 08:00 + 8h = 16:00Z.
	ee := sla(t, e, "E", "2026-02-02T12:00:00Z")
	checkClock(t, "E first response", ee.FirstResponse, def, StatusActive, 480, 240, "2026-02-02T16:00:00Z", "")
	checkClock(t, "E resolution", ee.Resolution, def, StatusPaused, 2400, 60, "", "")
	// E at 2026-02-04 09:00Z: resolution ran 1h + 24h (since Feb 3 09:00) =
	// 1500; 39h remained at Feb 3 09:00, due Feb 5 00:00Z. First response
	// breached at 16:00Z on Feb 2.
	ee = sla(t, e, "E", "2026-02-04T09:00:00Z")
	checkClock(t, "E first response later", ee.FirstResponse, def, StatusBreached, 480, 2940, "", "2026-02-02T16:00:00Z")
	checkClock(t, "E resolution later", ee.Resolution, def, StatusActive, 2400, 1500, "2026-02-05T00:00:00Z", "")

	// F reopened: running 08:00-10:00 and Feb 10 08:00-09:00 = 180.
	f := sla(t, e, "F", "2026-04-01T00:00:00Z")
	checkClock(t, "F resolution", f.Resolution, def, StatusAchieved, 2400, 180, "", "")
	// G, only internal notes: the first response target is fulfilled by the
	// resolution at 11:00, 120 minutes.
	g := sla(t, e, "G", "2026-04-01T00:00:00Z")
	checkClock(t, "G first response", g.FirstResponse, def, StatusAchieved, 480, 120, "", "")

	// P: urgent from 11:00 Berlin, so "Urgent and high" measured from
	// creation: 09:00 -> 11:30 Berlin = 150 > 60, due 10:00 Berlin (09:00Z)
	// but the policy only applied from 10:00Z: breached at 10:00Z.
	// Resolution 09:00 -> 16:00 Berlin = 420 <= 480.
	p := sla(t, e, "P", "2026-04-01T00:00:00Z")
	checkClock(t, "P first response", p.FirstResponse, urgent, StatusBreached, 60, 150, "", "2026-01-12T10:00:00Z")
	checkClock(t, "P resolution", p.Resolution, urgent, StatusAchieved, 480, 420, "", "")
	// Q: low from 08:30Z, so Default (24x7): reply after 120 <= 480.
	q := sla(t, e, "Q", "2026-04-01T00:00:00Z")
	checkClock(t, "Q first response", q.FirstResponse, def, StatusAchieved, 480, 120, "", "")
	// As of 08:15Z, before the change, Q was under "Urgent and high":
	// 09:00 -> 09:15 Berlin = 15 business minutes, due 10:00 Berlin = 09:00Z.
	q = sla(t, e, "Q", "2026-01-13T08:15:00Z")
	checkClock(t, "Q first response before change", q.FirstResponse, urgent, StatusActive, 60, 15, "2026-01-13T09:00:00Z", "")

	// The public entry point resolves numbers and reports unknown tickets.
	if _, err := e.TicketSLA(context.Background(), "nope"); err != model.ErrNotFound {
		t.Fatalf("unknown ticket: %v", err)
	}
}

func TestDurationsPerTicket(t *testing.T) {
	e, _, _ := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	// A, weekend: FRT Fri 15:30Z -> Mon 08:30Z = 65h = 3900 calendar, 60
	// business; resolution 70.5h = 4230 calendar, 390 business; new 3900 +
	// open 330 = requester wait and agent work 4230.
	s := summary(t, e, "from=2026-01-12&to=2026-01-13&category=weekend")
	checkStats(t, "A first response", s.FirstResponseMinutes.Stats, 1, 3900, 3900, 3900)
	checkStats(t, "A first response business", s.FirstResponseMinutes.Business, 1, 60, 60, 60)
	checkStats(t, "A resolution", s.ResolutionMinutes.Stats, 1, 4230, 4230, 4230)
	checkStats(t, "A resolution business", s.ResolutionMinutes.Business, 1, 390, 390, 390)
	ds := series[*Durations](t, e, "durations", "from=2026-01-12&to=2026-01-13&category=weekend")
	checkStats(t, "A requester wait", ds.RequesterWait.Stats, 1, 4230, 4230, 4230)
	checkStats(t, "A agent work business", ds.AgentWork.Business, 1, 390, 390, 390)

	// D, paused twice: new 60, open 60 + 120 + 120, pending 120, on hold 360.
	ds = series[*Durations](t, e, "durations", "from=2026-02-02&to=2026-02-03&category=paused")
	checkStats(t, "D requester wait", ds.RequesterWait.Stats, 1, 720, 720, 720)
	checkStats(t, "D agent wait", ds.AgentWait.Stats, 1, 120, 120, 120)
	checkStats(t, "D on hold", ds.OnHold.Stats, 1, 360, 360, 360)
	checkStats(t, "D agent work", ds.AgentWork.Stats, 1, 360, 360, 360)
	checkStats(t, "D resolution", ds.Resolution.Stats, 1, 840, 840, 840)
	checkStats(t, "D resolution business (24x7)", ds.Resolution.Business, 1, 840, 840, 840)
}

func TestSummaryRangeBoundary(t *testing.T) {
	e, _, _ := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	s := summary(t, e, "from=2026-02-09&to=2026-02-10&category=range")
	// Created in [Feb 9, Feb 10): F, G (H was created Feb 8 23:00).
	if s.TicketsCreated != 2 {
		t.Errorf("created %d, want 2", s.TicketsCreated)
	}
	// Resolutions in range: F (10:00), G (11:00); H resolves Feb 10 01:00.
	if s.TicketsResolved != 2 {
		t.Errorf("resolved %d, want 2", s.TicketsResolved)
	}
	// Backlog at Feb 10 00:00: H only (F was resolved then; reopened later).
	if s.Backlog != 1 {
		t.Errorf("backlog %d, want 1", s.Backlog)
	}
	// First replies in range: F 30 (08:00 -> 08:30), H 90 (23:00 -> 00:30);
	// G has none. Mean 60, p50 60, p90 30 + 0.9 x 60 = 84.
	checkStats(t, "first response", s.FirstResponseMinutes.Stats, 2, 60, 60, 84)
	checkStats(t, "first response business (24x7)", s.FirstResponseMinutes.Business, 2, 60, 60, 84)
	// First resolutions in range: F 120, G 120.
	checkStats(t, "first resolution", s.FirstResolutionMinutes.Stats, 2, 120, 120, 120)
	// Last resolutions in range: G only (F's last is Feb 10 09:00).
	checkStats(t, "resolution", s.ResolutionMinutes.Stats, 1, 120, 120, 120)
	// SLA first response decided in range: F 08:30, G (by its resolution)
	// 11:00, H 00:30: 3 achieved. Resolution: G achieved; F and H are
	// decided on Feb 10, so active at the end of the range.
	want := SLA{FirstResponse: SLATarget{Achieved: 3, CompliancePct: model.Ptr(100.0)},
		Resolution: SLATarget{Achieved: 1, Active: 2, CompliancePct: model.Ptr(100.0)}}
	if !sameSLA(s.SLA, want) {
		t.Errorf("sla %+v, want %+v", s.SLA, want)
	}
	// CSAT: G's 4 at Feb 9 12:00 counts; F's latest rating (2) is on Feb 10.
	// 1 response, 1 satisfied: 100%; response rate 1 / 2 resolved = 50%.
	if s.CSAT.Responses != 1 || s.CSAT.Satisfied != 1 || fp(s.CSAT.ScorePct) != 100 || fp(s.CSAT.ResponseRatePct) != 50 {
		t.Errorf("csat %+v", s.CSAT)
	}
	// Reopen rate: F (ever reopened) / {F, G} = 50%; one-touch: F 1 reply,
	// G 0 replies: 100%.
	if fp(s.ReopenRatePct) != 50 || fp(s.OneTouchPct) != 100 {
		t.Errorf("reopen %v one-touch %v", fp(s.ReopenRatePct), fp(s.OneTouchPct))
	}
	// Previous period [Feb 8, Feb 9): H created; backlog at Feb 9 00:00 = H.
	if !s.Previous.From.Equal(ts("2026-02-08T00:00:00Z")) || s.Previous.TicketsCreated != 1 || s.Previous.Backlog != 1 || s.Previous.TicketsResolved != 0 {
		t.Errorf("previous %+v", s.Previous)
	}
	// The next day: F's second resolution and H's resolution.
	s = summary(t, e, "from=2026-02-10&to=2026-02-11&category=range")
	// Resolution: F 08:00 Feb 9 -> 09:00 Feb 10 = 1500, H 23:00 -> 01:00 (+1 day) = 1560.
	checkStats(t, "resolution next day", s.ResolutionMinutes.Stats, 2, 1530, 1530, 1554)
	if s.TicketsResolved != 2 || fp(s.ReopenRatePct) != 50 || s.Backlog != 0 || s.CSAT.Responses != 1 || fp(s.CSAT.ScorePct) != 0 {
		t.Errorf("next day %+v", s.Figures)
	}
	// As of Feb 9 12:00 (events up to then only): F has not been reopened,
	// so its only resolution (Feb 9 10:00) is its last: 120 minutes.
	s = summary(t, e, "from=2026-02-09&to=2026-02-10&category=range&asof=2026-02-09T12:00:00Z")
	checkStats(t, "resolution as of", s.ResolutionMinutes.Stats, 2, 120, 120, 120)
	if s.CSAT.Responses != 2 || s.TicketsResolved != 2 || fp(s.ReopenRatePct) != 0 || s.Backlog != 1 {
		t.Errorf("as of: %+v", s.Figures)
	}
}

func TestSummarySLAAndFilters(t *testing.T) {
	e, _, _ := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	// January, policy tickets: P first response breached (at 10:00Z Jan 12),
	// P resolution achieved; Q first response achieved, Q resolution (Default,
	// 2400 min running since Jan 13 08:00Z) due Jan 14 24:00 = Jan 15 00:00Z: breached in range.
	s := summary(t, e, "from=2026-01-01&to=2026-02-01&category=policy")
	want := SLA{FirstResponse: SLATarget{Achieved: 1, Breached: 1, CompliancePct: model.Ptr(50.0)},
		Resolution: SLATarget{Achieved: 1, Breached: 1, CompliancePct: model.Ptr(50.0)}}
	if !sameSLA(s.SLA, want) {
		t.Errorf("sla %+v, want %+v", s.SLA, want)
	}
	// Filter by priority (current values): P is urgent, Q low.
	s = summary(t, e, "from=2026-01-01&to=2026-02-01&category=policy&priority=urgent")
	if s.TicketsCreated != 1 || s.SLA.FirstResponse.Breached != 1 || s.SLA.Resolution.Achieved != 1 {
		t.Errorf("urgent only: %+v", s.Figures)
	}
	// Agent filter: F is bob's, G eve's.
	s = summary(t, e, "from=2026-02-09&to=2026-02-10&agent=eve@example.com")
	if s.TicketsCreated != 1 || s.TicketsResolved != 1 || fp(s.OneTouchPct) != 100 {
		t.Errorf("eve: %+v", s.Figures)
	}
}

func TestReportingZones(t *testing.T) {
	e, _, _ := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	// A was created 2026-01-09 15:30Z: Jan 9 in UTC, Jan 10 00:30 in Tokyo.
	if s := summary(t, e, "from=2026-01-09&to=2026-01-10&category=weekend"); s.TicketsCreated != 1 {
		t.Errorf("UTC: created %d, want 1", s.TicketsCreated)
	}
	if s := summary(t, e, "from=2026-01-09&to=2026-01-10&category=weekend&tz=Asia/Tokyo"); s.TicketsCreated != 0 {
		t.Errorf("Tokyo: created %d, want 0", s.TicketsCreated)
	}
	// New York: Mar 8 is 23 hours (05:00Z -> 04:00Z Mar 9). N1 (Mar 8
	// 04:30Z) is Mar 7 23:30 EST, N2 (Mar 9 04:30Z) Mar 9 00:30 EDT.
	v := series[*Volume](t, e, "volume", "from=2026-03-07&to=2026-03-10&tz=America/New_York&category=ny")
	got := []int64{}
	for _, p := range v.Points {
		got = append(got, p.Created)
	}
	if len(got) != 3 || got[0] != 1 || got[1] != 0 || got[2] != 1 {
		t.Errorf("NY days: %v, want [1 0 1]", got)
	}
	if !v.Points[1].Start.Equal(ts("2026-03-08T05:00:00Z")) || !v.Points[1].End.Equal(ts("2026-03-09T04:00:00Z")) {
		t.Errorf("NY Mar 8 bucket %v - %v", v.Points[1].Start, v.Points[1].End)
	}
	if s := summary(t, e, "from=2026-03-08&to=2026-03-09&tz=America/New_York&category=ny"); s.TicketsCreated != 0 || s.Backlog != 1 {
		t.Errorf("NY Mar 8: created %d backlog %d, want 0 and 1", s.TicketsCreated, s.Backlog)
	}
}

func sameSLA(a, b SLA) bool {
	same := func(x, y SLATarget) bool {
		return x.Achieved == y.Achieved && x.Breached == y.Breached && x.Active == y.Active && near(fp(x.CompliancePct), fp(y.CompliancePct))
	}
	return same(a.FirstResponse, b.FirstResponse) && same(a.Resolution, b.Resolution)
}

func series[T any](t *testing.T, e *Engine, name, raw string) T {
	t.Helper()
	v, err := e.Series(context.Background(), name, query(t, e, raw))
	if err != nil {
		t.Fatal(err)
	}
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%s returned %T", name, v)
	}
	return out
}

func TestSeries(t *testing.T) {
	e, _, _ := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	const r = "from=2026-02-08&to=2026-02-11&category=range"
	// Created: H (Feb 8), F and G (Feb 9). Resolved: F, G (Feb 9); F, H (Feb 10).
	v := series[*Volume](t, e, "volume", r)
	if got := []int64{v.Points[0].Created, v.Points[1].Created, v.Points[2].Created, v.Points[0].Resolved, v.Points[1].Resolved, v.Points[2].Resolved}; !slices.Equal(got, []int64{1, 2, 0, 0, 2, 2}) {
		t.Errorf("volume %v", got)
	}
	// Unresolved at the end of Feb 8: H; Feb 9: H; Feb 10: none.
	bl := series[*Backlog](t, e, "backlog", r)
	if got := []int64{bl.Points[0].Backlog, bl.Points[1].Backlog, bl.Points[2].Backlog}; !slices.Equal(got, []int64{1, 1, 0}) {
		t.Errorf("backlog %v", got)
	}
	// First response decided: H 00:30, F 08:30, G 11:00 (all Feb 9).
	// Resolution decided: G Feb 9, H and F Feb 10. Active at each day's end:
	// FR 1 (H), 0, 0; resolution 1 (H), 2 (F, H), 0.
	s := series[*SLASeries](t, e, "sla_compliance", r)
	got := []int64{}
	for _, p := range s.Points {
		got = append(got, p.FirstResponse.Achieved, p.FirstResponse.Active, p.Resolution.Achieved, p.Resolution.Active)
	}
	if !slices.Equal(got, []int64{0, 1, 0, 1, 3, 0, 1, 2, 0, 0, 2, 0}) {
		t.Errorf("sla series %v", got)
	}
	// Feb 9 at 08:00 and 09:00 UTC, a Monday.
	h := series[*Heatmap](t, e, "created_heatmap", "from=2026-02-09&to=2026-02-10&category=range")
	if h.Cells[0][8] != 1 || h.Cells[0][9] != 1 {
		t.Errorf("heatmap mon %v", h.Cells[0])
	}
	// At Feb 10 00:00 only H is open, 25 hours old.
	age := series[*BacklogAge](t, e, "backlog_age", "from=2026-02-09&to=2026-02-10&category=range")
	if age.Buckets[1].Label != "1-3d" || age.Buckets[1].Count != 1 || age.Buckets[0].Count != 0 {
		t.Errorf("backlog age %+v", age.Buckets)
	}
	// Agent table for Feb 9: bob has F (reply after 30 min; FR achieved,
	// resolution decided Feb 10; F's latest rating is on Feb 10), eve has G
	// (no reply; both targets achieved; rated 4), H is unassigned (reply
	// after 90 min, open at the end).
	a := series[*Breakdown](t, e, "agents", "from=2026-02-09&to=2026-02-10&category=range")
	byKey := map[string]BreakdownRow{}
	for _, row := range a.Rows {
		byKey[row.Key] = row
	}
	bob, eve, none := byKey["bob@example.com"], byKey["eve@example.com"], byKey[""]
	if bob.TicketsCreated != 1 || bob.TicketsAssigned != 1 || bob.TicketsResolved != 1 || bob.Backlog != 0 ||
		fp(bob.FirstResponseMedian) != 30 || fp(bob.SLACompliancePct) != 100 || bob.CSATScorePct != nil {
		t.Errorf("bob %+v", bob)
	}
	if eve.TicketsResolved != 1 || eve.FirstResponseMedian != nil || fp(eve.ResolutionMedian) != 120 || fp(eve.SLACompliancePct) != 100 || fp(eve.CSATScorePct) != 100 {
		t.Errorf("eve %+v", eve)
	}
	if none.Backlog != 1 || fp(none.FirstResponseMedian) != 90 || none.TicketsCreated != 0 {
		t.Errorf("unassigned %+v", none)
	}
	// Every listed metric answers.
	for _, d := range e.List() {
		if _, err := e.Series(context.Background(), d.Name, query(t, e, "from=2026-01-01&to=2026-04-01&interval=week")); err != nil {
			t.Errorf("%s: %v", d.Name, err)
		}
	}
	if _, err := e.Series(context.Background(), "nope", query(t, e, "")); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("unknown series: %v", err)
	}
}

func TestSimulate(t *testing.T) {
	e, _, _ := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	// One 24x7 policy, 3h first response, 8h resolution, for P and Q:
	// P reply after 150 <= 180, resolved after 420 <= 480: both achieved
	// (actually FR breached under "Urgent and high", resolution achieved).
	// Q reply after 120 <= 180 achieved (actual: achieved under Default);
	// still open, due 08:00Z + 8h: breached (actual: breached under Default).
	cfg := Config{SLA: SLAConfig{Policies: []Policy{{Name: "All", FirstResponse: 3 * time.Hour, Resolution: 8 * time.Hour}}}}
	res, err := e.Simulate(context.Background(), SimulateRequest{Config: cfg, Query: query(t, e, "from=2026-01-01&to=2026-02-01&category=policy")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].Policy != "All" || res.Rows[0].Priority != "low" || res.Rows[1].Priority != "urgent" {
		t.Fatalf("rows %+v", res.Rows)
	}
	low, urg := res.Rows[0], res.Rows[1]
	if low.Simulated.FirstResponse.Achieved != 1 || low.Simulated.Resolution.Breached != 1 || low.Actual.FirstResponse.Achieved != 1 || low.Actual.Resolution.Breached != 1 {
		t.Errorf("low %+v", low)
	}
	if urg.Simulated.FirstResponse.Achieved != 1 || urg.Simulated.Resolution.Achieved != 1 || urg.Actual.FirstResponse.Breached != 1 || urg.Actual.Resolution.Achieved != 1 {
		t.Errorf("urgent %+v", urg)
	}
	if fp(res.Total.Simulated.FirstResponse.CompliancePct) != 100 || fp(res.Total.Actual.FirstResponse.CompliancePct) != 50 ||
		fp(res.Total.Simulated.Resolution.CompliancePct) != 50 || fp(res.Total.Actual.Resolution.CompliancePct) != 50 {
		t.Errorf("total %+v", res.Total)
	}
}

// TestIncrementalRefresh adds events after the engine started and checks
// that the refreshed table equals a full rebuild.
func TestIncrementalRefresh(t *testing.T) {
	ctx := context.Background()
	e, st, w := load(t, fixtures(), testConfig("2026-04-01T00:00:00Z"))
	more := &builder{n: 1000}
	more.reopen("A", "2026-01-13T08:00:00Z")
	more.resolve("A", "2026-01-13T09:00:00Z")
	more.create("Z", "2026-02-09T12:00:00Z", model.PriorityHigh, "range")
	if err := w.BulkLoad(ctx, more.events); err != nil {
		t.Fatal(err)
	}
	s := summary(t, e, "from=2026-02-09&to=2026-02-10&category=range")
	if s.TicketsCreated != 3 || s.Backlog != 2 {
		t.Errorf("after new events: created %d backlog %d, want 3 and 2", s.TicketsCreated, s.Backlog)
	}
	var diff int64
	full := ticketSQL(&e.cfg, "true", nil, ts("2025-12-01T00:00:00Z"), ts("2027-12-01T00:00:00Z"))
	if err := st.DB.QueryRowContext(ctx, `SELECT count(*) FROM ((SELECT * FROM metrics_tickets EXCEPT ALL (`+full+`)) UNION ALL ((`+full+`) EXCEPT ALL SELECT * FROM metrics_tickets))`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		t.Errorf("incremental table differs from a rebuild in %d rows", diff)
	}
	// A reopened engine on the same file keeps the table (same fingerprint).
	e2, err := New(st, e.cfg)
	if err != nil || e2.seq != e.seq {
		t.Fatalf("reopen: %v, seq %d vs %d", err, e2.seq, e.seq)
	}
	// Another config rebuilds it.
	cfg := e.cfg
	cfg.SLA.Policies = cfg.SLA.Policies[1:]
	e3, err := New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := e3.ticketSLAAt(ctx, "A", ts("2026-04-01T00:00:00Z"))
	if a.FirstResponse.Policy != "Default" {
		t.Errorf("after config change A is under %q", a.FirstResponse.Policy)
	}
}
