package store

import (
	"context"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// Event queries for package automation (dry runs and catching up after a
// restart).

// EventsOfActiveTickets returns every event of the tickets (at most
// maxTickets of them, oldest created first) that have an event in
// [from, to), grouped by ticket and in timeline order.
func (s *Store) EventsOfActiveTickets(ctx context.Context, from, to time.Time, maxTickets int) ([]*model.Event, error) {
	return s.events(ctx, `SELECT `+eventColumns+` FROM events WHERE ticket_id IN (
			SELECT ticket_id FROM events GROUP BY ticket_id
			HAVING count(*) FILTER (occurred_at >= ? AND occurred_at < ?) > 0
			ORDER BY min(occurred_at), ticket_id LIMIT ?)
		ORDER BY ticket_id, occurred_at, seq`, from, to, maxTickets)
}

// EventsOfTickets returns every event of the given tickets, grouped by
// ticket and in timeline order.
func (s *Store) EventsOfTickets(ctx context.Context, ids []string) ([]*model.Event, error) {
	return s.events(ctx, `SELECT `+eventColumns+` FROM events WHERE ticket_id IN (SELECT unnest(?::VARCHAR[]))
		ORDER BY ticket_id, occurred_at, seq`, ids)
}

// EventsAfter returns the events stored after sequence number seq that
// occurred at or after since, in storage order, at most limit of them.
func (s *Store) EventsAfter(ctx context.Context, seq int64, since time.Time, limit int) ([]*model.Event, error) {
	return s.events(ctx, `SELECT `+eventColumns+` FROM events WHERE seq > ? AND occurred_at >= ? ORDER BY seq LIMIT ?`, seq, since, limit)
}

func (s *Store) events(ctx context.Context, query string, args ...any) ([]*model.Event, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*model.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
