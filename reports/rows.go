package reports

import (
	"bufio"
	"math"
	"regexp"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// rowWriter writes rows of a worksheet as SpreadsheetML <row> elements:
// the body of the Tickets and Events sheets, which hold nearly all of a
// big workbook's bytes. excelize's StreamWriter spends some 250 ns per
// cell (a cell reference string, an xlsxC value, escaping through
// encoding/xml); this writes the same XML straight into a buffer, with
// the column letters computed once, for a fraction of that. Everything
// else in the workbook (styles, tables, panes, charts, the small sheets)
// is still excelize's; see splice.go for how the rows get in.
type rowWriter struct {
	w    *bufio.Writer
	row  int
	col  int      // next column, 0-based
	refs [][]byte // `<c r="B` per column
	num  []byte   // scratch for numbers
}

// newRowWriter writes rows of cols columns, the first numbered first.
func newRowWriter(w *bufio.Writer, cols, first int) *rowWriter {
	rw := &rowWriter{w: w, row: first - 1}
	for i := range cols {
		rw.refs = append(rw.refs, []byte(`<c r="`+colName(i+1)))
	}
	return rw
}

// start opens the next row.
func (rw *rowWriter) start() {
	rw.row++
	rw.col = 0
	rw.w.WriteString(`<row r="`)
	rw.w.Write(strconv.AppendInt(rw.num[:0], int64(rw.row), 10))
	rw.w.WriteString(`">`)
}

// end closes the row.
func (rw *rowWriter) end() { rw.w.WriteString(`</row>`) }

// skip leaves the next cell empty.
func (rw *rowWriter) skip() { rw.col++ }

// open writes the start of the next cell up to its value.
func (rw *rowWriter) open(style int, typ string) {
	rw.w.Write(rw.refs[rw.col])
	rw.w.Write(strconv.AppendInt(rw.num[:0], int64(rw.row), 10))
	rw.col++
	if style != 0 {
		rw.w.WriteString(`" s="`)
		rw.w.Write(strconv.AppendInt(rw.num[:0], int64(style), 10))
	}
	rw.w.WriteString(typ)
}

// float writes a number cell; NaN and infinities, which a sheet cannot
// hold, leave it empty.
func (rw *rowWriter) float(v float64, style int) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		rw.skip()
		return
	}
	rw.open(style, `"><v>`)
	rw.num = strconv.AppendFloat(rw.num[:0], v, 'f', -1, 64)
	rw.w.Write(rw.num)
	rw.w.WriteString(`</v></c>`)
}

func (rw *rowWriter) int(v int64, style int) {
	rw.open(style, `"><v>`)
	rw.w.Write(strconv.AppendInt(rw.num[:0], v, 10))
	rw.w.WriteString(`</v></c>`)
}

func (rw *rowWriter) bool(v bool) {
	rw.open(0, `" t="b"><v>`)
	if v {
		rw.w.WriteByte('1')
	} else {
		rw.w.WriteByte('0')
	}
	rw.w.WriteString(`</v></c>`)
}

// str writes an inline string cell; "" leaves the cell empty.
func (rw *rowWriter) str(s string, style int) {
	if s == "" {
		rw.skip()
		return
	}
	s = cellText(s)
	rw.open(style, `" t="inlineStr"><is><t`)
	if c := s[0]; c == ' ' || c == '\t' || c == '\n' || c == '\r' || isSpace(s[len(s)-1]) {
		rw.w.WriteString(` xml:space="preserve"`)
	}
	rw.w.WriteByte('>')
	writeEscaped(rw.w, s)
	rw.w.WriteString(`</t></is></c>`)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// escapedX is text that Excel would read as an escaped character
// (`_x000D_`); its underscore is escaped itself so the text stays as is.
var escapedX = regexp.MustCompile(`_(x[0-9A-Fa-f]{4}_)`)

// cellText is s as a cell holds it: at most excelize.TotalCellChars
// UTF-16 units, and literal `_xHHHH_` protected.
func cellText(s string) string {
	if len(s) > excelize.TotalCellChars {
		units := 0
		for i, r := range s {
			units += utf16.RuneLen(r)
			if units > excelize.TotalCellChars {
				s = s[:i]
				break
			}
		}
	}
	if hasX(s) {
		s = escapedX.ReplaceAllString(s, `_x005F_$1`)
	}
	return s
}

func hasX(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '_' && s[i+1] == 'x' {
			return true
		}
	}
	return false
}

// writeEscaped writes s as XML character data: markup characters as
// entities, carriage returns as references (so they survive parsing), and
// what XML 1.0 cannot hold (other control characters, invalid UTF-8) as
// U+FFFD, as encoding/xml does.
func writeEscaped(w *bufio.Writer, s string) {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		width := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '\r':
			esc = "&#xD;"
		case c == '\t' || c == '\n':
		case c < 0x20:
			esc = "\uFFFD"
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRuneInString(s[i:])
			width = n
			if (r == utf8.RuneError && n == 1) || r == 0xFFFE || r == 0xFFFF {
				esc = "\uFFFD"
			}
		}
		if esc != "" {
			w.WriteString(s[last:i])
			w.WriteString(esc)
			last = i + width
		}
		i += width
	}
	w.WriteString(s[last:])
}
