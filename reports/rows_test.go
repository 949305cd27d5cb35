package reports

import (
	"bytes"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/deskpulse/deskpulse/metrics"
)

// TestRowWriterRoundTrip writes awkward text through rowWriter into a
// spliced sheet and reads it back with excelize's reader: markup, spaces
// at the ends, tabs and line breaks, control characters and broken UTF-8
// (replaced, as XML cannot hold them), text that looks like Excel's
// _xHHHH_ escapes, and a cell over Excel's 32,767 characters.
func TestRowWriterRoundTrip(t *testing.T) {
	b, err := newBuilder(metrics.Query{TZ: time.UTC}, &metrics.Summary{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.f.Close()
	defer b.removeRows()
	long := strings.Repeat("é", 40000)
	cases := [][2]string{ // written, read back
		{"plain", "plain"},
		{"a & b < c > d \"q\" 'a'", "a & b < c > d \"q\" 'a'"},
		{" leading", " leading"},
		{"trailing ", "trailing "},
		{"tab\there", "tab\there"},
		{"line\r\nbreak", "line\r\nbreak"},
		{"ctl\x01char", "ctl\uFFFDchar"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"_x000D_ literal", "_x000D_ literal"},
		{"emoji 😀", "emoji 😀"},
		{long, long[:2*excelize.TotalCellChars]},
	}
	part := b.newPart("Data", 1, []column{{"Text", 10}, {"Number", 10}, {"Flag", 5}, {"Empty", 5}}, 0, 1, len(cases))
	c := part.chunks[0]
	if err := c.open(); err != nil {
		t.Fatal(err)
	}
	for i, tc := range cases {
		rw := c.row()
		rw.str(tc[0], 0)
		rw.float(float64(i)+0.25, 0)
		rw.bool(i%2 == 0)
		rw.str("", 0)
		rw.end()
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if err := b.placeholderSheet(part); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	spliceZip(b.f, &buf, b.parts)
	if err := b.f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Data", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(cases)+1 || strings.Join(rows[0], ",") != "Text,Number,Flag,Empty" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	for i, c := range cases {
		r := rows[i+1]
		flag := "0"
		if i%2 == 0 {
			flag = "1"
		}
		if r[0] != c[1] || r[1] != strconv.FormatFloat(float64(i)+0.25, 'f', -1, 64) || r[2] != flag || len(r) != 3 {
			t.Errorf("row %d: %q (%d chars) %v, want %q", i+1, short(r[0]), len(r[0]), r[1:], short(c[1]))
		}
	}
	tables, _ := f.GetTables("Data")
	if len(tables) != 1 || tables[0].Range != "A1:D12" {
		t.Fatalf("tables %+v", tables)
	}
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// TestEmptyWorkbook: a period without tickets still gives every sheet,
// the data sheets with their header, table and nothing else.
func TestEmptyWorkbook(t *testing.T) {
	e := newEnv(t)
	q := testQuery(t, e, url.Values{"from": {"2020-01-01"}, "to": {"2020-01-08"}})
	path, info := writeTestWorkbook(t, e, q)
	if info.Tickets != 0 || info.Events != 0 {
		t.Fatalf("info %+v", info)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sh := range []string{"Tickets", "Events"} {
		rows, err := f.GetRows(sh)
		if err != nil || len(rows) != 1 || rows[0][0] == "" {
			t.Fatalf("%s: %d rows %v", sh, len(rows), err)
		}
		if tables, _ := f.GetTables(sh); len(tables) != 1 || !strings.HasSuffix(tables[0].Range, "2") {
			t.Fatalf("%s tables %+v", sh, tables)
		}
	}
}

func TestQueriesPerSheet(t *testing.T) {
	for n, want := range map[int]int{1_048_575: 5, 100: 1, 262_144: 1, 262_145: 5, 7: 1} {
		if got := queriesPerSheet(n, 1<<18); got != want || n%got != 0 {
			t.Errorf("queriesPerSheet(%d) = %d, want %d", n, got, want)
		}
	}
	// 1,048,575 = 3 * 5^2 * 11 * 31 * 41: 11 pages of 95,325
	if got := queriesPerSheet(1_048_575, 1<<17); got != 11 {
		t.Errorf("queriesPerSheet(1048575) with pages of 1<<17 = %d, want 11", got)
	}
	// events per page follow DuckDB's memory limit
	for limit, want := range map[int64]int{200 << 20: 102_400, 300e6: 146_484, 20 << 30: 1 << 18, 0: 1 << 14} {
		if got := eventPageRows(limit); got != want {
			t.Errorf("eventPageRows(%d) = %d, want %d", limit, got, want)
		}
	}
	if got := queriesPerSheet(1_048_575, eventPageRows(200<<20)); got != 11 {
		t.Errorf("an Events sheet at 200MB takes %d pages, want 11", got)
	}
	if got := queriesPerSheet(100, 30); got != 4 {
		t.Errorf("queriesPerSheet(100) with pages of 30 = %d, want 4", got)
	}
}
