package automation

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Webhook headers: the body's HMAC-SHA256 with the subscription's secret
// as "sha256=<hex>", the event type and the delivery id (the same on
// every retry, so a receiver can drop duplicates).
const (
	SignatureHeader = "X-Deskpulse-Signature"
	EventHeader     = "X-Deskpulse-Event"
	DeliveryHeader  = "X-Deskpulse-Delivery"
)

// WebhookSettings is the config's webhooks section.
type WebhookSettings struct {
	Timeout time.Duration `mapstructure:"timeout"` // per request, default 10s
	// Workers is how many subscriptions are sent to at the same time
	// (each subscription's deliveries one at a time, in order); default 4.
	Workers int `mapstructure:"workers"`
	Retry   struct {
		Attempts   int           `mapstructure:"attempts"`    // tries in all, default 8
		Backoff    time.Duration `mapstructure:"backoff"`     // first wait, doubling; default 30s
		MaxBackoff time.Duration `mapstructure:"max_backoff"` // default 1h
	} `mapstructure:"retry"`
	// AllowPrivate lets deliveries go to loopback, private, link-local and
	// the other internal addresses (see refusedTarget); by default they are
	// refused, so that a webhook cannot reach the server's own or its
	// network's services.
	AllowPrivate bool `mapstructure:"allow_private"`
}

func (s *WebhookSettings) defaults() {
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	if s.Workers <= 0 {
		s.Workers = 4
	}
	if s.Retry.Attempts <= 0 {
		s.Retry.Attempts = 8
	}
	if s.Retry.Backoff <= 0 {
		s.Retry.Backoff = 30 * time.Second
	}
	if s.Retry.MaxBackoff < s.Retry.Backoff {
		s.Retry.MaxBackoff = max(time.Hour, s.Retry.Backoff)
	}
}

// Webhook is a subscription: events of the listed types (or "*" for all)
// are POSTed to URL as {"event": ..., "ticket": ...}, signed with Secret.
type Webhook struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Secret      string    `json:"secret,omitempty"` // shown only when created
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// Delivery is one queued or sent call.
type Delivery struct {
	ID          string     `json:"id"`
	Webhook     string     `json:"webhook"` // subscription id, or rule:<name>
	URL         string     `json:"url"`
	Event       string     `json:"event_id"`
	EventType   string     `json:"event_type"`
	Ticket      string     `json:"ticket"`
	Status      string     `json:"status"` // pending, delivered, failed
	Attempts    int        `json:"attempts"`
	NextAt      *time.Time `json:"next_at,omitempty"`
	LastStatus  *int       `json:"last_status"` // HTTP status of the last try (null: no answer)
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// Payload is the JSON body of a delivery.
type Payload struct {
	Event  *model.Event  `json:"event"`
	Ticket *model.Ticket `json:"ticket"`
	Rule   string        `json:"rule,omitempty"` // for a rule's webhook action
}

// Sign returns the signature header value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header value in constant time.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// Webhooks keeps the subscriptions and sends the deliveries: queued in
// webhook_deliveries in the store, sent by a pool of workers (one
// subscription per worker at a time, so a slow endpoint holds up only its
// own deliveries, which go out in the order they were queued), retried
// with doubling waits; a restart resumes the pending ones.
type Webhooks struct {
	st     *store.Store
	cfg    WebhookSettings
	client *http.Client
	now    func() time.Time

	mu   sync.RWMutex
	subs []*Webhook

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newWebhooks(st *store.Store, cfg WebhookSettings) *Webhooks {
	cfg.defaults()
	return &Webhooks{st: st, cfg: cfg, client: webhookClient(cfg), now: time.Now,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// webhookClient sends the deliveries. Unless private targets are allowed,
// its dialer refuses every connection to an internal address: the check
// is on the address actually connected to, after DNS, for each redirect
// too, so neither a name that resolves (or rebinds) to 127.0.0.1 nor a
// redirect there gets through. No proxy from the environment: it would
// connect on deskpulse's behalf, past the check.
func webhookClient(cfg WebhookSettings) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook target %s: %w", address, err)
			}
			if kind := refusedTarget(ap.Addr()); kind != "" {
				return &privateTargetError{addr: ap.Addr(), kind: kind}
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = dialer.DialContext
	return &http.Client{Timeout: cfg.Timeout, Transport: tr}
}

// privateTargetError is a delivery refused for its address; retrying
// would not help, so the delivery fails at once.
type privateTargetError struct {
	addr netip.Addr
	kind string
}

func (e *privateTargetError) Error() string {
	return fmt.Sprintf("refused: %s is %s address (webhooks.allow_private is false)", e.addr, e.kind)
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598);
// thisNetwork is 0.0.0.0/8, which Linux connects to this host.
var cgnat, thisNetwork = netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("0.0.0.0/8")

// refusedTarget says what kind of internal address ip is ("a loopback",
// "a private", ...), or "" for a public one. IPv4-mapped IPv6 addresses
// (::ffff:127.0.0.1) count as the IPv4 address they carry.
func refusedTarget(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback"
	case ip.IsPrivate(): // 10/8, 172.16/12, 192.168/16, fc00::/7
		return "a private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(): // 169.254/16, fe80::/10
		return "a link-local"
	case ip.IsUnspecified(), thisNetwork.Contains(ip):
		return "an unspecified"
	case ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "a multicast or broadcast"
	case cgnat.Contains(ip):
		return "a shared (carrier-grade NAT)"
	}
	return ""
}

func (h *Webhooks) load(ctx context.Context) error {
	rows, err := h.st.DB.QueryContext(ctx, `SELECT id, url, secret, events, description, created_at FROM webhooks WHERE deleted_at IS NULL ORDER BY created_at`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var subs []*Webhook
	for rows.Next() {
		var w Webhook
		var events any
		if err := rows.Scan(&w.ID, &w.URL, &w.Secret, &events, &w.Description, &w.CreatedAt); err != nil {
			return err
		}
		for _, x := range asList(events) {
			w.Events = append(w.Events, x)
		}
		subs = append(subs, &w)
	}
	h.mu.Lock()
	h.subs = subs
	h.mu.Unlock()
	return rows.Err()
}

func asList(v any) []string {
	var out []string
	if list, ok := v.([]any); ok {
		for _, x := range list {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// List returns the subscriptions (without secrets).
func (h *Webhooks) List() []*Webhook {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]*Webhook, len(h.subs))
	for i, w := range h.subs {
		c := *w
		c.Secret = ""
		out[i] = &c
	}
	return out
}

// Get returns one subscription (without its secret).
func (h *Webhooks) Get(id string) (*Webhook, error) {
	for _, w := range h.List() {
		if w.ID == id {
			return w, nil
		}
	}
	return nil, model.ErrNotFound
}

// Create validates and stores a subscription; without a secret one is
// generated. The answer is the only time the secret is shown.
func (h *Webhooks) Create(ctx context.Context, w *Webhook) (*Webhook, error) {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, model.Invalid("url", "must be an http or https URL")
	}
	if !h.cfg.AllowPrivate {
		// An address written in the URL is refused now; a name is checked
		// when each delivery connects.
		host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		if ip, err := netip.ParseAddr(host); err == nil && refusedTarget(ip) != "" {
			return nil, model.Invalid("url", "%s is %s address; webhooks may not target it (webhooks.allow_private)", ip, refusedTarget(ip))
		}
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return nil, model.Invalid("url", "%s is this machine; webhooks may not target it (webhooks.allow_private)", host)
		}
	}
	if len(w.Events) == 0 {
		return nil, model.Invalid("events", `list the event types (%s), or "*" for all`, strings.Join(eventNames(), ", "))
	}
	for _, ev := range w.Events {
		if ev != "*" && !model.EventType(ev).Valid() {
			return nil, model.Invalid("events", "%q is not an event type (%s, or *)", ev, strings.Join(eventNames(), ", "))
		}
	}
	if w.Secret == "" {
		b := make([]byte, 24)
		rand.Read(b)
		w.Secret = hex.EncodeToString(b)
	}
	if len(w.Secret) < 16 {
		return nil, model.Invalid("secret", "must be at least 16 characters (or left out to generate one)")
	}
	w.ID = model.NewID()
	w.CreatedAt = h.now().UTC().Truncate(time.Microsecond)
	if _, err := h.st.DB.ExecContext(ctx, `INSERT INTO webhooks (id, url, secret, events, description, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		w.ID, w.URL, w.Secret, w.Events, w.Description, w.CreatedAt); err != nil {
		return nil, err
	}
	return w, h.load(ctx)
}

// Delete removes a subscription; its pending deliveries are still sent.
func (h *Webhooks) Delete(ctx context.Context, id string) error {
	if _, err := h.Get(id); err != nil {
		return err
	}
	if _, err := h.st.DB.ExecContext(ctx, `UPDATE webhooks SET deleted_at = ? WHERE id = ?`, h.now().UTC(), id); err != nil {
		return err
	}
	return h.load(ctx)
}

func eventNames() []string {
	out := make([]string, len(model.EventTypes))
	for i, t := range model.EventTypes {
		out[i] = string(t)
	}
	return out
}

// Committed queues a delivery per subscribed event (engine goroutine),
// once per subscription and event however often the event is replayed.
func (h *Webhooks) Committed(ctx context.Context, events []*model.Event, tickets map[string]*model.Ticket) {
	h.mu.RLock()
	subs := h.subs
	h.mu.RUnlock()
	queued := false
	for _, ev := range events {
		for _, w := range subs {
			if !slices.Contains(w.Events, "*") && !slices.Contains(w.Events, string(ev.Type)) {
				continue
			}
			if err := h.enqueue(ctx, "hook:"+w.ID+":"+ev.ID, w.ID, w.URL, w.Secret, &Payload{Event: ev, Ticket: tickets[ev.Ticket]}); err != nil {
				slog.Error("webhooks: queue delivery", "webhook", w.ID, "err", err)
			}
			queued = true
		}
	}
	if queued {
		h.signal()
	}
}

// enqueue queues a delivery unless one with the same key (unique in the
// store) was queued before.
func (h *Webhooks) enqueue(ctx context.Context, key, hook, target, secret string, p *Payload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var evID, evType, ticket string
	if p.Event != nil {
		evID, evType = p.Event.ID, string(p.Event.Type)
	}
	if p.Ticket != nil {
		ticket = p.Ticket.ID
	}
	var effectKey any // NULL: not keyed
	if key != "" {
		effectKey = key
	}
	now := h.now().UTC()
	_, err = h.st.DB.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, webhook_id, url, secret, event_id, event_type, ticket_id, payload, status, next_at, created_at, effect_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING`, model.NewID(), hook, target, secret, evID, evType, ticket, string(body), now, now, effectKey)
	return err
}

func (h *Webhooks) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// queueRuleWebhook queues a rule's webhook action once per key.
func (e *Engine) queueRuleWebhook(ctx context.Context, key string, a *Action, r *Rule, t *model.Ticket, ev *model.Event) error {
	if err := e.hooks.enqueue(ctx, key, "rule:"+r.Name, a.URL, a.Secret, &Payload{Event: ev, Ticket: t, Rule: r.Name}); err != nil {
		return err
	}
	e.hooks.signal()
	return nil
}

// Deliveries lists a subscription's deliveries, newest first.
func (h *Webhooks) Deliveries(ctx context.Context, id string, limit int) ([]*Delivery, error) {
	rows, err := h.st.DB.QueryContext(ctx, `SELECT id, webhook_id, url, event_id, event_type, ticket_id, status, attempts, next_at,
			last_status, last_error, created_at, delivered_at
		FROM webhook_deliveries WHERE webhook_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Delivery{}
	for rows.Next() {
		var d Delivery
		var next, delivered sql.NullTime
		var last sql.NullInt64
		if err := rows.Scan(&d.ID, &d.Webhook, &d.URL, &d.Event, &d.EventType, &d.Ticket, &d.Status, &d.Attempts, &next,
			&last, &d.LastError, &d.CreatedAt, &delivered); err != nil {
			return nil, err
		}
		if next.Valid && d.Status == "pending" {
			d.NextAt = &next.Time
		}
		if delivered.Valid {
			d.DeliveredAt = &delivered.Time
		}
		if last.Valid {
			d.LastStatus = model.Ptr(int(last.Int64))
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

// start runs the sender until close.
func (h *Webhooks) start() { go h.run() }

func (h *Webhooks) close() {
	h.once.Do(func() { close(h.stop) })
	<-h.done
}

// due is a delivery to send now.
type due struct {
	id, hook, url, secret, event, payload string
	attempts                              int
}

// run dispatches the due deliveries to workers until close. A
// subscription with a worker busy sending is not dispatched again until
// that worker is done, which keeps its deliveries in order.
func (h *Webhooks) run() {
	defer close(h.done)
	ctx, cancel := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	busy := map[string]bool{}
	finished := make(chan string, h.cfg.Workers) // never blocks: at most Workers busy
	for {
		wait, err := h.dispatch(ctx, busy, func(hook string, list []due) {
			workers.Add(1)
			go func() {
				defer workers.Done()
				h.sendAll(ctx, list)
				finished <- hook
			}()
		})
		if err != nil && ctx.Err() == nil {
			slog.Warn("webhooks: send", "err", err)
			wait = time.Second
		}
		timer := time.NewTimer(wait)
		select {
		case <-h.stop:
			timer.Stop()
			cancel() // a try cut short does not count
			workers.Wait()
			return
		case hook := <-finished:
			delete(busy, hook)
		case <-h.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// dispatch starts a worker (start) for each subscription with due
// deliveries that is not busy, as long as the pool has room, and says how
// long to wait before looking again (a finishing worker or a new delivery
// wakes the loop earlier).
func (h *Webhooks) dispatch(ctx context.Context, busy map[string]bool, start func(hook string, list []due)) (time.Duration, error) {
	if len(busy) >= h.cfg.Workers {
		return time.Hour, nil
	}
	busyList := make([]string, 0, len(busy))
	for hook := range busy {
		busyList = append(busyList, hook)
	}
	now := h.now().UTC()
	rows, err := h.st.DB.QueryContext(ctx, `SELECT id, webhook_id, url, secret, event_type, payload, attempts FROM webhook_deliveries
		WHERE status = 'pending' AND next_at <= ? AND NOT list_contains(?, webhook_id) ORDER BY next_at, id LIMIT 500`, now, busyList)
	if err != nil {
		return 0, err
	}
	groups := map[string][]due{}
	var order []string
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.hook, &d.url, &d.secret, &d.event, &d.payload, &d.attempts); err != nil {
			rows.Close()
			return 0, err
		}
		if groups[d.hook] == nil {
			order = append(order, d.hook)
		}
		groups[d.hook] = append(groups[d.hook], d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, hook := range order {
		if len(busy) >= h.cfg.Workers {
			return time.Hour, nil // a finishing worker wakes the loop
		}
		busy[hook] = true
		busyList = append(busyList, hook)
		start(hook, groups[hook])
	}
	var next sql.NullTime
	if err := h.st.DB.QueryRowContext(ctx, `SELECT min(next_at) FROM webhook_deliveries WHERE status = 'pending' AND NOT list_contains(?, webhook_id)`,
		busyList).Scan(&next); err != nil {
		return 0, err
	}
	if !next.Valid {
		return time.Hour, nil
	}
	return max(time.Until(next.Time), 5*time.Millisecond), nil
}

// sendAll sends one subscription's due deliveries in order. A failed try
// is recorded with its next time and does not hold back the next ones.
func (h *Webhooks) sendAll(ctx context.Context, list []due) {
	for _, d := range list {
		if ctx.Err() != nil {
			return
		}
		code, err := h.post(ctx, d.url, d.secret, d.event, d.id, []byte(d.payload))
		if ctx.Err() != nil {
			return // shutting down: the try does not count
		}
		if err := h.record(ctx, d.id, d.attempts+1, code, err); err != nil && ctx.Err() == nil {
			slog.Warn("webhooks: record delivery", "delivery", d.id, "err", err)
		}
	}
}

func (h *Webhooks) post(ctx context.Context, target, secret, event, id string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "deskpulse-webhooks")
	req.Header.Set(SignatureHeader, Sign(secret, body))
	req.Header.Set(EventHeader, event)
	req.Header.Set(DeliveryHeader, id)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// record stores a try's outcome: delivered, pending with the next wait
// (doubling up to max_backoff), or failed after the last attempt.
func (h *Webhooks) record(ctx context.Context, id string, attempts, code int, sendErr error) error {
	now := h.now().UTC()
	var status *int
	if code != 0 {
		status = &code
	}
	if sendErr == nil {
		_, err := h.st.DB.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'delivered', attempts = ?, last_status = ?, last_error = '', delivered_at = ? WHERE id = ?`,
			attempts, status, now, id)
		return err
	}
	msg := sendErr.Error()
	var ue *url.Error
	if errors.As(sendErr, &ue) {
		msg = ue.Err.Error()
	}
	var refused *privateTargetError
	if errors.As(sendErr, &refused) {
		msg = refused.Error() // without the dialer's words around it
	}
	if attempts >= h.cfg.Retry.Attempts || refused != nil {
		slog.Warn("webhooks: delivery failed for good", "delivery", id, "attempts", attempts, "err", msg)
		_, err := h.st.DB.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', attempts = ?, last_status = ?, last_error = ? WHERE id = ?`,
			attempts, status, msg, id)
		return err
	}
	wait := h.cfg.Retry.Backoff
	for i := 1; i < attempts && wait < h.cfg.Retry.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, h.cfg.Retry.MaxBackoff)
	_, err := h.st.DB.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?, next_at = ? WHERE id = ?`,
		attempts, status, msg, now.Add(wait), id)
	return err
}
