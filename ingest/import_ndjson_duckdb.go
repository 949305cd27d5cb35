package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Canonical NDJSON that is a file on disk is read by DuckDB's JSON reader
// straight into the staging table, which spares the Go decoding and the
// Arrow hop (most of an import's read phase). The rule is "DuckDB vouches,
// Go decides": DuckDB's reader is more lenient than encoding/json
// (trailing commas, NaN, unknown keys, numbers for strings) and knows
// nothing of Normalize, so SQL checks every row for being one the Go path
// would take exactly as it is, with the same stored values. If DuckDB
// raises an error, a row is not vouched for, or the line numbers could be
// off, what was staged from the file is dropped and readNDJSON reads the
// whole file, with its exact reasons for bad rows.

// ndjsonTable holds the file's lines as DuckDB read them; its rowid is the
// line's index (blank lines only at the end, no byte order mark: the scan
// makes sure).
const ndjsonTable = "import_ndjson"

// ndjsonChunk is how many lines one INSERT stages: the progress and the
// cancellation are checked between chunks.
const ndjsonChunk = 1 << 20

// maxScannedLine is the longest line the scan follows; a longer one (the
// Go path takes up to 8 MiB) goes to the Go path.
const maxScannedLine = 1 << 20

// stageNDJSONFile stages the canonical NDJSON file at path (gzipped or
// plain) through DuckDB's JSON reader, as input file. It returns the
// number of lines staged, or vouched false (and nothing staged) when the
// Go path must read the file. A gzipped file is inflated against the
// import's allowance *inflateLeft (limit in all), which it uses up only
// when staged: past it, the answer is an *InflatedTooLargeError. progress
// is called with the lines staged so far. It must run when no Go batch is
// in flight (see sync).
func (s *staging) stageNDJSONFile(ctx context.Context, file, path string, gzipped bool, inflateLeft *int64, limit int64, progress func(int64)) (lines int64, vouched bool, err error) {
	// The lines' order is the order DuckDB's reader inserts them in.
	var ordered bool
	if err := s.conn.QueryRowContext(ctx, `SELECT current_setting('preserve_insertion_order')`).Scan(&ordered); err != nil || !ordered {
		return 0, false, err
	}
	scanCtx, stopScan := context.WithCancel(ctx)
	defer stopScan()
	// The scan inflates the file alongside DuckDB's reader and, on finding
	// it too large, interrupts the reader too.
	readCtx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	scanned := make(chan ndjsonScan, 1)
	left := *inflateLeft // the Go path reads the file again if DuckDB's cannot
	go func() {
		scan := scanNDJSONFile(scanCtx, file, path, gzipped, &left, limit)
		if scan.err != nil {
			stopRead()
		}
		scanned <- scan
	}()
	defer s.conn.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+ndjsonTable)

	compression := "uncompressed"
	if gzipped {
		compression = "gzip"
	}
	_, readErr := s.conn.ExecContext(readCtx, readNDJSONQuery(compression), path)
	if readErr != nil {
		stopScan() // DuckDB refused a line: the Go path will say which and why
	}
	scan := <-scanned
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if scan.err != nil {
		return 0, false, scan.err
	}
	if readErr != nil || scan.why != "" {
		return 0, false, nil
	}
	var rows int64
	if err := s.conn.QueryRowContext(ctx, `SELECT count(*) FROM `+ndjsonTable).Scan(&rows); err != nil {
		return 0, false, err
	}
	if rows != scan.lines {
		return 0, false, nil
	}

	start, fileIndex := s.staged, s.fileIndex(file)
	insert := stageNDJSONQuery(start, fileIndex)
	for lo := int64(0); lo < rows; lo += ndjsonChunk {
		_, err := s.conn.ExecContext(ctx, insert, lo, lo+ndjsonChunk)
		var refused bool
		if err == nil {
			err = s.conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+stagingTable+` WHERE pos >= ? AND reason IS NOT NULL)`, start+lo).Scan(&refused)
		}
		if err != nil || refused {
			if _, derr := s.conn.ExecContext(context.Background(), `DELETE FROM `+stagingTable+` WHERE pos >= ?`, start); derr != nil {
				return 0, false, derr
			}
			if err := ctx.Err(); err != nil {
				return 0, false, err
			}
			return 0, false, nil // a row not vouched for (or DuckDB refused one): the Go path decides
		}
		progress(min(lo+ndjsonChunk, rows))
	}
	s.staged += rows
	*inflateLeft = left
	return rows, true, nil
}

// ndjsonScan is what the scan of a file found: its non-blank lines and,
// when the Go path must read it, why; err ends the import (a file that
// inflates past the limit).
type ndjsonScan struct {
	lines int64
	why   string
	err   error
}

// scanNDJSONFile reads the file's bytes for what DuckDB's reader would
// take differently from readNDJSON, and counts its non-blank lines: a byte
// order mark (readNDJSON drops it), blank lines before the last line
// (they shift line numbers), invalid UTF-8 (encoding/json replaces it),
// trailing commas (DuckDB accepts them), \u escapes of the characters of
// a timestamp (time.Time's JSON decoding does not unescape), long lines.
func scanNDJSONFile(ctx context.Context, file, path string, gzipped bool, inflateLeft *int64, limit int64) ndjsonScan {
	f, err := os.Open(path)
	if err != nil {
		return ndjsonScan{why: err.Error()}
	}
	defer f.Close()
	var r io.Reader = f
	if gzipped {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return ndjsonScan{why: err.Error()}
		}
		defer gz.Close()
		r = limitInflated(gz, file, inflateLeft, limit)
	}
	br := bufio.NewReaderSize(r, maxScannedLine)
	var res ndjsonScan
	var number, lastBlank int64
	for {
		// a run of empty lines in one step (a file of newlines costs what
		// its bytes do)
		if buf, _ := br.Peek(max(br.Buffered(), 1)); len(buf) > 0 && buf[0] == '\n' {
			n := len(buf) - len(bytes.TrimLeft(buf, "\n"))
			br.Discard(n)
			number += int64(n)
			lastBlank = number
			if ctx.Err() != nil {
				return ndjsonScan{why: ctx.Err().Error()}
			}
			continue
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return ndjsonScan{why: "a line longer than 1 MiB"}
		}
		if len(line) > 0 {
			number++
			if number%65536 == 0 && ctx.Err() != nil {
				return ndjsonScan{why: ctx.Err().Error()}
			}
			if why := checkNDJSONLine(line, number == 1); why == "blank" {
				lastBlank = number
			} else if why != "" {
				return ndjsonScan{why: fmt.Sprintf("line %d: %s", number, why)}
			} else {
				if lastBlank != 0 {
					return ndjsonScan{why: fmt.Sprintf("line %d: blank", lastBlank)}
				}
				res.lines++
			}
		}
		if err == io.EOF {
			return res
		}
		if tooLarge := new(InflatedTooLargeError); errors.As(err, &tooLarge) {
			return ndjsonScan{err: err}
		}
		if err != nil {
			return ndjsonScan{why: err.Error()}
		}
	}
}

// checkNDJSONLine says why DuckDB's reading of a line could differ from
// readNDJSON's, "blank" for a blank line, or "".
func checkNDJSONLine(line []byte, first bool) string {
	if first && bytes.HasPrefix(line, []byte("\xef\xbb\xbf")) {
		return "byte order mark"
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return "blank"
	}
	if !utf8.Valid(line) {
		return "invalid UTF-8"
	}
	for rest := line; ; {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		next := bytes.TrimLeft(rest, " \t\r\n")
		if len(next) > 0 && (next[0] == '}' || next[0] == ']') && !json.Valid(line) {
			return "trailing comma"
		}
	}
	for rest := line; ; {
		i := bytes.Index(rest, []byte(`\u`))
		if i < 0 {
			break
		}
		rest = rest[i+2:]
		if len(rest) >= 4 && strings.ContainsRune("+-.0123456789:TZ", rune(hexValue(rest[:4]))) {
			return "a \\u escape of a timestamp character"
		}
	}
	return ""
}

// hexValue decodes four hex digits, or returns -1.
func hexValue(b []byte) int {
	v := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			v = v*16 + int(c-'0')
		case 'a' <= c && c <= 'f':
			v = v*16 + int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v*16 + int(c-'A'+10)
		default:
			return -1
		}
	}
	return v
}

// readNDJSONQuery reads the file named by its parameter into
// import_ndjson, a line's text a row.
func readNDJSONQuery(compression string) string {
	return `CREATE OR REPLACE TEMP TABLE ` + ndjsonTable + ` AS
		SELECT json AS doc FROM read_ndjson_objects(?, compression = '` + compression + `')`
}

// eventJSONKeys are the keys of a canonical event (model.Event's JSON
// names), in field order.
var eventJSONKeys = func() []string {
	var keys []string
	t := reflect.TypeFor[model.Event]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}()

// jsonValued are the keys whose values are not strings: parsed as JSON
// text, whose exact form the vouching checks (DuckDB's conversions are
// lenient: "5" to an INTEGER is 5), then cast.
var jsonValued = []string{"number", "score", "public", "tags", "fields"}

// freeText are the string keys whose value any string may be: DuckDB's
// conversion of a number, true or an object to VARCHAR is a string too.
// (The other strings are timestamps and enumerations, which such a
// conversion never matches.)
var freeText = []string{"id", "ticket", "actor", "subject", "description", "requester_name", "requester_email",
	"category", "team", "assignee", "body", "comment"}

// parseNDJSONQuery parses the lines of import_ndjson with rowid in [$1,
// $2): the line's index r, its values as columns named by their keys
// (VARCHAR, or JSON for jsonValued; NULL when absent or null), and typed,
// which says that every key is known and there once, and that every
// free-text value is a JSON string.
func parseNDJSONQuery() string {
	structure := make([]string, len(eventJSONKeys))
	paths := make([]string, len(eventJSONKeys))
	set := make([]string, len(eventJSONKeys))
	var strs, suspect []string
	for i, k := range eventJSONKeys {
		typ := "VARCHAR"
		if slices.Contains(jsonValued, k) {
			typ = "JSON"
		}
		structure[i] = fmt.Sprintf(`"%s":"%s"`, k, typ)
		paths[i] = fmt.Sprintf(`'$.%s'`, k)
		set[i] = fmt.Sprintf(`(e."%s" IS NOT NULL)::INTEGER`, k)
		if slices.Contains(freeText, k) {
			// what a conversion of a number, true, false, NaN, Infinity,
			// an object or an array to VARCHAR starts with
			suspect = append(suspect, fmt.Sprintf(`(ascii(e."%[1]s") BETWEEN 48 AND 57 OR ascii(e."%[1]s") = 45 OR ascii(e."%[1]s") = 91 OR ascii(e."%[1]s") = 123
				OR e."%[1]s" = 'true' OR e."%[1]s" = 'false' OR e."%[1]s" = 'NaN' OR e."%[1]s" = 'Infinity')`, k))
			strs = append(strs, fmt.Sprintf(`coalesce(types[%[1]d] = 'VARCHAR' OR types[%[1]d] = 'NULL', true)`, i+1))
		}
	}
	// Most lines are plain: as many keys set as the line has (none unknown
	// or there twice, no null), no free-text value that a conversion could
	// have made. The others are checked with the JSON type of every key,
	// found once per line by the lambda (a null value's type is 'NULL').
	plain := fmt.Sprintf(`keys = %s AND NOT coalesce(%s, false)`, strings.Join(set, " + "), strings.Join(suspect, "\n\t\t\tOR "))
	byTypes := fmt.Sprintf(`list_transform([json_type(doc, [%s])], types -> keys = len(list_filter(types, t -> t IS NOT NULL)) AND %s)[1]`,
		strings.Join(paths, ", "), strings.Join(strs, " AND "))
	return `(SELECT r, CASE WHEN ` + plain + ` THEN true ELSE ` + byTypes + ` END AS typed, e.*
		FROM (SELECT rowid AS r, doc, len(json_keys(doc)) AS keys, json_transform(doc, '{` + strings.Join(structure, ",") + `}') AS e
			FROM ` + ndjsonTable + ` WHERE rowid >= $1 AND rowid < $2))`
}

// SQL pieces of the vouching.
const (
	// unicodeSpace is unicode.IsSpace as an RE2 class (what
	// strings.TrimSpace trims).
	unicodeSpace = `\t-\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`
	// rfc3339 is the timestamps vouched for: what time.Time's JSON
	// decoding reads as written (year 1000 on, so never the zero time).
	rfc3339 = `[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])`
	// tagWord is a tag NormalizeTags keeps as it is once lower-cased:
	// printable ASCII without space or comma, at most 64 bytes.
	tagWord = `[!-+\--~]{1,64}`
)

// stageNDJSONQuery inserts the lines of import_ndjson with rowid in [$1,
// $2) into the staging table as the Go path would stage them: at
// positions from start, with the file's index, line = rowid + 1, with
// Normalize's defaults. A line DuckDB cannot vouch for (one Normalize
// would refuse or change but for its defaults) gets a reason: then the Go
// path must read the file. (The lines are parsed by a subquery of the same
// statement: a table of parsed lines in between cost a third more.)
func stageNDJSONQuery(start int64, file int32) string {
	list := func(values []string) string {
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = store.Literal(v)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	strs := func(values any) []string {
		v := reflect.ValueOf(values)
		out := make([]string, v.Len())
		for i := range out {
			out[i] = v.Index(i).String()
		}
		return out
	}
	notBlank := func(col string) string { return fmt.Sprintf(`regexp_matches(%s, '[^%s]')`, col, unicodeSpace) }
	maxBytes := func(col string, max int) string { return fmt.Sprintf(`coalesce(strlen(%s) <= %d, true)`, col, max) }
	// Lists, not IN: DuckDB turns a long IN into a join.
	oneOf := func(col string, values []string) string {
		return fmt.Sprintf(`coalesce(list_contains(%s, %s), false)`, list(values), col)
	}
	optionalOneOf := func(col string, values []string) string {
		return fmt.Sprintf(`coalesce(list_contains(%s, %s), true)`, list(values), col)
	}
	// What Normalize checks, as it would find it.
	vouched := []string{
		`typed`,
		`id IS NOT NULL AND ` + notBlank("id"),
		`ticket IS NOT NULL AND ` + notBlank("ticket"),
		oneOf("type", strs(model.EventTypes)),
		`"at" IS NOT NULL AND regexp_full_match("at", '` + rfc3339 + `')`,
		oneOf("actor_kind", strs(model.ActorKinds)),
		// Normalize trims the actor: vouch for one it leaves as it is
		fmt.Sprintf(`actor IS NOT NULL AND regexp_full_match(actor, '(?s)[^%[1]s](.*[^%[1]s])?')`, unicodeSpace),
		maxBytes("subject", model.MaxSubject), maxBytes("description", model.MaxText),
		maxBytes("requester_name", model.MaxShort), maxBytes("requester_email", model.MaxShort),
		maxBytes("category", model.MaxShort), maxBytes("team", model.MaxShort), maxBytes("assignee", model.MaxShort),
		maxBytes("body", model.MaxText), maxBytes("comment", model.MaxText),
		optionalOneOf("ticket_type", strs(model.TicketTypes)), optionalOneOf("priority", strs(model.Priorities)),
		optionalOneOf("channel", strs(model.Channels)), optionalOneOf("status", strs(model.Statuses)),
		// the JSON-valued keys, from their JSON text
		`(number IS NULL OR regexp_full_match(number::VARCHAR, '-?[0-9]{1,18}'))`,
		`(score IS NULL OR regexp_full_match(score::VARCHAR, '-?[0-9]{1,9}'))`, // Go's int becomes an INTEGER
		`(public IS NULL OR public::VARCHAR = 'true' OR public::VARCHAR = 'false')`,
		`(tags IS NULL OR (starts_with(tags::VARCHAR, '[') AND len(list_filter(json_type(tags, '$[*]'), t -> t <> 'VARCHAR')) = 0
			AND len(list_filter(tags::VARCHAR[], t -> NOT regexp_full_match(t, '` + tagWord + `'))) = 0))`,
		fmt.Sprintf(`(fields IS NULL OR (starts_with(fields::VARCHAR, '{') AND len(list_filter(json_type(fields, '$.*'), t -> t <> 'VARCHAR')) = 0
			AND len(json_keys(fields)) = cardinality(fields::MAP(VARCHAR, VARCHAR))
			AND len(list_filter(json_keys(fields), f -> NOT (%s AND strlen(f) <= %d))) = 0
			AND len(list_filter(map_values(fields::MAP(VARCHAR, VARCHAR)), f -> strlen(f) > %d)) = 0))`, notBlank("f"), model.MaxShort, model.MaxText),
		`CASE type
			WHEN 'created' THEN subject IS NOT NULL AND ` + notBlank("subject") + `
			WHEN 'assigned' THEN team IS NOT NULL OR assignee IS NOT NULL
			WHEN 'status_changed' THEN ` + oneOf("status", []string{"open", "pending", "on_hold"}) + `
			WHEN 'priority_changed' THEN priority IS NOT NULL
			WHEN 'category_changed' THEN category IS NOT NULL
			WHEN 'fields_changed' THEN (subject IS NOT NULL OR description IS NOT NULL OR ticket_type IS NOT NULL OR coalesce(cardinality(fields::MAP(VARCHAR, VARCHAR)) > 0, false))
				AND (subject IS NULL OR ` + notBlank("subject") + `)
			WHEN 'commented' THEN body IS NOT NULL AND ` + notBlank("body") + ` AND NOT (actor_kind = 'requester' AND coalesce(public::VARCHAR = 'false', false))
			WHEN 'csat_rated' THEN coalesce(regexp_full_match(score::VARCHAR, '[1-5]'), false)
			ELSE true END`,
	}
	created := `type = 'created'`
	return strings.NewReplacer(
		"{start}", fmt.Sprint(start),
		"{file}", fmt.Sprint(file),
		"{created}", created,
		"{vouched}", strings.Join(vouched, "\n\t\tAND "),
	).Replace(`INSERT INTO ` + stagingTable + ` BY NAME
	SELECT {start} + r AS pos, id AS event_id, ticket AS ticket_id, type, "at"::TIMESTAMPTZ AS occurred_at,
		actor, actor_kind, nullif(number::BIGINT, 0) AS number, subject,
		CASE WHEN {created} THEN coalesce(description, '') ELSE description END AS description,
		CASE WHEN {created} THEN coalesce(requester_name, '') ELSE requester_name END AS requester_name,
		CASE WHEN {created} THEN coalesce(requester_email, CASE WHEN actor_kind = 'requester' THEN actor ELSE '' END) ELSE requester_email END AS requester_email,
		CASE WHEN {created} THEN coalesce(ticket_type, 'incident') ELSE ticket_type END AS ticket_type,
		CASE WHEN {created} THEN coalesce(priority, 'normal') ELSE priority END AS priority,
		CASE WHEN {created} THEN coalesce(category, '') ELSE category END AS category,
		CASE WHEN {created} THEN coalesce(channel, 'api') ELSE channel END AS channel,
		CASE WHEN tags IS NOT NULL THEN list_sort(list_distinct(list_transform(tags::VARCHAR[], t -> lower(t))))
			WHEN type = 'created' OR type = 'tags_changed' THEN []::VARCHAR[] END AS tags,
		map_from_entries(list_sort(map_entries(fields::MAP(VARCHAR, VARCHAR)))) AS fields,
		team, assignee, status,
		CASE WHEN type = 'commented' THEN coalesce(public::BOOLEAN, true) ELSE public::BOOLEAN END AS public,
		body, score::INTEGER AS score, comment,
		{file} AS file, r + 1 AS line, CASE WHEN {vouched} THEN NULL ELSE 'not vouched' END AS reason
	FROM ` + parseNDJSONQuery())
}
