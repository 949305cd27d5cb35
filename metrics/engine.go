// Package metrics is deskpulse's KPI and SLA engine. Every metric has one
// named definition here and one typed result that the HTTP API, the
// dashboards, the Excel export and the e-mail reports reuse.
//
// The truth is the events table. One SQL pipeline (ticketSQL) replays a
// ticket's events into its per-ticket figures: timestamps, calendar and
// business durations, SLA clocks. Its output for all tickets is kept in the
// derived table metrics_tickets, refreshed set-based for the tickets whose
// events changed since the last refresh (tracked by event seq), and rebuilt
// whole when the calendars or policies change. Aggregates are SQL over that
// table alone (it also keeps each ticket's resolutions, reopens and
// assignments); a query "as of" a past instant reads the stored rows of the
// tickets unchanged since then and replays the others up to then.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/deskpulse/deskpulse/store"
)

// Engine answers metric queries over one store.
type Engine struct {
	st  *store.Store
	cfg Config
	loc *time.Location
	now func() time.Time
	fp  string

	mu     sync.Mutex // serialises refreshes
	seq    int64      // events up to this seq are in metrics_tickets
	minAt  time.Time  // earliest event time (for the calendar range)
	maxAt  time.Time  // latest event time in metrics_tickets
	bounds bool       // minAt and maxAt are loaded

	observer atomic.Pointer[func(metric string, d time.Duration)]
}

// Observe makes fn receive the duration of every Series and Summary
// query by its catalog name (package telemetry); fn must be quick.
func (e *Engine) Observe(fn func(metric string, d time.Duration)) { e.observer.Store(&fn) }

// timed reports a query that started at start under a catalog name.
func (e *Engine) timed(metric string, start time.Time) {
	if fn := e.observer.Load(); fn != nil {
		(*fn)(metric, time.Since(start))
	}
}

// fullRebuildAbove is the number of new events past which a refresh
// rebuilds the whole table instead of the touched tickets.
const fullRebuildAbove = 200_000

// New validates cfg and makes an engine; it brings the stored per-ticket
// metrics up to date (a full rebuild when the policies or calendars
// changed since they were computed).
func New(st *store.Store, cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("metrics config: %w", err)
	}
	loc := time.UTC
	if cfg.Timezone != "" {
		loc, _ = time.LoadLocation(cfg.Timezone)
	}
	e := &Engine{st: st, cfg: cfg, loc: loc, now: cfg.Now, fp: cfg.fingerprint()}
	if e.now == nil {
		e.now = time.Now
	}
	ctx := context.Background()
	if _, err := st.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS metrics_state (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`); err != nil {
		return nil, err
	}
	var fp, seq sql.NullString
	st.DB.QueryRowContext(ctx, `SELECT max(value) FILTER (key = 'fingerprint'), max(value) FILTER (key = 'seq') FROM metrics_state`).Scan(&fp, &seq)
	var exists bool
	if err := st.DB.QueryRowContext(ctx, `SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = 'metrics_tickets' AND NOT temporary`).Scan(&exists); err != nil {
		return nil, err
	}
	if exists && fp.String == e.fp && seq.Valid {
		fmt.Sscan(seq.String, &e.seq)
	} else {
		e.seq = -1 // rebuild
	}
	if err := e.Refresh(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

// MemoryLimit is DuckDB's memory limit in bytes, which bounds what the
// queries of an export may hold at once.
func (e *Engine) MemoryLimit(ctx context.Context) (int64, error) { return e.st.MemoryLimit(ctx) }

// Location is the default reporting time zone.
func (e *Engine) Location() *time.Location { return e.loc }

// Defaults are the query defaults of this engine, for ParseQuery.
func (e *Engine) Defaults() Defaults { return Defaults{TZ: e.loc, Now: e.now, Days: 30} }

// Refresh brings metrics_tickets up to date with the events: the tickets
// touched by events stored since the last refresh are recomputed, or all
// of them after a config change or a large import. Queries call it
// themselves; it is cheap when nothing changed.
func (e *Engine) Refresh(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var maxSeq sql.NullInt64
	if err := e.st.DB.QueryRowContext(ctx, `SELECT max(seq) FROM events WHERE seq > ?`, max(e.seq, 0)).Scan(&maxSeq); err != nil {
		return err
	}
	if e.seq >= 0 && !maxSeq.Valid && e.bounds {
		return nil
	}
	var minAt, maxAt sql.NullTime
	var top int64
	if err := e.st.DB.QueryRowContext(ctx, `SELECT min(occurred_at), max(occurred_at), coalesce(max(seq), 0) FROM events`).Scan(&minAt, &maxAt, &top); err != nil {
		return err
	}
	// The bounds are needed even when nothing changed (an engine reopened
	// on a built file): source() compares asof with maxAt and spanRange()
	// expands the calendars from minAt.
	e.minAt, e.maxAt, e.bounds = minAt.Time, maxAt.Time, true
	if e.seq >= 0 && !maxSeq.Valid {
		return nil
	}
	lo, hi := e.spanRange()
	full := e.seq < 0 || top-e.seq > fullRebuildAbove
	conn, err := e.pipelineConn(ctx)
	if err != nil {
		return err
	}
	defer conn.release()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if full {
		// Sorted by creation, so that the zone maps of created_at (and of
		// the instants near it) let range queries skip row groups; the
		// tickets still open (open_until NULL) last, together, so that the
		// instant aggregates (backlog, active SLA targets), which read only
		// tickets open at an instant, skip the rest instead of finding a
		// few in every vector: the summary of a 10k-ticket range at 1M
		// tickets took a quarter less, backlog series half. Tickets that
		// change later are appended at the end anyway (the refresh below).
		q := `CREATE OR REPLACE TABLE metrics_tickets AS SELECT * FROM (` + ticketSQL(&e.cfg, fmt.Sprintf("seq <= %d", top), nil, lo, hi) + `) ORDER BY open_until IS NULL, created_at`
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("build metrics_tickets: %w", err)
		}
	} else {
		touched := fmt.Sprintf(`ticket_id IN (SELECT DISTINCT ticket_id FROM events WHERE seq > %d AND seq <= %d)`, e.seq, top)
		if _, err := tx.ExecContext(ctx, `DELETE FROM metrics_tickets WHERE `+touched); err != nil {
			return err
		}
		q := `INSERT INTO metrics_tickets ` + ticketSQL(&e.cfg, fmt.Sprintf("seq <= %d AND %s", top, touched), nil, lo, hi)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("refresh metrics_tickets: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO metrics_state VALUES ('fingerprint', ?), ('seq', ?)`, e.fp, fmt.Sprint(top)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	e.seq = top
	return nil
}

// spanRange is the range of local days the calendars are expanded over:
// from a week before the first event to 400 days after the later of now
// and the last event, so that every due date of a stored ticket is found.
func (e *Engine) spanRange() (time.Time, time.Time) {
	lo, hi := e.minAt, e.maxAt
	if lo.IsZero() {
		lo = e.now()
	}
	if n := e.now(); hi.Before(n) {
		hi = n
	}
	return lo.UTC().AddDate(0, 0, -8).Truncate(24 * time.Hour), hi.UTC().AddDate(0, 0, 400).Truncate(24 * time.Hour)
}

// source is the SQL of the per-ticket rows that a query at knowledge
// instant k reads: the stored table, or, when k is before the last stored
// event, the rows as of k. A ticket's row depends only on its own events,
// so as of k it is the stored row when all its events are at or before k
// (last_event_at <= k), and the pipeline replayed over its events up to k
// when it was created by k but changed later; tickets created after k do
// not exist yet.
func (e *Engine) source(k time.Time) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !k.Before(e.maxAt) {
		return `metrics_tickets`
	}
	lo, hi := e.spanRange()
	K := tsLit(k)
	return fmt.Sprintf(`(SELECT * FROM metrics_tickets WHERE created_at <= %[1]s AND last_event_at <= %[1]s
		UNION ALL (%[2]s))`, K, ticketSQL(&e.cfg, fmt.Sprintf(`occurred_at <= %[1]s AND ticket_id IN (
			SELECT ticket_id FROM metrics_tickets WHERE created_at <= %[1]s AND last_event_at > %[1]s)`, K), nil, lo, hi))
}

// prepare refreshes and returns the knowledge instant of q.
func (e *Engine) prepare(ctx context.Context, q *Query) (time.Time, error) {
	if err := q.validate(); err != nil {
		return time.Time{}, err
	}
	if err := e.Refresh(ctx); err != nil {
		return time.Time{}, err
	}
	if q.AsOf.IsZero() {
		return e.now(), nil
	}
	return q.AsOf, nil
}

// pipelineSettings are session settings for queries that run ticketSQL:
// DuckDB turns an ASOF join whose input it estimates small into a nested
// loop join, and its estimates of the pipeline's intermediate results are
// far too small (tens of rows for millions), which made the inverse
// business-time lookup a 78M-row loop join at 1M tickets.
const pipelineSettings = `SET asof_loop_join_threshold = 0`

type settingsConn struct{ *sql.Conn }

// pipelineConn reserves a connection with pipelineSettings applied; release
// resets them and returns it to the pool.
func (e *Engine) pipelineConn(ctx context.Context) (settingsConn, error) {
	conn, err := e.st.DB.Conn(ctx)
	if err != nil {
		return settingsConn{}, err
	}
	if _, err := conn.ExecContext(ctx, pipelineSettings); err != nil {
		conn.Close()
		return settingsConn{}, err
	}
	return settingsConn{conn}, nil
}

func (c settingsConn) release() {
	c.ExecContext(context.Background(), `RESET asof_loop_join_threshold`)
	c.Close()
}

var errNoZone = errors.New("tz: the reporting zone must be a named IANA zone")
