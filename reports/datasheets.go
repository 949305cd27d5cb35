package reports

import (
	"bufio"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"

	"github.com/deskpulse/deskpulse/metrics"
)

// dataPart is one sheet of the Tickets or Events rows: "Events (2)".
type dataPart struct {
	k      int // its rowsToken
	base   string
	n      int // part number, from 1
	cols   []column
	freeze int
	rows   int64
}

func (p *dataPart) name() string {
	if p.n == 1 {
		return p.base
	}
	return fmt.Sprintf("%s (%d)", p.base, p.n)
}

// partWriter writes the data rows of a sheet into temporary files, one
// per part, continuing on the next part past MaxSheetRows.
type partWriter struct {
	b      *builder
	base   string
	cols   []column
	freeze int
	next   int // number of the next part
	parts  []*dataPart
	file   *os.File
	z      *parallelDeflate
	sum    *crcCounter
	buf    *bufio.Writer
	rw     *rowWriter
	total  int64
}

// crcCounter is the CRC-32 and length of what passes through it.
type crcCounter struct {
	w   io.Writer
	crc uint32
	n   int64
}

func (c *crcCounter) Write(p []byte) (int, error) {
	c.crc = crc32.Update(c.crc, crc32.IEEETable, p)
	c.n += int64(len(p))
	return c.w.Write(p)
}

func (b *builder) newPartWriter(base string, cols []column, freeze, firstPart int) *partWriter {
	return &partWriter{b: b, base: base, cols: cols, freeze: freeze, next: firstPart}
}

// row starts the next data row, opening a part when needed.
func (pw *partWriter) row() (*rowWriter, error) {
	if pw.rw == nil || pw.parts[len(pw.parts)-1].rows >= int64(MaxSheetRows-1) {
		if err := pw.closePart(); err != nil {
			return nil, err
		}
		if err := pw.openPart(); err != nil {
			return nil, err
		}
	}
	pw.parts[len(pw.parts)-1].rows++
	pw.total++
	pw.rw.start()
	return pw.rw, nil
}

func (pw *partWriter) openPart() error {
	f, err := os.CreateTemp("", "deskpulse-rows-*")
	if err != nil {
		return err
	}
	p := &dataPart{k: pw.b.newToken(), base: pw.base, n: pw.next, cols: pw.cols, freeze: pw.freeze}
	pw.next++
	pw.b.rowFiles.add(p.k, f.Name())
	pw.parts = append(pw.parts, p)
	// The rows are deflated as they are written (an open stream, so the
	// sheet's end can follow it), on every CPU: the zip step then copies
	// them as they are, and the temporary file is an eighth of the XML.
	pw.file = f
	pw.z = newParallelDeflate(f, flate.BestSpeed)
	pw.z.open = true
	pw.sum = &crcCounter{w: pw.z}
	pw.buf = bufio.NewWriterSize(pw.sum, 1<<20)
	pw.rw = newRowWriter(pw.buf, len(pw.cols))
	return nil
}

func (pw *partWriter) closePart() error {
	if pw.file == nil {
		return nil
	}
	err := pw.buf.Flush()
	if zerr := pw.z.Close(); err == nil {
		err = zerr
	}
	if cerr := pw.file.Close(); err == nil {
		err = cerr
	}
	pw.b.rowFiles.setSum(pw.parts[len(pw.parts)-1].k, pw.sum.crc, pw.sum.n)
	pw.file = nil
	return err
}

// close ends the last part; with no rows at all there is still one
// (empty) sheet.
func (pw *partWriter) close() error {
	if len(pw.parts) == 0 {
		if err := pw.openPart(); err != nil {
			return err
		}
	}
	return pw.closePart()
}

func (b *builder) newToken() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens++
	return b.tokens
}

// placeholderSheet adds part p as an excelize stream sheet: frozen
// header, widths, the header row, a placeholder second row (replaced by
// the part's rows when zipping) and the table over all the rows.
func (b *builder) placeholderSheet(p *dataPart) error {
	name := p.name()
	if _, err := b.f.NewSheet(name); err != nil {
		return err
	}
	b.info.Sheets = append(b.info.Sheets, name)
	sw, err := b.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	panes := &excelize.Panes{Freeze: true, YSplit: 1, XSplit: p.freeze, ActivePane: "bottomLeft",
		TopLeftCell: cellName(p.freeze+1, 2)}
	if p.freeze > 0 {
		panes.ActivePane = "bottomRight"
	}
	if err := sw.SetPanes(panes); err != nil {
		return err
	}
	for i, c := range p.cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return err
		}
	}
	head := make([]any, len(p.cols))
	for i, c := range p.cols {
		head[i] = excelize.Cell{StyleID: b.st.head, Value: c.name}
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 30}); err != nil {
		return err
	}
	if err := sw.SetRow("A2", []any{rowsToken(p.k)}); err != nil {
		return err
	}
	table := p.base
	if p.n > 1 {
		table = fmt.Sprintf("%s_%d", p.base, p.n)
	}
	last := max(p.rows+1, 2)
	if err := sw.AddTable(&excelize.Table{Range: fmt.Sprintf("A1:%s%d", colName(len(p.cols)), last), Name: table, StyleName: "TableStyleLight9"}); err != nil {
		return fmt.Errorf("table on %s: %w", name, err)
	}
	return sw.Flush()
}

// ticketRows writes the Tickets sheet's rows, page by page: every ticket
// created in range, oldest first.
func (b *builder) ticketRows(ctx context.Context, eng *metrics.Engine, pw *partWriter, pages []metrics.TicketPage) error {
	for _, page := range pages {
		if err := b.ticketPage(ctx, eng, pw, page); err != nil {
			return err
		}
	}
	return pw.close()
}

func (b *builder) ticketPage(ctx context.Context, eng *metrics.Engine, pw *partWriter, page metrics.TicketPage) error {
	return eng.TicketRowsPage(ctx, b.q, page, func(r *metrics.TicketRow) error {
		rw, err := pw.row()
		if err != nil {
			return err
		}
		policy, resWhen := r.Policy(), r.ResolutionDecidedOrDue()
		rw.int(r.Number, 0)
		for _, s := range []string{r.Subject, r.RequesterName, r.RequesterEmail, r.Status, r.Priority,
			r.Type, r.Category, r.Channel, r.Team, r.Assignee, r.Tags} {
			rw.str(s, 0)
		}
		b.dateCell(rw, &r.CreatedAt)
		b.dateCell(rw, r.FirstReplyAt)
		b.dateCell(rw, r.FirstResolvedAt)
		b.dateCell(rw, r.ResolvedAt)
		for _, m := range []*float64{r.FirstResponseMin, r.FirstResponseBMin, r.FirstResolutionMin, r.FirstResolutionBMin,
			r.ResolutionMin, r.ResolutionBMin} {
			b.minutesCell(rw, m)
		}
		rw.int(r.Reopens, 0)
		rw.int(r.AgentReplies, 0)
		rw.str(policy, 0)
		b.minutesCell(rw, r.FirstResponseSLA.TargetMinutes)
		b.slaStatusCell(rw, r.FirstResponseSLA.Status)
		b.dateCell(rw, r.FirstResponseSLA.DecidedAt)
		b.minutesCell(rw, r.ResolutionSLA.TargetMinutes)
		b.slaStatusCell(rw, r.ResolutionSLA.Status)
		b.dateCell(rw, resWhen)
		if r.CSATScore != nil {
			rw.int(*r.CSATScore, 0)
		} else {
			rw.skip()
		}
		rw.str(r.CSATComment, 0)
		rw.str(r.ID, 0)
		rw.end()
		return nil
	})
}

// maxQueryRows bounds the events one query sorts: an Events sheet of a
// million rows is read in several pages, which keeps DuckDB's sort
// memory down. Tests lower it.
var maxQueryRows = 1 << 18

// queriesPerSheet is how many pages of events fill a sheet of n rows: the
// fewest that divide n into pages of at most maxQueryRows, or (when no
// small divisor exists) one page per sheet.
func queriesPerSheet(n int) int {
	least := max(1, (n+maxQueryRows-1)/maxQueryRows)
	for d := least; d <= 4*least && d <= n; d++ {
		if n%d == 0 {
			return d
		}
	}
	return 1
}

// eventRows writes pages of the period's events onto their sheet.
func (b *builder) eventRows(ctx context.Context, eng *metrics.Engine, pw *partWriter, pages []metrics.EventPage) error {
	for _, page := range pages {
		if err := b.eventPage(ctx, eng, pw, page); err != nil {
			return err
		}
	}
	return pw.close()
}

func (b *builder) eventPage(ctx context.Context, eng *metrics.Engine, pw *partWriter, page metrics.EventPage) error {
	return eng.EventRows(ctx, b.q, page, func(r *metrics.EventRow) error {
		rw, err := pw.row()
		if err != nil {
			return err
		}
		b.dateCell(rw, &r.At)
		rw.int(r.Number, 0)
		for _, s := range []string{r.Type, r.Actor, r.ActorKind, r.Status, r.Priority, r.Team, r.Assignee, r.Category} {
			rw.str(s, 0)
		}
		if r.Public != nil {
			rw.bool(*r.Public)
		} else {
			rw.skip()
		}
		if r.Score != nil {
			rw.int(*r.Score, 0)
		} else {
			rw.skip()
		}
		text := r.Text
		if len(text) > 32000 {
			text = text[:32000] + "…"
		}
		rw.str(text, 0)
		rw.int(r.Seq, 0)
		rw.end()
		return nil
	})
}
