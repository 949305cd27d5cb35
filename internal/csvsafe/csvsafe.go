// Package csvsafe keeps text written to CSV from being read as a formula
// by the spreadsheet that opens it (CSV or formula injection).
package csvsafe

// Cell returns s as it should be written into a CSV text cell: when s
// starts with a character a spreadsheet reads as the start of a formula
// (=, +, -, @) or one that some strip before doing so (tab, CR), it gets
// a leading single quote, OWASP's rule; otherwise s is unchanged. Call it
// on text only: typed numbers (a -5 from an integer column) must stay
// numbers, so their writers leave them alone.
func Cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
