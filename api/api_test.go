package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/store"
)

// env is a real server over a real DuckDB file.
type env struct {
	t      *testing.T
	path   string
	st     *store.Store
	w      *ingest.Writer
	api    *api.Server
	srv    *httptest.Server
	client *http.Client
}

func start(t testing.TB, path string) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := metrics.New(st, metrics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(ctx, st, w, m)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	e := &env{path: path, st: st, w: w, api: s, srv: srv, client: srv.Client()}
	t.Cleanup(e.stop)
	return e
}

func (e *env) stop() {
	if e.srv == nil {
		return
	}
	e.srv.Close()
	e.api.Close()
	e.w.Close()
	e.st.Close()
	e.srv = nil
}

// call sends a request and decodes the JSON answer into a map.
func (e *env) call(t *testing.T, method, path, actor, body string, wantStatus int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if actor != "" {
		req.Header.Set("X-Actor", actor)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return out
}

const (
	bob = "bob@example.com"
	ann = "ann@example.com"
)

func seedPeople(t *testing.T, e *env) {
	e.call(t, "POST", "/api/v1/teams", "", `{"name":"IT","description":"Internal IT"}`, 201)
	e.call(t, "POST", "/api/v1/agents", "", `{"email":"Bob@Example.com","name":"Bob","teams":["IT"],"skills":["vpn"]}`, 201)
}

func TestTicketLifecycleOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.duckdb")
	e := start(t, path)
	seedPeople(t, e)

	tk := e.call(t, "POST", "/api/v1/tickets", ann, `{"subject":"VPN down","description":"since 9am","priority":"high","category":"network","channel":"email","tags":["vpn"]}`, 201)
	id := tk["id"].(string)
	if tk["number"].(float64) != 1 || tk["status"] != "new" || tk["requester_email"] != ann {
		t.Fatalf("created %v", tk)
	}
	steps := []struct {
		method, path, actor, body, wantStatus string
	}{
		{"POST", "/assign", bob, `{"team":"IT","assignee":"bob@example.com"}`, "new"},
		{"POST", "/comments", bob, `{"body":"Looking into it","public":true}`, "open"},
		{"POST", "/comments", bob, `{"body":"probably the gateway","public":false}`, "open"},
		{"POST", "/status", bob, `{"status":"pending"}`, "pending"},
		{"POST", "/status", ann, `{"status":"open"}`, "open"},
		{"POST", "/resolve", bob, ``, "resolved"},
		{"POST", "/csat", ann, `{"score":5,"comment":"fast"}`, "resolved"},
		{"POST", "/close", bob, `{}`, "closed"},
	}
	for _, s := range steps {
		got := e.call(t, s.method, "/api/v1/tickets/1"+s.path, s.actor, s.body, 200)
		if got["status"] != s.wantStatus {
			t.Fatalf("%s %s: status %v, want %s", s.method, s.path, got["status"], s.wantStatus)
		}
	}
	final := e.call(t, "GET", "/api/v1/tickets/"+id, "", "", 200)
	if final["assignee"] != bob || final["team"] != "IT" || final["csat_score"].(float64) != 5 || final["first_response_at"] == nil || final["closed_at"] == nil {
		t.Fatalf("final %v", final)
	}

	timeline := e.call(t, "GET", "/api/v1/tickets/1/events", "", "", 200)["events"].([]any)
	want := []struct{ typ, actor, kind string }{
		{"created", ann, "requester"}, {"assigned", bob, "agent"}, {"commented", bob, "agent"},
		{"status_changed", bob, "agent"}, {"commented", bob, "agent"}, {"status_changed", bob, "agent"},
		{"status_changed", ann, "requester"}, {"resolved", bob, "agent"}, {"csat_rated", ann, "requester"},
		{"closed", bob, "agent"},
	}
	if len(timeline) != len(want) {
		t.Fatalf("timeline has %d events, want %d: %v", len(timeline), len(want), timeline)
	}
	var prev time.Time
	for i, w := range want {
		ev := timeline[i].(map[string]any)
		at, err := time.Parse(time.RFC3339Nano, ev["at"].(string))
		if ev["type"] != w.typ || ev["actor"] != w.actor || ev["actor_kind"] != w.kind || err != nil || at.Before(prev) || time.Since(at) > time.Minute {
			t.Fatalf("event %d = %v, want %v", i, ev, w)
		}
		prev = at
	}
	if n, err := e.st.ProjectionDiff(context.Background()); err != nil || n != 0 {
		t.Fatalf("projection differs from a rebuild in %d rows (%v)", n, err)
	}

	// A restart keeps everything.
	e.stop()
	e2 := start(t, path)
	again := e2.call(t, "GET", "/api/v1/tickets/1", "", "", 200)
	a, _ := json.Marshal(again)
	b, _ := json.Marshal(final)
	if !bytes.Equal(a, b) {
		t.Fatalf("after restart\n%s\nwant\n%s", a, b)
	}
	if n := len(e2.call(t, "GET", "/api/v1/tickets/1/events", "", "", 200)["events"].([]any)); n != len(want) {
		t.Fatalf("after restart %d events", n)
	}
	e2.call(t, "POST", "/api/v1/tickets/1/comments", bob, `{"body":"closed is final"}`, 409)
}

func TestBadInputIsRejectedAndChangesNothing(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "bad.duckdb"))
	seedPeople(t, e)
	e.call(t, "POST", "/api/v1/tickets", ann, `{"subject":"Printer"}`, 201)
	before := e.call(t, "GET", "/api/v1/tickets/1/events", "", "", 200)

	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code, field                           string
	}{
		{"malformed", "POST", "/api/v1/tickets", "application/json", `{"subject":`, 400, "invalid", ""},
		{"unknown field", "POST", "/api/v1/tickets", "application/json", `{"subject":"x","colour":"red"}`, 400, "invalid", "colour"},
		{"missing subject", "POST", "/api/v1/tickets", "application/json", `{"description":"x"}`, 400, "invalid", "subject"},
		{"bad priority", "POST", "/api/v1/tickets", "application/json", `{"subject":"x","priority":"asap"}`, 400, "invalid", "priority"},
		{"wrong type", "POST", "/api/v1/tickets", "application/json", `{"subject":"x","tags":"a"}`, 400, "invalid", "tags"},
		{"bad email", "POST", "/api/v1/tickets", "application/json", `{"subject":"x","requester_email":"nope"}`, 400, "invalid", "requester_email"},
		{"unknown agent", "POST", "/api/v1/tickets/1/assign", "application/json", `{"assignee":"eve@example.com"}`, 400, "invalid", "assignee"},
		{"unknown team", "POST", "/api/v1/tickets/1/assign", "application/json", `{"team":"Nowhere"}`, 400, "invalid", "team"},
		{"bad status", "POST", "/api/v1/tickets/1/status", "application/json", `{"status":"done"}`, 400, "invalid", "status"},
		{"score range", "POST", "/api/v1/tickets/1/csat", "application/json", `{"score":6}`, 400, "invalid", "score"},
		{"csat before resolution", "POST", "/api/v1/tickets/1/csat", "application/json", `{"score":4}`, 409, "transition_not_allowed", ""},
		{"reopen unresolved", "POST", "/api/v1/tickets/1/reopen", "", ``, 409, "transition_not_allowed", ""},
		{"close unresolved", "POST", "/api/v1/tickets/1/close", "", ``, 409, "transition_not_allowed", ""},
		{"empty comment", "POST", "/api/v1/tickets/1/comments", "application/json", `{"body":"  "}`, 400, "invalid", "body"},
		{"not json", "POST", "/api/v1/tickets", "text/plain", `subject=x`, 415, "unsupported_media_type", ""},
		{"too large", "POST", "/api/v1/tickets", "application/json", `{"subject":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too_large", ""},
		{"no such ticket", "GET", "/api/v1/tickets/999", "", ``, 404, "not_found", ""},
		{"no such ticket id", "POST", "/api/v1/tickets/nope/resolve", "", ``, 404, "not_found", ""},
		{"bad limit", "GET", "/api/v1/tickets?limit=0", "", ``, 400, "invalid", "limit"},
		{"bad filter", "GET", "/api/v1/tickets?status=sleeping", "", ``, 400, "invalid", "status"},
		{"bad cursor", "GET", "/api/v1/tickets?cursor=xyz", "", ``, 400, "invalid", "cursor"},
		{"no route", "GET", "/api/v1/nothing", "", ``, 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message, Field string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, body not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != c.status || body.Error.Code != c.code || body.Error.Field != c.field || body.Error.Message == "" {
				t.Fatalf("got %d %+v, want %d %s field %q", resp.StatusCode, body.Error, c.status, c.code, c.field)
			}
		})
	}
	after := e.call(t, "GET", "/api/v1/tickets/1/events", "", "", 200)
	a, _ := json.Marshal(after)
	b, _ := json.Marshal(before)
	if !bytes.Equal(a, b) {
		t.Fatalf("bad input changed the ticket:\n%s\n%s", b, a)
	}
	if n, _ := e.st.CountTickets(context.Background()); n != 1 {
		t.Fatalf("%d tickets after bad creates, want 1", n)
	}
}

func TestListFiltersAndCursorPagination(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "list.duckdb"))
	seedPeople(t, e)
	for i := range 7 {
		prio := []string{"low", "normal", "high"}[i%3]
		e.call(t, "POST", "/api/v1/tickets", ann, `{"subject":"Ticket `+string(rune('A'+i))+` printer","priority":"`+prio+`","tags":["t`+string(rune('0'+i%2))+`"]}`, 201)
	}
	e.call(t, "POST", "/api/v1/tickets/2/resolve", bob, ``, 200)

	numbers := func(page map[string]any) []int {
		var out []int
		for _, tk := range page["tickets"].([]any) {
			out = append(out, int(tk.(map[string]any)["number"].(float64)))
		}
		return out
	}
	var all []int
	cursor := ""
	for pages := 0; ; pages++ {
		page := e.call(t, "GET", "/api/v1/tickets?limit=3&sort=number"+cursor, "", "", 200)
		all = append(all, numbers(page)...)
		next, _ := page["next_cursor"].(string)
		if next == "" {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		cursor = "&cursor=" + next
	}
	if got := fmtInts(all); got != "1 2 3 4 5 6 7" {
		t.Fatalf("paged numbers %s", got)
	}
	checks := map[string]string{
		"?sort=-number":                                "7 6 5 4 3 2 1",
		"?priority=high&sort=number":                   "3 6",
		"?priority=low,high&sort=number":               "1 3 4 6 7",
		"?status=resolved":                             "2",
		"?status=new&tag=t1&sort=number":               "4 6",
		"?q=TICKET%20C":                                "3",
		"?sort=priority&limit=3":                       "1 4 7",
		"?sort=-priority&limit=2":                      "6 3",
		"?created_from=2000-01-01&sort=number&limit=2": "1 2",
		"?created_to=2000-01-01":                       "",
	}
	for q, want := range checks {
		if got := fmtInts(numbers(e.call(t, "GET", "/api/v1/tickets"+q, "", "", 200))); got != want {
			t.Errorf("%s: got %q, want %q", q, got, want)
		}
	}
}

func fmtInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

func TestWrongMethodIsAJSONError(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "m.duckdb"))
	got := e.call(t, "DELETE", "/api/v1/tickets", "", "", 405)
	if got["error"].(map[string]any)["code"] != "method_not_allowed" {
		t.Fatalf("405 body %v", got)
	}
}
