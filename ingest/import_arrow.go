//go:build duckdb_arrow

package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/model"
)

// eventsSchema is the events table as Arrow, column for column.
var eventsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	{Name: "event_id", Type: arrow.BinaryTypes.String},
	{Name: "ticket_id", Type: arrow.BinaryTypes.String},
	{Name: "type", Type: arrow.BinaryTypes.String},
	{Name: "occurred_at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
	{Name: "actor", Type: arrow.BinaryTypes.String},
	{Name: "actor_kind", Type: arrow.BinaryTypes.String},
	{Name: "number", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "subject", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "description", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "requester_name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "requester_email", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "ticket_type", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "priority", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "category", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "channel", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	{Name: "fields", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
	{Name: "team", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "assignee", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "public", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "body", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "comment", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

const arrowBatch = 122_880 // 60 DuckDB vectors

// stagingSchema is the import's staging table as Arrow: the input position
// in place of seq, the events columns, then file, line and reason.
var stagingSchema = arrow.NewSchema(slices.Concat(
	[]arrow.Field{{Name: "pos", Type: arrow.PrimitiveTypes.Int64}},
	eventsSchema.Fields()[1:],
	[]arrow.Field{
		{Name: "file", Type: arrow.PrimitiveTypes.Int32},
		{Name: "line", Type: arrow.PrimitiveTypes.Int64},
		{Name: "reason", Type: arrow.BinaryTypes.String, Nullable: true},
	}), nil)

// appendStaged appends rows to the import's staging table as one Arrow
// record batch.
func appendStaged(ctx context.Context, conn *sql.Conn, rows []stagedRow) error {
	b := array.NewRecordBuilder(memory.DefaultAllocator, stagingSchema)
	defer b.Release()
	n := len(eventsSchema.Fields())
	file, line, reason := b.Field(n).(*array.Int32Builder), b.Field(n+1).(*array.Int64Builder), b.Field(n+2).(*array.StringBuilder)
	for _, r := range rows {
		appendArrowRow(b, r.event) // seq carries the position
		file.Append(r.file)
		line.Append(r.line)
		if r.reason == "" {
			reason.AppendNull()
		} else {
			reason.Append(r.reason)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	reader, err := array.NewRecordReader(stagingSchema, []arrow.RecordBatch{rec})
	if err != nil {
		return err
	}
	defer reader.Release()
	return insertArrow(ctx, conn, reader, stagingTable)
}

// insertArrow inserts the record batches of reader into table in one
// statement, through a temporary view on conn.
func insertArrow(ctx context.Context, conn *sql.Conn, reader array.RecordReader, table string) error {
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(*duckdb.Conn))
		if err != nil {
			return err
		}
		release, err := ar.RegisterView(reader, "arrow_events")
		if err != nil {
			return err
		}
		defer release()
		// The scan is a temporary view on this connection: drop it, or it
		// would outlive the stream (and show up in EXPORT DATABASE).
		c := dc.(*duckdb.Conn)
		_, err = c.ExecContext(ctx, `INSERT INTO `+table+` SELECT * FROM arrow_events`, nil)
		if _, derr := c.ExecContext(context.Background(), `DROP VIEW IF EXISTS arrow_events`, nil); err == nil {
			err = derr
		}
		return err
	})
}

// scanCheckRows runs query (checkQuery's columns) and calls fn for each
// row, reading the result as Arrow record batches.
func scanCheckRows(ctx context.Context, conn *sql.Conn, query string, fn func(*checkRow) error) error {
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(*duckdb.Conn))
		if err != nil {
			return err
		}
		reader, err := ar.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer reader.Release()
		// Arrow's strings point into the batch's buffers, which the next
		// batch reuses: the ticket id is copied when it changes, and types
		// and statuses (a handful of values) are interned.
		var r checkRow
		interned := map[string]string{"": ""}
		intern := func(s string) string {
			if v, ok := interned[s]; ok {
				return v
			}
			v := strings.Clone(s)
			interned[v] = v
			return v
		}
		for reader.Next() {
			rec := reader.RecordBatch()
			cols := rec.Columns()
			pos, ok := cols[0].(*array.Int64)
			if !ok {
				return fmt.Errorf("check rows: pos is %s", cols[0].DataType())
			}
			ticket, typ, status, storedStatus := arrowStrings(cols[1]), arrowStrings(cols[2]), arrowStrings(cols[4]), arrowStrings(cols[6])
			at, storedUpdated := arrowTimes(cols[3]), arrowTimes(cols[7])
			stored := cols[5].(*array.Boolean)
			if ticket == nil || typ == nil || status == nil || storedStatus == nil || at == nil || storedUpdated == nil {
				return fmt.Errorf("check rows: unexpected Arrow types %s", rec.Schema())
			}
			for i := range int(rec.NumRows()) {
				if t := ticket(i); t != r.ticket {
					r.ticket = strings.Clone(t)
				}
				r.pos, r.typ, r.at = pos.Value(i), intern(typ(i)), at(i)
				r.status, r.stored, r.storedStatus, r.storedUpdated = intern(status(i)), stored.Value(i), intern(storedStatus(i)), storedUpdated(i)
				if err := fn(&r); err != nil {
					return err
				}
			}
		}
		return reader.Err()
	})
}

// arrowStrings reads a string column ("" for NULL), or returns nil when
// the column is not a string type.
func arrowStrings(col arrow.Array) func(int) string {
	type stringArray interface {
		Value(int) string
		IsNull(int) bool
	}
	s, ok := col.(stringArray)
	if !ok {
		return nil
	}
	return func(i int) string {
		if s.IsNull(i) {
			return ""
		}
		return s.Value(i)
	}
}

// arrowTimes reads a timestamp column (the zero time for NULL), or
// returns nil when the column is not a timestamp.
func arrowTimes(col arrow.Array) func(int) time.Time {
	ts, ok := col.(*array.Timestamp)
	if !ok {
		return nil
	}
	unit := ts.DataType().(*arrow.TimestampType).Unit
	return func(i int) time.Time {
		if ts.IsNull(i) {
			return time.Time{}
		}
		return ts.Value(i).ToTime(unit)
	}
}

// appendEvents appends checked events inside conn's open transaction as
// Arrow record batches: a view over them is inserted in one statement.
func appendEvents(ctx context.Context, conn *sql.Conn, events []*model.Event) error {
	var records []arrow.RecordBatch
	defer func() {
		for _, r := range records {
			r.Release()
		}
	}()
	b := array.NewRecordBuilder(memory.DefaultAllocator, eventsSchema)
	defer b.Release()
	for start := 0; start < len(events); start += arrowBatch {
		for _, e := range events[start:min(start+arrowBatch, len(events))] {
			appendArrowRow(b, e)
		}
		records = append(records, b.NewRecordBatch())
	}
	reader, err := array.NewRecordReader(eventsSchema, records)
	if err != nil {
		return err
	}
	defer reader.Release()
	return insertArrow(ctx, conn, reader, "events")
}

func appendArrowRow(b *array.RecordBuilder, e *model.Event) {
	i := 0
	next := func() array.Builder { f := b.Field(i); i++; return f }
	str := func(s string) { next().(*array.StringBuilder).Append(s) }
	opt := func(p *string) {
		sb := next().(*array.StringBuilder)
		if p == nil {
			sb.AppendNull()
		} else {
			sb.Append(*p)
		}
	}
	next().(*array.Int64Builder).Append(e.Seq)
	str(e.ID)
	str(e.Ticket)
	str(string(e.Type))
	next().(*array.TimestampBuilder).Append(arrow.Timestamp(e.At.UnixMicro()))
	str(e.Actor)
	str(string(e.ActorKind))
	if nb := next().(*array.Int64Builder); e.Number != 0 {
		nb.Append(e.Number)
	} else {
		nb.AppendNull()
	}
	opt(e.Subject)
	opt(e.Description)
	opt(e.RequesterName)
	opt(e.RequesterEmail)
	opt((*string)(e.TicketType))
	opt((*string)(e.Priority))
	opt(e.Category)
	opt((*string)(e.Channel))
	lb := next().(*array.ListBuilder)
	if e.Tags == nil {
		lb.AppendNull()
	} else {
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, t := range e.Tags {
			vb.Append(t)
		}
	}
	mb := next().(*array.MapBuilder)
	if e.Fields == nil {
		mb.AppendNull()
	} else {
		mb.Append(true)
		kb, ib := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder().(*array.StringBuilder)
		for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
			kb.Append(k)
			ib.Append(e.Fields[k])
		}
	}
	opt(e.Team)
	opt(e.Assignee)
	opt((*string)(e.Status))
	if pb := next().(*array.BooleanBuilder); e.Public != nil {
		pb.Append(*e.Public)
	} else {
		pb.AppendNull()
	}
	opt(e.Body)
	if sb := next().(*array.Int32Builder); e.Score != nil {
		sb.Append(int32(*e.Score))
	} else {
		sb.AppendNull()
	}
	opt(e.Comment)
}
