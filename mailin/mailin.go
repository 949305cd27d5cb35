// Package mailin is deskpulse's inbound e-mail channel: its own SMTP
// listener (github.com/emersion/go-smtp), off by default. A new mail opens
// a ticket with channel email and the sender as requester. A mail adds a
// public comment to an existing ticket only when it is sent to the
// ticket's secret reply address (support+<token>@domain, the Reply-To of
// deskpulse's e-mails), or when its sender is the ticket's requester and
// it answers a mail deskpulse sent for the ticket (In-Reply-To /
// References, table mail_messages); a [#number] in the subject alone opens
// a new ticket. A From with several addresses, or whose domain does not
// match the envelope sender's, is not trusted: the envelope sender is the
// requester then. Quoted history and signatures are trimmed, attachments
// kept with the portal's (package portal), a bounded number per mail and
// per ticket. Auto-replies, bounces and list mail are accepted and
// dropped, so they never open tickets nor are answered; each sender opens
// a bounded number of tickets per hour.
//
// The listener speaks plain SMTP without authentication: run it on a
// private address behind the organisation's mail server (which relays the
// support address to it), not open to the internet.
package mailin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
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
	// e-mails carry it with the ticket's +<token> as Reply-To, and mail
	// from it is dropped (a loop).
	Address  string `mapstructure:"address"`
	MaxBytes int64  `mapstructure:"max_bytes"` // the largest mail taken, attachments included
	// AllowUnalignedFrom trusts a From whose domain differs from the
	// envelope sender's (off: the envelope sender is the requester then).
	// For relays that rewrite the envelope sender (SRS).
	AllowUnalignedFrom bool `mapstructure:"allow_unaligned_from"`
	// TicketsPerSenderHour is how many tickets one sender opens by mail
	// in an hour; more are refused (550). Replies are not counted.
	TicketsPerSenderHour int `mapstructure:"tickets_per_sender_per_hour"`
	// MaxParts is the most MIME parts a mail may have (more: refused 552).
	MaxParts int `mapstructure:"max_parts"`
	// AttachmentsPerMail and AttachmentsPerTicket bound the files kept;
	// the rest are dropped and an internal note says so.
	AttachmentsPerMail   int `mapstructure:"attachments_per_mail"`
	AttachmentsPerTicket int `mapstructure:"attachments_per_ticket"`
}

// Defaults are the config defaults of the section, keyed like viper.
var Defaults = map[string]any{
	"inbound_mail.enabled":   false,
	"inbound_mail.addr":      "127.0.0.1:2525",
	"inbound_mail.domains":   []string{"localhost"},
	"inbound_mail.address":   "support@localhost",
	"inbound_mail.max_bytes": 25 << 20,

	"inbound_mail.allow_unaligned_from":        false,
	"inbound_mail.tickets_per_sender_per_hour": 10,
	"inbound_mail.max_parts":                   1000,
	"inbound_mail.attachments_per_mail":        20,
	"inbound_mail.attachments_per_ticket":      200,
}

// Files keeps a ticket's attachments (portal.Portal).
type Files interface {
	SaveAttachment(ctx context.Context, ticketID, by, filename string, data []byte) error
	CountAttachments(ctx context.Context, ticketID string) (int, error)
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
	// Unset (0) limits take the defaults: there is no "unlimited".
	set.TicketsPerSenderHour = cmp.Or(max(set.TicketsPerSenderHour, 0), Defaults["inbound_mail.tickets_per_sender_per_hour"].(int))
	set.MaxParts = cmp.Or(max(set.MaxParts, 0), Defaults["inbound_mail.max_parts"].(int))
	set.AttachmentsPerMail = cmp.Or(max(set.AttachmentsPerMail, 0), Defaults["inbound_mail.attachments_per_mail"].(int))
	set.AttachmentsPerTicket = cmp.Or(max(set.AttachmentsPerTicket, 0), Defaults["inbound_mail.attachments_per_ticket"].(int))
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
	rcpts []string
}

func (s *session) Reset()        { s.from, s.rcpts = "", nil }
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
	s.rcpts = append(s.rcpts, strings.ToLower(to))
	return nil
}

func (s *session) Data(body io.Reader) error {
	raw, err := io.ReadAll(body) // bounded by MaxMessageBytes
	if err != nil {
		return err
	}
	res, err := s.r.Deliver(context.Background(), s.from, s.rcpts, raw)
	var refused *smtp.SMTPError
	switch {
	case errors.As(err, &refused):
		slog.Info("inbound mail: refused", "from", s.from, "code", refused.Code, "why", refused.Message)
		return refused
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

// sender is whom a mail is taken to be from.
type sender struct {
	address, name string
	// trusted: From has exactly one address, aligned with the envelope
	// sender's domain (or allow_unaligned_from). Only a trusted sender is
	// matched with a ticket's requester.
	trusted bool
	why     string // why not trusted
}

// senderOf decides who sent a mail. From is trusted when it names one
// address whose domain is the envelope sender's, a subdomain of it or its
// parent (a list of several addresses would let the first one be chosen
// by the forger). Otherwise the envelope sender, which the organisation's
// mail server checked (SPF), stands for the sender, without a name.
func (r *Receiver) senderOf(envelopeFrom string, m *Message) sender {
	envelopeFrom = strings.ToLower(envelopeFrom)
	why := ""
	switch {
	case m.FromCount == 0:
		why = "no From address"
	case m.FromCount > 1:
		why = fmt.Sprintf("From has %d addresses", m.FromCount)
	case !r.set.AllowUnalignedFrom && !aligned(domainOf(m.From), domainOf(envelopeFrom)):
		why = fmt.Sprintf("From %s is not of the envelope sender's domain (%s)", m.From, envelopeFrom)
	default:
		return sender{address: m.From, name: m.Name, trusted: true}
	}
	return sender{address: envelopeFrom, why: why}
}

func domainOf(address string) string {
	return address[strings.LastIndexByte(address, '@')+1:]
}

// aligned says whether two domains are the same or one is a subdomain of
// the other (DMARC's relaxed alignment, without the public suffix list).
func aligned(a, b string) bool {
	return a != "" && b != "" && (a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a))
}

// Deliver stores one received mail: envelopeFrom is the SMTP sender ("" is
// the null sender of bounces), rcpts the envelope recipients, raw the
// message. It is the listener's work and usable by other ways of receiving
// mail (IMAP polling). A mail refused whole returns an *smtp.SMTPError
// (too many parts, the sender's hourly share of new tickets used).
func (r *Receiver) Deliver(ctx context.Context, envelopeFrom string, rcpts []string, raw []byte) (*Result, error) {
	if envelopeFrom == "" {
		return &Result{Outcome: Dropped, Why: "null sender (a bounce)"}, nil
	}
	m, err := Parse(raw, r.set.MaxParts)
	if errors.Is(err, errTooManyParts) {
		return nil, &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("the message has more than %d MIME parts (inbound_mail.max_parts); nothing was stored", r.set.MaxParts)}
	}
	if err != nil {
		return nil, err
	}
	from := r.senderOf(envelopeFrom, m)
	switch {
	case m.Automatic != "":
		return &Result{Outcome: Dropped, Why: "automatic mail: " + m.Automatic}, nil
	case r.isSupportAddress(m.From) || r.isSupportAddress(from.address):
		return &Result{Outcome: Dropped, Why: "from the support address itself (a loop)"}, nil
	}
	t, why, err := r.ticketOf(ctx, m, from, rcpts)
	if err != nil {
		return nil, err
	}
	now := r.Now()
	if t == nil {
		if why == "" {
			why = from.why
		} else if from.why != "" {
			why += "; " + from.why
		}
		return r.create(ctx, m, from, why, now)
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
	// The comment is the sender's: the requester, or someone else the
	// reply address reached (a colleague in Cc).
	actor := model.Actor{Name: truncate(from.address, model.MaxShort), Kind: model.ActorRequester}
	if _, err := r.w.Do(ctx, &ingest.Comment{ID: t.ID, Actor: actor, Body: truncate(body, model.MaxText), Public: true}); err != nil {
		r.st.DeleteMailMessage(ctx, m.MessageID)
		return nil, err
	}
	return &Result{Outcome: Commented, TicketID: t.ID, TicketNumber: t.Number, Files: r.keepFiles(ctx, t.ID, from.address, m)}, nil
}

// isSupportAddress says whether an address is the support address or one
// of its reply addresses (support+<token>@...).
func (r *Receiver) isSupportAddress(address string) bool {
	if r.set.Address == "" || address == "" {
		return false
	}
	if token, _ := store.AddressReplyToken(address); token != "" {
		address = strings.Replace(address, "+"+token, "", 1)
	}
	return strings.EqualFold(address, r.set.Address)
}

// ticketOf finds the existing ticket a mail adds to. Either a recipient
// (envelope, To or Cc) is the ticket's reply address, whose token only
// deskpulse's own mails carry; or the trusted sender is the ticket's
// requester and the mail answers (In-Reply-To, References) a mail
// deskpulse sent for it. Nothing else does: not a [#number] in the
// subject (numbers are easy to guess), not a quoted Message-ID of the
// requester's own. A closed ticket takes nothing more. When there is no
// ticket, why says why the mail opens a new one.
func (r *Receiver) ticketOf(ctx context.Context, m *Message, from sender, rcpts []string) (*model.Ticket, string, error) {
	id, err := r.tokenTicket(ctx, append(slices.Clone(rcpts), m.Recipients...))
	if err != nil {
		return nil, "", err
	}
	byToken := id != ""
	if !byToken {
		ids := slices.Clone(m.InReplyTo)
		for i := len(m.References) - 1; i >= 0; i-- { // newest first
			ids = append(ids, m.References[i])
		}
		if id, err = r.st.SentMailTicket(ctx, ids); err != nil {
			return nil, "", err
		}
	}
	if id == "" {
		if n := SubjectNumber(m.Subject); n != 0 {
			return nil, fmt.Sprintf("the subject's [#%d] alone adds to no ticket (neither its reply address nor an answer to its mail)", n), nil
		}
		return nil, "", nil
	}
	t, err := r.st.Ticket(ctx, id)
	switch {
	case errors.Is(err, model.ErrNotFound):
		return nil, "", nil
	case err != nil:
		return nil, "", err
	case !byToken && !from.trusted:
		return nil, fmt.Sprintf("the sender is not trusted to add to ticket #%d", t.Number), nil
	case !byToken && !strings.EqualFold(t.RequesterEmail, from.address):
		return nil, fmt.Sprintf("ticket #%d is not %s's", t.Number, from.address), nil
	case t.Status == model.StatusClosed:
		return nil, fmt.Sprintf("ticket #%d is closed", t.Number), nil
	}
	return t, "", nil
}

// tokenTicket returns the ticket whose reply address is one of the
// addresses, in one of the accepted domains ("" when none).
func (r *Receiver) tokenTicket(ctx context.Context, addresses []string) (string, error) {
	for _, a := range addresses {
		token, domain := store.AddressReplyToken(a)
		if token == "" || !slices.Contains(r.set.Domains, domain) {
			continue
		}
		if id, err := r.st.ReplyTokenTicket(ctx, token); id != "" || err != nil {
			return id, err
		}
	}
	return "", nil
}

// create opens a ticket for a mail, within the sender's hourly share. Its
// Message-ID is recorded before the ticket is written, so the
// acknowledgement (sent once the ticket is committed) already threads
// under it.
func (r *Receiver) create(ctx context.Context, m *Message, from sender, why string, now time.Time) (*Result, error) {
	var opened int
	if err := r.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM tickets WHERE channel = ? AND requester_email = ? AND created_at > ?`,
		model.ChannelEmail, from.address, now.UTC().Add(-time.Hour)).Scan(&opened); err != nil {
		return nil, err
	}
	if opened >= r.set.TicketsPerSenderHour {
		return nil, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("%s opened %d tickets in the last hour, the most taken (inbound_mail.tickets_per_sender_per_hour); reply to an existing ticket's e-mail, or write again later", from.address, opened)}
	}
	id := model.NewID()
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
	actor := model.Actor{Name: from.address, Kind: model.ActorRequester}
	res, err := r.w.Do(ctx, &ingest.CreateTicket{ID: id, Actor: actor,
		Subject: truncate(subject, model.MaxSubject), Description: truncate(description, model.MaxText),
		RequesterName: truncate(from.name, model.MaxShort), RequesterEmail: from.address, Channel: model.ChannelEmail})
	if err != nil {
		r.st.DeleteMailMessage(ctx, m.MessageID)
		var ve *model.ValidationError
		if errors.As(err, &ve) { // e.g. a sender address too long: nothing to retry
			return &Result{Outcome: Dropped, Why: ve.Error()}, nil
		}
		return nil, err
	}
	return &Result{Outcome: Created, TicketID: id, TicketNumber: res.Ticket.Number, Why: why, Files: r.keepFiles(ctx, id, from.address, m)}, nil
}

// mailActor writes the internal notes of the channel.
var mailActor = model.Actor{Name: "inbound-mail", Kind: model.ActorSystem}

// keepFiles stores the mail's attachments with the ticket, at most
// attachments_per_mail of them and as many as the ticket's
// attachments_per_ticket leaves room for; the rest are dropped and an
// internal note on the ticket says how many and why. One refused (type or
// size) is logged and skipped; the mail's text is kept anyway.
func (r *Receiver) keepFiles(ctx context.Context, ticketID, by string, m *Message) int {
	if r.files == nil || len(m.Files) == 0 {
		return 0
	}
	have, err := r.files.CountAttachments(ctx, ticketID)
	if err != nil {
		slog.Warn("inbound mail: attachments not kept", "ticket", ticketID, "err", err)
		return 0
	}
	room := max(min(r.set.AttachmentsPerMail, r.set.AttachmentsPerTicket-have), 0)
	kept := 0
	for _, f := range m.Files[:min(room, len(m.Files))] {
		if err := r.files.SaveAttachment(ctx, ticketID, by, f.Name, f.Data); err != nil {
			slog.Warn("inbound mail: attachment not kept", "ticket", ticketID, "file", f.Name, "err", err)
			continue
		}
		kept++
	}
	if dropped := len(m.Files) - room; dropped > 0 {
		note := fmt.Sprintf("%d of the %d attachments of the e-mail from %s were not kept: at most %d per e-mail (inbound_mail.attachments_per_mail) and %d per ticket (inbound_mail.attachments_per_ticket; the ticket had %d).",
			dropped, len(m.Files), by, r.set.AttachmentsPerMail, r.set.AttachmentsPerTicket, have)
		slog.Warn("inbound mail: attachments dropped", "ticket", ticketID, "dropped", dropped, "of", len(m.Files))
		if _, err := r.w.Do(ctx, &ingest.Comment{ID: ticketID, Actor: mailActor, Body: note, Public: false}); err != nil {
			slog.Warn("inbound mail: note on dropped attachments", "ticket", ticketID, "err", err)
		}
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
