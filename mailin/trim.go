package mailin

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// Patterns that start the quoted history mail clients put under a reply.
var (
	onWrote    = regexp.MustCompile(`(?i)^on\s.{4,}\swrote:$`)                // Gmail, Apple Mail, Thunderbird
	original   = regexp.MustCompile(`(?i)^-{3,}\s*original message\s*-{3,}$`) // Outlook (older)
	underscore = regexp.MustCompile(`^_{10,}$`)                               // Outlook: a rule, then From:/Sent:
	spaces     = regexp.MustCompile(`\s+`)
)

// Trim keeps what the sender wrote of a reply: it ends the text at the
// first line of quoted history ("On ... wrote:", possibly wrapped over two
// lines, or Outlook's header block) or at the signature delimiter ("-- "),
// and drops quoted lines (starting with ">").
func Trim(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var out []string
	for i, line := range lines {
		line = strings.TrimRight(line, " \t\r")
		if line == "--" || quoteStart(lines, i) {
			break
		}
		if strings.HasPrefix(strings.TrimLeft(line, " "), ">") {
			continue
		}
		out = append(out, line)
	}
	// At most one empty line in a row, none at either end.
	var kept []string
	for _, l := range out {
		if l == "" && (len(kept) == 0 || kept[len(kept)-1] == "") {
			continue
		}
		kept = append(kept, l)
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

func quoteStart(lines []string, i int) bool {
	line := strings.TrimSpace(lines[i])
	next := ""
	if i+1 < len(lines) {
		next = strings.TrimSpace(lines[i+1])
	}
	switch {
	case onWrote.MatchString(line), original.MatchString(line):
		return true
	case strings.HasPrefix(strings.ToLower(line), "on ") && onWrote.MatchString(line+" "+next):
		return true
	case underscore.MatchString(line) && strings.HasPrefix(next, "From:"):
		return true
	}
	return false
}

// htmlText turns an HTML body (mail without a text part) into plain text:
// the text of the elements, a line break at block elements, without
// scripts, styles and quoted mail (<blockquote>).
func htmlText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0 // depth inside elements whose text is dropped
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			lines := strings.Split(b.String(), "\n")
			for i := range lines {
				lines[i] = strings.TrimSpace(lines[i])
			}
			return strings.Join(lines, "\n")
		case html.TextToken:
			if skip == 0 {
				b.WriteString(spaces.ReplaceAllString(string(z.Text()), " "))
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "blockquote":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre":
				if skip == 0 {
					b.WriteString("\n")
				}
			}
		}
	}
}
