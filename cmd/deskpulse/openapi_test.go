package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// TestOpenAPIOfTheFullServer: the full server's document is valid
// OpenAPI 3.1 and has an operation for every API route of the table (the
// portal's, reports', rules', admin's too) with its summary and
// permission; analysts may read it, agents may not; and requests through
// the real gate, signed in or not, get the answers the document says.
func TestOpenAPIOfTheFullServer(t *testing.T) {
	m, tokens := authServer(t)
	base := "http://" + m.Addr()
	plain := &http.Client{Transport: http.DefaultTransport}
	if code, body := send(t, plain, "GET", base+"/api/v1/openapi.json", tokens["agent"], ""); code != http.StatusForbidden {
		t.Fatalf("an agent reads the document: %d %.200s", code, body)
	}
	code, raw := send(t, plain, "GET", base+"/api/v1/openapi.json", tokens["analyst"], "")
	if code != http.StatusOK {
		t.Fatalf("an analyst reads the document: %d %.200s", code, raw)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(raw))
	if err == nil {
		err = doc.Validate(context.Background())
	}
	if err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}

	n := 0
	for _, rt := range m.API.Routes().Routes() {
		if !rt.API() {
			continue
		}
		if rt.Method == "" {
			if rt.Path != "/api/" {
				t.Errorf("%s takes any method: only the catch-all may", rt.Path)
			}
			continue
		}
		n++
		op := doc.Paths.Find(rt.Path).GetOperation(rt.Method)
		if op == nil || op.Summary != rt.Summary || op.Extensions["x-deskpulse-permission"] != string(rt.Access.Perm) || op.Security != nil {
			t.Errorf("%s: operation %+v", rt.Pattern(), op)
		}
	}
	ops := 0
	for _, item := range doc.Paths.Map() {
		ops += len(item.Operations())
	}
	if n < 50 || ops != n {
		t.Errorf("the document has %d operations, the table %d API routes", ops, n)
	}
	if s := doc.Security; len(s) != 2 || s[0]["bearerToken"] == nil || s[1]["sessionCookie"] == nil {
		t.Errorf("security %v", s)
	}

	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, role, body string
		status                   int
		docRejects               bool // the request lacks the security the document asks for
	}{
		{"POST", "/api/v1/teams", "admin", `{"name":"IT"}`, 201, false},
		{"POST", "/api/v1/tickets", "agent", `{"subject":"VPN down","team":"IT"}`, 201, false},
		{"GET", "/api/v1/tickets?team=IT", "agent", "", 200, false},
		{"GET", "/api/v1/tickets/1", "", "", 401, true},
		{"GET", "/api/v1/tickets/1", "analyst", "", 403, false},
		{"GET", "/api/v1/metrics/summary", "analyst", "", 200, false},
		{"GET", "/api/v1/users", "manager", "", 403, false},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.role != "" {
			req.Header.Set("Authorization", "Bearer "+tokens[c.role])
		}
		rt, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		opts := &openapi3filter.Options{AuthenticationFunc: bearerSent, IncludeResponseStatus: true}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: rt, Options: opts}
		if err := openapi3filter.ValidateRequest(context.Background(), in); (err != nil) != c.docRejects {
			t.Fatalf("%s %s as %q: the document rejects it: %v", c.method, c.path, c.role, err)
		}
		req.Body = io.NopCloser(strings.NewReader(c.body)) // validation read it
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("%s %s as %q: %d %s, want %d", c.method, c.path, c.role, resp.StatusCode, body, c.status)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
		out.SetBodyBytes(body)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Fatalf("%s %s as %q: the answer does not match the document: %v\n%s", c.method, c.path, c.role, err, body)
		}
	}
}

// bearerSent checks the document's security: a bearer token is sent (the
// gate checks the token itself; there are no session cookies here).
func bearerSent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName == "bearerToken" && strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return nil
	}
	return errors.New("no " + in.SecuritySchemeName)
}
