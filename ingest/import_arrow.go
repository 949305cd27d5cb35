//go:build duckdb_arrow

package ingest

import (
	"context"
	"database/sql"
	"maps"
	"slices"

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
		_, err = c.ExecContext(ctx, `INSERT INTO events SELECT * FROM arrow_events`, nil)
		if _, derr := c.ExecContext(context.Background(), `DROP VIEW IF EXISTS arrow_events`, nil); err == nil {
			err = derr
		}
		return err
	})
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
