package mailin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	_ "github.com/emersion/go-message/charset" // text in other charsets than UTF-8
	"github.com/emersion/go-message/mail"
)

// Message is what deskpulse uses of a received e-mail.
type Message struct {
	MessageID  string   // without angle brackets; "" when the mail has none
	InReplyTo  []string // the message(s) it answers
	References []string // the thread, oldest first
	From       string   // the From address, lower-cased (the first when it has several)
	Name       string   // its display name
	FromCount  int      // how many addresses From has: only exactly one can be trusted
	Recipients []string // the To and Cc addresses, lower-cased (a reply address token in one lets the mail into its ticket)
	Subject    string
	Text       string // the text part (or the HTML part as text), untrimmed
	Files      []File
	// Automatic is why the mail was sent by a machine (an auto-reply, a
	// bounce, a list), or "" for a person's mail.
	Automatic string
}

// File is an attachment.
type File struct {
	Name string
	Data []byte
}

// errUnreadable marks a mail that cannot be parsed (answered 554: the
// sender should not retry it).
var errUnreadable = errors.New("the message could not be read")

// errTooManyParts marks a mail with more MIME parts than max_parts
// (answered 552 before anything is stored).
var errTooManyParts = errors.New("too many MIME parts")

// Parse reads a raw e-mail (RFC 5322 with MIME parts), at most maxParts
// parts of it (0: no limit): a mail with more is refused whole, unread,
// so that a mail of 20,000 tiny parts costs no more than its parsing.
func Parse(raw []byte, maxParts int) (*Message, error) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && r == nil {
		return nil, fmt.Errorf("%w: %v", errUnreadable, err)
	}
	defer r.Close()
	h := r.Header
	m := &Message{Automatic: automatic(h)}
	m.MessageID, _ = h.MessageID()
	m.InReplyTo, _ = h.MsgIDList("In-Reply-To")
	m.References, _ = h.MsgIDList("References")
	if m.Subject, err = h.Subject(); err != nil {
		m.Subject = h.Get("Subject")
	}
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		m.From, m.Name, m.FromCount = strings.ToLower(from[0].Address), from[0].Name, len(from)
	}
	for _, k := range []string{"To", "Cc"} {
		list, _ := h.AddressList(k)
		for _, a := range list {
			m.Recipients = append(m.Recipients, strings.ToLower(a.Address))
		}
	}
	var htmlBody string
	for i := 0; ; i++ {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if maxParts > 0 && i == maxParts {
			return nil, fmt.Errorf("%w: more than %d", errTooManyParts, maxParts)
		}
		if p == nil {
			return nil, fmt.Errorf("%w: part %d: %v", errUnreadable, i+1, err)
		}
		data, err := io.ReadAll(p.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: part %d: %v", errUnreadable, i+1, err)
		}
		var name, ctype string
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			ctype, _, _ = ph.ContentType()
			_, params, _ := ph.ContentDisposition()
			name = params["filename"]
		case *mail.AttachmentHeader:
			ctype, _, _ = ph.ContentType()
			name, _ = ph.Filename()
			if name == "" {
				name = "attachment"
			}
		}
		switch {
		case name == "" && ctype == "text/plain" && m.Text == "":
			m.Text = string(data)
		case name == "" && ctype == "text/html" && htmlBody == "":
			htmlBody = string(data)
		case name != "" || !strings.HasPrefix(ctype, "text/"):
			if name == "" {
				name = "attachment"
			}
			m.Files = append(m.Files, File{Name: name, Data: data})
		}
	}
	if m.Text == "" && htmlBody != "" {
		m.Text = htmlText(htmlBody)
	}
	if m.Automatic == "" && (strings.HasPrefix(m.From, "mailer-daemon@") || strings.HasPrefix(m.From, "postmaster@")) {
		m.Automatic = "from a mailer daemon"
	}
	if m.Automatic == "" && autoSubject.MatchString(m.Subject) {
		m.Automatic = "an auto-reply's subject: " + m.Subject
	}
	return m, nil
}

// automatic says why a mail's header marks it as sent by a machine: an
// auto-reply or other auto-submitted mail (RFC 3834), a bulk or list
// mail, a vacation responder's own marks, or a delivery report. Such mail
// never opens a ticket or adds to one, and is never answered, so two
// responders cannot loop.
func automatic(h mail.Header) string {
	// "no" (possibly with parameters: "no; x=y") is the one value a
	// person's mail has.
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" {
		if value, _, _ := strings.Cut(v, ";"); strings.TrimSpace(value) != "no" {
			return "Auto-Submitted: " + v
		}
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list", "auto_reply":
		return "Precedence: " + v
	}
	// X-Auto-Response-Suppress: Exchange's auto-replies and
	// notification senders ask not to be answered.
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Auto-Response-Suppress"} {
		if h.Has(k) {
			return k
		}
	}
	if t, _, _ := h.ContentType(); t == "multipart/report" {
		return "a delivery report"
	}
	return ""
}

// autoSubject is the start of the subjects auto-replies and delivery
// reports use (for responders that set no header): Exchange's "Automatic
// reply:" and older "Out of Office:", Notes' "Auto:", bounces'
// "Undeliverable:" and "Undelivered Mail Returned to Sender", and the
// like.
var autoSubject = regexp.MustCompile(`(?i)^\s*(out of (the )?office\b|automatic reply\b|auto[- ]?reply\b|autoresponse\b|auto:|vacation reply\b|undeliverable\b|undelivered mail\b|delivery status notification\b|mail delivery (failed|failure|system)\b|returned mail\b)`)

// numberTag is a ticket number in a subject: [#1234].
var numberTag = regexp.MustCompile(`\[#(\d{1,18})\]`)

// SubjectNumber returns the ticket number tagged in a subject (0: none).
func SubjectNumber(subject string) int64 {
	m := numberTag.FindStringSubmatch(subject)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}
