package csvsafe

import "testing"

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "",
		"Printer jammed":      "Printer jammed",
		`=HYPERLINK("x","y")`: `'=HYPERLINK("x","y")`,
		"+1+2":                "'+1+2",
		"-5":                  "'-5", // text that looks like a number is still text
		"@SUM(A1)":            "'@SUM(A1)",
		"\t=1":                "'\t=1",
		"\r=1":                "'\r=1",
		"a=1":                 "a=1",
		"'already quoted":     "'already quoted",
		"\u00e9=1":            "\u00e9=1",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}
