package automation_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// clock is the controllable clock of the writer, the metrics engine and
// the automation engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// t0 is a Monday morning.
var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// env is the API, the rules engine and a real DuckDB file.
type env struct {
	t     *testing.T
	path  string
	clock *clock
	opts  automation.Options
	st    *store.Store
	w     *ingest.Writer
	eng   *automation.Engine
	srv   *httptest.Server
	// mailer, when set, makes the engine's Mailer over the store.
	mailer func(*store.Store) automation.Mailer
}

func newEnv(t *testing.T, opts automation.Options, mailer ...func(*store.Store) automation.Mailer) *env {
	t.Helper()
	e := &env{t: t, path: filepath.Join(t.TempDir(), "test.duckdb"), clock: &clock{t: t0}, opts: opts}
	if len(mailer) > 0 {
		e.mailer = mailer[0]
	}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	t := e.t
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{Now: e.clock.Now, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg := metrics.DefaultConfig()
	cfg.Now = e.clock.Now
	m, err := metrics.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(ctx, st, w, m)
	if err != nil {
		t.Fatal(err)
	}
	o := e.opts
	o.Store, o.Writer, o.Metrics, o.Now = st, w, m, e.clock.Now
	if e.mailer != nil {
		o.Mailer = e.mailer(st)
	}
	if o.Calendars == nil {
		o.Calendars = cfg.Calendars
	}
	eng, err := automation.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	s.AutomationRoutes(eng)
	s.WebhookRoutes(eng.Webhooks())
	e.st, e.w, e.eng = st, w, eng
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(s.Handler())
}

func (e *env) close() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	e.eng.Close()
	e.w.Close()
	e.st.Close()
	e.srv = nil
}

// restart closes everything and opens the same file again.
func (e *env) restart() {
	e.close()
	e.open()
}

// call sends a JSON request, checks the status and decodes the answer.
func (e *env) call(method, path, body string, want int, out any) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

// as sends a request as an actor (X-Actor).
func (e *env) as(actor, method, path, body string, want int) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Actor", actor)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
}

// sync waits for the engine to process everything committed.
func (e *env) sync() {
	e.t.Helper()
	if err := e.eng.Sync(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) tick() {
	e.t.Helper()
	if err := e.eng.Tick(context.Background(), e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	e.sync()
}

func (e *env) createTicket(body string) *model.Ticket {
	e.t.Helper()
	var t model.Ticket
	e.call("POST", "/api/v1/tickets", body, http.StatusCreated, &t)
	e.sync()
	return &t
}

func (e *env) ticket(id string) *model.Ticket {
	e.t.Helper()
	var t model.Ticket
	e.call("GET", "/api/v1/tickets/"+id, "", http.StatusOK, &t)
	return &t
}

func (e *env) events(id string) []*model.Event {
	e.t.Helper()
	var out struct {
		Events []*model.Event `json:"events"`
	}
	e.call("GET", "/api/v1/tickets/"+id+"/events", "", http.StatusOK, &out)
	return out.Events
}

// byActor keeps the events of one actor.
func byActor(events []*model.Event, actor string) []*model.Event {
	var out []*model.Event
	for _, ev := range events {
		if ev.Actor == actor {
			out = append(out, ev)
		}
	}
	return out
}

func mustRules(t *testing.T, yamlish ...string) []*automation.Rule {
	t.Helper()
	var specs []map[string]any
	for _, s := range yamlish {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, m)
	}
	rules, err := automation.ParseRules(specs)
	if err != nil {
		t.Fatal(err)
	}
	return rules
}
