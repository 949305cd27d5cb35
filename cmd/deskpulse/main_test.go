package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/config"
)

// testToken is the administrator token the servers under test start with.
const testToken = "dp_test-admin-token-0123456789"

// authorized adds the test token to every request of the default client.
type authorized struct{ next http.RoundTripper }

func (a authorized) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+testToken)
	return a.next.RoundTrip(r)
}

func init() { http.DefaultClient.Transport = authorized{http.DefaultTransport} }

func testConfig(t *testing.T, db string) *config.Config {
	t.Helper()
	t.Setenv("DESKPULSE_ADMIN_TOKEN", testToken)
	t.Setenv("DESKPULSE_DEMO_TICKETS", "300")
	t.Setenv("DESKPULSE_DEMO_DAYS", "30")
	cfg, err := config.Load("../../config.yaml", pflag.NewFlagSet("x", pflag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DB, cfg.Addr = db, "127.0.0.1:0"
	return cfg
}

func getJSON(t *testing.T, url string, into any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		json.NewDecoder(resp.Body).Decode(into)
	}
	return resp.StatusCode
}

// TestServeSeedsDemoDataAndRestarts runs the real server end to end: an
// empty store gets demo data, the API and metrics answer, a ticket written
// over HTTP survives a restart, and `deskpulse rebuild` reproduces the
// projection exactly.
func TestServeSeedsDemoDataAndRestarts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "serve.duckdb")
	m := NewMain(testConfig(t, db))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.Addr()
	for _, p := range []string{"/healthz", "/readyz"} {
		if code := getJSON(t, base+p, nil); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	var page struct{ Tickets []map[string]any }
	getJSON(t, base+"/api/v1/tickets?limit=5", &page)
	if len(page.Tickets) != 5 {
		t.Fatalf("demo data missing: %v", page)
	}
	var sum map[string]any
	if code := getJSON(t, base+"/api/v1/metrics/summary", &sum); code != 200 || sum["tickets_created"].(float64) == 0 {
		t.Fatalf("summary %d %v", code, sum)
	}
	resp, err := http.Post(base+"/api/v1/tickets", "application/json", strings.NewReader(`{"subject":"After the demo","requester_email":"zoe@example.com"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", err, resp.Status)
	}
	var created map[string]any
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if created["number"].(float64) != 301 {
		t.Fatalf("number after 300 demo tickets: %v", created["number"])
	}
	// The projection kept up to date by the API equals a set-based rebuild.
	if n, err := m.Store.ProjectionDiff(context.Background()); err != nil || n != 0 {
		t.Fatalf("the live projection differs from a rebuild in %d rows (%v)", n, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if err := run([]string{"rebuild", "--db", db, "--config", "../../config.yaml"}, &out, &errOut); err != nil {
		t.Fatalf("rebuild: %v %s", err, errOut.String())
	}

	m2 := NewMain(testConfig(t, db))
	if err := m2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if n, err := m2.Store.ProjectionDiff(context.Background()); err != nil || n != 0 {
		t.Fatalf("after rebuild the projection differs in %d rows (%v)", n, err)
	}
	var again map[string]any
	if code := getJSON(t, "http://"+m2.Addr()+"/api/v1/tickets/301", &again); code != 200 || again["id"] != created["id"] || again["subject"] != "After the demo" {
		t.Fatalf("after restart: %d %v", code, again)
	}
	if n, _ := m2.Store.CountTickets(context.Background()); n != 301 {
		t.Fatalf("restart seeded demo data again: %d tickets", n)
	}
}

func TestUnknownCommandAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"frobnicate"}, &out, &errOut); err == nil || !strings.Contains(errOut.String(), "serve") {
		t.Fatalf("unknown command: %v %q", err, errOut.String())
	}
	out.Reset()
	if err := run([]string{"help"}, &out, &errOut); err != nil || !strings.Contains(out.String(), "rebuild") {
		t.Fatalf("help: %v %q", err, out.String())
	}
}
