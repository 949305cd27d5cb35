package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

// TestRouteTable holds the server's one table of routes to its rules:
// every route says who may call it and what it does; the API is never
// public and users, tokens, audit and backups are admin's; only the
// health checks, sign-in, static files and the requester portal are
// public. Then, for every route and every role whose permissions lack
// the route's, the gate answers 403 before the handler runs.
func TestRouteTable(t *testing.T) {
	m, tokens := authServer(t)
	routes := m.API.Routes().Routes()
	if len(routes) < 80 {
		t.Fatalf("only %d routes in the table", len(routes))
	}
	publicPrefixes := []string{"/healthz", "/readyz", "/favicon.ico", "/signin", "/signout", "/static/", "/support", "/kb"}
	param := regexp.MustCompile(`\{[^}]+\}`)
	base := "http://" + m.Addr()
	plain := &http.Client{Transport: http.DefaultTransport} // the package's DefaultClient adds the admin token
	for _, rt := range routes {
		p := rt.Pattern()
		if strings.TrimSpace(rt.Summary) == "" {
			t.Errorf("%s has no summary", p)
		}
		switch {
		case rt.Path == "/api/":
			if rt.Access != route.AnyUser {
				t.Errorf("the API's catch-all needs %s, want signed-in", rt.Access)
			}
		case rt.API() && (rt.Access.Public || rt.Access.SignedIn):
			t.Errorf("%s is %s: every API route needs a permission", p, rt.Access)
		case rt.Access.Public && !hasAnyPrefix(rt.Path, publicPrefixes):
			t.Errorf("%s is public", p)
		}
		for _, admin := range []string{"/api/v1/users", "/api/v1/tokens", "/api/v1/audit", "/api/v1/backup"} {
			if strings.HasPrefix(rt.Path, admin) && rt.Access != route.Need(model.PermAdmin) {
				t.Errorf("%s needs %s, want admin", p, rt.Access)
			}
		}
		if rt.Access.Perm == "" {
			continue
		}
		path := param.ReplaceAllString(strings.TrimSuffix(rt.Path, "{$}"), "x")
		if strings.HasSuffix(path, "/") && path != "/" {
			path += "x"
		}
		method := rt.Method
		if method == "" {
			method = http.MethodGet
		}
		for _, role := range []model.Role{model.RoleManager, model.RoleAnalyst, model.RoleAgent} {
			if role.Can(rt.Access.Perm) {
				continue
			}
			if code, body := send(t, plain, method, base+path, tokens[string(role)], "{}"); code != http.StatusForbidden {
				t.Errorf("%s as %s: %d %.200s, want 403", p, role, code, body)
			}
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
