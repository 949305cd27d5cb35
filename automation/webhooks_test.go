package automation_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/model"
)

// receiver is a real HTTP endpoint that verifies signatures; it fails the
// first `fail` requests with 500 (or all while down).
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	fail   int
	down   bool
	got    []received
	srv    *httptest.Server
}

type received struct {
	delivery, event string
	payload         automation.Payload
}

func newReceiver(t *testing.T, secret string, fail int) *receiver {
	r := &receiver{t: t, secret: secret, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !automation.Verify(r.secret, body, req.Header.Get(automation.SignatureHeader)) {
			t.Errorf("bad signature %q on %s", req.Header.Get(automation.SignatureHeader), body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p automation.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("payload: %v", err)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, received{req.Header.Get(automation.DeliveryHeader), req.Header.Get(automation.EventHeader), p})
		if r.down || r.fail > 0 {
			r.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) setDown(down bool) { r.mu.Lock(); r.down = down; r.mu.Unlock() }

// fastRetries are short timeouts and waits, with private targets allowed:
// the receivers are test servers on 127.0.0.1.
func fastRetries(attempts int) automation.WebhookSettings {
	var s automation.WebhookSettings
	s.AllowPrivate = true
	s.Timeout = 2 * time.Second
	s.Retry.Attempts, s.Retry.Backoff, s.Retry.MaxBackoff = attempts, 20*time.Millisecond, 100*time.Millisecond
	return s
}

// waitDeliveries polls the delivery log until done says so.
func (e *env) waitDeliveries(hook string, done func([]*automation.Delivery) bool) []*automation.Delivery {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out struct{ Deliveries []*automation.Delivery }
		e.call("GET", "/api/v1/webhooks/"+hook+"/deliveries", "", 200, &out)
		if done(out.Deliveries) {
			return out.Deliveries
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deliveries never settled: %+v", out.Deliveries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func settled(n int) func([]*automation.Delivery) bool {
	return func(ds []*automation.Delivery) bool {
		if len(ds) != n {
			return false
		}
		for _, d := range ds {
			if d.Status == "pending" {
				return false
			}
		}
		return true
	}
}

func TestWebhooks(t *testing.T) {
	const secret = "s3cret-s3cret-s3cret"
	recv := newReceiver(t, secret, 2) // fails twice, then succeeds
	e := newEnv(t, automation.Options{Webhooks: fastRetries(5)})
	e.call("POST", "/api/v1/webhooks", `{"url":"ftp://x","events":["created"]}`, 400, nil)
	e.call("POST", "/api/v1/webhooks", `{"url":"http://x","events":["exploded"]}`, 400, nil)
	e.call("POST", "/api/v1/webhooks", `{"url":"http://x","events":["created"],"secret":"short"}`, 400, nil)
	var hook automation.Webhook
	e.call("POST", "/api/v1/webhooks", `{"url":"`+recv.srv.URL+`","events":["created","commented"],"secret":"`+secret+`"}`, 201, &hook)
	var list struct{ Webhooks []*automation.Webhook }
	e.call("GET", "/api/v1/webhooks", "", 200, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].Secret != "" {
		t.Fatalf("list: %+v", list.Webhooks)
	}

	tk := e.createTicket(`{"subject":"Hook me","assignee":""}`)
	ds := e.waitDeliveries(hook.ID, settled(1))
	if d := ds[0]; d.Status != "delivered" || d.Attempts != 3 || *d.LastStatus != 204 || d.EventType != "created" || d.Ticket != tk.ID {
		t.Fatalf("delivery: %+v", d)
	}
	got := recv.requests()
	if len(got) != 3 || got[0].delivery != got[2].delivery || got[0].event != "created" {
		t.Fatalf("requests: %+v", got)
	}
	if p := got[2].payload; p.Event == nil || p.Event.Type != model.EventCreated || p.Ticket == nil || p.Ticket.ID != tk.ID || p.Ticket.Subject != "Hook me" {
		t.Fatalf("payload: %+v", p)
	}
	// Subscribed types only: the status change is not sent, the comment is.
	e.call("POST", "/api/v1/tickets/"+tk.ID+"/status", `{"status":"pending"}`, 200, nil)
	e.call("POST", "/api/v1/tickets/"+tk.ID+"/comments", `{"body":"hello"}`, 200, nil)
	e.sync()
	ds = e.waitDeliveries(hook.ID, settled(2))
	if ds[0].EventType != "commented" || ds[0].Status != "delivered" || ds[0].Attempts != 1 {
		t.Fatalf("comment delivery: %+v", ds[0])
	}

	// An endpoint that never recovers: failed after the last attempt.
	recv.setDown(true)
	e.createTicket(`{"subject":"Doomed"}`)
	ds = e.waitDeliveries(hook.ID, settled(3))
	if ds[0].Status != "failed" || ds[0].Attempts != 5 || *ds[0].LastStatus != 500 || ds[0].LastError == "" {
		t.Fatalf("failed delivery: %+v", ds[0])
	}
	e.call("GET", "/api/v1/webhooks/nope/deliveries", "", 404, nil)
	e.call("DELETE", "/api/v1/webhooks/"+hook.ID, "", 204, nil)
	e.call("GET", "/api/v1/webhooks/"+hook.ID, "", 404, nil)
}

// TestWebhooksSurviveRestart: a delivery pending at shutdown is sent
// after the restart, once.
func TestWebhooksSurviveRestart(t *testing.T) {
	const secret = "another-long-secret"
	recv := newReceiver(t, secret, 0)
	recv.setDown(true)
	s := fastRetries(1000)
	s.Retry.Backoff, s.Retry.MaxBackoff = 50*time.Millisecond, 50*time.Millisecond
	e := newEnv(t, automation.Options{Webhooks: s})
	var hook automation.Webhook
	e.call("POST", "/api/v1/webhooks", `{"url":"`+recv.srv.URL+`","events":["*"],"secret":"`+secret+`"}`, 201, &hook)
	e.createTicket(`{"subject":"Survivor"}`)
	e.waitDeliveries(hook.ID, func(ds []*automation.Delivery) bool { return len(ds) == 1 && ds[0].Attempts >= 2 })
	e.restart()
	recv.setDown(false)
	ds := e.waitDeliveries(hook.ID, settled(1))
	if ds[0].Status != "delivered" {
		t.Fatalf("after restart: %+v", ds[0])
	}
	for _, r := range recv.requests() {
		if r.delivery != ds[0].ID {
			t.Fatalf("unexpected delivery %s", r.delivery)
		}
	}
	ok := len(recv.requests()) // at least 2 tries before, 1 after
	if ok < 3 {
		t.Fatalf("requests: %d", ok)
	}
}

// TestRuleWebhookAction: a rule's webhook action is signed with the
// rule's secret and names the rule.
func TestRuleWebhookAction(t *testing.T) {
	const secret = "rule-secret-0123456789"
	recv := newReceiver(t, secret, 0)
	rules := mustRules(t, `{"name":"notify-ops","trigger":"created","conditions":[{"field":"priority","op":"equals","value":"urgent"}],
		"actions":[{"type":"webhook","url":"`+recv.srv.URL+`","secret":"`+secret+`"}]}`)
	e := newEnv(t, automation.Options{Rules: rules, Webhooks: fastRetries(3)})
	e.createTicket(`{"subject":"calm"}`)
	tk := e.createTicket(`{"subject":"fire","priority":"urgent"}`)
	deadline := time.Now().Add(5 * time.Second)
	for len(recv.requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := recv.requests()
	if len(got) != 1 || got[0].payload.Rule != "notify-ops" || got[0].payload.Ticket.ID != tk.ID || got[0].event != "created" {
		t.Fatalf("rule webhook: %+v", got)
	}
	notes := byActor(e.events(tk.ID), "rule:notify-ops")
	if len(notes) != 1 || notes[0].Type != model.EventCommented || *notes[0].Public {
		t.Fatalf("the timeline records the call: %+v", notes)
	}
}

// TestWebhooksConcurrent: one subscription's endpoint hangs on its first
// request; another subscription's deliveries all arrive meanwhile. When
// the slow endpoint is released, it gets its deliveries in the order they
// were queued.
func TestWebhooksConcurrent(t *testing.T) {
	const secret = "concurrent-secret-123"
	fast := newReceiver(t, secret, 0)
	release := make(chan struct{})
	entered := make(chan string, 10) // subjects, as the slow endpoint sees them
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p automation.Payload
		if err := json.Unmarshal(body, &p); err != nil || !automation.Verify(secret, body, req.Header.Get(automation.SignatureHeader)) {
			t.Errorf("slow endpoint: bad request %s", body)
		}
		entered <- p.Ticket.Subject
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(slow.Close)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before slow.Close, which waits for the handler

	s := fastRetries(3)
	s.Timeout = time.Minute // the hanging request must not time out during the test
	e := newEnv(t, automation.Options{Webhooks: s})
	var slowHook, fastHook automation.Webhook
	e.call("POST", "/api/v1/webhooks", `{"url":"`+slow.URL+`","events":["created"],"secret":"`+secret+`"}`, 201, &slowHook)
	e.call("POST", "/api/v1/webhooks", `{"url":"`+fast.srv.URL+`","events":["created"],"secret":"`+secret+`"}`, 201, &fastHook)

	e.createTicket(`{"subject":"T1"}`)
	if got := <-entered; got != "T1" {
		t.Fatalf("slow endpoint got %s first", got)
	}
	e.createTicket(`{"subject":"T2"}`)
	e.createTicket(`{"subject":"T3"}`)
	// The slow endpoint is still blocked in T1's request.
	ds := e.waitDeliveries(fastHook.ID, settled(3))
	var subjects []string
	for _, r := range fast.requests() {
		subjects = append(subjects, r.payload.Ticket.Subject)
	}
	if fmt.Sprint(subjects) != "[T1 T2 T3]" || ds[0].Status != "delivered" {
		t.Fatalf("fast endpoint while the slow one hangs: %v %+v", subjects, ds)
	}
	select {
	case got := <-entered:
		t.Fatalf("the slow endpoint got %s while still answering T1", got)
	default:
	}
	var pending struct{ Deliveries []*automation.Delivery }
	e.call("GET", "/api/v1/webhooks/"+slowHook.ID+"/deliveries", "", 200, &pending)
	if len(pending.Deliveries) != 3 || pending.Deliveries[2].Status != "pending" || pending.Deliveries[2].Attempts != 0 {
		t.Fatalf("slow deliveries while blocked: %+v", pending.Deliveries)
	}

	unblock()
	e.waitDeliveries(slowHook.ID, settled(3))
	if a, b := <-entered, <-entered; a != "T2" || b != "T3" {
		t.Fatalf("slow endpoint order after T1: %s %s", a, b)
	}
	for _, d := range e.waitDeliveries(slowHook.ID, settled(3)) {
		if d.Status != "delivered" || d.Attempts != 1 {
			t.Fatalf("slow delivery: %+v", d)
		}
	}
}

// TestWebhooksRefusePrivateTargets: by default a subscription to an
// internal address written in the URL is refused with a 400 naming url,
// and a delivery that would connect to one (a subscription made while
// they were allowed, a rule's webhook action) fails at once with the
// reason recorded, the receiver never called.
func TestWebhooksRefusePrivateTargets(t *testing.T) {
	const secret = "private-secret-0123456"
	recv := newReceiver(t, secret, 0)
	rules := mustRules(t, `{"name":"to-loopback","trigger":"created","conditions":[],
		"actions":[{"type":"webhook","url":"`+recv.srv.URL+`","secret":"`+secret+`"}]}`)
	s := fastRetries(5)
	e := newEnv(t, automation.Options{Rules: rules, Webhooks: s})
	var hook automation.Webhook
	e.call("POST", "/api/v1/webhooks", `{"url":"`+recv.srv.URL+`","events":["created"],"secret":"`+secret+`"}`, 201, &hook)
	e.opts.Webhooks.AllowPrivate = false
	e.restart()

	for target, want := range map[string]string{
		"http://127.0.0.1:9/x":           "127.0.0.1 is a loopback address",
		"http://127.8.9.10/":             "127.8.9.10 is a loopback address",
		"http://[::1]:8080/":             "::1 is a loopback address",
		"http://[::ffff:127.0.0.1]/":     "::ffff:127.0.0.1 is a loopback address",
		"http://10.1.2.3/":               "10.1.2.3 is a private address",
		"https://172.16.0.1/":            "172.16.0.1 is a private address",
		"http://192.168.1.1/":            "192.168.1.1 is a private address",
		"http://[fd12:3456::1]/":         "fd12:3456::1 is a private address",
		"http://[::ffff:192.168.0.1]/":   "::ffff:192.168.0.1 is a private address",
		"http://169.254.169.254/latest/": "169.254.169.254 is a link-local address",
		"http://[fe80::1]/":              "fe80::1 is a link-local address",
		"http://0.0.0.0:8080/":           "0.0.0.0 is an unspecified address",
		"http://[::]/":                   ":: is an unspecified address",
		"http://239.1.2.3/":              "239.1.2.3 is a multicast or broadcast address",
		"http://224.0.0.1/":              "224.0.0.1 is a link-local address",
		"http://255.255.255.255/":        "255.255.255.255 is a multicast or broadcast address",
		"http://0.1.2.3/":                "0.1.2.3 is an unspecified address",
		"http://100.64.0.1/":             "100.64.0.1 is a shared (carrier-grade NAT) address",
		"http://localhost:8080/":         "localhost is this machine",
		"http://api.localhost./":         "api.localhost is this machine",
	} {
		var got struct {
			Error struct{ Code, Field, Message string }
		}
		e.call("POST", "/api/v1/webhooks", `{"url":"`+target+`","events":["created"]}`, 400, &got)
		if got.Error.Field != "url" || got.Error.Message != "url: "+want+"; webhooks may not target it (webhooks.allow_private)" {
			t.Errorf("%s: %+v, want field url and %q", target, got.Error, want)
		}
	}
	var public automation.Webhook // an address on the internet is fine (removed again: no delivery leaves the machine)
	e.call("POST", "/api/v1/webhooks", `{"url":"http://203.0.113.10/hook","events":["created"]}`, 201, &public)
	e.call("DELETE", "/api/v1/webhooks/"+public.ID, "", 204, nil)

	e.createTicket(`{"subject":"Exfiltrate me"}`)
	ds := e.waitDeliveries(hook.ID, settled(1))
	const refused = "refused: 127.0.0.1 is a loopback address (webhooks.allow_private is false)"
	if d := ds[0]; d.Status != "failed" || d.Attempts != 1 || d.LastStatus != nil || d.LastError != refused {
		t.Fatalf("delivery to 127.0.0.1: %+v, want failed after 1 attempt with %q", d, refused)
	}
	var status, lastErr string
	var attempts int
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := e.st.DB.QueryRow(`SELECT status, attempts, last_error FROM webhook_deliveries WHERE webhook_id = 'rule:to-loopback'`).Scan(&status, &attempts, &lastErr)
		if err == nil && status != "pending" || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status != "failed" || attempts != 1 || lastErr != refused {
		t.Fatalf("rule webhook to 127.0.0.1: %s after %d, %q", status, attempts, lastErr)
	}
	if got := recv.requests(); len(got) != 0 {
		t.Fatalf("the loopback receiver was called: %+v", got)
	}
}
