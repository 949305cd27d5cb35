package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/deskpulse/deskpulse/api"
)

// contract is the served OpenAPI document, loaded and validated by
// kin-openapi, with a router that finds a request's operation in it.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

func loadContract(t *testing.T, e *env) *contract {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{doc: doc, router: router}
}

// authenticate is the check of the document's security schemes: a bearer
// token or a session cookie must be sent. (The test server has no gate,
// so the token itself is not checked here; cmd/deskpulse's test is.)
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearerToken":
		if strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case "sessionCookie":
		if _, err := req.Cookie("deskpulse_session"); err == nil {
			return nil
		}
	}
	return errors.New("no " + in.SecuritySchemeName)
}

// call sends a request to the real server and checks it and the answer
// against the document: the request must be valid by the document unless
// docRejects (bad input the document already rules out, such as an
// unknown enum value or field), and the answer must always be, its status
// included.
func (c *contract) call(t *testing.T, e *env, method, path, body string, wantStatus int, docRejects bool) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer dp_test")
	req.Header.Set("X-Actor", bob)
	rt, params, err := c.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is not in the document: %v", method, path, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: authenticate, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: rt, Options: opts}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if (reqErr != nil) != docRejects {
		t.Fatalf("%s %s %s: the document rejects it: %v, want %v (%v)", method, path, body, reqErr != nil, docRejects, reqErr)
	}
	req.Body = io.NopCloser(strings.NewReader(body)) // validation read it
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: opts}
	out.SetBodyBytes(raw)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("%s %s: the answer does not match the document: %v\n%s", method, path, err, raw)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return got
}

// TestOpenAPIDocumentMatchesTheServer loads the served document, then
// drives the main routes through the real server and checks every
// request and answer against it, bad requests and their errors too.
func TestOpenAPIDocumentMatchesTheServer(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "openapi.duckdb"))
	importExample(t, e)
	c := loadContract(t, e)

	c.call(t, e, "POST", "/api/v1/teams", `{"name":"IT","description":"Internal IT"}`, 201, false)
	c.call(t, e, "POST", "/api/v1/agents", `{"email":"Bob@Example.com","name":"Bob","teams":["IT"],"skills":["vpn"]}`, 201, false)
	c.call(t, e, "PATCH", "/api/v1/agents/bob@example.com", `{"availability":"away","skills":["vpn","wifi"]}`, 200, false)
	agents := c.call(t, e, "GET", "/api/v1/agents", "", 200, false)["agents"].([]any)
	if len(agents) != 1 || agents[0].(map[string]any)["availability"] != "away" {
		t.Fatalf("agents %v", agents)
	}
	if teams := c.call(t, e, "GET", "/api/v1/teams", "", 200, false)["teams"].([]any); len(teams) != 1 {
		t.Fatalf("teams %v", teams)
	}

	// The fewest fields: every list and map is still written as one, not null.
	c.call(t, e, "POST", "/api/v1/teams", `{"name":"HR"}`, 201, false)
	c.call(t, e, "POST", "/api/v1/agents", `{"email":"cy@example.com","name":"Cy"}`, 201, false)
	bare := c.call(t, e, "POST", "/api/v1/tickets", `{"subject":"Bare"}`, 201, false)
	c.call(t, e, "GET", "/api/v1/tickets/"+bare["id"].(string), "", 200, false)

	tk := c.call(t, e, "POST", "/api/v1/tickets", `{"subject":"Printer jam","requester_email":"ann@example.com","priority":"high","tags":["printer"],"custom_fields":{"floor":"3"}}`, 201, false)
	if tk["number"].(float64) != 3 || tk["status"] != "new" || tk["first_response_at"] != nil {
		t.Fatalf("created %v", tk)
	}
	steps := []struct{ method, path, body, status string }{
		{"GET", "", "", "new"},
		{"PATCH", "", `{"priority":"urgent","tags":["printer","floor3"],"category":null}`, "new"},
		{"POST", "/assign", `{"team":"IT","assignee":"bob@example.com"}`, "new"},
		{"POST", "/comments", `{"body":"On my way","public":true}`, "open"},
		{"POST", "/status", `{"status":"pending"}`, "pending"},
		{"POST", "/resolve", "", "resolved"},
		{"POST", "/csat", `{"score":4,"comment":"ok"}`, "resolved"},
		{"POST", "/reopen", "", "open"},
		{"POST", "/resolve", "", "resolved"},
		{"POST", "/close", "", "closed"},
	}
	for _, s := range steps {
		if got := c.call(t, e, s.method, "/api/v1/tickets/3"+s.path, s.body, 200, false); got["status"] != s.status {
			t.Fatalf("%s %s: status %v, want %s", s.method, s.path, got["status"], s.status)
		}
	}
	events := c.call(t, e, "GET", "/api/v1/tickets/3/events", "", 200, false)["events"].([]any)
	var types []string
	for _, ev := range events {
		types = append(types, ev.(map[string]any)["type"].(string))
	}
	if got := strings.Join(types, " "); got != "created priority_changed tags_changed assigned commented status_changed status_changed resolved csat_rated reopened resolved closed" {
		t.Fatalf("events %s", got)
	}
	page := c.call(t, e, "GET", "/api/v1/tickets?limit=1&sort=number", "", 200, false)
	if page["next_cursor"] == nil || len(page["tickets"].([]any)) != 1 {
		t.Fatalf("page %v", page)
	}
	next := c.call(t, e, "GET", "/api/v1/tickets?limit=1&sort=number&cursor="+page["next_cursor"].(string), "", 200, false)
	if next["next_cursor"] == nil || next["tickets"].([]any)[0].(map[string]any)["number"].(float64) != 2 {
		t.Fatalf("second page %v", next)
	}
	sum := c.call(t, e, "GET", "/api/v1/metrics/summary?from=2026-01-01&to=2026-02-01&tz=UTC", "", 200, false)
	if sum["tickets_created"].(float64) != 1 {
		t.Fatalf("summary %v", sum)
	}
	if self := c.call(t, e, "GET", "/api/v1/metrics/self-service?from=2026-01-01&to=2026-02-01", "", 200, false); self["article_views"].(float64) != 0 {
		t.Fatalf("self-service %v", self)
	}
	if sla := c.call(t, e, "GET", "/api/v1/tickets/3/sla", "", 200, false); sla["ticket_id"] != tk["id"] {
		t.Fatalf("sla %v", sla)
	}
	if list := c.call(t, e, "GET", "/api/v1/metrics", "", 200, false)["metrics"].([]any); len(list) < 10 {
		t.Fatalf("%d metrics", len(list))
	}

	// Bad input: the answers are the documented error, and the document
	// already rejects what it can tell is wrong.
	for _, bad := range []struct {
		method, path, body string
		status             int
		docRejects         bool
		code, field        string
	}{
		{"POST", "/api/v1/tickets", `{"subject":"x","priority":"asap"}`, 400, true, "invalid", "priority"},
		{"POST", "/api/v1/tickets", `{"subject":"x","colour":"red"}`, 400, true, "invalid", "colour"},
		{"POST", "/api/v1/tickets", `{"description":"no subject"}`, 400, false, "invalid", "subject"},
		{"POST", "/api/v1/tickets/3/csat", `{"score":"five"}`, 400, true, "invalid", "score"},
		{"POST", "/api/v1/tickets/3/comments", `{"body":"closed is final"}`, 409, false, "transition_not_allowed", ""},
		{"GET", "/api/v1/tickets/999", "", 404, false, "not_found", ""},
		{"POST", "/api/v1/teams", `{"name":"IT"}`, 409, false, "exists", ""},
		{"GET", "/api/v1/tickets?limit=0", "", 400, false, "invalid", "limit"},
	} {
		got := c.call(t, e, bad.method, bad.path, bad.body, bad.status, bad.docRejects)["error"].(map[string]any)
		if got["code"] != bad.code || (got["field"] != nil && got["field"] != bad.field) || (got["field"] == nil && bad.field != "") {
			t.Fatalf("%s %s: error %v, want code %s field %q", bad.method, bad.path, got, bad.code, bad.field)
		}
	}
}

// TestOpenAPIDocumentListsTheRoutes: the document has an operation for
// every API route of the table, with the route's summary and permission,
// and every route described by body types is one the table has.
func TestOpenAPIDocumentListsTheRoutes(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "routes.duckdb"))
	c := loadContract(t, e)
	n := 0
	patterns := map[string]bool{}
	for _, rt := range e.api.Routes().Routes() {
		patterns[rt.Pattern()] = true
		if !rt.API() || rt.Path == "/api/" {
			continue
		}
		n++
		item := c.doc.Paths.Value(rt.Path)
		if item == nil {
			t.Errorf("%s is not in the document", rt.Pattern())
			continue
		}
		op := item.GetOperation(rt.Method)
		if op == nil || op.Summary != rt.Summary || op.Extensions["x-deskpulse-permission"] != string(rt.Access.Perm) {
			t.Errorf("%s: operation %+v", rt.Pattern(), op)
			continue
		}
		if !strings.Contains(op.Description, "Needs the "+string(rt.Access.Perm)+" permission") {
			t.Errorf("%s: description %q", rt.Pattern(), op.Description)
		}
	}
	ops := 0
	for _, item := range c.doc.Paths.Map() {
		ops += len(item.Operations())
	}
	if ops != n {
		t.Errorf("the document has %d operations, the table %d API routes", ops, n)
	}
	for _, pattern := range api.DescribedRoutes() {
		if !patterns[pattern] {
			t.Errorf("%s is described but not a route", pattern)
		}
	}
	got := c.doc.Paths.Value("/api/v1/tickets/{id}").Get.Responses.Value("200").Value.Content["application/json"].Schema.Ref
	if got != "#/components/schemas/Ticket" {
		t.Errorf("GET /api/v1/tickets/{id} answers %q", got)
	}
	raw, _ := json.Marshal(c.doc.Components.Schemas["Ticket"].Value.Properties["resolved_at"].Value.Type)
	if !bytes.Equal(raw, []byte(`["string","null"]`)) {
		t.Errorf("resolved_at type %s", raw)
	}
}
