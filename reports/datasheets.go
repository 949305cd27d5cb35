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

// dataPart is one sheet of the Tickets or Events rows: "Events (2)". Its
// rows are written as chunks, one per page of the order, each into its own
// temporary file by its own goroutine; the zip step joins them.
type dataPart struct {
	k      int // its rowsToken
	base   string
	n      int // part number, from 1
	cols   []column
	freeze int
	chunks []*chunk
}

func (p *dataPart) name() string {
	if p.n == 1 {
		return p.base
	}
	return fmt.Sprintf("%s (%d)", p.base, p.n)
}

// rows counts the part's data rows (once its chunks are written).
func (p *dataPart) rows() int64 {
	var n int64
	for _, c := range p.chunks {
		n += c.rows
	}
	return n
}

// chunk writes one page of a part's rows, from a known row number, as an
// open deflate stream (so more can follow it) into a temporary file,
// keeping the CRC-32 and length of its XML for the zip entry.
type chunk struct {
	first int // row number of its first row
	want  int64
	path  string // the temporary file, once opened
	file  *os.File
	z     *parallelDeflate
	sum   crcCounter // of the XML written: the zip entry's CRC and size
	buf   *bufio.Writer
	rw    *rowWriter
	cols  int
	rows  int64
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

// newPart adds a part of n pages of size rows each (the last may have
// fewer): its chunks' rows are numbered from 2, below the header. Parts
// are added before the chunks are written, in one goroutine.
func (b *builder) newPart(base string, n int, cols []column, freeze, pages, size int) *dataPart {
	if b.parts == nil {
		b.parts = map[int]*dataPart{}
	}
	p := &dataPart{k: len(b.parts) + 1, base: base, n: n, cols: cols, freeze: freeze}
	b.parts[p.k] = p
	for i := range pages {
		p.chunks = append(p.chunks, &chunk{first: 2 + i*size, want: int64(size), cols: len(cols)})
	}
	return p
}

// open starts the chunk's file.
func (c *chunk) open() error {
	f, err := os.CreateTemp("", "deskpulse-rows-*")
	if err != nil {
		return err
	}
	// Deflated as written, on every CPU: the zip step copies the chunks as
	// they are, and the temporary files are an eighth of the XML.
	c.file, c.path = f, f.Name()
	c.z = newParallelDeflate(f, flate.BestSpeed)
	c.z.open = true
	c.sum.w = c.z
	c.buf = bufio.NewWriterSize(&c.sum, 1<<20)
	c.rw = newRowWriter(c.buf, c.cols, c.first)
	return nil
}

// row starts the next data row.
func (c *chunk) row() *rowWriter {
	c.rows++
	c.rw.start()
	return c.rw
}

// close finishes the chunk's file and lets go of its buffers: a big
// workbook has hundreds of chunks, of which only those being written need
// them.
func (c *chunk) close() error {
	err := c.buf.Flush()
	if zerr := c.z.Close(); err == nil {
		err = zerr
	}
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	c.file, c.z, c.buf, c.rw = nil, nil, nil, nil
	c.sum.w = nil
	return err
}

// check says that a chunk that other chunks follow has exactly its page's
// rows, so that their row numbers meet; events that arrive during the
// export inside an earlier page (an import of history) would break that.
func (p *dataPart) check() error {
	for _, c := range p.chunks[:len(p.chunks)-1] {
		if c.rows != c.want {
			return fmt.Errorf("%s changed while the workbook was written (%d rows in a page of %d); export again", p.name(), c.rows, c.want)
		}
	}
	return nil
}

// removeRows deletes the parts' temporary files.
func (b *builder) removeRows() {
	for _, p := range b.parts {
		for _, c := range p.chunks {
			if c.path != "" {
				os.Remove(c.path)
			}
		}
	}
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
	last := max(p.rows()+1, 2)
	if err := sw.AddTable(&excelize.Table{Range: fmt.Sprintf("A1:%s%d", colName(len(p.cols)), last), Name: table, StyleName: "TableStyleLight9"}); err != nil {
		return fmt.Errorf("table on %s: %w", name, err)
	}
	return sw.Flush()
}

// ticketPage writes a page of the Tickets sheet's rows: tickets created
// in range, oldest first.
func (b *builder) ticketPage(ctx context.Context, eng *metrics.Engine, c *chunk, page metrics.TicketPage) error {
	if err := c.open(); err != nil {
		return err
	}
	err := eng.TicketRowsPage(ctx, b.q, page, func(r *metrics.TicketRow) error {
		rw := c.row()
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
	if cerr := c.close(); err == nil {
		err = cerr
	}
	return err
}

// The rows one query sorts are bounded: a sheet of a million rows is read
// in several pages, which keeps DuckDB's sort memory down, and spreads the
// sheet over every CPU. A ticket row is wide (42 columns, its SLA figures
// computed as it is read): at 1M tickets, pages of 95,325 tickets instead
// of 209,715 took the export's peak from 784 to ~530 MB at the same speed
// (memory_limit 300MB). Event pages are as big unless DuckDB's memory is
// small (eventPageRows). Tests lower both.
var (
	maxTicketQueryRows = 1 << 17
	maxEventQueryRows  = 1 << 18
)

// eventPageRows is the most events one query sorts under DuckDB's memory
// limit: a page gets 1/2048 of it in rows (an event takes a few hundred
// bytes while it is sorted and handed over, and a page is read per CPU),
// at most maxEventQueryRows. Once the buffer cache has filled up to the
// limit, the pages' sorts are what the export adds to it: at 1M tickets
// and 200MB, pages of 95,325 events peak at 438 MB where pages of 209,715
// peak at 503 MB. Where memory is plenty, bigger pages are faster: fewer
// queries (0.2 s of 2.9 at 100k tickets).
func eventPageRows(memoryLimit int64) int {
	return int(min(int64(maxEventQueryRows), max(1<<14, memoryLimit/2048)))
}

// queriesPerSheet is how many pages fill a sheet of n rows: the fewest
// that divide n into pages of at most maxRows, or (when no small divisor
// exists) one page per sheet.
func queriesPerSheet(n, maxRows int) int {
	least := max(1, (n+maxRows-1)/maxRows)
	for d := least; d <= 4*least && d <= n; d++ {
		if n%d == 0 {
			return d
		}
	}
	return 1
}

// eventPage writes a page of the period's events.
func (b *builder) eventPage(ctx context.Context, eng *metrics.Engine, c *chunk, page metrics.EventPage) error {
	if err := c.open(); err != nil {
		return err
	}
	err := eng.EventRows(ctx, b.q, page, func(r *metrics.EventRow) error {
		rw := c.row()
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
	if cerr := c.close(); err == nil {
		err = cerr
	}
	return err
}
