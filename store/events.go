package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/model"
)

// eventColumns is the events table's column order, shared by the appender
// and the readers.
const eventColumns = `seq, event_id, ticket_id, type, occurred_at, actor, actor_kind, number,
	subject, description, requester_name, requester_email, ticket_type, priority, category,
	channel, tags, fields, team, assignee, status, public, body, score, comment`

// AppendEvents appends events with the DuckDB appender inside conn's open
// transaction. Seq must already be set.
func AppendEvents(conn *sql.Conn, events []*model.Event) error {
	return WithAppender(conn, "events", func(a *duckdb.Appender) error {
		for _, e := range events {
			if err := a.AppendRow(eventRow(e)...); err != nil {
				return fmt.Errorf("append event %s: %w", e.ID, err)
			}
		}
		return nil
	})
}

// EventValues returns an event's row in eventColumns order, for an
// appender on a table that starts with the events columns.
func EventValues(e *model.Event) []driver.Value { return eventRow(e) }

func eventRow(e *model.Event) []driver.Value {
	var number, tags, fields, public, score any
	if e.Number != 0 {
		number = e.Number
	}
	if e.Tags != nil {
		tags = e.Tags
	}
	if e.Fields != nil {
		fields = orderedMap(e.Fields)
	}
	if e.Public != nil {
		public = *e.Public
	}
	if e.Score != nil {
		score = int32(*e.Score)
	}
	return []driver.Value{
		e.Seq, e.ID, e.Ticket, string(e.Type), e.At, e.Actor, string(e.ActorKind), number,
		nullable(e.Subject), nullable(e.Description), nullable(e.RequesterName), nullable(e.RequesterEmail),
		nullable(e.TicketType), nullable(e.Priority), nullable(e.Category), nullable(e.Channel),
		tags, fields, nullable(e.Team), nullable(e.Assignee), nullable(e.Status), public,
		nullable(e.Body), score, nullable(e.Comment),
	}
}

// nullable turns an optional string-like field into a driver value.
func nullable[T ~string](p *T) any {
	if p == nil {
		return nil
	}
	return string(*p)
}

// MaxSeq returns the highest stored event sequence number (0 when empty).
func (s *Store) MaxSeq(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM events`).Scan(&n)
	return n, err
}

// TicketEvents returns a ticket's timeline, oldest first.
func (s *Store) TicketEvents(ctx context.Context, ticketID string) ([]*model.Event, error) {
	return s.events(ctx, `SELECT `+eventColumns+` FROM events WHERE ticket_id = ? ORDER BY occurred_at, seq`, ticketID)
}

func scanEvent(rows *sql.Rows) (*model.Event, error) {
	var (
		e                                                  model.Event
		typ, kind                                          string
		number                                             sql.NullInt64
		subject, description, rname, remail, ttype, prio   sql.NullString
		category, channel, team, assignee, status, body, c sql.NullString
		tags, fields                                       any
		public                                             sql.NullBool
		score                                              sql.NullInt64
	)
	err := rows.Scan(&e.Seq, &e.ID, &e.Ticket, &typ, &e.At, &e.Actor, &kind, &number,
		&subject, &description, &rname, &remail, &ttype, &prio, &category, &channel,
		&tags, &fields, &team, &assignee, &status, &public, &body, &score, &c)
	if err != nil {
		return nil, err
	}
	e.Type, e.ActorKind, e.Number = model.EventType(typ), model.ActorKind(kind), number.Int64
	e.Subject, e.Description = strPtr[string](subject), strPtr[string](description)
	e.RequesterName, e.RequesterEmail = strPtr[string](rname), strPtr[string](remail)
	e.TicketType, e.Priority = strPtr[model.TicketType](ttype), strPtr[model.Priority](prio)
	e.Category, e.Channel = strPtr[string](category), strPtr[model.Channel](channel)
	e.Team, e.Assignee, e.Status = strPtr[string](team), strPtr[string](assignee), strPtr[model.Status](status)
	e.Body, e.Comment = strPtr[string](body), strPtr[string](c)
	if tags != nil {
		e.Tags = stringList(tags)
	}
	if fields != nil {
		e.Fields = stringMap(fields)
	}
	if public.Valid {
		e.Public = model.Ptr(public.Bool)
	}
	if score.Valid {
		e.Score = model.Ptr(int(score.Int64))
	}
	return &e, nil
}

func strPtr[T ~string](s sql.NullString) *T {
	if !s.Valid {
		return nil
	}
	v := T(s.String)
	return &v
}

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

// stringList converts a scanned DuckDB VARCHAR[] value.
func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// stringMap converts a scanned DuckDB MAP(VARCHAR, VARCHAR) value.
func stringMap(v any) map[string]string {
	out := map[string]string{}
	switch m := v.(type) {
	case duckdb.OrderedMap:
		keys, values := m.Keys(), m.Values()
		for i := range keys {
			k, _ := keys[i].(string)
			val, _ := values[i].(string)
			out[k] = val
		}
	case duckdb.Map:
		for k, val := range m {
			ks, _ := k.(string)
			vs, _ := val.(string)
			out[ks] = vs
		}
	}
	return out
}
