package ingest

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// BulkError is an event that a bulk load rejected, with the reason.
type BulkError struct {
	Index int // position in the input
	Event *model.Event
	Err   error
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("event %d (%s, ticket %s): %v", e.Index+1, e.Event.ID, e.Event.Ticket, e.Err)
}

// BulkLoad stores many events at once, e.g. demo data or an import: events
// are grouped by ticket and ordered by time, checked with the same state
// machine as commands (on top of what the store already holds for those
// tickets), appended with the DuckDB appender, and the projection of the
// touched tickets is rebuilt set-based, all in one transaction. Created
// events without a number get the next free ones in order of creation.
// Any invalid event aborts the load with nothing stored.
func (w *Writer) BulkLoad(ctx context.Context, events []*model.Event) error {
	return w.Exclusive(ctx, func(conn *sql.Conn) error {
		return bulkLoad(ctx, w, conn, events)
	})
}

func bulkLoad(ctx context.Context, w *Writer, conn *sql.Conn, events []*model.Event) error {
	sorted, touched, rejects, err := checkEvents(ctx, w, conn, events, true)
	if err != nil {
		return err
	}
	if len(rejects) > 0 {
		return rejects[0]
	}
	return storeEvents(ctx, conn, sorted, touched)
}

// checkEvents orders events by time (stable, so events of one ticket at the
// same instant keep their input order), numbers new tickets and runs every
// event through Normalize and the state machine on top of what the store
// holds. It returns the accepted events with their seq set, the ids of the
// tickets they touch and the rejected ones. With stopAtFirst it returns at
// the first rejection; otherwise a rejected event is left out and the rest
// go on against the ticket's state without it.
func checkEvents(ctx context.Context, w *Writer, conn *sql.Conn, events []*model.Event, stopAtFirst bool) ([]*model.Event, []string, []*BulkError, error) {
	// Sort keys (time, ticket, input position) make a total order, so the
	// faster unstable sort keeps the input order of ties.
	type key struct {
		sec    int64
		nsec   int
		ticket string
		i      int
	}
	keys := make([]key, len(events))
	for i, e := range events {
		keys[i] = key{e.At.Unix(), e.At.Nanosecond(), e.Ticket, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.sec, b.sec), cmp.Compare(a.nsec, b.nsec), cmp.Compare(a.ticket, b.ticket), cmp.Compare(a.i, b.i))
	})
	order := make([]int, len(keys))
	for i, k := range keys {
		order[i] = k.i
	}
	ids := map[string]bool{}
	for _, e := range events {
		ids[e.Ticket] = true
	}
	idList := make([]string, 0, len(ids))
	for id := range ids {
		idList = append(idList, id)
	}
	states, err := store.TicketsByID(ctx, conn, idList)
	if err != nil {
		return nil, nil, nil, err
	}
	seq, number := w.nextSeq, w.nextNumber
	sorted := make([]*model.Event, 0, len(events))
	touched := map[string]bool{}
	var rejects []*BulkError
	for _, i := range order {
		e := events[i]
		numbered := false
		if e.Type == model.EventCreated && e.Number == 0 {
			e.Number = number
			numbered = true
		}
		t := states[e.Ticket]
		if t == nil {
			t = &model.Ticket{}
			states[e.Ticket] = t
		}
		err := e.Normalize()
		if err == nil && t.ID != "" && e.At.Before(t.UpdatedAt) {
			err = errors.New("is older than the ticket's stored history; import a ticket's history in one go")
		}
		if err == nil {
			err = t.Apply(e)
			if errors.Is(err, model.ErrNotFound) {
				err = errors.New("the ticket does not exist (its created event is missing or was rejected)")
			}
		}
		if err != nil {
			if numbered {
				e.Number = 0
			}
			rejects = append(rejects, &BulkError{Index: i, Event: e, Err: err})
			if stopAtFirst {
				return nil, nil, rejects, nil
			}
			continue
		}
		if numbered {
			number++
		}
		e.Seq = seq
		seq++
		sorted = append(sorted, e)
		touched[e.Ticket] = true
	}
	touchedList := make([]string, 0, len(touched))
	for id := range touched {
		touchedList = append(touchedList, id)
	}
	slices.Sort(touchedList)
	return sorted, touchedList, rejects, nil
}

// storeEvents appends checked events and rebuilds the touched tickets'
// projection, in one transaction.
func storeEvents(ctx context.Context, conn *sql.Conn, sorted []*model.Event, touched []string) error {
	// Into an empty store (a first import, demo data) the whole projection
	// is built at once, without the filter on the touched tickets.
	var stored bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&stored); err != nil {
		return err
	}
	return inTransaction(ctx, conn, func() error {
		if len(sorted) == 0 {
			return nil
		}
		if err := appendEvents(ctx, conn, sorted); err != nil {
			return err
		}
		if !stored {
			return store.RebuildTickets(ctx, conn)
		}
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE bulk_tickets AS SELECT unnest(?::VARCHAR[]) AS ticket_id`, touched); err != nil {
			return err
		}
		return store.RebuildSomeTickets(ctx, conn, "bulk_tickets")
	})
}

// Rebuild recomputes the whole tickets projection from the events,
// set-based, in one transaction.
func (w *Writer) Rebuild(ctx context.Context) error {
	return w.Exclusive(ctx, func(conn *sql.Conn) error {
		return inTransaction(ctx, conn, func() error { return store.RebuildTickets(ctx, conn) })
	})
}

// inTransaction runs fn between BEGIN and COMMIT on conn, rolling back
// when anything fails.
func inTransaction(ctx context.Context, conn *sql.Conn, fn func() error) error {
	if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return err
	}
	err := fn()
	if err == nil {
		_, err = conn.ExecContext(ctx, `COMMIT`)
	}
	if err != nil {
		_, rbErr := conn.ExecContext(ctx, `ROLLBACK`)
		return errors.Join(err, rbErr)
	}
	return nil
}
