//go:build duckdb_arrow

package metrics

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/deskpulse/deskpulse/store"
)

// scanEventRows reads the rows of an EventRows query as Arrow record
// batches: a column at a time, strings pointing into the batch instead of
// one Go string (and one interface conversion) per value, which halves
// the Go side of a big export. The query's columns are EventRows'.
func (e *Engine) scanEventRows(ctx context.Context, query string, args []any, fn func(*EventRow) error) error {
	conn, err := e.st.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return store.QueryArrow(ctx, conn, query, args, func(rr array.RecordReader) error {
		var (
			r      EventRow
			public bool
			score  int64
		)
		for rr.Next() {
			rec := rr.RecordBatch()
			cols, err := eventColumns(rec)
			if err != nil {
				return err
			}
			for i := range int(rec.NumRows()) {
				r.Seq = cols.seq.Value(i)
				r.At = cols.at.Value(i).ToTime(cols.unit)
				r.Number = cols.number.Value(i)
				r.Type, r.Actor, r.ActorKind = cols.str[0].Value(i), cols.str[1].Value(i), cols.str[2].Value(i)
				r.Status, r.Priority, r.Team = cols.str[3].Value(i), cols.str[4].Value(i), cols.str[5].Value(i)
				r.Assignee, r.Category = cols.str[6].Value(i), cols.str[7].Value(i)
				r.Text = cols.text.Value(i)
				r.Public, r.Score = nil, nil
				if cols.public.IsValid(i) {
					public = cols.public.Value(i)
					r.Public = &public
				}
				if cols.score.IsValid(i) {
					score = cols.score.Value(i)
					r.Score = &score
				}
				if err := fn(&r); err != nil {
					return err
				}
			}
		}
		return rr.Err()
	})
}

// eventArrays are the typed columns of an EventRows batch.
type eventArrays struct {
	seq, number, score *array.Int64
	at                 *array.Timestamp
	unit               arrow.TimeUnit
	str                [8]*array.String
	public             *array.Boolean
	text               *array.String
}

func eventColumns(rec arrow.RecordBatch) (*eventArrays, error) {
	if rec.NumCols() != 14 {
		return nil, fmt.Errorf("event batch has %d columns, want 14", rec.NumCols())
	}
	var c eventArrays
	var ok [14]bool
	c.seq, ok[0] = rec.Column(0).(*array.Int64)
	c.at, ok[1] = rec.Column(1).(*array.Timestamp)
	c.number, ok[2] = rec.Column(2).(*array.Int64)
	for i := range c.str {
		c.str[i], ok[3+i] = rec.Column(3 + i).(*array.String)
	}
	c.public, ok[11] = rec.Column(11).(*array.Boolean)
	c.score, ok[12] = rec.Column(12).(*array.Int64)
	c.text, ok[13] = rec.Column(13).(*array.String)
	for i, good := range ok {
		if !good {
			return nil, fmt.Errorf("event batch column %d is %s", i, rec.Column(i).DataType())
		}
	}
	c.unit = c.at.DataType().(*arrow.TimestampType).Unit
	return &c, nil
}
