// Package mailin is deskpulse's inbound e-mail channel: its own SMTP
// listener (github.com/emersion/go-smtp), off by default. A new mail opens
// a ticket with channel email and the sender as requester; a reply adds a
// public comment to its ticket, found by In-Reply-To / References (the
// Message-IDs deskpulse received or sent, table mail_messages) or by a
// [#number] tag in the subject. Quoted history and signatures are trimmed,
// attachments kept with the portal's (package portal). Auto-replies,
// bounces and list mail are accepted and dropped, so they never open
// tickets nor are answered.
//
// The listener speaks plain SMTP without authentication: run it on a
// private address behind the organisation's mail server (which relays the
// support address to it), not open to the internet.
package mailin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-smtp"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Settings is the config's inbound_mail section.
type Settings struct {
	Enabled bool   `mapstructure:"enabled"`
	Addr    string `mapstructure:"addr"` // where the SMTP listener listens
	// Domains are the recipient domains accepted; mail to others is
	// refused (550).
	Domains []string `mapstructure:"domains"`
	// Address is the support address requesters write to; requester
	// e-mails carry it as Reply-To, and mail from it is dropped (a loop).
	Address  string `mapstructure:"address"`
	MaxBytes int64  `mapstructure:"max_bytes"` // the largest mail taken, attachments included
}

// Defaults are the config defaults of the section, keyed like viper.
var Defaults = map[string]any{
	"inbound_mail.enabled":   false,
	"inbound_mail.addr":      "127.0.0.1:2525",
	"inbound_mail.domains":   []string{"localhost"},
	"inbound_mail.address":   "support@localhost",
	"inbound_mail.max_bytes": 25 << 20,
}

// Files keeps a ticket's attachments (portal.Portal).
type Files interface {
	SaveAttachment(ctx context.Context, ticketID, by, filename string, data []byte) error
}

// Receiver turns received mail into tickets and comments.
type Receiver struct {
	st    *store.Store
	w     *ingest.Writer
	files Files
	set   Settings
	// Now is the clock (tests); default time.Now.
	Now func() time.Time

	srv    *smtp.Server
	ln     net.Listener
	served chan error
}

// New makes a receiver; Start opens its SMTP listener.
func New(st *store.Store, w *ingest.Writer, files Files, set Settings) *Receiver {
	if set.MaxBytes <= 0 {
		set.MaxBytes = 25 << 20
	}
	for i, d := range set.Domains {
		set.Domains[i] = strings.ToLower(strings.TrimSpace(d))
	}
	return &Receiver{st: st, w: w, files: files, set: set, Now: time.Now}
}

// Start listens on the configured address and serves SMTP until Close.
func (r *Receiver) Start() error {
	ln, err := net.Listen("tcp", r.set.Addr)
	if err != nil {
		return fmt.Errorf("inbound_mail: listen on %s: %w", r.set.Addr, err)
	}
	r.ln = ln
	r.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{r: r}, nil }))
	r.srv.Domain = "deskpulse"
	r.srv.MaxMessageBytes = r.set.MaxBytes
	r.srv.MaxRecipients = 50
	r.srv.ReadTimeout, r.srv.WriteTimeout = 5*time.Minute, time.Minute
	r.srv.ErrorLog = slogLogger{}
	r.served = make(chan error, 1)
	go func() { r.served <- r.srv.Serve(ln) }()
	slog.Info("inbound mail: listening", "addr", ln.Addr().String(), "domains", r.set.Domains)
	return nil
}

// Addr is the listener's address.
func (r *Receiver) Addr() string {
	if r.ln == nil {
		return r.set.Addr
	}
	return r.ln.Addr().String()
}

// Close stops listening and waits (up to 10 seconds) for mail being
// received to be stored.
func (r *Receiver) Close() error {
	if r.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = r.srv.Close()
	}
	<-r.served
	return err
}

type slogLogger struct{}

func (slogLogger) Printf(format string, v ...any) {
	slog.Warn("inbound mail: " + fmt.Sprintf(format, v...))
}
func (slogLogger) Println(v ...any) { slog.Warn("inbound mail: " + fmt.Sprintln(v...)) }

// session is one SMTP transaction's envelope.
type session struct {
	r     *Receiver
	from  string
	rcpts int
}

func (s *session) Reset()        { s.from, s.rcpts = "", 0 }
func (s *session) Logout() error { return nil }

// Mail takes the envelope sender; "" is the null sender of bounces, taken
// (RFC 5321 requires it) and dropped after DATA.
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

// Rcpt refuses recipients outside the accepted domains: deskpulse is no
// relay.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	at := strings.LastIndexByte(to, '@')
	if at < 0 || !slices.Contains(s.r.set.Domains, strings.ToLower(to[at+1:])) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: "no mailbox here for " + to + " (this server takes mail for " + strings.Join(s.r.set.Domains, ", ") + " only)"}
	}
	s.rcpts++
	return nil
}

func (s *session) Data(body io.Reader) error {
	raw, err := io.ReadAll(body) // bounded by MaxMessageBytes
	if err != nil {
		return err
	}
	res, err := s.r.Deliver(context.Background(), s.from, raw)
	switch {
	case errors.Is(err, errUnreadable):
		slog.Info("inbound mail: unreadable", "from", s.from, "err", err)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "the message could not be read"}
	case err != nil:
		slog.Error("inbound mail: not stored", "from", s.from, "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "temporary failure, please try again later"}
	}
	slog.Info("inbound mail", "from", s.from, "outcome", res.Outcome, "ticket", res.TicketNumber, "why", res.Why)
	return nil
}

// Outcomes of a delivered mail.
const (
	Created   = "created"   // a new ticket
	Commented = "commented" // a reply added to its ticket
	Dropped   = "dropped"   // taken and thrown away (auto-reply, bounce, duplicate, loop)
)

// Result is what a delivered mail did.
type Result struct {
	Outcome      string
	TicketID     string
	TicketNumber int64
	Why          string // for dropped mail, and why a reply became a new ticket
	Files        int    // attachments kept
}

// Deliver stores one received mail: envelopeFrom is the SMTP sender ("" is
// the null sender of bounces), raw the message. It is the listener's work
// and usable by other ways of receiving mail (IMAP polling).
func (r *Receiver) Deliver(ctx context.Context, envelopeFrom string, raw []byte) (*Result, error) {
	if envelopeFrom == "" {
		return &Result{Outcome: Dropped, Why: "null sender (a bounce)"}, nil
	}
	m, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Automatic != "":
		return &Result{Outcome: Dropped, Why: "automatic mail: " + m.Automatic}, nil
	case m.From == "":
		return &Result{Outcome: Dropped, Why: "no From address"}, nil
	case r.set.Address != "" && strings.EqualFold(m.From, r.set.Address):
		return &Result{Outcome: Dropped, Why: "from the support address itself (a loop)"}, nil
	}
	t, why, err := r.ticketOf(ctx, m)
	if err != nil {
		return nil, err
	}
	now := r.Now()
	if t == nil {
		return r.create(ctx, m, why, now)
	}
	if fresh, err := r.st.AddMailMessage(ctx, m.MessageID, t.ID, store.MailIn, now); err != nil || (!fresh && m.MessageID != "") {
		return &Result{Outcome: Dropped, Why: "seen before (Message-ID " + m.MessageID + ")"}, err
	}
	body := Trim(m.Text)
	if body == "" {
		body = "(attached files)"
		if len(m.Files) == 0 {
			body = "(empty e-mail)"
		}
	}
	actor := model.Actor{Name: t.RequesterEmail, Kind: model.ActorRequester}
	if _, err := r.w.Do(ctx, &ingest.Comment{ID: t.ID, Actor: actor, Body: truncate(body, model.MaxText), Public: true}); err != nil {
		r.st.DeleteMailMessage(ctx, m.MessageID)
		return nil, err
	}
	return &Result{Outcome: Commented, TicketID: t.ID, TicketNumber: t.Number, Files: r.keepFiles(ctx, t.ID, m)}, nil
}

// ticketOf finds the ticket a mail answers: by its In-Reply-To and
// References, else by a [#number] in the subject. Only the ticket's
// requester adds to it (numbers are easy to guess) and a closed ticket
// takes nothing more: otherwise the mail opens a new ticket, and why says
// so.
func (r *Receiver) ticketOf(ctx context.Context, m *Message) (*model.Ticket, string, error) {
	ids := slices.Clone(m.InReplyTo)
	for i := len(m.References) - 1; i >= 0; i-- { // newest first
		ids = append(ids, m.References[i])
	}
	ref, err := r.st.MailTicket(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	if ref == "" {
		n := SubjectNumber(m.Subject)
		if n == 0 {
			return nil, "", nil
		}
		ref = strconv.FormatInt(n, 10)
	}
	t, err := r.st.Ticket(ctx, ref)
	switch {
	case errors.Is(err, model.ErrNotFound):
		return nil, "no ticket " + ref, nil
	case err != nil:
		return nil, "", err
	case !strings.EqualFold(t.RequesterEmail, m.From):
		return nil, fmt.Sprintf("ticket #%d is not %s's", t.Number, m.From), nil
	case t.Status == model.StatusClosed:
		return nil, fmt.Sprintf("ticket #%d is closed", t.Number), nil
	}
	return t, "", nil
}

// create opens a ticket for a mail. Its Message-ID is recorded before the
// ticket is written, so the acknowledgement (sent once the ticket is
// committed) already threads under it.
func (r *Receiver) create(ctx context.Context, m *Message, why string, now time.Time) (*Result, error) {
	id := ingest.NewID()
	if fresh, err := r.st.AddMailMessage(ctx, m.MessageID, id, store.MailIn, now); err != nil || (!fresh && m.MessageID != "") {
		return &Result{Outcome: Dropped, Why: "seen before (Message-ID " + m.MessageID + ")"}, err
	}
	subject := strings.TrimSpace(m.Subject)
	if subject == "" {
		subject = "(no subject)"
	}
	description := Trim(m.Text)
	if description == "" && len(m.Files) > 0 {
		description = "(attached files)"
	}
	actor := model.Actor{Name: m.From, Kind: model.ActorRequester}
	res, err := r.w.Do(ctx, &ingest.CreateTicket{ID: id, Actor: actor,
		Subject: truncate(subject, model.MaxSubject), Description: truncate(description, model.MaxText),
		RequesterName: truncate(m.Name, model.MaxShort), RequesterEmail: m.From, Channel: model.ChannelEmail})
	if err != nil {
		r.st.DeleteMailMessage(ctx, m.MessageID)
		var ve *model.ValidationError
		if errors.As(err, &ve) { // e.g. a sender address too long: nothing to retry
			return &Result{Outcome: Dropped, Why: ve.Error()}, nil
		}
		return nil, err
	}
	return &Result{Outcome: Created, TicketID: id, TicketNumber: res.Ticket.Number, Why: why, Files: r.keepFiles(ctx, id, m)}, nil
}

// keepFiles stores the mail's attachments with the ticket; one refused
// (type or size) is logged and skipped, the mail's text is kept anyway.
func (r *Receiver) keepFiles(ctx context.Context, ticketID string, m *Message) int {
	kept := 0
	for _, f := range m.Files {
		if r.files == nil {
			break
		}
		if err := r.files.SaveAttachment(ctx, ticketID, m.From, f.Name, f.Data); err != nil {
			slog.Warn("inbound mail: attachment not kept", "ticket", ticketID, "file", f.Name, "err", err)
			continue
		}
		kept++
	}
	return kept
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
