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
	"strings"
	"unicode/utf8"

	"github.com/deskpulse/deskpulse/model"
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

// ndjsonLinesTable holds the parsed lines of import_ndjson (see
// parseNDJSONQuery).
const ndjsonLinesTable = "import_ndjson_lines"

// ndjsonChunk is how many lines one INSERT stages: the progress and the
// cancellation are checked between chunks.
const ndjsonChunk = 1 << 20

// maxScannedLine is the longest line the scan follows; a longer one (the
// Go path takes up to 8 MiB) goes to the Go path.
const maxScannedLine = 1 << 20

// stageNDJSONFile stages the canonical NDJSON file at path (gzipped or
// plain) through DuckDB's JSON reader, as input file. It returns the
// number of lines staged, or vouched false (and nothing staged) when the
// Go path must read the file. progress is called with the lines staged so
// far. It must run when no Go batch is in flight (see sync).
func (s *staging) stageNDJSONFile(ctx context.Context, file, path string, gzipped bool, progress func(int64)) (lines int64, vouched bool, err error) {
	// The lines' order is the order DuckDB's reader inserts them in.
	var ordered bool
	if err := s.conn.QueryRowContext(ctx, `SELECT current_setting('preserve_insertion_order')`).Scan(&ordered); err != nil || !ordered {
		return 0, false, err
	}
	scanCtx, stopScan := context.WithCancel(ctx)
	defer stopScan()
	scanned := make(chan ndjsonScan, 1)
	go func() { scanned <- scanNDJSONFile(scanCtx, path, gzipped) }()
	defer func() {
		for _, t := range []string{ndjsonTable, ndjsonLinesTable} {
			s.conn.ExecContext(context.Background(), `DROP TABLE IF EXISTS `+t)
		}
	}()

	compression := "uncompressed"
	if gzipped {
		compression = "gzip"
	}
	_, readErr := s.conn.ExecContext(ctx, readNDJSONQuery(compression), path)
	if readErr == nil {
		_, readErr = s.conn.ExecContext(ctx, parseNDJSONQuery())
	}
	if readErr != nil {
		stopScan() // DuckDB refused a line: the Go path will say which and why
	}
	scan := <-scanned
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if readErr != nil || scan.why != "" {
		return 0, false, nil
	}
	if _, err := s.conn.ExecContext(ctx, `DROP TABLE `+ndjsonTable); err != nil { // the text is parsed: free it
		return 0, false, err
	}
	var rows int64
	if err := s.conn.QueryRowContext(ctx, `SELECT count(*) FROM `+ndjsonLinesTable).Scan(&rows); err != nil {
		return 0, false, err
	}
	if rows != scan.lines {
		return 0, false, nil
	}

	start, fileIndex := s.staged, s.fileIndex(file)
	insert := stageNDJSONQuery(start, fileIndex)
	for lo := int64(0); lo < rows; lo += ndjsonChunk {
		res, err := s.conn.ExecContext(ctx, insert, lo, lo+ndjsonChunk)
		var inserted int64
		if err == nil {
			inserted, err = res.RowsAffected()
		}
		if err != nil || inserted != min(ndjsonChunk, rows-lo) {
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
	return rows, true, nil
}

// ndjsonScan is what the scan of a file found: its non-blank lines and,
// when the Go path must read it, why.
type ndjsonScan struct {
	lines int64
	why   string
}

// scanNDJSONFile reads the file's bytes for what DuckDB's reader would
// take differently from readNDJSON, and counts its non-blank lines: a byte
// order mark (readNDJSON drops it), blank lines before the last line
// (they shift line numbers), invalid UTF-8 (encoding/json replaces it),
// trailing commas (DuckDB accepts them), \u escapes of the characters of
// a timestamp (time.Time's JSON decoding does not unescape), long lines.
func scanNDJSONFile(ctx context.Context, path string, gzipped bool) ndjsonScan {
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
		r = gz
	}
	br := bufio.NewReaderSize(r, maxScannedLine)
	var res ndjsonScan
	var number, lastBlank int64
	for {
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

// parseNDJSONQuery parses the lines of import_ndjson into
// import_ndjson_lines: the line's index r, whether its keys are all known
// and distinct, the string values (NULL when absent, null or not a
// string), whether every value that must be a string is one, and the
// other values as JSON.
func parseNDJSONQuery() string {
	structure := make([]string, len(eventJSONKeys))
	present := make([]string, len(eventJSONKeys))
	for i, k := range eventJSONKeys {
		structure[i] = fmt.Sprintf(`"%s":"JSON"`, k)
		present[i] = fmt.Sprintf(`(v."%s" IS NOT NULL)::INTEGER`, k)
	}
	quoted := make([]string, len(eventJSONKeys))
	for i, k := range eventJSONKeys {
		quoted[i] = "'" + k + "'"
	}
	// Every key is known and none comes twice (encoding/json keeps the
	// last): then as many keys are set as the line has. A line with a
	// null value (set to nothing) is checked key by key.
	keysOK := fmt.Sprintf(`CASE WHEN len(k) = %s THEN true
			WHEN contains(doc::VARCHAR, 'null') THEN list_has_all([%s], k) AND len(k) = len(list_distinct(k))
			ELSE false END`, strings.Join(present, " + "), strings.Join(quoted, ", "))
	// A string without a backslash is its JSON text without the quotes
	// (cheaper than parsing it again).
	var texts, stringsOK []string
	for _, k := range eventJSONKeys {
		switch k {
		case "number", "score", "public", "tags", "fields":
			texts = append(texts, fmt.Sprintf(`v."%[1]s" AS "%[1]s_json"`, k))
		default:
			j := fmt.Sprintf(`(v."%s"::VARCHAR)`, k)
			texts = append(texts, fmt.Sprintf(`CASE WHEN starts_with(%[1]s, '"') THEN CASE WHEN contains(%[1]s, '') THEN json_extract_string(v."%[2]s", '$') ELSE %[1]s[2:-2] END END AS "%[2]s"`, j, k))
			stringsOK = append(stringsOK, fmt.Sprintf(`(v."%[1]s" IS NULL OR starts_with(v."%[1]s"::VARCHAR, '"'))`, k))
		}
	}
	return `CREATE OR REPLACE TEMP TABLE ` + ndjsonLinesTable + ` AS
		SELECT r, ` + keysOK + ` AS keys_ok, ` + strings.Join(stringsOK, " AND ") + ` AS strings_ok,
			` + strings.Join(texts, ",\n\t\t\t") + `
		FROM (SELECT rowid AS r, doc, json_keys(doc) AS k, json_transform(doc, '{` + strings.Join(structure, ",") + `}') AS v FROM ` + ndjsonTable + `)`
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

// stageNDJSONQuery inserts the lines of import_ndjson with rowid in
// [$1, $2) that DuckDB can vouch for into the staging table, as the Go
// path would stage them (positions from start, the file's index, line =
// rowid + 1). Fewer rows inserted than lines means the Go path must read
// the file.
func stageNDJSONQuery(start int64, file int32) string {
	sq := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	list := func(values []string) string {
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = sq(v)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	notBlank := func(col string) string { return fmt.Sprintf(`regexp_matches(%s, '[^%s]')`, col, unicodeSpace) }
	maxBytes := func(col string, max int) string { return fmt.Sprintf(`coalesce(strlen(%s) <= %d, true)`, col, max) }
	oneOf := func(col string, values []string, optional bool) string {
		if optional {
			return fmt.Sprintf(`coalesce(list_contains(%s, %s), true)`, list(values), col)
		}
		return fmt.Sprintf(`coalesce(list_contains(%s, %s), false)`, list(values), col)
	}
	strs := func(values any) []string {
		v := reflect.ValueOf(values)
		out := make([]string, v.Len())
		for i := range out {
			out[i] = v.Index(i).String()
		}
		return out
	}

	checks := []string{
		`keys_ok AND strings_ok`,
		`(number_json IS NULL OR regexp_full_match(number_json::VARCHAR, '-?[0-9]{1,18}'))`,
		`(score_json IS NULL OR regexp_full_match(score_json::VARCHAR, '-?[0-9]{1,9}'))`,
		`(public_json IS NULL OR list_contains(['true', 'false'], public_json::VARCHAR))`,
		`(tags_json IS NULL OR (json_type(tags_json) = 'ARRAY' AND len(list_filter(json_type(tags_json, '$[*]'), t -> t <> 'VARCHAR')) = 0
			AND len(list_filter(tags_json::VARCHAR[], t -> NOT regexp_full_match(t, '` + tagWord + `'))) = 0))`,
		fmt.Sprintf(`(fields_json IS NULL OR (json_type(fields_json) = 'OBJECT' AND len(list_filter(json_type(fields_json, '$.*'), t -> t <> 'VARCHAR')) = 0
			AND len(json_keys(fields_json)) = len(list_distinct(json_keys(fields_json)))
			AND len(list_filter(json_keys(fields_json), f -> NOT (%s AND strlen(f) <= %d))) = 0
			AND len(list_filter(map_values(fields_json::MAP(VARCHAR, VARCHAR)), f -> strlen(f) > %d)) = 0))`,
			notBlank("f"), model.MaxShort, model.MaxText),
		// Normalize's checks
		`id IS NOT NULL AND ` + notBlank("id"),
		`ticket IS NOT NULL AND ` + notBlank("ticket"),
		oneOf("type", strs(model.EventTypes), false),
		`"at" IS NOT NULL AND regexp_full_match("at", '` + rfc3339 + `')`,
		oneOf("actor_kind", strs(model.ActorKinds), false),
		fmt.Sprintf(`actor IS NOT NULL AND regexp_full_match(actor, '(?s)[^%[1]s](.*[^%[1]s])?')`, unicodeSpace), // Normalize trims it
		maxBytes("subject", model.MaxSubject), maxBytes("description", model.MaxText),
		maxBytes("requester_name", model.MaxShort), maxBytes("requester_email", model.MaxShort),
		maxBytes("category", model.MaxShort), maxBytes("team", model.MaxShort), maxBytes("assignee", model.MaxShort),
		maxBytes("body", model.MaxText), maxBytes("comment", model.MaxText),
		oneOf("ticket_type", strs(model.TicketTypes), true), oneOf("priority", strs(model.Priorities), true),
		oneOf("channel", strs(model.Channels), true), oneOf("status", strs(model.Statuses), true),
		`CASE type
			WHEN 'created' THEN subject IS NOT NULL AND ` + notBlank("subject") + `
			WHEN 'assigned' THEN team IS NOT NULL OR assignee IS NOT NULL
			WHEN 'status_changed' THEN coalesce(list_contains(['open', 'pending', 'on_hold'], status), false)
			WHEN 'priority_changed' THEN priority IS NOT NULL
			WHEN 'category_changed' THEN category IS NOT NULL
			WHEN 'fields_changed' THEN (subject IS NOT NULL OR description IS NOT NULL OR ticket_type IS NOT NULL
				OR coalesce(json_type(fields_json) = 'OBJECT' AND len(json_keys(fields_json)) > 0, false))
				AND (subject IS NULL OR ` + notBlank("subject") + `)
			WHEN 'commented' THEN body IS NOT NULL AND ` + notBlank("body") + ` AND NOT (actor_kind = 'requester' AND public_json::VARCHAR = 'false')
			WHEN 'csat_rated' THEN coalesce(regexp_full_match(score_json::VARCHAR, '[1-5]'), false)
			ELSE true END`,
	}
	vouched := strings.Join(checks, "\n\t\tAND ")

	return strings.NewReplacer(
		"{start}", fmt.Sprint(start),
		"{file}", fmt.Sprint(file),
		"{created}", `type = 'created'`,
		"{vouched}", vouched,
	).Replace(`INSERT INTO ` + stagingTable + ` BY NAME
	SELECT {start} + r AS pos, id AS event_id, ticket AS ticket_id, type, "at"::TIMESTAMPTZ AS occurred_at,
		actor, actor_kind, nullif(number_json::BIGINT, 0) AS number, subject,
		CASE WHEN {created} THEN coalesce(description, '') ELSE description END AS description,
		CASE WHEN {created} THEN coalesce(requester_name, '') ELSE requester_name END AS requester_name,
		CASE WHEN {created} THEN coalesce(requester_email, CASE WHEN actor_kind = 'requester' THEN actor ELSE '' END) ELSE requester_email END AS requester_email,
		CASE WHEN {created} THEN coalesce(ticket_type, 'incident') ELSE ticket_type END AS ticket_type,
		CASE WHEN {created} THEN coalesce(priority, 'normal') ELSE priority END AS priority,
		CASE WHEN {created} THEN coalesce(category, '') ELSE category END AS category,
		CASE WHEN {created} THEN coalesce(channel, 'api') ELSE channel END AS channel,
		CASE WHEN tags_json IS NOT NULL THEN list_sort(list_distinct(list_transform(tags_json::VARCHAR[], t -> lower(t))))
			WHEN type = 'created' OR type = 'tags_changed' THEN []::VARCHAR[] END AS tags,
		map_from_entries(list_sort(map_entries(fields_json::MAP(VARCHAR, VARCHAR)))) AS fields,
		team, assignee, status,
		CASE WHEN type = 'commented' THEN coalesce(public_json::BOOLEAN, true) ELSE public_json::BOOLEAN END AS public,
		body, score_json::INTEGER AS score, comment,
		{file} AS file, r + 1 AS line, NULL::VARCHAR AS reason
	FROM ` + ndjsonLinesTable + `
	WHERE r >= $1 AND r < $2
		AND {vouched}`)
}
