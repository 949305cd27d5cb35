package portal

import (
	"html"
	"html/template"
	"regexp"
	"strings"
)

// Markdown renders the small, safe subset of Markdown the knowledge base
// uses: headings (#, ##, ###), paragraphs, "-"/"*" and "1." lists, fenced
// code blocks, `code`, **bold**, *emphasis* and [links](https://...).
// Everything is HTML-escaped first, raw HTML included, and links keep only
// http(s), mailto and site-relative targets, so an article cannot carry
// markup or scripts.
func Markdown(src string) template.HTML {
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var para []string
	list := "" // "ul", "ol" or ""
	flushPara := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, "\n")) + "</p>\n")
			para = nil
		}
	}
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "```"):
			flushPara()
			closeList()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case trim == "":
			flushPara()
			closeList()
		case headingRE.MatchString(trim):
			flushPara()
			closeList()
			m := headingRE.FindStringSubmatch(trim)
			level := string(rune('1' + len(m[1]))) // # is h2: the page title is the h1
			b.WriteString("<h" + level + ">" + inline(m[2]) + "</h" + level + ">\n")
		case ulRE.MatchString(line) || olRE.MatchString(line):
			flushPara()
			kind, m := "ul", ulRE.FindStringSubmatch(line)
			if m == nil {
				kind, m = "ol", olRE.FindStringSubmatch(line)
			}
			if list != kind {
				closeList()
				b.WriteString("<" + kind + ">\n")
				list = kind
			}
			b.WriteString("<li>" + inline(m[1]) + "</li>\n")
		default:
			closeList()
			para = append(para, trim)
		}
	}
	flushPara()
	closeList()
	return template.HTML(b.String())
}

var (
	headingRE = regexp.MustCompile(`^(#{1,3})\s+(.+?)\s*#*$`)
	ulRE      = regexp.MustCompile(`^\s*[-*]\s+(.*)$`)
	olRE      = regexp.MustCompile(`^\s*\d+[.)]\s+(.*)$`)
	boldRE    = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	emRE      = regexp.MustCompile(`\*([^*\s][^*]*)\*`)
	mdLinkRE  = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
)

// inline renders spans of one block: code spans verbatim, the rest
// escaped and then marked up.
func inline(s string) string {
	var b strings.Builder
	parts := strings.Split(s, "`")
	for i, part := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + html.EscapeString(part) + "</code>")
			continue
		}
		if i%2 == 1 { // an unmatched backtick
			b.WriteString("`")
		}
		t := html.EscapeString(part)
		t = mdLinkRE.ReplaceAllStringFunc(t, func(m string) string {
			sub := mdLinkRE.FindStringSubmatch(m)
			if !safeURL(html.UnescapeString(sub[2])) {
				return sub[1]
			}
			return `<a href="` + sub[2] + `" rel="nofollow noopener">` + sub[1] + `</a>`
		})
		t = boldRE.ReplaceAllString(t, "<strong>$1</strong>")
		t = emRE.ReplaceAllString(t, "<em>$1</em>")
		b.WriteString(strings.ReplaceAll(t, "\n", "<br>\n"))
	}
	return b.String()
}

func safeURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "mailto:") ||
		(strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.HasPrefix(u, "/\\"))
}

var mdLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// excerpt is the start of an article's Markdown as plain text, about n
// runes cut at a word, for search results: line markers (headings,
// quotes, bullets), emphasis, code ticks and link targets are dropped.
func excerpt(markdown string, n int) string {
	var words []string
	for _, line := range strings.Split(mdLink.ReplaceAllString(markdown, "$1"), "\n") {
		line = strings.TrimLeft(strings.TrimSpace(line), "#> ")
		if strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "* ") {
			line = line[2:]
		}
		line = strings.NewReplacer("**", "", "`", "", "*", "").Replace(line)
		words = append(words, strings.Fields(line)...)
	}
	text := []rune(strings.Join(words, " "))
	if len(text) <= n {
		return string(text)
	}
	cut := n
	for cut > n/2 && text[cut] != ' ' {
		cut--
	}
	return strings.TrimRight(string(text[:cut]), " .,;:") + "…"
}
