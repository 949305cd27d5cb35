package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// An import streams its events through DuckDB instead of holding them in
// Go memory: the readers' events, normalized, are appended batch by batch
// to a temporary staging table on the import's own connection, with their
// input position, file and line; duplicates are found, new tickets
// numbered and sequence numbers given set-based in SQL; only the state
// machine runs in Go, over a narrow stream of (ticket, type, time, status)
// ordered by ticket, and keeps just the rejected positions. Go memory is a
// few batches plus the bad rows; the staged data lives in DuckDB (which
// spills to disk past its memory limit).

// stageBatch is how many events the collector hands to the staging table
// at once (30 DuckDB vectors).
const stageBatch = 30 * 2048

// Temporary tables of an import, on its connection.
const (
	// import_staging: pos (input position), the events columns after seq,
	// then file (index into the inputs), line and reason (Normalize's
	// complaint, NULL when the event is well-formed).
	stagingTable = "import_staging"
	// import_fresh: the narrow columns of the staged events that are not
	// duplicates, for the state machine.
	freshTable = "import_fresh"
	// import_rejected: positions of fresh events the state machine refused.
	rejectedTable = "import_rejected"
	// import_order: seq and, for created events without one, the ticket
	// number of every accepted event, by position.
	orderTable = "import_order"
	// bulk_tickets: the tickets an import touched, for the rebuild.
	touchedTable = "bulk_tickets"
)

// staging owns an import's temporary tables.
type staging struct {
	ctx    context.Context
	conn   *sql.Conn
	files  map[string]int32
	names  []string
	staged int64 // events staged so far: the next input position

	// Batches are staged by a goroutine of their own, so that DuckDB
	// takes one while the readers parse the next.
	batches chan stagedBatch
	done    chan struct{}
	mu      sync.Mutex
	err     error // the first staging failure
}

type stagedBatch struct {
	events  []*model.Event
	origins []origin
	reasons []string
	synced  chan struct{} // when set, the batch is a marker: closed once the batches before it are staged
}

func newStaging(ctx context.Context, conn *sql.Conn) (*staging, error) {
	s := &staging{ctx: ctx, conn: conn, files: map[string]int32{}, batches: make(chan stagedBatch, 1), done: make(chan struct{})}
	_, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE `+stagingTable+` AS
		SELECT seq AS pos, * EXCLUDE (seq), NULL::INTEGER AS file, NULL::BIGINT AS line, NULL::VARCHAR AS reason
		FROM events LIMIT 0`)
	if err != nil {
		s.batches = nil // no staging goroutine to wait for
		return s, err
	}
	// The goroutine gets the channel now: finish sets s.batches to nil,
	// maybe before the goroutine first runs.
	batches := s.batches
	go func() {
		defer close(s.done)
		for b := range batches {
			if b.synced != nil {
				close(b.synced)
				continue
			}
			if s.failed() == nil {
				s.fail(s.stage(b.events, b.origins, b.reasons))
			}
		}
	}()
	return s, nil
}

// send queues a batch for staging (the collector's stage function; the
// batch's slices now belong to the staging goroutine). It returns the
// first failure of an earlier batch.
func (s *staging) send(events []*model.Event, origins []origin, reasons []string) error {
	select {
	case s.batches <- stagedBatch{events: events, origins: origins, reasons: reasons}:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	return s.failed()
}

// sync waits until every batch sent so far is staged, so that the
// connection and the next input position are free for the caller.
func (s *staging) sync() error {
	synced := make(chan struct{})
	select {
	case s.batches <- stagedBatch{synced: synced}:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	<-synced
	return s.failed()
}

// finish waits until every sent batch is staged.
func (s *staging) finish() error {
	if s.batches != nil {
		close(s.batches)
		s.batches = nil
		<-s.done
	}
	return s.failed()
}

func (s *staging) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *staging) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// drop removes the import's temporary tables (they would otherwise live
// as long as the writer's connection).
func (s *staging) drop() {
	s.finish()
	for _, t := range []string{stagingTable, freshTable, rejectedTable, orderTable, touchedTable, ndjsonTable} {
		s.conn.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+t)
	}
}

// fileIndex numbers the input files as they come.
func (s *staging) fileIndex(name string) int32 {
	i, ok := s.files[name]
	if !ok {
		i = int32(len(s.names))
		s.files[name] = i
		s.names = append(s.names, name)
	}
	return i
}

// stage appends a batch of read events; reasons[i] is what Normalize said
// of events[i] ("" when fine). The events' Seq carries their position.
func (s *staging) stage(events []*model.Event, origins []origin, reasons []string) error {
	rows := make([]stagedRow, len(events))
	for i, e := range events {
		if reasons[i] != "" {
			// A malformed event is staged only to be counted as a
			// duplicate or reported by id: its payload may hold what
			// DuckDB refuses (e.g. bytes that are not UTF-8).
			e = &model.Event{ID: strings.ToValidUTF8(e.ID, "\uFFFD")}
		}
		e.Seq = s.staged + int64(i)
		rows[i] = stagedRow{event: e, file: s.fileIndex(origins[i].file), line: origins[i].line, reason: reasons[i]}
	}
	if err := appendStaged(s.ctx, s.conn, rows); err != nil {
		return fmt.Errorf("stage events: %w", err)
	}
	s.staged += int64(len(events))
	return nil
}

// stagedRow is one row of the staging table.
type stagedRow struct {
	event  *model.Event
	file   int32
	line   int64
	reason string
}

// dedup keeps in import_fresh the staged events whose id is neither stored
// already (when the store holds events) nor seen earlier in the input, and
// returns how many were left out.
func (s *staging) dedup(storeHasEvents bool) (int, error) {
	notStored := ""
	if storeHasEvents {
		notStored = ` AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = s.event_id)`
	}
	_, err := s.conn.ExecContext(s.ctx, `CREATE OR REPLACE TEMP TABLE `+freshTable+` AS
		SELECT s.pos, s.ticket_id, s.type, s.occurred_at, s.status, s.number IS NULL AS unnumbered, s.reason
		FROM `+stagingTable+` s
		WHERE s.pos IN (SELECT min(pos) FROM `+stagingTable+` GROUP BY event_id)`+notStored)
	if err != nil {
		return 0, err
	}
	var fresh int64
	if err := s.conn.QueryRowContext(s.ctx, `SELECT count(*) FROM `+freshTable).Scan(&fresh); err != nil {
		return 0, err
	}
	return int(s.staged - fresh), nil
}

// malformed returns the fresh events that Normalize refused, as bad rows.
func (s *staging) malformed() ([]RowError, error) {
	rows, err := s.conn.QueryContext(s.ctx, `SELECT file, line, reason, event_id FROM `+stagingTable+`
		WHERE reason IS NOT NULL AND pos IN (SELECT pos FROM `+freshTable+` WHERE reason IS NOT NULL)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RowError
	for rows.Next() {
		var file int32
		var r RowError
		if err := rows.Scan(&file, &r.Line, &r.Reason, &r.EventID); err != nil {
			return nil, err
		}
		r.File = s.names[file]
		out = append(out, r)
	}
	return out, rows.Err()
}

// checkRow is what the state machine needs of a fresh event, with the
// stored state of its ticket when there is one.
type checkRow struct {
	pos           int64
	ticket        string
	typ           string
	at            time.Time
	status        string // "" when NULL
	stored        bool
	storedStatus  string
	storedUpdated time.Time
}

// checkQuery streams the well-formed fresh events by ticket, in the order
// checkEvents applies them (time, then input position), with the stored
// state of tickets that already exist.
const checkQuery = `SELECT f.pos, f.ticket_id, f.type, f.occurred_at, f.status,
		t.id IS NOT NULL AS stored, t.status AS stored_status, t.updated_at AS stored_updated
	FROM ` + freshTable + ` f LEFT JOIN tickets t ON t.id = f.ticket_id
	WHERE f.reason IS NULL
	ORDER BY f.ticket_id, f.occurred_at, f.pos`

// checkResult is what the state machine decided.
type checkResult struct {
	accepted int
	touched  int
	rejected []rejection
}

type rejection struct {
	pos    int64
	reason string
}

// check runs every well-formed fresh event through the state machine
// (model.Ticket.Apply) on top of its ticket's stored state, ticket by
// ticket. A refused event is left out and the ticket's later events go on
// without it, as in checkEvents.
func (s *staging) check() (*checkResult, error) {
	res := &checkResult{}
	var (
		ticket       model.Ticket
		current      string
		started      bool
		touchedThis  bool
		probe        model.Event
		probeStatus  model.Status
		placeholders = probePayload()
	)
	err := scanCheckRows(s.ctx, s.conn, checkQuery, func(r *checkRow) error {
		if !started || r.ticket != current {
			started, current, touchedThis = true, r.ticket, false
			ticket = model.Ticket{}
			if r.stored {
				ticket = model.Ticket{ID: r.ticket, Status: model.Status(r.storedStatus), UpdatedAt: r.storedUpdated}
			}
		}
		probe = placeholders
		probe.Ticket, probe.Type, probe.At = r.ticket, model.EventType(r.typ), r.at
		if r.status != "" {
			probeStatus = model.Status(r.status)
			probe.Status = &probeStatus
		}
		if err := applyChecked(&ticket, &probe); err != nil {
			res.rejected = append(res.rejected, rejection{r.pos, err.Error()})
			return nil
		}
		res.accepted++
		if !touchedThis {
			touchedThis = true
			res.touched++
		}
		return nil
	})
	return res, err
}

// applyChecked is the per-event check of checkEvents after Normalize: the
// event may not predate the ticket's history, and the state machine must
// accept it.
func applyChecked(t *model.Ticket, e *model.Event) error {
	if t.ID != "" && e.At.Before(t.UpdatedAt) {
		return errors.New("is older than the ticket's stored history; import a ticket's history in one go")
	}
	err := t.Apply(e)
	if errors.Is(err, model.ErrNotFound) {
		err = errors.New("the ticket does not exist (its created event is missing or was rejected)")
	}
	return err
}

// probePayload is an event whose optional fields are all set: Apply
// dereferences the payload of some event types (a created event's subject,
// a comment's public flag...) but decides only on the type, the time, the
// status and the ticket's state, so the state machine can run on the
// narrow columns. The real payload is stored from the staging table.
func probePayload() model.Event {
	text := ""
	return model.Event{
		Subject: &text, Description: &text, RequesterName: &text, RequesterEmail: &text,
		TicketType: model.Ptr(model.TypeIncident), Priority: model.Ptr(model.PriorityNormal),
		Category: &text, Channel: model.Ptr(model.ChannelAPI), Public: model.Ptr(false), Score: model.Ptr(1),
	}
}

// rejectedRows turns the state machine's rejections into bad rows, with
// their file, line and event id from the staging table.
func (s *staging) rejectedRows(rejected []rejection) ([]RowError, error) {
	if len(rejected) == 0 {
		return nil, nil
	}
	if err := s.saveRejected(rejected); err != nil {
		return nil, err
	}
	reasons := make(map[int64]string, len(rejected))
	for _, r := range rejected {
		reasons[r.pos] = r.reason
	}
	rows, err := s.conn.QueryContext(s.ctx, `SELECT pos, file, line, event_id FROM `+stagingTable+`
		WHERE pos IN (SELECT pos FROM `+rejectedTable+`)`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]RowError, 0, len(rejected))
	for rows.Next() {
		var pos int64
		var file int32
		var r RowError
		if err := rows.Scan(&pos, &file, &r.Line, &r.EventID); err != nil {
			return nil, err
		}
		r.File, r.Reason = s.names[file], reasons[pos]
		out = append(out, r)
	}
	return out, rows.Err()
}

// saveRejected writes the rejected positions to import_rejected.
func (s *staging) saveRejected(rejected []rejection) error {
	var b strings.Builder
	for i, r := range rejected {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(r.pos, 10))
	}
	_, err := s.conn.ExecContext(s.ctx, `CREATE OR REPLACE TEMP TABLE `+rejectedTable+` AS
		SELECT unnest(string_split(?, ','))::BIGINT AS pos`, b.String())
	return err
}

// store appends the accepted events to the log and rebuilds the touched
// tickets' projection, in one transaction. Sequence numbers continue from
// nextSeq in order of (time, ticket, input position), the order
// checkEvents gives, so the log stays in time order; created events
// without a number get the next free ones from nextNumber in the same
// order. Both are computed over the narrow import_fresh (sorting the wide
// staged rows in a window costs several times more), then joined to the
// staged payload. allFresh says that no event was a duplicate, malformed
// or rejected; storeHasEvents that the whole projection can be built at
// once.
func (s *staging) store(nextSeq, nextNumber int64, allFresh, storeHasEvents bool) error {
	accepted := ""
	if !allFresh {
		accepted = `WHERE reason IS NULL AND pos NOT IN (SELECT pos FROM ` + rejectedTable + `)`
		if _, err := s.conn.ExecContext(s.ctx, `CREATE TEMP TABLE IF NOT EXISTS `+rejectedTable+` (pos BIGINT)`); err != nil {
			return err
		}
	}
	// A running sum numbers the tickets: count(*) FILTER over a frame is
	// quadratic in DuckDB 1.5.
	order := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE `+orderTable+` AS
		SELECT pos, %d + row_number() OVER w - 1 AS seq,
			CASE WHEN type = 'created' AND unnumbered THEN %d + sum((type = 'created' AND unnumbered)::INTEGER) OVER w - 1 END AS number
		FROM `+freshTable+` %s
		WINDOW w AS (ORDER BY occurred_at, ticket_id, pos ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`, nextSeq, nextNumber, accepted)
	if _, err := s.conn.ExecContext(s.ctx, order); err != nil {
		return err
	}
	insert := `INSERT INTO events
		SELECT o.seq, s.event_id, s.ticket_id, s.type, s.occurred_at, s.actor, s.actor_kind, coalesce(o.number, s.number),
			s.subject, s.description, s.requester_name, s.requester_email, s.ticket_type, s.priority, s.category,
			s.channel, s.tags, s.fields, s.team, s.assignee, s.status, s.public, s.body, s.score, s.comment
		FROM ` + stagingTable + ` s JOIN ` + orderTable + ` o ON o.pos = s.pos
		ORDER BY o.seq`
	return inTransaction(s.ctx, s.conn, func() error {
		if _, err := s.conn.ExecContext(s.ctx, insert); err != nil {
			return err
		}
		if !storeHasEvents {
			return store.RebuildTickets(s.ctx, s.conn)
		}
		touched := `SELECT DISTINCT ticket_id FROM ` + freshTable
		if !allFresh {
			touched += ` WHERE reason IS NULL AND pos NOT IN (SELECT pos FROM ` + rejectedTable + `)`
		}
		if _, err := s.conn.ExecContext(s.ctx, `CREATE OR REPLACE TEMP TABLE `+touchedTable+` AS `+touched); err != nil {
			return err
		}
		return store.RebuildSomeTickets(s.ctx, s.conn, touchedTable)
	})
}
