// Package notify sends e-mail notifications: to requesters when their
// ticket is created, gets a public reply or is resolved; to agents when a
// ticket is assigned to them or they are @mentioned in an internal note;
// and the e-mails of automation rules. Every e-mail is rendered from a
// template (html/template for the HTML part, text/template for the text
// part) and queued in the store's mail_outbox; one goroutine sends the
// queue over SMTP (package mailer), retrying with doubling waits, so a
// restart loses none.
//
// E-mails to a ticket's requester carry a fresh secret status link and
// thread in the requester's mail client: a stable Message-ID, recorded
// with the ticket (table mail_messages) so that a reply by e-mail finds it
// again (package mailin), In-Reply-To and References pointing to the
// ticket's thread, Reply-To the support address and [#number] in the
// subject.
package notify

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/deskpulse/deskpulse/mailer"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Settings is the config's notifications section.
type Settings struct {
	Enabled bool `mapstructure:"enabled"` // false: nothing is queued (rules' e-mails neither)
	// StatusURL is the link in requester e-mails; {token} is replaced with
	// a fresh secret status-link token (minted per requester e-mail), {id}
	// and {number} with the ticket's.
	StatusURL string `mapstructure:"status_url"`
	// ReplyTo is the Reply-To of requester e-mails: the support address
	// that inbound e-mail reaches (empty: none).
	ReplyTo   string `mapstructure:"reply_to"`
	Requester struct {
		Created  bool `mapstructure:"created"` // off by default: the acknowledge-new-tickets rule does it
		Reply    bool `mapstructure:"reply"`
		Resolved bool `mapstructure:"resolved"`
		// MaxAcksPerHour caps the acknowledgements (template
		// ticket_created) one address gets in an hour, so an
		// autoresponder or a forged sender cannot loop or flood; 0: no cap.
		MaxAcksPerHour int `mapstructure:"max_acks_per_hour"`
	} `mapstructure:"requester"`
	Agent struct {
		Assigned  bool `mapstructure:"assigned"`
		Mentioned bool `mapstructure:"mentioned"`
	} `mapstructure:"agent"`
	Retry struct {
		Attempts   int           `mapstructure:"attempts"`
		Backoff    time.Duration `mapstructure:"backoff"`
		MaxBackoff time.Duration `mapstructure:"max_backoff"`
	} `mapstructure:"retry"`
}

// Defaults are the config defaults of the section, keyed like viper.
var Defaults = map[string]any{
	"notifications.enabled":            true,
	"notifications.status_url":         "http://127.0.0.1:8080/support/t/{token}",
	"notifications.reply_to":           "",
	"notifications.requester.created":  false,
	"notifications.requester.reply":    true,
	"notifications.requester.resolved": true,
	"notifications.agent.assigned":     true,
	"notifications.agent.mentioned":    true,
	"notifications.retry.attempts":     8,
	"notifications.retry.backoff":      "1m",
	"notifications.retry.max_backoff":  "1h",

	"notifications.requester.max_acks_per_hour": 5,
}

// Notifier queues and sends the e-mails. It is an automation.Mailer and
// an automation.Listener; the rules engine starts and closes it.
type Notifier struct {
	st   *store.Store
	set  Settings
	smtp mailer.SMTP
	// Now is the clock of the queue (tests); default time.Now.
	Now func() time.Time

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New makes a notifier; Start begins sending.
func New(st *store.Store, set Settings, smtp mailer.SMTP) *Notifier {
	if set.Retry.Attempts <= 0 {
		set.Retry.Attempts = 8
	}
	if set.Retry.Backoff <= 0 {
		set.Retry.Backoff = time.Minute
	}
	if set.Retry.MaxBackoff < set.Retry.Backoff {
		set.Retry.MaxBackoff = max(time.Hour, set.Retry.Backoff)
	}
	return &Notifier{st: st, set: set, smtp: smtp.WithDefaults(), Now: time.Now,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Queue renders a template for the ticket and queues it to the
// recipients (the rules' e-mail action).
func (n *Notifier) Queue(ctx context.Context, to []string, tmpl string, t *model.Ticket, data map[string]string) error {
	if !n.set.Enabled {
		return nil
	}
	return n.QueueOnce(ctx, "", to, tmpl, t, data)
}

// QueueOnce is Queue at most once per key (none when key is ""): an
// e-mail queued under the key before, by this run or one before a crash,
// is not queued again. The store enforces it (mail_outbox.effect_key is
// unique). The rules engine keys a rule's e-mail by rule, triggering
// event and action.
func (n *Notifier) QueueOnce(ctx context.Context, key string, to []string, tmpl string, t *model.Ticket, data map[string]string) error {
	if !n.set.Enabled {
		return nil
	}
	d := &Data{Ticket: t, Rule: data["rule"], Extra: data}
	return n.queue(ctx, key, to, tmpl, d)
}

// toRequester says whether an e-mail goes to the ticket's requester alone:
// only such e-mails carry a status link and thread as the requester's
// conversation.
func toRequester(to []string, t *model.Ticket) bool {
	return t != nil && t.RequesterEmail != "" && len(to) == 1 && strings.EqualFold(to[0], t.RequesterEmail)
}

// statusURL is the requester's link to the ticket. A {token} in the
// configured URL is a secret status link, minted for this e-mail (and only
// for the requester: other recipients get no link then).
func (n *Notifier) statusURL(ctx context.Context, t *model.Ticket, requester bool) (string, error) {
	if t == nil || n.set.StatusURL == "" {
		return "", nil
	}
	token := ""
	if strings.Contains(n.set.StatusURL, "{token}") {
		if !requester {
			return "", nil
		}
		var err error
		if token, err = n.st.NewStatusLink(ctx, t.ID, n.Now()); err != nil {
			return "", err
		}
	}
	return strings.NewReplacer("{token}", token, "{id}", t.ID, "{number}", fmt.Sprint(t.Number)).Replace(n.set.StatusURL), nil
}

// thread is the threading of one queued e-mail.
type thread struct {
	inReplyTo, refs, replyTo string
}

func (n *Notifier) queue(ctx context.Context, key string, to []string, tmpl string, d *Data) error {
	to = slices.DeleteFunc(slices.Clone(to), func(s string) bool { return !strings.Contains(s, "@") })
	if len(to) == 0 {
		return nil
	}
	var effectKey any // NULL: not keyed
	if key != "" {
		// Checked first so that a replay mints no status link; the
		// unique key below is what guarantees it.
		var queued int
		if err := n.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM mail_outbox WHERE effect_key = ?`, key).Scan(&queued); err != nil || queued > 0 {
			return err
		}
		effectKey = key
	}
	requester := toRequester(to, d.Ticket)
	if tmpl == ackTemplate && requester {
		if over, err := n.overAckCap(ctx, to[0]); over || err != nil {
			return err
		}
	}
	var err error
	if d.StatusURL, err = n.statusURL(ctx, d.Ticket, requester); err != nil {
		return err
	}
	if d.StatusURL != "" && d.Ticket.ResolvedAt != nil {
		// The status page's rating form; each score's link preselects it
		// there, and the requester still sends the form (a link that
		// rated by itself would be "clicked" by mail scanners).
		d.RatingURL = d.StatusURL + "#rate"
		for score := 1; score <= 5; score++ {
			d.RatingLinks = append(d.RatingLinks, RatingLink{Score: score, URL: withQuery(d.StatusURL, "score", strconv.Itoa(score)) + "#rate"})
		}
	}
	subject, text, html, err := Render(tmpl, d)
	if err != nil {
		return err
	}
	id, ticket := model.NewID(), ""
	now := n.Now().UTC()
	var th thread
	if d.Ticket != nil {
		ticket = d.Ticket.ID
	}
	if requester {
		if th, err = n.thread(ctx, ticket, MessageID(id), now); err != nil {
			return err
		}
	}
	_, err = n.st.DB.ExecContext(ctx, `INSERT INTO mail_outbox (id, template, ticket_id, recipients, subject, text_body, html_body, status, next_at, created_at, in_reply_to, refs, reply_to, effect_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, id, tmpl, ticket, to, subject, text, html, now, now, th.inReplyTo, th.refs, th.replyTo, effectKey)
	if err == nil {
		n.signal()
	}
	return err
}

// ackTemplate is the acknowledgement of a new ticket.
const ackTemplate = "ticket_created"

// overAckCap says whether the address already got max_acks_per_hour
// acknowledgements in the last hour; the one more is not queued (logged).
func (n *Notifier) overAckCap(ctx context.Context, address string) (bool, error) {
	limit := n.set.Requester.MaxAcksPerHour
	if limit <= 0 {
		return false, nil
	}
	var sent int
	err := n.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM mail_outbox WHERE template = ? AND created_at > ?
		AND list_contains(list_transform(recipients, r -> lower(r)), lower(?))`, ackTemplate, n.Now().UTC().Add(-time.Hour), address).Scan(&sent)
	if err != nil || sent < limit {
		return false, err
	}
	slog.Warn("notify: acknowledgement not sent: the address had its hourly share", "to", address, "limit", limit)
	return true, nil
}

// thread records a requester e-mail's Message-ID with its ticket and
// returns its threading: In-Reply-To the requester's newest e-mail (else
// the thread's first message), References the first message and that one.
// The first e-mail of a ticket that did not come by e-mail starts the
// thread. Reply-To is the ticket's secret reply address
// (support+<token>@domain): a mail to it is let into the ticket (package
// mailin).
func (n *Notifier) thread(ctx context.Context, ticket, messageID string, now time.Time) (thread, error) {
	root, last, err := n.st.MailThread(ctx, ticket)
	if err != nil {
		return thread{}, err
	}
	if _, err := n.st.AddMailMessage(ctx, messageID, ticket, store.MailOut, now); err != nil {
		return thread{}, err
	}
	th := thread{}
	if n.set.ReplyTo != "" && ticket != "" {
		token, err := n.st.ReplyToken(ctx, ticket, now)
		if err != nil {
			return thread{}, err
		}
		th.replyTo = store.ReplyAddress(n.set.ReplyTo, token)
	}
	switch {
	case root == "":
	case last == "" || last == root:
		th.inReplyTo, th.refs = root, root
	default:
		th.inReplyTo, th.refs = last, root+" "+last
	}
	return th, nil
}

// MessageID is the Message-ID (without angle brackets) of the queued
// e-mail id: the same on every retry.
func MessageID(outboxID string) string { return "notify." + outboxID + "@deskpulse" }

func (n *Notifier) signal() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// mentionRE finds @mentions: a whole e-mail address or a local part.
var mentionRE = regexp.MustCompile(`(?:^|[^\w.@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)`)

// Committed queues the built-in notifications for a committed batch,
// each once per template and event (the engine replays events after a
// crash).
func (n *Notifier) Committed(ctx context.Context, events []*model.Event, tickets map[string]*model.Ticket) {
	if !n.set.Enabled {
		return
	}
	for _, ev := range events {
		t := tickets[ev.Ticket]
		if t == nil {
			continue
		}
		d := &Data{Ticket: t, Actor: ev.Actor}
		var err error
		switch {
		case ev.Type == model.EventCreated && n.set.Requester.Created:
			err = n.queue(ctx, eventKey("ticket_created", ev), []string{t.RequesterEmail}, "ticket_created", d)
		case ev.Type == model.EventCommented && *ev.Public && ev.ActorKind == model.ActorAgent && n.set.Requester.Reply:
			d.Body = *ev.Body
			err = n.queue(ctx, eventKey("reply", ev), []string{t.RequesterEmail}, "reply", d)
		case ev.Type == model.EventResolved && n.set.Requester.Resolved:
			err = n.queue(ctx, eventKey("resolved", ev), []string{t.RequesterEmail}, "resolved", d)
		case ev.Type == model.EventAssigned && ev.Assignee != nil && *ev.Assignee != "" && *ev.Assignee != ev.Actor && n.set.Agent.Assigned:
			if ev.Comment != nil {
				d.Reason = *ev.Comment
			}
			err = n.queue(ctx, eventKey("assigned", ev), []string{*ev.Assignee}, "assigned", d)
		case ev.Type == model.EventCommented && !*ev.Public && n.set.Agent.Mentioned && strings.Contains(*ev.Body, "@"):
			var to []string
			to, err = n.mentioned(ctx, *ev.Body, ev.Actor)
			if err == nil && len(to) > 0 {
				d.Body = *ev.Body
				err = n.queue(ctx, eventKey("mentioned", ev), to, "mentioned", d)
			}
		}
		if err != nil {
			slog.Warn("notify: queue", "event", ev.Type, "ticket", t.ID, "err", err)
		}
	}
}

// eventKey is the idempotency key of a built-in notification.
func eventKey(tmpl string, ev *model.Event) string { return "notify:" + tmpl + ":" + ev.ID }

// mentioned resolves the @mentions of a note to agents (by address or
// local part), without the author.
func (n *Notifier) mentioned(ctx context.Context, body, author string) ([]string, error) {
	var names []string
	for _, m := range mentionRE.FindAllStringSubmatch(body, -1) {
		names = append(names, strings.ToLower(strings.TrimRight(m[1], ".")))
	}
	if len(names) == 0 {
		return nil, nil
	}
	rows, err := n.st.DB.QueryContext(ctx, `SELECT email FROM agents ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var email string
		if err := rows.Scan(&email); err != nil {
			return nil, err
		}
		local, _, _ := strings.Cut(email, "@")
		if email != author && (slices.Contains(names, email) || slices.Contains(names, local)) {
			out = append(out, email)
		}
	}
	return out, rows.Err()
}

// Start sends the queue until Close (pending e-mails of an earlier run
// first).
func (n *Notifier) Start() { go n.run() }

// Close stops sending; what is pending stays queued for the next start.
func (n *Notifier) Close() error {
	n.once.Do(func() { close(n.stop) })
	<-n.done
	return nil
}

func (n *Notifier) run() {
	defer close(n.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-n.stop
		cancel()
	}()
	for {
		wait, err := n.sendDue(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Warn("notify: send", "err", err)
			wait = time.Second
		}
		timer := time.NewTimer(wait)
		select {
		case <-n.stop:
			timer.Stop()
			return
		case <-n.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

type outgoing struct {
	id, subject, text, html string
	to                      []string
	attempts                int
	thread
	template string // ticket_created is marked auto-replied
}

func (n *Notifier) sendDue(ctx context.Context) (time.Duration, error) {
	for {
		rows, err := n.st.DB.QueryContext(ctx, `SELECT id, template, recipients, subject, text_body, html_body, attempts, in_reply_to, refs, reply_to FROM mail_outbox
			WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT 20`, n.Now().UTC())
		if err != nil {
			return 0, err
		}
		var list []outgoing
		for rows.Next() {
			var o outgoing
			var to any
			if err := rows.Scan(&o.id, &o.template, &to, &o.subject, &o.text, &o.html, &o.attempts, &o.inReplyTo, &o.refs, &o.replyTo); err != nil {
				rows.Close()
				return 0, err
			}
			if l, ok := to.([]any); ok {
				for _, x := range l {
					if s, ok := x.(string); ok {
						o.to = append(o.to, s)
					}
				}
			}
			list = append(list, o)
		}
		rows.Close()
		if len(list) == 0 {
			break
		}
		for _, o := range list {
			err := n.send(ctx, &o)
			if ctx.Err() != nil {
				return 0, nil // shutting down: the try does not count
			}
			if err := n.record(ctx, o.id, o.attempts+1, err); err != nil {
				return 0, err
			}
		}
	}
	var next sql.NullTime
	if err := n.st.DB.QueryRowContext(ctx, `SELECT min(next_at) FROM mail_outbox WHERE status = 'pending'`).Scan(&next); err != nil {
		return 0, err
	}
	if !next.Valid {
		return time.Hour, nil
	}
	return max(next.Time.Sub(n.Now()), 5*time.Millisecond), nil
}

func (n *Notifier) send(ctx context.Context, o *outgoing) error {
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.From(n.smtp.From); err != nil {
		return fmt.Errorf("smtp.from %q: %w", n.smtp.From, err)
	}
	if err := m.To(o.to...); err != nil {
		return err
	}
	m.Subject(o.subject)
	m.SetUserAgent("deskpulse")
	m.SetDate()
	m.SetMessageIDWithValue(MessageID(o.id)) // the same on every retry
	if o.inReplyTo != "" {
		m.SetGenHeader(mail.HeaderInReplyTo, "<"+o.inReplyTo+">")
	}
	if o.refs != "" {
		m.SetGenHeader(mail.HeaderReferences, "<"+strings.Join(strings.Fields(o.refs), "> <")+">")
	}
	if o.replyTo != "" {
		if err := m.ReplyTo(o.replyTo); err != nil {
			return fmt.Errorf("notifications.reply_to %q: %w", o.replyTo, err)
		}
	}
	// RFC 3834: the acknowledgement answers the requester's mail
	// (auto-replied), so their own responder stays silent; the rest is
	// auto-generated.
	autoSubmitted := "auto-generated"
	if o.template == ackTemplate {
		autoSubmitted = "auto-replied"
	}
	m.SetGenHeader(mail.Header("Auto-Submitted"), autoSubmitted)
	m.SetBodyString(mail.TypeTextPlain, o.text)
	m.AddAlternativeString(mail.TypeTextHTML, o.html)
	return mailer.Send(ctx, n.smtp, m)
}

func (n *Notifier) record(ctx context.Context, id string, attempts int, sendErr error) error {
	now := n.Now().UTC()
	if sendErr == nil {
		_, err := n.st.DB.ExecContext(ctx, `UPDATE mail_outbox SET status = 'sent', attempts = ?, last_error = '', sent_at = ? WHERE id = ?`, attempts, now, id)
		return err
	}
	if attempts >= n.set.Retry.Attempts {
		slog.Warn("notify: e-mail failed for good", "id", id, "attempts", attempts, "err", sendErr)
		_, err := n.st.DB.ExecContext(ctx, `UPDATE mail_outbox SET status = 'failed', attempts = ?, last_error = ? WHERE id = ?`, attempts, sendErr.Error(), id)
		return err
	}
	wait := n.set.Retry.Backoff
	for i := 1; i < attempts && wait < n.set.Retry.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, n.set.Retry.MaxBackoff)
	_, err := n.st.DB.ExecContext(ctx, `UPDATE mail_outbox SET attempts = ?, last_error = ?, next_at = ? WHERE id = ?`, attempts, sendErr.Error(), now.Add(wait), id)
	return err
}

// Outbox is one queued e-mail as GET-style listings and tests see it.
type Outbox struct {
	ID         string
	Template   string
	Ticket     string
	Recipients []string
	Subject    string
	Status     string
	Attempts   int
	LastError  string
}

// List returns the queue, oldest first.
func (n *Notifier) List(ctx context.Context) ([]*Outbox, error) {
	rows, err := n.st.DB.QueryContext(ctx, `SELECT id, template, ticket_id, recipients, subject, status, attempts, last_error FROM mail_outbox ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Outbox
	for rows.Next() {
		var o Outbox
		var to any
		if err := rows.Scan(&o.ID, &o.Template, &o.Ticket, &to, &o.Subject, &o.Status, &o.Attempts, &o.LastError); err != nil {
			return nil, err
		}
		if l, ok := to.([]any); ok {
			for _, x := range l {
				o.Recipients = append(o.Recipients, fmt.Sprint(x))
			}
		}
		out = append(out, &o)
	}
	return out, rows.Err()
}

// withQuery adds key=value to a URL's query string.
func withQuery(link, key, value string) string {
	u, err := url.Parse(link)
	if err != nil {
		return link
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
