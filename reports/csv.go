package reports

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
)

// WriteCSV writes the Tickets sheet of q as CSV (RFC 4180, UTF-8, a
// header row): the same rows and columns, times as local wall time of the
// reporting zone ("2006-01-02 15:04:05"), durations in minutes (headers
// end in "(min)"). Rows are written as they are read.
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
	var n int64
	rec := make([]string, len(ticketColumns))
	err := eng.TicketRows(ctx, q, func(r *metrics.TicketRow) error {
		policy, resWhen := r.Policy(), r.ResolutionDecidedOrDue()
		csat := ""
		if r.CSATScore != nil {
			csat = strconv.FormatInt(*r.CSATScore, 10)
		}
		rec = append(rec[:0], strconv.FormatInt(r.Number, 10), r.Subject, r.RequesterName, r.RequesterEmail, r.Status, r.Priority,
			r.Type, r.Category, r.Channel, r.Team, r.Assignee, r.Tags,
			ts(&r.CreatedAt), ts(r.FirstReplyAt), ts(r.FirstResolvedAt), ts(r.ResolvedAt),
			mins(r.FirstResponseMin), mins(r.FirstResponseBMin), mins(r.FirstResolutionMin), mins(r.FirstResolutionBMin),
			mins(r.ResolutionMin), mins(r.ResolutionBMin), strconv.FormatInt(r.Reopens, 10), strconv.FormatInt(r.AgentReplies, 10),
			policy, mins(r.FirstResponseSLA.TargetMinutes), r.FirstResponseSLA.Status, ts(r.FirstResponseSLA.DecidedAt),
			mins(r.ResolutionSLA.TargetMinutes), r.ResolutionSLA.Status, ts(resWhen),
			csat, r.CSATComment, r.ID)
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
