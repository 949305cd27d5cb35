package reports

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/xuri/excelize/v2"

	"github.com/deskpulse/deskpulse/metrics"
)

// MaxSheetRows is Excel's row limit per sheet. A data sheet that would
// pass it continues on a next sheet ("Tickets (2)"), each with its own
// header and table; Summary says so. Tests lower it.
var MaxSheetRows = 1_048_576

// Info describes a written workbook.
type Info struct {
	Summary *metrics.Summary
	Query   metrics.Query
	Tickets int64 // rows of the Tickets sheet(s)
	Events  int64
	Sheets  []string // in tab order
	Notes   []string // e.g. overflow onto further sheets
	// Phases is how long each part took (summary, sheets, zip).
	Phases []Phase
}

// Phase is one timed step of writing a workbook.
type Phase struct {
	Name     string
	Duration time.Duration
}

// WriteWorkbook writes the analyst workbook of q to w: Summary (KPIs vs
// the previous period, charts), Daily, Tickets, SLA, Agents, Teams and
// Events. The workbook is excelize's, data sheets written with its
// StreamWriter; the rows of Tickets and Events, nearly all of a big
// workbook, are written in parallel by rowWriter into deflated temporary
// files and spliced in when the zip streams to w (splice.go). Memory
// stays flat however many rows.
func WriteWorkbook(ctx context.Context, eng *metrics.Engine, q metrics.Query, w io.Writer) (*Info, error) {
	began := time.Now()
	sum, err := eng.Summary(ctx, q)
	if err != nil {
		return nil, err
	}
	b, err := newBuilder(q, sum)
	if err != nil {
		return nil, err
	}
	defer b.f.Close()
	defer b.removeRows()
	b.info.Phases = append(b.info.Phases, Phase{"summary", time.Since(began)})
	if err := b.sheets(ctx, eng); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := b.summary(); err != nil {
		return nil, err
	}
	b.info.Phases = append(b.info.Phases, Phase{"summary sheet", time.Since(start)})
	b.f.SetActiveSheet(0)
	spliceZip(b.f, w, b.parts)
	start = time.Now()
	if err := b.f.Write(w); err != nil {
		return nil, fmt.Errorf("write workbook: %w", err)
	}
	b.info.Phases = append(b.info.Phases, Phase{"zip", time.Since(start)})
	return b.info, nil
}

type styles struct {
	date, day, dur, pct, integer, breached, achieved, wrap int
	title, subtitle, label, head, note                     int
	kpiLabel, kpiCount, kpiDur, kpiPct                     int
	chgCount, chgMin, chgPts, chgPct                       int
}

// builder writes one workbook. Only the data rows of Tickets and Events
// are written concurrently (chunks, each its own); the workbook itself is
// built from one goroutine.
type builder struct {
	f         *excelize.File
	q         metrics.Query
	loc       *time.Location
	st        styles
	info      *Info
	dailyRows int
	slaRows   int
	parts     map[int]*dataPart // Tickets and Events sheets, by rowsToken
}

func newBuilder(q metrics.Query, sum *metrics.Summary) (*builder, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", "Summary"); err != nil {
		return nil, err
	}
	loc := q.TZ
	if loc == nil {
		loc = time.UTC
	}
	b := &builder{f: f, q: q, loc: loc, info: &Info{Summary: sum, Query: q, Sheets: []string{"Summary"}}}
	f.SetDocProps(&excelize.DocProperties{Title: "deskpulse report", Creator: "deskpulse",
		Description: "Helpdesk KPIs " + periodLabel(sum.Range.From, sum.Range.To, loc)})
	var err error
	style := func(s *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = f.NewStyle(s)
		return id
	}
	num := func(format string) *excelize.Style { return &excelize.Style{CustomNumFmt: &format} }
	border := []excelize.Border{{Type: "bottom", Color: "BFBFBF", Style: 1}}
	kpi := func(format string) *excelize.Style {
		return &excelize.Style{CustomNumFmt: &format, Border: border, Alignment: &excelize.Alignment{Horizontal: "right"}}
	}
	b.st = styles{
		date:     style(num("yyyy-mm-dd hh:mm")),
		day:      style(num("yyyy-mm-dd")),
		dur:      style(num("[h]:mm")),
		pct:      style(num("0.0%")),
		integer:  style(num("#,##0")),
		breached: style(&excelize.Style{Font: &excelize.Font{Color: "9C0006", Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFC7CE"}}}),
		achieved: style(&excelize.Style{Font: &excelize.Font{Color: "006100"}}),
		wrap:     style(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}),
		title:    style(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 18, Color: "1F3864"}}),
		subtitle: style(&excelize.Style{Font: &excelize.Font{Size: 11, Color: "404040"}}),
		label:    style(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "404040"}}),
		note:     style(&excelize.Style{Font: &excelize.Font{Italic: true, Color: "9C5700"}}),
		head: style(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F3864"}},
			Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center", WrapText: true}}),
		kpiLabel: style(&excelize.Style{Border: border}),
		kpiCount: style(kpi("#,##0")),
		kpiDur:   style(kpi("[h]:mm")),
		kpiPct:   style(kpi("0.0%")),
		chgCount: style(kpi(`+#,##0;-#,##0;0`)),
		chgMin:   style(kpi(`+#,##0" min";-#,##0" min";0" min"`)),
		chgPts:   style(kpi(`+0.0" pts";-0.0" pts";0.0" pts"`)),
		chgPct:   style(kpi(`+0.0%;-0.0%;0.0%`)),
	}
	return b, err
}

// excelTime is t as an Excel serial date of its local wall time in loc.
// Readers that truncate to the displayed unit (LibreOffice shows
// 21:41 for a double a hair below 21:42) see the right minute thanks to
// a bias of 10 µs, far below any displayed precision; midnight dates stay
// exact.
func excelTime(t time.Time, loc *time.Location) float64 {
	l := t.In(loc)
	_, off := l.Zone()
	secs := l.Unix() + int64(off)
	v := float64(secs)/86400 + 25569
	if frac := l.Nanosecond(); frac != 0 || secs%86400 != 0 {
		v += (float64(frac) + 1e4) / 86400e9
	}
	return v
}

func (b *builder) date(t *time.Time) any {
	if t == nil {
		return nil
	}
	return excelize.Cell{StyleID: b.st.date, Value: excelTime(*t, b.loc)}
}

func (b *builder) dayCell(t time.Time) any {
	return excelize.Cell{StyleID: b.st.day, Value: excelTime(t, b.loc)}
}

// minutes is a duration in minutes as an Excel duration ([h]:mm).
func (b *builder) minutes(m *float64) any {
	if m == nil {
		return nil
	}
	return excelize.Cell{StyleID: b.st.dur, Value: *m / 1440}
}

// dateCell, minutesCell and slaStatusCell are date, minutes and the SLA
// status highlight for rowWriter.
func (b *builder) dateCell(rw *rowWriter, t *time.Time) {
	if t == nil {
		rw.skip()
		return
	}
	rw.float(excelTime(*t, b.loc), b.st.date)
}

func (b *builder) minutesCell(rw *rowWriter, m *float64) {
	if m == nil {
		rw.skip()
		return
	}
	rw.float(*m/1440, b.st.dur)
}

func (b *builder) slaStatusCell(rw *rowWriter, status string) {
	switch status {
	case metrics.StatusBreached:
		rw.str(status, b.st.breached)
	case metrics.StatusAchieved:
		rw.str(status, b.st.achieved)
	default:
		rw.str(status, 0)
	}
}

// pctCell is a 0-100 percentage as an Excel fraction (0.0%).
func (b *builder) pctCell(p *float64) any {
	if p == nil {
		return nil
	}
	return excelize.Cell{StyleID: b.st.pct, Value: math.Round(*p*1e4) / 1e6}
}

// column of a data sheet.
type column struct {
	name  string
	width float64
}

// sheet streams one data sheet, continuing on "Name (2)", "Name (3)"...
// past MaxSheetRows, each part an Excel table with a frozen header.
type sheet struct {
	b          *builder
	base       string
	cols       []column
	freezeCols int
	sw         *excelize.StreamWriter
	name       string
	part       int
	row        int
	total      int64
	parts      []string
	cellRef    []byte
}

func (b *builder) newSheet(name string, cols []column, freezeCols int) (*sheet, error) {
	s := &sheet{b: b, base: name, cols: cols, freezeCols: freezeCols}
	return s, s.open()
}

// newSheetPart opens part n of a sheet that the caller splits itself
// ("Events (2)"); the part must not outgrow MaxSheetRows.
func (b *builder) newSheetPart(name string, n int, cols []column, freezeCols int) (*sheet, error) {
	s := &sheet{b: b, base: name, cols: cols, freezeCols: freezeCols, part: n - 1}
	return s, s.open()
}

func (s *sheet) open() error {
	s.part++
	s.name = s.base
	if s.part > 1 {
		s.name = fmt.Sprintf("%s (%d)", s.base, s.part)
	}
	if _, err := s.b.f.NewSheet(s.name); err != nil {
		return err
	}
	s.b.info.Sheets = append(s.b.info.Sheets, s.name)
	s.parts = append(s.parts, s.name)
	sw, err := s.b.f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	s.sw = sw
	// Panes and widths go before the first row.
	panes := &excelize.Panes{Freeze: true, YSplit: 1, XSplit: s.freezeCols, ActivePane: "bottomLeft",
		TopLeftCell: cellName(s.freezeCols+1, 2)}
	if s.freezeCols > 0 {
		panes.ActivePane = "bottomRight"
	}
	if err := sw.SetPanes(panes); err != nil {
		return err
	}
	for i, c := range s.cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	head := make([]any, len(s.cols))
	for i, c := range s.cols {
		head[i] = excelize.Cell{StyleID: s.b.st.head, Value: c.name}
	}
	s.row = 1
	return sw.SetRow("A1", head, excelize.RowOpts{Height: 30})
}

// add writes one data row.
func (s *sheet) add(cells []any) error {
	if s.row >= MaxSheetRows {
		if err := s.close(); err != nil {
			return err
		}
		if err := s.open(); err != nil {
			return err
		}
	}
	s.row++
	s.total++
	s.cellRef = append(s.cellRef[:0], 'A')
	s.cellRef = strconv.AppendInt(s.cellRef, int64(s.row), 10)
	return s.sw.SetRow(string(s.cellRef), cells)
}

// close adds the table and flushes the current part.
func (s *sheet) close() error {
	last := max(s.row, 2)
	name := strings.ReplaceAll(s.base, " ", "_")
	if s.part > 1 {
		name += "_" + strconv.Itoa(s.part)
	}
	if err := s.sw.AddTable(&excelize.Table{Range: "A1:" + cellName(len(s.cols), last), Name: name, StyleName: "TableStyleLight9"}); err != nil {
		return fmt.Errorf("table on %s: %w", s.name, err)
	}
	return s.sw.Flush()
}

// finish closes the last part and notes an overflow on Summary.
func (s *sheet) finish() error {
	if err := s.close(); err != nil {
		return err
	}
	s.b.noteOverflow(s.base, s.total, s.parts)
	return nil
}

// noteOverflow says on Summary that a data sheet continues on others.
func (b *builder) noteOverflow(base string, rows int64, parts []string) {
	if len(parts) < 2 {
		return
	}
	b.info.Notes = append(b.info.Notes, fmt.Sprintf("%s: %s rows do not fit one sheet (Excel's limit is %s rows), so they continue on %s.",
		base, thousands(rows), thousands(int64(MaxSheetRows)), strings.Join(parts[1:], ", ")))
}

func cellName(col, row int) string {
	n, _ := excelize.CoordinatesToCellName(col, row)
	return n
}

func colName(col int) string {
	n, _ := excelize.ColumnNumberToName(col)
	return n
}

func (b *builder) dayQuery() metrics.Query {
	q := b.q
	q.Interval = "day"
	if q.To.Sub(q.From) > 4000*24*time.Hour {
		q.Interval = "week"
	}
	return q
}

// daily is the Daily sheet: per local day created, resolved, backlog and
// CSAT; the Summary charts reference it.
func (b *builder) fetchDaily(ctx context.Context, eng *metrics.Engine, d *dailyData) error {
	q := b.dayQuery()
	for _, s := range []struct {
		name string
		to   *any
	}{{"volume", &d.vol}, {"backlog", &d.backlog}, {"csat", &d.csat}} {
		res, err := eng.Series(ctx, s.name, q)
		if err != nil {
			return err
		}
		*s.to = res
	}
	return nil
}

// dailyData are the series of the Daily sheet.
type dailyData struct{ vol, backlog, csat any }

func (b *builder) daily(d *dailyData) error {
	vol, bl, cs := d.vol.(*metrics.Volume), d.backlog.(*metrics.Backlog), d.csat.(*metrics.CSATSeries)
	s, err := b.newSheet("Daily", []column{{"Day", 12}, {"Created", 10}, {"Resolved", 10}, {"Backlog at end", 11},
		{"CSAT responses", 11}, {"CSAT satisfied", 11}, {"CSAT score", 10}, {"CSAT response rate", 11}}, 1)
	if err != nil {
		return err
	}
	for i, p := range vol.Points {
		c := cs.Points[i]
		if err := s.add([]any{b.dayCell(p.Start), p.Created, p.Resolved, bl.Points[i].Backlog,
			c.Responses, c.Satisfied, b.pctCell(c.ScorePct), b.pctCell(c.ResponseRatePct)}); err != nil {
			return err
		}
	}
	b.dailyRows = len(vol.Points)
	return s.finish()
}

// slaSheet is the SLA sheet: both targets per local day (decided that day,
// active at its end).
func (b *builder) slaSheet(ser *metrics.SLASeries) error {
	s, err := b.newSheet("SLA", []column{{"Day", 12},
		{"First response met", 11}, {"First response breached", 11}, {"First response active at end", 12}, {"First response SLA %", 11},
		{"Resolution met", 11}, {"Resolution breached", 11}, {"Resolution active at end", 12}, {"Resolution SLA %", 11}}, 1)
	if err != nil {
		return err
	}
	for _, p := range ser.Points {
		fr, rs := p.FirstResponse, p.Resolution
		breached := func(n int64) any {
			if n > 0 {
				return excelize.Cell{StyleID: b.st.breached, Value: n}
			}
			return n
		}
		if err := s.add([]any{b.dayCell(p.Start),
			fr.Achieved, breached(fr.Breached), fr.Active, b.pctCell(fr.CompliancePct),
			rs.Achieved, breached(rs.Breached), rs.Active, b.pctCell(rs.CompliancePct)}); err != nil {
			return err
		}
	}
	b.slaRows = len(ser.Points)
	return s.finish()
}

func (b *builder) breakdown(bd *metrics.Breakdown, sheetName, keyName string) error {
	s, err := b.newSheet(sheetName, []column{{keyName, 28}, {"Created", 10}, {"Assigned", 10}, {"Resolved", 10}, {"Backlog at end", 11},
		{"First response, median", 12}, {"Full resolution, median", 12}, {"SLA met %", 10}, {"CSAT score", 10}, {"Reopens", 10}}, 1)
	if err != nil {
		return err
	}
	for _, r := range bd.Rows {
		key := r.Key
		if key == "" {
			key = "(none)"
		}
		if err := s.add([]any{key, r.TicketsCreated, r.TicketsAssigned, r.TicketsResolved, r.Backlog,
			b.minutes(r.FirstResponseMedian), b.minutes(r.ResolutionMedian), b.pctCell(r.SLACompliancePct),
			b.pctCell(r.CSATScorePct), r.Reopens}); err != nil {
			return err
		}
	}
	return s.finish()
}

// ticketColumns are the Tickets sheet's columns (and the CSV's).
var ticketColumns = []column{
	{"Number", 9}, {"Subject", 40}, {"Requester", 20}, {"Requester email", 26}, {"Status", 10}, {"Priority", 9},
	{"Type", 10}, {"Category", 14}, {"Channel", 9}, {"Team", 14}, {"Assignee", 24}, {"Tags", 16},
	{"Created", 16}, {"First reply", 16}, {"First resolved", 16}, {"Resolved", 16},
	{"First response", 10}, {"First response (business)", 11}, {"First resolution", 10}, {"First resolution (business)", 11},
	{"Full resolution", 10}, {"Full resolution (business)", 11}, {"Reopens", 8}, {"Agent replies", 8},
	{"SLA policy", 16}, {"First response target", 10}, {"First response SLA", 11}, {"First response SLA decided", 16},
	{"Resolution target", 10}, {"Resolution SLA", 11}, {"Resolution SLA decided or due", 16},
	{"CSAT score", 7}, {"CSAT comment", 30}, {"Ticket ID", 38},
}

var eventColumns = []column{{"Occurred", 16}, {"Ticket", 9}, {"Event", 16}, {"Actor", 26}, {"Actor kind", 10},
	{"Status", 10}, {"Priority", 9}, {"Team", 14}, {"Assignee", 24}, {"Category", 14}, {"Public", 7}, {"Score", 6},
	{"Text", 50}, {"Seq", 10}}

// sheets writes the data sheets. First, at the same time (up to one
// goroutine per CPU), the small sheets' series are computed and the rows
// of Tickets and Events are written to temporary files (rowWriter), a
// chunk per page of their order: bounded pages (maxTicketQueryRows,
// eventPageRows) keep DuckDB's sorts small and spread a big sheet over
// every CPU. Then the sheets are added in tab order, Tickets and Events as
// placeholders that the zip step fills with their chunks (splice.go).
func (b *builder) sheets(ctx context.Context, eng *metrics.Engine) error {
	start := time.Now()
	sheetRows := MaxSheetRows - 1
	// paging is how a sheet kind is read: perSheet pages of size rows.
	type paging struct{ perSheet, size int }
	pagingOf := func(maxRows int) paging {
		n := queriesPerSheet(sheetRows, maxRows)
		return paging{n, sheetRows / n}
	}
	memoryLimit, err := eng.MemoryLimit(ctx)
	if err != nil {
		return err
	}
	ticketPaging, eventPaging := pagingOf(maxTicketQueryRows), pagingOf(eventPageRows(memoryLimit))
	eventPages, err := eng.EventPages(ctx, b.q, eventPaging.size)
	if err != nil {
		return err
	}
	ticketPages, err := eng.TicketPages(ctx, b.q, ticketPaging.size)
	if err != nil {
		return err
	}
	// parts groups pages into sheets of perSheet pages.
	parts := func(base string, cols []column, freeze, pages int, pg paging) []*dataPart {
		var out []*dataPart
		for i := 0; i < pages; i += pg.perSheet {
			out = append(out, b.newPart(base, len(out)+1, cols, freeze, min(pg.perSheet, pages-i), pg.size))
		}
		return out
	}
	ticketParts := parts("Tickets", ticketColumns, 1, len(ticketPages), ticketPaging)
	eventParts := parts("Events", eventColumns, 0, len(eventPages), eventPaging)
	chunkOf := func(parts []*dataPart, pg paging, page int) *chunk {
		return parts[page/pg.perSheet].chunks[page%pg.perSheet]
	}

	var (
		daily         dailyData
		sla           any
		agents, teams any
		series        = func(name string, q metrics.Query, to *any) func() error {
			return func() (err error) { *to, err = eng.Series(ctx, name, q); return err }
		}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, page := range ticketPages {
		g.Go(func() error { return b.ticketPage(gctx, eng, chunkOf(ticketParts, ticketPaging, i), page) })
	}
	for i, page := range eventPages {
		g.Go(func() error { return b.eventPage(gctx, eng, chunkOf(eventParts, eventPaging, i), page) })
	}
	g.Go(func() error { return b.fetchDaily(gctx, eng, &daily) })
	g.Go(series("sla_compliance", b.dayQuery(), &sla))
	g.Go(series("agents", b.q, &agents))
	g.Go(series("by_team", b.q, &teams))
	if err := g.Wait(); err != nil {
		return err
	}
	b.info.Phases = append(b.info.Phases, Phase{"data (parallel)", time.Since(start)})

	start = time.Now()
	var ticketNames, eventNames []string
	for _, p := range append(ticketParts, eventParts...) {
		if err := p.check(); err != nil {
			return err
		}
		if p.base == "Tickets" {
			ticketNames = append(ticketNames, p.name())
			b.info.Tickets += p.rows()
		} else {
			eventNames = append(eventNames, p.name())
			b.info.Events += p.rows()
		}
	}
	if err := b.daily(&daily); err != nil {
		return err
	}
	for _, p := range ticketParts {
		if err := b.placeholderSheet(p); err != nil {
			return err
		}
	}
	if err := b.slaSheet(sla.(*metrics.SLASeries)); err != nil {
		return err
	}
	if err := b.breakdown(agents.(*metrics.Breakdown), "Agents", "Agent"); err != nil {
		return err
	}
	if err := b.breakdown(teams.(*metrics.Breakdown), "Teams", "Team"); err != nil {
		return err
	}
	for _, p := range eventParts {
		if err := b.placeholderSheet(p); err != nil {
			return err
		}
	}
	b.noteOverflow("Tickets", b.info.Tickets, ticketNames)
	b.noteOverflow("Events", b.info.Events, eventNames)
	b.info.Phases = append(b.info.Phases, Phase{"sheets", time.Since(start)})
	return nil
}

// periodLabel is "2026-03-01 – 2026-03-31" for whole local days (to is
// exclusive), else both instants.
func periodLabel(from, to time.Time, loc *time.Location) string {
	f, t := from.In(loc), to.In(loc)
	if isMidnight(f) && isMidnight(t) {
		last := t.AddDate(0, 0, -1)
		if last.Equal(f) {
			return f.Format("Mon 2 Jan 2006")
		}
		return f.Format("2 Jan 2006") + " – " + last.Format("2 Jan 2006")
	}
	return f.Format("2 Jan 2006 15:04") + " – " + t.Format("2 Jan 2006 15:04")
}

func isMidnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// FilterLabel describes a query's filters ("all tickets" without).
func FilterLabel(q metrics.Query) string {
	var parts []string
	for _, f := range []struct {
		name string
		v    []string
	}{{"team", q.Team}, {"agent", q.Agent}, {"priority", q.Priority}, {"category", q.Category}, {"channel", q.Channel}, {"type", q.Type}} {
		if len(f.v) > 0 {
			parts = append(parts, f.name+" = "+strings.Join(f.v, ", "))
		}
	}
	if len(parts) == 0 {
		return "all tickets"
	}
	return strings.Join(parts, "; ")
}

// summary fills the Summary sheet (a normal sheet, so it can hold charts).
func (b *builder) summary() error {
	f, sh, sum := b.f, "Summary", b.info.Summary
	set := func(cell string, v any, style int) {
		f.SetCellValue(sh, cell, v)
		if style != 0 {
			f.SetCellStyle(sh, cell, cell, style)
		}
	}
	f.SetColWidth(sh, "A", "A", 40)
	f.SetColWidth(sh, "B", "C", 16)
	f.SetColWidth(sh, "D", "E", 13)
	f.SetColWidth(sh, "F", "F", 3)
	set("A1", "Helpdesk report", b.st.title)
	f.SetRowHeight(sh, 1, 28)
	set("A2", periodLabel(sum.Range.From, sum.Range.To, b.loc)+"  ·  "+b.loc.String(), b.st.subtitle)
	rows := [][2]string{
		{"Period", periodLabel(sum.Range.From, sum.Range.To, b.loc)},
		{"Previous period", periodLabel(sum.Previous.From, sum.Previous.To, b.loc)},
		{"Time zone", b.loc.String()},
		{"Tickets", FilterLabel(b.q)},
		{"Data as of", sum.Range.AsOf.In(b.loc).Format("2006-01-02 15:04 MST")},
	}
	r := 4
	for _, kv := range rows {
		set(fmt.Sprintf("A%d", r), kv[0], b.st.label)
		set(fmt.Sprintf("B%d", r), kv[1], 0)
		r++
	}
	for _, n := range b.info.Notes {
		set(fmt.Sprintf("A%d", r), n, b.st.note)
		r++
	}
	r++
	head := []string{"KPI", "This period", "Previous period", "Change", "Change %"}
	for i, h := range head {
		set(cellName(i+1, r), h, b.st.head)
	}
	f.SetRowHeight(sh, r, 22)
	kpiTop := r + 1
	for _, k := range KPIs(sum) {
		r++
		set(fmt.Sprintf("A%d", r), k.Label, 0)
		f.SetCellStyle(sh, fmt.Sprintf("A%d", r), fmt.Sprintf("A%d", r), b.st.kpiLabel)
		valStyle, chgStyle, scale := b.st.kpiCount, b.st.chgCount, 1.0
		switch k.Kind {
		case kindMinutes, kindBusinessMinutes:
			valStyle, chgStyle, scale = b.st.kpiDur, b.st.chgMin, 1.0/1440
		case kindPct:
			valStyle, chgStyle, scale = b.st.kpiPct, b.st.chgPts, 0.01
		}
		put := func(col string, v *float64, scale float64, style int) {
			cell := fmt.Sprintf("%s%d", col, r)
			if v != nil {
				f.SetCellValue(sh, cell, *v*scale)
			}
			f.SetCellStyle(sh, cell, cell, style)
		}
		put("B", k.Cur, scale, valStyle)
		put("C", k.Prev, scale, valStyle)
		put("D", k.Change(), 1, chgStyle)
		if pc := k.ChangePct(); pc != nil {
			put("E", pc, 0.01, b.st.chgPct)
		} else {
			put("E", nil, 0, b.st.chgPct)
		}
	}
	f.SetDefinedName(&excelize.DefinedName{Name: "KPIs", RefersTo: fmt.Sprintf("Summary!$A$%d:$E$%d", kpiTop, r)})
	r += 2
	set(fmt.Sprintf("A%d", r), "Durations are hours:minutes; the Tickets sheet has every ticket of the period, Events its raw events.", b.st.subtitle)
	// Printed (or saved as PDF) on one portrait page.
	fit := true
	f.SetSheetProps(sh, &excelize.SheetPropsOptions{FitToPage: &fit})
	one, orient := 1, "portrait"
	f.SetPageLayout(sh, &excelize.PageLayoutOptions{FitToWidth: &one, FitToHeight: &one, Orientation: &orient})
	return b.charts(r + 2)
}

// charts puts the native charts on Summary below the KPI table (from
// row top), referencing Daily and SLA.
func (b *builder) charts(top int) error {
	n := b.dailyRows
	if n == 0 {
		return nil
	}
	last := n + 1
	ref := func(sheet, col string) string { return fmt.Sprintf("%s!$%s$2:$%s$%d", sheet, col, col, last) }
	cats := ref("Daily", "A")
	axisFont := excelize.Font{Color: "404040", Size: 9}
	axis := excelize.ChartAxis{NumFmt: excelize.ChartNumFmt{CustomNumFmt: "d mmm"}, TickLabelSkip: max(1, n/8), Font: axisFont,
		Alignment: excelize.Alignment{TextRotation: -45}}
	zero, hundred := 0.0, 1.0
	pctAxis := excelize.ChartAxis{MajorGridLines: true, NumFmt: excelize.ChartNumFmt{CustomNumFmt: "0%"}, Minimum: &zero, Maximum: &hundred, Font: axisFont}
	line := func(name, sheet, col, color string) excelize.ChartSeries {
		return excelize.ChartSeries{Name: fmt.Sprintf("%s!$%s$1", sheet, col), Categories: cats, Values: ref(sheet, col),
			Line: excelize.LineOptions{Width: 1.75}, Marker: excelize.ChartMarker{Symbol: "none"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{color}}}
	}
	dim := excelize.ChartDimension{Width: 700, Height: 270}
	title := func(s string) excelize.ChartTitle {
		return excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: s, Font: &excelize.Font{Bold: true, Size: 12}}}}
	}
	charts := []struct {
		cell string
		c    *excelize.Chart
	}{
		{fmt.Sprintf("A%d", top), &excelize.Chart{Type: excelize.Line, Dimension: dim, Title: title("Tickets created and resolved per day"),
			Series: []excelize.ChartSeries{line("Created", "Daily", "B", "2F5597"), line("Resolved", "Daily", "C", "70AD47")},
			Legend: excelize.ChartLegend{Position: "bottom"},
			XAxis:  axis, YAxis: excelize.ChartAxis{MajorGridLines: true}, ShowBlanksAs: "gap"}},
		{fmt.Sprintf("A%d", top+15), &excelize.Chart{Type: excelize.Line, Dimension: dim, Title: title("SLA met per day"),
			Series: []excelize.ChartSeries{line("First response", "SLA", "E", "2F5597"), line("Resolution", "SLA", "I", "C55A11")},
			Legend: excelize.ChartLegend{Position: "bottom"},
			XAxis:  axis, YAxis: pctAxis, ShowBlanksAs: "gap"}},
		{fmt.Sprintf("A%d", top+30), &excelize.Chart{Type: excelize.Line, Dimension: dim, Title: title("CSAT score per day"),
			Series: []excelize.ChartSeries{line("CSAT score", "Daily", "G", "7030A0")},
			Legend: excelize.ChartLegend{Position: "none"},
			XAxis:  axis, YAxis: pctAxis, ShowBlanksAs: "gap"}},
	}
	for _, c := range charts {
		if err := b.f.AddChart("Summary", c.cell, c.c); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
	}
	return nil
}
