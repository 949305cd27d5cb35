package reports

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/internal/csvsafe"
	"github.com/deskpulse/deskpulse/metrics"
)

// WriteCSV writes the Tickets sheet of q as CSV (RFC 4180, UTF-8, a
// header row): the same rows and columns, times as local wall time of the
// reporting zone ("2006-01-02 15:04:05"), durations in minutes (headers
// end in "(min)"). Text that a spreadsheet would read as a formula gets a
// leading ' (see csvsafe). Rows are written as they are read.
func WriteCSV(ctx context.Context, eng *metrics.Engine, q metrics.Query, w io.Writer) (int64, error) {
	loc := q.TZ
	if loc == nil {
		loc = time.UTC
	}
	cw := csv.NewWriter(w)
	head := make([]string, len(ticketColumns))
	for i, c := range ticketColumns {
		head[i] = c.name
		if isDurationColumn(c.name) {
			if b, ok := strings.CutSuffix(c.name, " (business)"); ok {
				head[i] = b + " (business min)"
			} else {
				head[i] += " (min)"
			}
		}
	}
	if err := cw.Write(head); err != nil {
		return 0, err
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format(time.DateTime)
	}
	mins := func(m *float64) string {
		if m == nil {
			return ""
		}
		return strconv.FormatFloat(*m, 'f', -1, 64)
	}
	// Every text cell, whoever typed it, goes through csvsafe so that a
	// spreadsheet opening the file reads it as text, never as a formula;
	// numbers and times are written by us and stay as they are.
	text := csvsafe.Cell
	var n int64
	rec := make([]string, len(ticketColumns))
	err := eng.TicketRows(ctx, q, func(r *metrics.TicketRow) error {
		policy, resWhen := r.Policy(), r.ResolutionDecidedOrDue()
		csat := ""
		if r.CSATScore != nil {
			csat = strconv.FormatInt(*r.CSATScore, 10)
		}
		rec = append(rec[:0], strconv.FormatInt(r.Number, 10), text(r.Subject), text(r.RequesterName), text(r.RequesterEmail), text(r.Status), text(r.Priority),
			text(r.Type), text(r.Category), text(r.Channel), text(r.Team), text(r.Assignee), text(r.Tags),
			ts(&r.CreatedAt), ts(r.FirstReplyAt), ts(r.FirstResolvedAt), ts(r.ResolvedAt),
			mins(r.FirstResponseMin), mins(r.FirstResponseBMin), mins(r.FirstResolutionMin), mins(r.FirstResolutionBMin),
			mins(r.ResolutionMin), mins(r.ResolutionBMin), strconv.FormatInt(r.Reopens, 10), strconv.FormatInt(r.AgentReplies, 10),
			text(policy), mins(r.FirstResponseSLA.TargetMinutes), text(r.FirstResponseSLA.Status), ts(r.FirstResponseSLA.DecidedAt),
			mins(r.ResolutionSLA.TargetMinutes), text(r.ResolutionSLA.Status), ts(resWhen),
			csat, text(r.CSATComment), text(r.ID))
		n++
		if n%4096 == 0 {
			cw.Flush()
		}
		return cw.Write(rec)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return n, err
}

func isDurationColumn(name string) bool {
	for _, p := range []string{"First response", "First resolution", "Full resolution", "First response target", "Resolution target"} {
		if name == p || strings.HasPrefix(name, p+" (") {
			return true
		}
	}
	return false
}
