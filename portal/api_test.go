package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/portal"
)

// TestKBAPI manages an article through /api/v1/kb under the real gate, as
// cmd/deskpulse wires it, and reads it on the public pages.
func TestKBAPI(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "kb.duckdb")
	st, w := testtools.Store(t, db)
	srv, err := api.New(ctx, st, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	portal.New(st, w, db).Register(srv.Routes()).KB.APIRoutes(srv.Routes())
	svc := auth.New(st)
	hs := httptest.NewServer(auth.NewGate(svc, 0).Wrap(srv.Routes(), srv.Handler()))
	defer hs.Close()
	agent, _ := svc.AddUser(ctx, "test", &model.User{Email: "bob@example.com", Name: "Bob", Role: model.RoleAgent})
	analyst, _ := svc.AddUser(ctx, "test", &model.User{Email: "ana@example.com", Name: "Ana", Role: model.RoleAnalyst})

	call := func(method, path, token, body string, into any) int {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if into != nil {
			json.NewDecoder(resp.Body).Decode(into)
		}
		return resp.StatusCode
	}
	article := `{"title":"Reset your password","body":"Use **Forgot password**.","category":"Accounts","tags":["login"]}`
	if code := call("POST", "/api/v1/kb", "", article, nil); code != 401 {
		t.Fatalf("anonymous: %d", code)
	}
	if code := call("POST", "/api/v1/kb", analyst, article, nil); code != 403 {
		t.Fatalf("analyst: %d", code)
	}
	var a portal.Article
	if code := call("POST", "/api/v1/kb", agent, article, &a); code != 201 || a.Slug != "reset-your-password" || a.Status != portal.Draft || a.Author != "bob@example.com" {
		t.Fatalf("create: %d %+v", code, a)
	}
	if code := call("POST", "/api/v1/kb", agent, `{"body":"x"}`, nil); code != 400 {
		t.Fatalf("no title: %d", code)
	}
	if code := call("GET", "/kb/reset-your-password", "", "", nil); code != 404 {
		t.Fatalf("draft public: %d", code)
	}
	published := strings.Replace(article, `"tags"`, `"status":"published","tags"`, 1)
	if code := call("PUT", "/api/v1/kb/"+a.ID, agent, published, &a); code != 200 || a.Status != portal.Published {
		t.Fatalf("publish: %d %+v", code, a)
	}
	if code := call("GET", "/kb/reset-your-password", "", "", nil); code != 200 {
		t.Fatalf("public article: %d", code)
	}
	var list struct{ Articles []portal.Article }
	if code := call("GET", "/api/v1/kb", agent, "", &list); code != 200 || len(list.Articles) != 1 {
		t.Fatalf("list: %d %+v", code, list)
	}
	if code := call("DELETE", "/api/v1/kb/reset-your-password", agent, "", nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if code := call("GET", "/api/v1/kb/"+a.ID, agent, "", nil); code != 404 {
		t.Fatalf("deleted: %d", code)
	}
}
