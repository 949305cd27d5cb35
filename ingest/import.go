package ingest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/deskpulse/deskpulse/model"
)

// Input is one file to import: its name (for reports and to guess the
// format) and its bytes. Path, when set, is a file on disk (Parquet and zip
// read it directly; other inputs are spooled when they need a file).
type Input struct {
	Name string
	R    io.Reader
	Path string
}

// ImportOptions say how to read and store inputs.
type ImportOptions struct {
	Format  string         // "ndjson", "csv" or "parquet"; "" guesses from the name and the content
	Profile string         // a built-in source profile, e.g. "uci-incidents" (see Profiles)
	Mapping *Mapping       // a generic CSV mapping (see docs/import.md)
	TZ      *time.Location // zone of timestamps that carry none; default UTC
	Skip    bool           // store the good rows and report the bad ones (--on-error skip); default abort
	DryRun  bool           // read, check and count, store nothing
	// MaxInflated bounds the bytes the compressed inputs may inflate to
	// in all (0: DefaultMaxInflated); past it the import fails with an
	// *InflatedTooLargeError and stores nothing.
	MaxInflated int64
	// Progress, when set, is called now and then with the source rows read so far.
	Progress func(rows int64)

	goNDJSON      bool                           // tests: always read NDJSON with encoding/json
	observeNDJSON func(file string, duckdb bool) // tests: told which reader staged each NDJSON file
}

// RowError is a source row that cannot be imported, and why.
type RowError struct {
	File    string `json:"file"`
	Line    int64  `json:"line"`
	Reason  string `json:"reason"`
	EventID string `json:"event_id,omitempty"`
	Row     string `json:"row,omitempty"` // the raw row when it could not be parsed
}

func (e RowError) String() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// ImportSummary is what an import did. Read counts source rows (lines),
// Imported and Duplicates count events (one source row may make several),
// Rejected counts bad source rows.
type ImportSummary struct {
	Files          []string `json:"files"`
	Read           int64    `json:"read"`
	Events         int      `json:"events"`
	Imported       int      `json:"imported"`
	Duplicates     int      `json:"duplicates"`
	Rejected       int      `json:"rejected"`
	TicketsTouched int      `json:"tickets_touched"`
	Seconds        float64  `json:"seconds"`
	DryRun         bool     `json:"dry_run,omitempty"`
	// Phases are the seconds spent reading, de-duplicating, checking and storing.
	Phases  map[string]float64 `json:"phases,omitempty"`
	Rejects []RowError         `json:"rejects,omitempty"`
}

// ImportError aborts an import that met bad rows (without --on-error
// skip); nothing was stored.
type ImportError struct {
	Rows []RowError
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad rows, nothing imported (use --on-error skip to import the rest)", len(e.Rows))
	for i, r := range e.Rows {
		if i == 10 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Rows)-10)
			break
		}
		b.WriteString("\n  " + r.String())
	}
	return b.String()
}

// origin is where an event came from.
type origin struct {
	file string
	line int64
}

// collector gathers the events and bad rows of all inputs. Events are
// normalized as they come and handed to stage in batches of stageBatch;
// without stage (the fuzz tests) they stay in events.
type collector struct {
	opts    *ImportOptions
	events  []*model.Event // the batch not yet staged
	origins []origin
	reasons []string // what Normalize said of each event of the batch, "" when fine
	bad     []RowError
	read    int64
	lastRep time.Time
	stage   func(events []*model.Event, origins []origin, reasons []string) error
	err     error // the first staging failure; later events are dropped
	// inflateLeft is what the compressed inputs still may inflate to
	// (ImportOptions.MaxInflated).
	inflateLeft int64
	// stageNDJSON, when set, lets DuckDB read a canonical NDJSON file on
	// disk straight into the staging table (see stageNDJSONFile); it
	// returns false when the Go path must read the file.
	stageNDJSON func(ctx context.Context, file, path string, gzipped bool) (bool, error)
}

// add normalizes a read event and collects it.
func (c *collector) add(e *model.Event, file string, line int64) {
	c.addNormalized(e, normalize(e), file, line)
}

// normalize truncates the event's time to what DuckDB keeps and fills its
// defaults (Normalize); it returns Normalize's complaint or "".
func normalize(e *model.Event) string {
	e.At = e.At.Truncate(time.Microsecond)
	if err := e.Normalize(); err != nil {
		return err.Error()
	}
	return ""
}

// addNormalized collects an event that normalize has seen, with its
// verdict; a malformed event is still staged, since it may turn out to be
// a duplicate (which is not an error).
func (c *collector) addNormalized(e *model.Event, reason, file string, line int64) {
	if c.err != nil {
		return
	}
	c.events = append(c.events, e)
	c.origins = append(c.origins, origin{file, line})
	c.reasons = append(c.reasons, reason)
	if c.stage != nil && len(c.events) >= stageBatch {
		c.flush()
	}
}

// flush stages the collected batch.
func (c *collector) flush() {
	if c.stage == nil || c.err != nil || len(c.events) == 0 {
		return
	}
	c.err = c.stage(c.events, c.origins, c.reasons)
	// The batch now belongs to stage.
	c.events, c.origins, c.reasons = make([]*model.Event, 0, stageBatch), make([]origin, 0, stageBatch), make([]string, 0, stageBatch)
}

func (c *collector) reject(file string, line int64, reason, row string) {
	if len(row) > 2000 {
		row = row[:2000] + "..."
	}
	c.bad = append(c.bad, RowError{File: file, Line: line, Reason: reason, Row: row})
}

// row counts a source row read and reports progress now and then.
func (c *collector) row() {
	c.read++
	if c.opts.Progress != nil && c.read%4096 == 0 {
		if now := time.Now(); now.Sub(c.lastRep) > 100*time.Millisecond {
			c.lastRep = now
			c.opts.Progress(c.read)
		}
	}
}

// stagedByDuckDB stages the NDJSON file at path through DuckDB's reader
// when the import allows it and DuckDB can vouch for every line; false
// means the Go path reads the file.
func (c *collector) stagedByDuckDB(ctx context.Context, st *staging, file, path string, gzipped bool) (bool, error) {
	c.flush()
	if c.err != nil {
		return false, c.err
	}
	if err := st.sync(); err != nil {
		return false, err
	}
	read := c.read
	lines, vouched, err := st.stageNDJSONFile(ctx, file, path, gzipped, &c.inflateLeft, c.opts.maxInflated(), func(lines int64) {
		if c.opts.Progress != nil {
			c.opts.Progress(read + lines)
		}
	})
	if vouched {
		c.read += lines
	}
	if c.opts.observeNDJSON != nil {
		c.opts.observeNDJSON(file, vouched)
	}
	return vouched, err
}

// Import reads the inputs, maps them to events, drops the events already
// stored or repeated in the input (by event id), checks the rest with the
// state machine per ticket in time order and stores them with the rebuilt
// projection of the touched tickets, in one transaction. Bad rows abort
// the whole import with an *ImportError and nothing stored, unless
// opts.Skip.
//
// The events go through a staging table in DuckDB (see staging), so
// memory does not grow with the input. Commands wait only from the
// de-duplication to the commit, not while the inputs are read.
func (w *Writer) Import(ctx context.Context, inputs []Input, opts ImportOptions) (*ImportSummary, error) {
	began := time.Now()
	if opts.TZ == nil {
		opts.TZ = time.UTC
	}
	if opts.Profile != "" && profiles[opts.Profile] == nil {
		return nil, fmt.Errorf("unknown profile %q (known: %s)", opts.Profile, strings.Join(ProfileNames(), ", "))
	}
	if opts.Profile != "" && opts.Mapping != nil {
		return nil, errors.New("use a profile or a mapping, not both")
	}
	sum := &ImportSummary{DryRun: opts.DryRun, Phases: map[string]float64{}}
	lap := began
	phase := func(name string) {
		sum.Phases[name] = time.Since(lap).Seconds()
		lap = time.Now()
	}
	// The import stages its events on a connection of its own, so that
	// the writer goes on taking commands while the inputs are read (an
	// upload may be slow); it has the writer's turn from de-duplication
	// to commit.
	conn, err := w.store.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	st, err := newStaging(ctx, conn)
	defer st.drop()
	if err != nil {
		return nil, err
	}
	c := &collector{opts: &opts, stage: st.send, inflateLeft: opts.maxInflated()}
	if !opts.goNDJSON {
		c.stageNDJSON = func(ctx context.Context, file, path string, gzipped bool) (bool, error) {
			return c.stagedByDuckDB(ctx, st, file, path, gzipped)
		}
	}
	for _, in := range inputs {
		sum.Files = append(sum.Files, in.Name)
		err := w.readInput(ctx, c, in, &opts)
		if err == nil {
			c.flush()
			err = c.err
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if err := st.finish(); err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(c.read)
	}
	sum.Read, sum.Events = c.read, int(st.staged)
	bad := c.bad
	phase("read")

	err = w.Exclusive(ctx, func(*sql.Conn) error {
		// Nothing else writes while the writer runs this: the transaction
		// on the import's connection is as good as one on the writer's.
		var storeHasEvents bool
		if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM events)`).Scan(&storeHasEvents); err != nil {
			return err
		}
		var err error
		if sum.Duplicates, err = st.dedup(storeHasEvents); err != nil {
			return err
		}
		phase("dedup")
		malformed, err := st.malformed()
		if err != nil {
			return err
		}
		checked, err := st.check()
		if err != nil {
			return err
		}
		rejected, err := st.rejectedRows(checked.rejected)
		if err != nil {
			return err
		}
		phase("check")
		bad = slices.Concat(bad, malformed, rejected)
		if len(bad) > 0 && !opts.Skip {
			return &ImportError{Rows: sortRowErrors(bad, sum.Files)}
		}
		sum.Imported, sum.TicketsTouched = checked.accepted, checked.touched
		if opts.DryRun || checked.accepted == 0 {
			return nil
		}
		allFresh := sum.Duplicates == 0 && len(malformed) == 0 && len(rejected) == 0
		err = st.store(w.nextSeq, w.nextNumber, allFresh, storeHasEvents)
		phase("store")
		return err
	})
	if err != nil {
		return nil, err
	}
	sum.Rejects = sortRowErrors(bad, sum.Files)
	sum.Rejected = countRows(sum.Rejects)
	sum.Seconds = time.Since(began).Seconds()
	return sum, nil
}

// sortRowErrors orders bad rows by file (in input order) and line.
func sortRowErrors(rows []RowError, files []string) []RowError {
	slices.SortStableFunc(rows, func(a, b RowError) int {
		return cmp.Or(cmp.Compare(slices.Index(files, a.File), slices.Index(files, b.File)), cmp.Compare(a.Line, b.Line))
	})
	return rows
}

// countRows counts distinct (file, line) pairs in sorted rows.
func countRows(rows []RowError) int {
	n := 0
	for i, r := range rows {
		if i == 0 || r.File != rows[i-1].File || r.Line != rows[i-1].Line {
			n++
		}
	}
	return n
}

// readInput unpacks gzip and zip, picks the reader for the format and
// feeds the collector.
func (w *Writer) readInput(ctx context.Context, c *collector, in Input, opts *ImportOptions) error {
	br := bufio.NewReaderSize(in.R, 1<<20)
	magic, _ := br.Peek(4)
	name := in.Name
	var r io.Reader = br
	gzipped, zipped := len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b, false
	switch {
	case gzipped:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = limitInflated(gz, in.Name, &c.inflateLeft, opts.maxInflated())
		name = strings.TrimSuffix(name, ".gz")
	case bytes.Equal(magic, []byte("PK\x03\x04")):
		zipped = true
		member, rc, err := openZip(in, br)
		if err != nil {
			return err
		}
		defer rc.Close()
		r, name = limitInflated(rc, in.Name, &c.inflateLeft, opts.maxInflated()), member
	}
	format := opts.Format
	if format == "" {
		format = guessFormat(name, opts)
	}
	if format == "" {
		// Sniff: a JSON object per line is NDJSON, anything else CSV.
		b := bufio.NewReader(r)
		first, _ := b.Peek(64)
		format = "csv"
		if t := bytes.TrimLeft(first, " \t\r\n\xef\xbb\xbf"); len(t) > 0 && t[0] == '{' {
			format = "ndjson"
		}
		r = b
	}
	switch format {
	case "ndjson":
		if c.stageNDJSON != nil && !zipped && isPlainFile(in.Path) {
			if staged, err := c.stageNDJSON(ctx, in.Name, in.Path, gzipped); staged || err != nil {
				return err
			}
		}
		return readNDJSON(ctx, c, in.Name, r)
	case "csv":
		switch {
		case opts.Profile != "":
			p := profiles[opts.Profile]
			if p == nil {
				return fmt.Errorf("unknown profile %q (known: %s)", opts.Profile, strings.Join(ProfileNames(), ", "))
			}
			return p(ctx, c, in.Name, r, opts)
		case opts.Mapping != nil:
			return readMappedCSV(ctx, c, in.Name, r, opts.Mapping, opts)
		default:
			return errors.New("a CSV import needs --profile or --mapping (canonical events are NDJSON)")
		}
	case "parquet":
		path := in.Path
		if path == "" || r != io.Reader(br) {
			tmp, err := spool(r)
			if err != nil {
				return err
			}
			defer os.Remove(tmp)
			path = tmp
		}
		return w.readParquet(ctx, c, in.Name, path)
	default:
		return fmt.Errorf("unknown format %q (ndjson, csv or parquet)", format)
	}
}

// isPlainFile says whether path names one regular file (not a glob, which
// DuckDB's reader would expand).
func isPlainFile(path string) bool {
	if path == "" || strings.ContainsAny(path, "*?[{") {
		return false
	}
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func guessFormat(name string, opts *ImportOptions) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ndjson", ".jsonl", ".json":
		return "ndjson"
	case ".csv", ".tsv", ".txt":
		return "csv"
	case ".parquet":
		return "parquet"
	}
	if opts.Profile != "" || opts.Mapping != nil {
		return "csv"
	}
	return ""
}

// openZip opens the first data member of a zip archive (skipping folders
// and macOS resource forks).
func openZip(in Input, br *bufio.Reader) (string, io.ReadCloser, error) {
	var ra io.ReaderAt
	var size int64
	if in.Path != "" {
		f, err := os.Open(in.Path)
		if err != nil {
			return "", nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "", nil, err
		}
		data := make([]byte, st.Size())
		if _, err := io.ReadFull(f, data); err != nil {
			return "", nil, err
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	} else {
		data, err := io.ReadAll(br)
		if err != nil {
			return "", nil, err
		}
		ra, size = bytes.NewReader(data), int64(len(data))
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return "", nil, err
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || strings.HasPrefix(f.Name, "__MACOSX/") || strings.HasPrefix(filepath.Base(f.Name), "._") {
			continue
		}
		switch strings.ToLower(filepath.Ext(f.Name)) {
		case ".csv", ".ndjson", ".jsonl", ".json", ".tsv", ".txt":
			rc, err := f.Open()
			return f.Name, rc, err
		}
	}
	return "", nil, errors.New("the zip archive holds no .csv or .ndjson file")
}

func spool(r io.Reader) (string, error) {
	f, err := os.CreateTemp("", "deskpulse-import-*.parquet")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// readNDJSON reads canonical events, one JSON object per line (blank lines
// are skipped). An event without an id gets a stable one from the hash of
// its line, so that importing the same file twice adds nothing. Lines are
// decoded and normalized in chunks by one worker per CPU; results keep the
// file's order.
func readNDJSON(ctx context.Context, c *collector, file string, r io.Reader) error {
	type result struct {
		line   int64
		ev     *model.Event
		reason string // Normalize's complaint about ev
		bad    string
		raw    []byte
	}
	type chunk struct {
		lines []int64
		raws  [][]byte
		out   []result
		done  chan struct{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *chunk, 2*runtime.GOMAXPROCS(0))
	ordered := make(chan *chunk, 4*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range jobs {
				ch.out = make([]result, len(ch.raws))
				for i, raw := range ch.raws {
					res := result{line: ch.lines[i]}
					var e model.Event
					dec := json.NewDecoder(bytes.NewReader(raw))
					dec.DisallowUnknownFields()
					if bad := invalidUTF8(raw); bad != "" { // encoding/json would replace it with U+FFFD
						res.bad, res.raw = bad, raw
					} else if err := dec.Decode(&e); err != nil {
						res.bad, res.raw = "malformed event: "+jsonReason(err), raw
					} else if dec.More() {
						res.bad, res.raw = "malformed event: more than one JSON value on the line", raw
					} else {
						if strings.TrimSpace(e.ID) == "" {
							e.ID = "h:" + rowHash(raw)
						}
						res.ev, res.reason = &e, normalize(&e)
					}
					ch.out[i] = res
				}
				close(ch.done)
			}
		}()
	}
	var readErr error
	go func() {
		defer close(ordered)
		defer close(jobs)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
		var line int64
		// Runs of empty lines are passed over in one step (and counted),
		// so that a file of newlines costs what its bytes do. (The line
		// after them comes in the same step: a split that returns no
		// token at the end of the input ends the scan.)
		sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
			empty := len(data) - len(bytes.TrimLeft(data, "\n"))
			line += int64(empty)
			advance, token, err := bufio.ScanLines(data[empty:], atEOF)
			return empty + advance, token, err
		})
		ch := &chunk{done: make(chan struct{})}
		flush := func() bool {
			if len(ch.raws) == 0 {
				return true
			}
			select {
			case ordered <- ch:
			case <-ctx.Done():
				return false
			}
			jobs <- ch
			ch = &chunk{done: make(chan struct{})}
			return true
		}
		for sc.Scan() {
			line++
			raw := sc.Bytes()
			if line == 1 { // a byte order mark is the file's first bytes, not after spaces
				raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
			}
			raw = bytes.TrimSpace(raw)
			if len(raw) == 0 {
				continue
			}
			ch.lines = append(ch.lines, line)
			ch.raws = append(ch.raws, bytes.Clone(raw))
			if len(ch.raws) == 4096 && !flush() {
				return
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("line %d: longer than 8 MiB", line+1)
			}
			readErr = err
		}
		flush()
	}()
	for ch := range ordered {
		<-ch.done
		for _, res := range ch.out {
			c.row()
			if res.ev != nil {
				c.addNormalized(res.ev, res.reason, file, res.line)
			} else {
				c.reject(file, res.line, res.bad, string(res.raw))
			}
		}
		if err := ctx.Err(); err != nil {
			cancel()
			for range ordered {
			}
			wg.Wait()
			return err
		}
	}
	wg.Wait()
	return readErr
}

// invalidUTF8 says where a source row is not UTF-8, or "" when it is.
func invalidUTF8(row []byte) string {
	if utf8.Valid(row) {
		return ""
	}
	at := 0
	for at < len(row) {
		r, size := utf8.DecodeRune(row[at:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		at += size
	}
	return fmt.Sprintf("invalid UTF-8 at byte %d (the file must be UTF-8)", at+1)
}

func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("%s must be a JSON %s, not %s", typeErr.Field, typeErr.Type.Kind(), typeErr.Value)
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d: %v", syntax.Offset, syntax)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// rowHash is a stable id for a source row that has none.
func rowHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
