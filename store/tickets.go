package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/model"
)

// ticketColumns is the tickets table's column order.
const ticketColumns = `id, number, subject, description, requester_name, requester_email, type,
	category, tags, priority, status, channel, team, assignee, fields, created_at, updated_at,
	first_response_at, resolved_at, closed_at, csat_score, csat_comment, reopens, agent_replies`

type scanner interface{ Scan(dest ...any) error }

func scanTicket(row scanner) (*model.Ticket, error) {
	var (
		t                               model.Ticket
		typ, prio, status, channel      string
		tags, fields                    any
		firstResponse, resolved, closed sql.NullTime
		score                           sql.NullInt64
	)
	err := row.Scan(&t.ID, &t.Number, &t.Subject, &t.Description, &t.RequesterName, &t.RequesterEmail,
		&typ, &t.Category, &tags, &prio, &status, &channel, &t.Team, &t.Assignee, &fields,
		&t.CreatedAt, &t.UpdatedAt, &firstResponse, &resolved, &closed, &score, &t.CSATComment,
		&t.Reopens, &t.AgentReplies)
	if err != nil {
		return nil, err
	}
	t.Type, t.Priority, t.Status, t.Channel = model.TicketType(typ), model.Priority(prio), model.Status(status), model.Channel(channel)
	t.Tags, t.Fields = stringList(tags), stringMap(fields)
	t.FirstResponseAt, t.ResolvedAt, t.ClosedAt = timePtr(firstResponse), timePtr(resolved), timePtr(closed)
	if score.Valid {
		t.CSATScore = model.Ptr(int(score.Int64))
	}
	return &t, nil
}

// PrepareWriter readies the writer's connection: a temporary staging
// table through which each batch of projected tickets is upserted in one
// statement (row-by-row upserts cost about a millisecond each).
func PrepareWriter(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE ticket_batch AS FROM tickets LIMIT 0`)
	return err
}

// UpsertTickets writes projected tickets inside conn's open transaction;
// conn must have been readied with PrepareWriter.
func UpsertTickets(ctx context.Context, conn *sql.Conn, tickets []*model.Ticket) error {
	if _, err := conn.ExecContext(ctx, `DELETE FROM ticket_batch`); err != nil {
		return err
	}
	err := WithAppender(conn, "ticket_batch", func(a *duckdb.Appender) error {
		for _, t := range tickets {
			var score any
			if t.CSATScore != nil {
				score = int32(*t.CSATScore)
			}
			tags := t.Tags
			if tags == nil {
				tags = []string{}
			}
			err := a.AppendRow(t.ID, t.Number, t.Subject, t.Description, t.RequesterName, t.RequesterEmail,
				string(t.Type), t.Category, tags, string(t.Priority), string(t.Status), string(t.Channel),
				t.Team, t.Assignee, orderedMap(t.Fields), t.CreatedAt, t.UpdatedAt,
				nullTime(t.FirstResponseAt), nullTime(t.ResolvedAt), nullTime(t.ClosedAt), score, t.CSATComment,
				int32(t.Reopens), int32(t.AgentReplies))
			if err != nil {
				return fmt.Errorf("stage ticket %s: %w", t.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `INSERT OR REPLACE INTO tickets SELECT * FROM ticket_batch`)
	return err
}

func nullTime(t *time.Time) driver.Value {
	if t == nil {
		return nil
	}
	return *t
}

// orderedMap converts custom fields to a DuckDB map with sorted keys: key
// order is part of a DuckDB map's value, and the rebuild sorts them too.
func orderedMap(fields map[string]string) duckdb.OrderedMap {
	var m duckdb.OrderedMap
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		m.Set(k, fields[k])
	}
	return m
}

// TicketsByID loads the named tickets through conn (the writer's view).
// Missing ids are absent from the map.
func TicketsByID(ctx context.Context, conn *sql.Conn, ids []string) (map[string]*model.Ticket, error) {
	out := make(map[string]*model.Ticket, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := conn.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id IN (SELECT unnest(?::VARCHAR[]))`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out[t.ID] = t
	}
	return out, rows.Err()
}

// MaxTicketNumber returns the highest ticket number in use (0 when empty).
func (s *Store) MaxTicketNumber(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.QueryRowContext(ctx, `SELECT coalesce(max(number), 0) FROM events WHERE type = 'created'`).Scan(&n)
	return n, err
}

// Ticket returns a ticket by id, or by number when ref is all digits.
func (s *Store) Ticket(ctx context.Context, ref string) (*model.Ticket, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		t, err := s.ticketRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE number = ?`, n)
		if !errors.Is(err, model.ErrNotFound) {
			return t, err
		}
	}
	return s.ticketRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, ref)
}

func (s *Store) ticketRow(ctx context.Context, query string, args ...any) (*model.Ticket, error) {
	t, err := scanTicket(s.DB.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.ErrNotFound
	}
	return t, err
}

// CountTickets returns how many tickets the projection holds.
func (s *Store) CountTickets(ctx context.Context) (int64, error) {
	var n int64
	err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM tickets`).Scan(&n)
	return n, err
}

// TicketFilter selects tickets for a list. Empty fields do not filter.
type TicketFilter struct {
	Status, Priority, Team, Assignee, Category, Type, Channel, Tag []string
	Query                                                          string // text in subject or description
	// Search is the workspace's search box: a ticket number ("42" or
	// "#42"), or text in the subject, description, requester name or
	// address, case-insensitive.
	Search                 string
	CreatedFrom, CreatedTo time.Time
	// IDs, when not nil, keeps only these tickets (an empty list matches
	// none); the inbox's SLA view passes the ids the metrics engine names.
	IDs          []string
	Requester    string    // the requester's e-mail address
	ExceptID     string    // leaves this ticket out (a requester's other tickets)
	ResolvedFrom time.Time // resolved at or after
	UpdatedFrom  time.Time // updated at or after
	Sort         TicketSort
	After        *Cursor // the last ticket of the previous page
	Limit        int
}

// TicketSort is a sortable column, descending when Desc.
type TicketSort struct {
	Field string // created_at, updated_at, number or priority
	Desc  bool
}

// SortFields are the columns a list can be sorted by.
var SortFields = []string{"created_at", "updated_at", "number", "priority"}

// Cursor marks the position after which the next page starts: the sort
// value of the last ticket shown and its number, which breaks ties.
type Cursor struct {
	Value  string
	Number int64
}

// sortExpr is the SQL for a sort field; priority sorts by urgency.
func sortExpr(field string) string {
	switch field {
	case "updated_at":
		return "updated_at"
	case "number":
		return "number"
	case "priority":
		return "CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END"
	default:
		return "created_at"
	}
}

// CursorFor returns the cursor that continues a list after t.
func CursorFor(t *model.Ticket, sort TicketSort) Cursor {
	switch sort.Field {
	case "updated_at":
		return Cursor{Value: t.UpdatedAt.UTC().Format(time.RFC3339Nano), Number: t.Number}
	case "number":
		return Cursor{Value: strconv.FormatInt(t.Number, 10), Number: t.Number}
	case "priority":
		return Cursor{Value: strconv.Itoa(t.Priority.Rank()), Number: t.Number}
	default:
		return Cursor{Value: t.CreatedAt.UTC().Format(time.RFC3339Nano), Number: t.Number}
	}
}

// where is the SQL condition and arguments of f's filters (not its
// cursor); "" when nothing filters.
func (f TicketFilter) where() (string, []any) {
	var where []string
	var args []any
	in := func(column string, values []string) {
		if len(values) > 0 {
			where = append(where, column+` IN (SELECT unnest(?::VARCHAR[]))`)
			args = append(args, values)
		}
	}
	in("status", f.Status)
	in("priority", f.Priority)
	in("team", f.Team)
	in("assignee", f.Assignee)
	in("category", f.Category)
	in("type", f.Type)
	in("channel", f.Channel)
	if len(f.Tag) > 0 {
		where = append(where, `list_has_all(tags, ?::VARCHAR[])`)
		args = append(args, f.Tag)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, `(contains(lower(subject), lower(?)) OR contains(lower(description), lower(?)))`)
		args = append(args, q, q)
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		// contains() takes the text literally (% and _ are no wildcards);
		// both sides go through DuckDB's lower(), so they fold alike.
		cond := `contains(lower(subject), lower(?)) OR contains(lower(description), lower(?)) OR ` +
			`contains(lower(requester_name), lower(?)) OR contains(lower(requester_email), lower(?))`
		args = append(args, q, q, q, q)
		if n, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil {
			cond += ` OR number = ?`
			args = append(args, n)
		}
		where = append(where, `(`+cond+`)`)
	}
	if !f.CreatedFrom.IsZero() {
		where = append(where, `created_at >= ?`)
		args = append(args, f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		where = append(where, `created_at < ?`)
		args = append(args, f.CreatedTo)
	}
	if f.IDs != nil {
		where = append(where, `id IN (SELECT unnest(?::VARCHAR[]))`)
		args = append(args, f.IDs)
	}
	if f.Requester != "" {
		where = append(where, `requester_email = ?`)
		args = append(args, f.Requester)
	}
	if f.ExceptID != "" {
		where = append(where, `id <> ?`)
		args = append(args, f.ExceptID)
	}
	if !f.ResolvedFrom.IsZero() {
		where = append(where, `resolved_at >= ?`)
		args = append(args, f.ResolvedFrom)
	}
	if !f.UpdatedFrom.IsZero() {
		where = append(where, `updated_at >= ?`)
		args = append(args, f.UpdatedFrom)
	}
	if len(where) == 0 {
		return "", nil
	}
	return strings.Join(where, ` AND `), args
}

// ListTickets returns one page of tickets matching f.
func (s *Store) ListTickets(ctx context.Context, f TicketFilter) ([]*model.Ticket, error) {
	var where []string
	cond, args := f.where()
	if cond != "" {
		where = append(where, cond)
	}
	key := sortExpr(f.Sort.Field)
	dir, cmp := "ASC", ">"
	if f.Sort.Desc {
		dir, cmp = "DESC", "<"
	}
	if f.After != nil {
		var value any = f.After.Value
		switch f.Sort.Field {
		case "number", "priority":
			n, err := strconv.ParseInt(f.After.Value, 10, 64)
			if err != nil {
				return nil, model.Invalid("cursor", "is not a cursor of this list")
			}
			value = n
		default:
			t, err := time.Parse(time.RFC3339Nano, f.After.Value)
			if err != nil {
				return nil, model.Invalid("cursor", "is not a cursor of this list")
			}
			value = t
		}
		where = append(where, fmt.Sprintf(`(%s, number) %s (?, ?)`, key, cmp))
		args = append(args, value, f.After.Number)
	}
	query := `SELECT ` + ticketColumns + ` FROM tickets`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	query += fmt.Sprintf(` ORDER BY %s %s, number %s LIMIT %d`, key, dir, dir, limit)
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*model.Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountMatching counts the tickets of each filter (their cursors, sorts
// and limits do not apply) in one scan of the tickets table.
func (s *Store) CountMatching(ctx context.Context, filters ...TicketFilter) ([]int64, error) {
	if len(filters) == 0 {
		return nil, nil
	}
	var cols []string
	var args []any
	for _, f := range filters {
		cond, a := f.where()
		if cond == "" {
			cond = "true"
		}
		cols = append(cols, `count(*) FILTER (WHERE `+cond+`)`)
		args = append(args, a...)
	}
	out := make([]int64, len(filters))
	dest := make([]any, len(out))
	for i := range out {
		dest[i] = &out[i]
	}
	err := s.DB.QueryRowContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM tickets`, args...).Scan(dest...)
	return out, err
}
