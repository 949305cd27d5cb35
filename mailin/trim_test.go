package mailin

import "testing"

func TestTrim(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "Hello,\n\nit works.\n", "Hello,\n\nit works."},
		{"signature", "It works.\n-- \nAnn\nACME", "It works."},
		{"signature without the space", "It works.\r\n--\r\nAnn", "It works."},
		{"gmail", "Yes.\n\nOn Mon, 23 Nov 2026 at 10:00, Bob <bob@example.com> wrote:\n> Did it?\n", "Yes."},
		{"wrapped attribution", "Yes.\n\nOn Mon, 23 Nov 2026 at 10:00, Support Team <support@help.example.com>\nwrote:\n> Did it?", "Yes."},
		{"top quote", "> Did it?\n>\nYes.\n\n\n\nThanks", "Yes.\n\nThanks"},
		{"outlook", "Done.\n\n________________________________\nFrom: Support\nSent: Monday\n\nOld text", "Done."},
		{"outlook original", "Done.\n-----Original Message-----\nFrom: x", "Done."},
		{"a line that starts with On but is text", "On Monday the printer broke.\nIt wrote: nothing.", "On Monday the printer broke.\nIt wrote: nothing."},
		{"only quotes", "> a\n> b", ""},
	}
	for _, c := range cases {
		if got := Trim(c.in); got != c.want {
			t.Errorf("%s: Trim = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestHTMLText(t *testing.T) {
	in := `<html><head><style>p{color:red}</style></head><body><div>Hello <b>Bob</b>,</div><p>it&#39;s fixed &amp; done.</p>` +
		`<div class="gmail_quote"><div>On Mon, 23 Nov 2026, Bob wrote:<br></div><blockquote>Is it fixed?</blockquote></div></body></html>`
	if got, want := Trim(htmlText(in)), "Hello Bob,\n\nit's fixed & done."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSubjectNumber(t *testing.T) {
	for subject, want := range map[string]int64{
		"Re: [#20001] VPN down": 20001, "[#7]": 7, "VPN #20001": 0, "[# 12]": 0, "Re: [#abc]": 0, "": 0,
	} {
		if got := SubjectNumber(subject); got != want {
			t.Errorf("SubjectNumber(%q) = %d, want %d", subject, got, want)
		}
	}
}
