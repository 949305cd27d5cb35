package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TicketRow is one ticket's per-ticket figures at a query's knowledge
// instant, as the Excel export and the CSV list them: its current fields,
// timestamps, calendar and business durations (minutes, nil while not
// reached) and both SLA targets.
type TicketRow struct {
	ID                            string
	Number                        int64
	Subject                       string
	RequesterName, RequesterEmail string
	Status, Priority, Type        string
	Category, Team, Assignee      string
	Channel                       string
	Tags                          string // space separated
	CreatedAt                     time.Time
	FirstReplyAt                  *time.Time
	FirstResolvedAt               *time.Time
	ResolvedAt                    *time.Time // last resolution, while resolved or closed
	Reopens, AgentReplies         int64

	FirstResponseMin, FirstResponseBMin     *float64
	FirstResolutionMin, FirstResolutionBMin *float64
	ResolutionMin, ResolutionBMin           *float64

	FirstResponseSLA, ResolutionSLA TargetRow

	CSATScore   *int64
	CSATAt      *time.Time
	CSATComment string
}

// Policy is the ticket's SLA policy: its resolution target's, else its
// first response target's.
func (r *TicketRow) Policy() string {
	if r.ResolutionSLA.Policy != "" {
		return r.ResolutionSLA.Policy
	}
	return r.FirstResponseSLA.Policy
}

// ResolutionDecidedOrDue is when the resolution target was achieved or
// breached, or while it runs, when it falls due.
func (r *TicketRow) ResolutionDecidedOrDue() *time.Time {
	if r.ResolutionSLA.DecidedAt != nil {
		return r.ResolutionSLA.DecidedAt
	}
	return r.ResolutionSLA.DueAt
}

// TargetRow is one SLA target of a ticket at the knowledge instant.
// Status is "" when no policy applies, else achieved, breached, active or
// paused (see Clock).
type TargetRow struct {
	Policy         string
	Status         string
	TargetMinutes  *float64
	ElapsedMinutes *float64   // business minutes of the calendar, known once fulfilled
	DecidedAt      *time.Time // fulfilled (achieved) or breached at
	DueAt          *time.Time // active targets: when they breach if nothing happens
}

// TicketRows calls fn for every ticket created in q's range that passes
// its filters, oldest first, with its figures as of q's knowledge instant.
// The rows are streamed: fn sees one at a time.
func (e *Engine) TicketRows(ctx context.Context, q Query, fn func(*TicketRow) error) error {
	return e.TicketRowsPage(ctx, q, AllTickets, fn)
}

// TicketKey is a ticket's place in the export order (created_at, id).
type TicketKey struct {
	At time.Time
	ID string
}

// TicketPage is a slice of the tickets' export order.
type TicketPage = Page[TicketKey]

// AllTickets is the page of every ticket.
var AllTickets = TicketPage{}

// TicketPages splits the tickets TicketRows lists for q into pages of
// size (the last may have fewer), in order, so that each page is sorted
// and read on its own. (Over a replay, an as-of query, each page computes
// the replay again.)
func (e *Engine) TicketPages(ctx context.Context, q Query, size int) ([]TicketPage, error) {
	if size < 1 {
		return nil, fmt.Errorf("ticket pages: size %d < 1", size)
	}
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	pages, err := cutPages(ctx, e, pageBounds(`created_at, ticket_id`, "WITH "+e.ticketsCTE(&q, k), "t", period{q.From, q.To}.has("created_at"), size), nil,
		func(rows *sql.Rows, key *TicketKey) error { return rows.Scan(&key.At, &key.ID) })
	if err != nil {
		return nil, fmt.Errorf("ticket pages: %w", err)
	}
	return pages, nil
}

// Page is a contiguous slice of an export order: the rows after After
// (exclusive) up to Through (inclusive); nil leaves that end open.
type Page[K any] struct {
	After, Through *K
}

// pageBounds is the query of the sort keys (cols, the order) of every
// size-th row of from (after cte, kept by where) and of its last: the
// boundaries cost a sort of the keys, not of the rows.
func pageBounds(cols, cte, from, where string, size int) string {
	return fmt.Sprintf(`%s SELECT %[2]s FROM (
		SELECT %[2]s, row_number() OVER (ORDER BY %[2]s) AS rn, count(*) OVER () AS n
		FROM %[3]s WHERE %[4]s) WHERE rn %% %[5]d = 0 OR rn = n ORDER BY rn`, cte, cols, from, where, size)
}

// cutPages runs a pageBounds query and cuts the order at its keys; with
// no rows there is one page of everything.
func cutPages[K any](ctx context.Context, e *Engine, query string, args []any, scan func(*sql.Rows, *K) error) ([]Page[K], error) {
	rows, err := e.st.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		pages []Page[K]
		after *K
	)
	for rows.Next() {
		key := new(K)
		if err := scan(rows, key); err != nil {
			return nil, err
		}
		pages = append(pages, Page[K]{After: after, Through: key})
		after = key
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return []Page[K]{{}}, nil
	}
	return pages, nil
}

// TicketRowsPage is TicketRows for one page of tickets.
func (e *Engine) TicketRowsPage(ctx context.Context, q Query, page TicketPage, fn func(*TicketRow) error) error {
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return err
	}
	// The page's bounds, and the tickets joined for their stored fields
	// restricted to them, so that a page's join is its own size.
	from, to := q.From, q.To
	where := period{q.From, q.To}.has("t.created_at")
	var args []any
	if a := page.After; a != nil {
		from = a.At
		where, args = keyBound(where, args, "t.created_at", "t.ticket_id", true, a.At, a.ID)
	}
	if t := page.Through; t != nil {
		to = t.At
		where, args = keyBound(where, args, "t.created_at", "t.ticket_id", false, t.At, t.ID)
	}
	args = append([]any{from, to}, args...)
	query := fmt.Sprintf(`WITH %s
	SELECT t.ticket_id, coalesce(p.number, 0), coalesce(p.subject, ''), coalesce(p.requester_name, ''), coalesce(p.requester_email, ''),
		coalesce(t.status, ''), coalesce(t.priority, ''), coalesce(t.type, ''), coalesce(t.category, ''), coalesce(t.team, ''),
		coalesce(t.assignee, ''), coalesce(t.channel, ''), coalesce(array_to_string(p.tags, ' '), ''),
		t.created_at, t.first_reply_at, t.first_resolved_at, t.resolved_at, t.reopens::BIGINT, t.agent_replies::BIGINT,
		t.frt_min, t.frt_bmin, t.first_res_min, t.first_res_bmin, t.res_min, t.res_bmin,
		t.fr_policy, t.fr_target, t.fr_elapsed, t.fr_o, t.fr_d, t.fr_breach_at, true,
		t.res_policy, t.res_target, t.res_elapsed, t.res_o, t.res_d, t.res_breach_at, t.res_running,
		t.csat_score::BIGINT, t.csat_at, coalesce(p.csat_comment, '')
	FROM t LEFT JOIN (SELECT id, number, subject, requester_name, requester_email, tags, csat_comment FROM tickets WHERE created_at >= ? AND created_at <= ?) p ON p.id = t.ticket_id
	WHERE %s
	ORDER BY t.created_at, t.ticket_id`, e.ticketsCTE(&q, k), where)
	rows, err := e.st.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("ticket rows: %w", err)
	}
	defer rows.Close()
	var (
		r                         TicketRow
		fr, res                   exportTargetScan
		firstReply, firstResolved sql.NullTime
		resolved, csatAt          sql.NullTime
		frt, frtB, fres, fresB    sql.NullFloat64
		full, fullB               sql.NullFloat64
		csat                      sql.NullInt64
	)
	for rows.Next() {
		if err := rows.Scan(&r.ID, &r.Number, &r.Subject, &r.RequesterName, &r.RequesterEmail,
			&r.Status, &r.Priority, &r.Type, &r.Category, &r.Team, &r.Assignee, &r.Channel, &r.Tags,
			&r.CreatedAt, &firstReply, &firstResolved, &resolved, &r.Reopens, &r.AgentReplies,
			&frt, &frtB, &fres, &fresB, &full, &fullB,
			&fr.policy, &fr.target, &fr.elapsed, &fr.outcome, &fr.decided, &fr.breach, &fr.running,
			&res.policy, &res.target, &res.elapsed, &res.outcome, &res.decided, &res.breach, &res.running,
			&csat, &csatAt, &r.CSATComment); err != nil {
			return fmt.Errorf("ticket rows: %w", err)
		}
		r.FirstReplyAt, r.FirstResolvedAt, r.ResolvedAt, r.CSATAt = exportTime(firstReply), exportTime(firstResolved), exportTime(resolved), exportTime(csatAt)
		r.FirstResponseMin, r.FirstResponseBMin = exportFloat(frt), exportFloat(frtB)
		r.FirstResolutionMin, r.FirstResolutionBMin = exportFloat(fres), exportFloat(fresB)
		r.ResolutionMin, r.ResolutionBMin = exportFloat(full), exportFloat(fullB)
		r.FirstResponseSLA, r.ResolutionSLA = fr.row(), res.row()
		r.CSATScore = nil
		if csat.Valid {
			v := csat.Int64
			r.CSATScore = &v
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

type exportTargetScan struct {
	policy, outcome sql.NullString
	target, elapsed sql.NullFloat64
	decided, breach sql.NullTime
	running         sql.NullBool
}

func (s *exportTargetScan) row() TargetRow {
	if !s.policy.Valid {
		return TargetRow{}
	}
	t := TargetRow{Policy: s.policy.String, TargetMinutes: exportFloat(s.target), ElapsedMinutes: exportFloat(s.elapsed)}
	switch {
	case s.outcome.Valid:
		t.Status, t.DecidedAt = s.outcome.String, exportTime(s.decided)
	case s.running.Bool:
		t.Status, t.DueAt = StatusActive, exportTime(s.breach)
	default:
		t.Status = StatusPaused
	}
	return t
}

// EventRow is one stored event as the export lists it. Its strings may
// point into the query's buffers: they are valid during the call of fn
// that receives the row, not after.
type EventRow struct {
	Seq                      int64
	At                       time.Time
	Number                   int64
	Type                     string
	Actor, ActorKind         string
	Status, Priority         string
	Team, Assignee, Category string
	Public                   *bool
	Score                    *int64
	Text                     string // comment body or CSAT comment
}

// EventKey is an event's place in the export order (occurred_at, seq).
type EventKey struct {
	At  time.Time
	Seq int64
}

// EventPage is a slice of the events' export order.
type EventPage = Page[EventKey]

// AllEvents is the page of every event.
var AllEvents = EventPage{}

// eventsQuery is the FROM and WHERE of the events EventRows lists for q
// (knowledge instant k), restricted to page; its arguments follow.
func (e *Engine) eventsQuery(q *Query, k time.Time, page EventPage) (cte, where string, args []any) {
	if q.filtered() {
		cte = `WITH ` + e.ticketsCTE(q, k)
	}
	where = period{q.From, q.To}.has("ev.occurred_at") + " AND " + eventsIn(q, k, "ev.")
	if a := page.After; a != nil {
		where, args = keyBound(where, args, "ev.occurred_at", "ev.seq", true, a.At, a.Seq)
	}
	if t := page.Through; t != nil {
		where, args = keyBound(where, args, "ev.occurred_at", "ev.seq", false, t.At, t.Seq)
	}
	return cte, where, args
}

// keyBound adds to where (and its args) that the sort key (atCol, tieCol)
// comes after (at, tie), exclusive, or up to it, inclusive.
func keyBound(where string, args []any, atCol, tieCol string, after bool, at time.Time, tie any) (string, []any) {
	cmp, tieCmp := "<", "<="
	if after {
		cmp, tieCmp = ">", ">"
	}
	where += fmt.Sprintf(" AND (%[1]s %[3]s ? OR (%[1]s = ? AND %[2]s %[4]s ?))", atCol, tieCol, cmp, tieCmp)
	return where, append(args, at, at, tie)
}

// EventPages splits the events EventRows lists for q into pages of size
// events (the last may have fewer), in order, so that pages can be
// written independently (the workbook writes each in its own goroutine).
func (e *Engine) EventPages(ctx context.Context, q Query, size int) ([]EventPage, error) {
	if size < 1 {
		return nil, fmt.Errorf("event pages: size %d < 1", size)
	}
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return nil, err
	}
	cte, where, args := e.eventsQuery(&q, k, AllEvents)
	pages, err := cutPages(ctx, e, pageBounds(`occurred_at, seq`, cte, "events ev", where, size), args,
		func(rows *sql.Rows, key *EventKey) error { return rows.Scan(&key.At, &key.Seq) })
	if err != nil {
		return nil, fmt.Errorf("event pages: %w", err)
	}
	return pages, nil
}

// EventRows calls fn for every event of page that occurred in q's range
// (up to its knowledge instant) on a ticket that passes q's filters, in
// order (occurred_at, then seq). The rows are streamed.
func (e *Engine) EventRows(ctx context.Context, q Query, page EventPage, fn func(*EventRow) error) error {
	k, err := e.prepare(ctx, &q)
	if err != nil {
		return err
	}
	cte, where, args := e.eventsQuery(&q, k, page)
	// The ticket numbers come from the tickets that can have an event in
	// the page: created before its end and updated since its start. That
	// keeps the join's hash table to the page's tickets, not all of them.
	from, to := q.From, q.To
	if page.After != nil {
		from = page.After.At
	}
	if page.Through != nil {
		to = page.Through.At
	}
	query := fmt.Sprintf(`%s SELECT ev.seq, ev.occurred_at, coalesce(p.number, ev.number, 0), ev.type, ev.actor, ev.actor_kind,
		coalesce(ev.status, ''), coalesce(ev.priority, ''), coalesce(ev.team, ''), coalesce(ev.assignee, ''), coalesce(ev.category, ''),
		ev.public, ev.score::BIGINT, coalesce(ev.body, ev.comment, '')
	FROM events ev LEFT JOIN (SELECT id, number FROM tickets WHERE created_at <= ? AND updated_at >= ?) p ON p.id = ev.ticket_id
	WHERE %s
	ORDER BY ev.occurred_at, ev.seq`, cte, where)
	if err := e.scanEventRows(ctx, query, append([]any{to, from}, args...), fn); err != nil {
		return fmt.Errorf("event rows: %w", err)
	}
	return nil
}

// scanEventRowsSQL reads the rows of an EventRows query through
// database/sql (builds without Arrow).
func (e *Engine) scanEventRowsSQL(ctx context.Context, query string, args []any, fn func(*EventRow) error) error {
	rows, err := e.st.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		r      EventRow
		public sql.NullBool
		score  sql.NullInt64
	)
	for rows.Next() {
		if err := rows.Scan(&r.Seq, &r.At, &r.Number, &r.Type, &r.Actor, &r.ActorKind,
			&r.Status, &r.Priority, &r.Team, &r.Assignee, &r.Category, &public, &score, &r.Text); err != nil {
			return err
		}
		r.Public, r.Score = nil, nil
		if public.Valid {
			v := public.Bool
			r.Public = &v
		}
		if score.Valid {
			v := score.Int64
			r.Score = &v
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func exportTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

func exportFloat(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	v := f.Float64
	return &v
}
