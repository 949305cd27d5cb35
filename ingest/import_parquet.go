package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// parquetColumns are the canonical event fields in scan order, each with
// the column names accepted for it (canonical JSON name first, then the
// events table's, as written by `deskpulse export parquet`) and its type.
var parquetColumns = []struct {
	names []string
	typ   string
}{
	{[]string{"id", "event_id"}, "VARCHAR"}, {[]string{"ticket", "ticket_id"}, "VARCHAR"},
	{[]string{"type"}, "VARCHAR"}, {[]string{"at", "occurred_at"}, "TIMESTAMPTZ"},
	{[]string{"actor"}, "VARCHAR"}, {[]string{"actor_kind"}, "VARCHAR"}, {[]string{"number"}, "BIGINT"},
	{[]string{"subject"}, "VARCHAR"}, {[]string{"description"}, "VARCHAR"},
	{[]string{"requester_name"}, "VARCHAR"}, {[]string{"requester_email"}, "VARCHAR"},
	{[]string{"ticket_type"}, "VARCHAR"}, {[]string{"priority"}, "VARCHAR"}, {[]string{"category"}, "VARCHAR"},
	{[]string{"channel"}, "VARCHAR"}, {[]string{"tags"}, "VARCHAR[]"}, {[]string{"fields"}, "MAP(VARCHAR, VARCHAR)"},
	{[]string{"team"}, "VARCHAR"}, {[]string{"assignee"}, "VARCHAR"}, {[]string{"status"}, "VARCHAR"},
	{[]string{"public"}, "BOOLEAN"}, {[]string{"body"}, "VARCHAR"}, {[]string{"score"}, "INTEGER"},
	{[]string{"comment"}, "VARCHAR"},
}

// readParquet reads canonical events from a Parquet file (or a glob, e.g.
// an exported events/ folder) with DuckDB. Line is the row number.
func (w *Writer) readParquet(ctx context.Context, c *collector, file, path string) error {
	db := w.store.DB
	src := fmt.Sprintf("read_parquet(%s, hive_partitioning = false)", store.Literal(path))
	rows, err := db.QueryContext(ctx, `SELECT column_name FROM (DESCRIBE SELECT * FROM `+src+`)`)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		have[strings.ToLower(name)] = true
	}
	rows.Close()
	var list []string
	for _, col := range parquetColumns {
		expr := "NULL"
		for _, n := range col.names {
			if have[n] {
				expr = `"` + n + `"`
				break
			}
		}
		list = append(list, fmt.Sprintf("CAST(%s AS %s)", expr, col.typ))
	}
	if !have["id"] && !have["event_id"] || !have["type"] {
		return fmt.Errorf("a Parquet import needs the canonical event columns (id or event_id, ticket, type, at, ...)")
	}
	order := ""
	if have["seq"] {
		order = " ORDER BY seq"
	}
	rows, err = db.QueryContext(ctx, `SELECT `+strings.Join(list, ", ")+` FROM `+src+order)
	if err != nil {
		return err
	}
	defer rows.Close()
	var line int64
	for rows.Next() {
		line++
		c.row()
		var (
			e                                                  model.Event
			id, ticket, typ, actor, kind                       sql.NullString
			at                                                 sql.NullTime
			number                                             sql.NullInt64
			subject, description, rname, remail, ttype, prio   sql.NullString
			category, channel, team, assignee, status, body, m sql.NullString
			tags, fields                                       any
			public                                             sql.NullBool
			score                                              sql.NullInt64
		)
		if err := rows.Scan(&id, &ticket, &typ, &at, &actor, &kind, &number, &subject, &description, &rname, &remail,
			&ttype, &prio, &category, &channel, &tags, &fields, &team, &assignee, &status, &public, &body, &score, &m); err != nil {
			c.reject(file, line, "unreadable row: "+err.Error(), "")
			continue
		}
		e.ID, e.Ticket, e.Type, e.Actor, e.ActorKind = id.String, ticket.String, model.EventType(typ.String), actor.String, model.ActorKind(kind.String)
		if at.Valid {
			e.At = at.Time
		}
		e.Number = number.Int64
		e.Subject, e.Description = nstr[string](subject), nstr[string](description)
		e.RequesterName, e.RequesterEmail = nstr[string](rname), nstr[string](remail)
		e.TicketType, e.Priority = nstr[model.TicketType](ttype), nstr[model.Priority](prio)
		e.Category, e.Channel = nstr[string](category), nstr[model.Channel](channel)
		e.Team, e.Assignee, e.Status = nstr[string](team), nstr[string](assignee), nstr[model.Status](status)
		e.Body, e.Comment = nstr[string](body), nstr[string](m)
		if list, ok := tags.([]any); ok {
			e.Tags = make([]string, 0, len(list))
			for _, x := range list {
				if s, ok := x.(string); ok {
					e.Tags = append(e.Tags, s)
				}
			}
		}
		if fields != nil {
			e.Fields = map[string]string{}
			switch fm := fields.(type) {
			case duckdb.OrderedMap:
				keys, values := fm.Keys(), fm.Values()
				for i := range keys {
					e.Fields[fmt.Sprint(keys[i])] = fmt.Sprint(values[i])
				}
			case duckdb.Map:
				for k, v := range fm {
					e.Fields[fmt.Sprint(k)] = fmt.Sprint(v)
				}
			}
		}
		if public.Valid {
			e.Public = model.Ptr(public.Bool)
		}
		if score.Valid {
			e.Score = model.Ptr(int(score.Int64))
		}
		// A created event keeps its number only if it is free: numbers are
		// the store's, so an imported ticket is renumbered after the stored ones.
		e.Number = 0
		c.add(&e, file, line)
	}
	return rows.Err()
}

func nstr[T ~string](s sql.NullString) *T {
	if !s.Valid {
		return nil
	}
	v := T(s.String)
	return &v
}
