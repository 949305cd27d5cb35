package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/config"
)

// TestPrometheusMetrics drives the real server: a few commands (one the
// ticket's state rejects) and metric queries, then a scrape of /metrics
// with an analyst's token. promtool (Debian's prometheus package) checks
// the exposition, and the figures that the requests determine are exact:
// commands by outcome, events per batch, queries per metric, requests per
// route pattern, and the outbox gauges equal COUNTs in the store.
func TestPrometheusMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is missing: apt-get install -y prometheus (make test-deps installs it)")
	}
	m, tokens := authServerWith(t, func(c *config.Config) { c.Demo.OnEmpty = false })
	base := "http://" + m.Addr()
	plain := &http.Client{Transport: http.DefaultTransport} // the package's DefaultClient adds the admin token

	var ids []string
	for i := range 3 {
		code, body := send(t, http.DefaultClient, "POST", base+"/api/v1/tickets", "", `{"subject":"Printer `+strconv.Itoa(i)+`","requester_email":"zoe@example.com"}`)
		if code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
		var tk struct{ ID string }
		json.Unmarshal([]byte(body), &tk)
		ids = append(ids, tk.ID)
	}
	if code, body := send(t, http.DefaultClient, "POST", base+"/api/v1/tickets/"+ids[0]+"/resolve", "", `{}`); code != 200 {
		t.Fatalf("resolve: %d %s", code, body)
	}
	// An open ticket cannot be reopened: the writer rejects the command.
	if code, body := send(t, http.DefaultClient, "POST", base+"/api/v1/tickets/"+ids[1]+"/reopen", "", `{}`); code < 400 || code >= 500 {
		t.Fatalf("reopen of an open ticket: %d %s", code, body)
	}
	for _, p := range []string{"/api/v1/metrics/summary", "/api/v1/metrics/summary", "/api/v1/metrics/volume"} {
		if code := getJSON(t, base+p, nil); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	// The automation engine queues the acknowledgements (mail_outbox) and
	// saves its cursor once it has seen every event.
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var cursor string
		m.Store.DB.QueryRowContext(ctx, `SELECT value FROM automation_state WHERE key = 'cursor'`).Scan(&cursor)
		if cursor == strconv.FormatInt(m.Writer.LastSeq(), 10) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("automation cursor %s, last event %d", cursor, m.Writer.LastSeq())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A scrape without a token is told so (401), not sent to a sign-in page.
	if code, _ := send(t, plain, "GET", base+"/metrics", "", ""); code != 401 {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code, _ := send(t, plain, "GET", base+"/metrics", tokens["agent"], ""); code != 403 {
		t.Fatalf("an agent's token: %d, want 403", code)
	}
	code, body := send(t, plain, "GET", base+"/metrics", tokens["analyst"], "")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}

	var events, mail, hooks float64
	if err := m.Store.DB.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM events),
		(SELECT count(*) FROM mail_outbox WHERE status = 'pending'),
		(SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')`).Scan(&events, &mail, &hooks); err != nil {
		t.Fatal(err)
	}
	if mail != 4 {
		t.Errorf("pending mail in the store: %v, want 3 acknowledgements and a resolution notice", mail)
	}
	got := samples(body)
	// Committed: 3 creates and a resolve over HTTP, and per created ticket
	// the config's acknowledge-new-tickets rule (a keyed command with no
	// events: its e-mail is queued once committed).
	for series, want := range map[string]float64{
		`deskpulse_writer_commands_total{outcome="committed"}`:                                          7,
		`deskpulse_writer_commands_total{outcome="rejected"}`:                                           1,
		`deskpulse_writer_commands_total{outcome="applied"}`:                                            0,
		`deskpulse_writer_commands_total{outcome="failed"}`:                                             0,
		`deskpulse_writer_command_duration_seconds_count`:                                               8,
		`deskpulse_writer_batch_events_sum`:                                                             events,
		`deskpulse_writer_queue_depth`:                                                                  0,
		`deskpulse_writer_queue_capacity`:                                                               1024,
		`deskpulse_metric_query_duration_seconds_count{metric="summary"}`:                               2,
		`deskpulse_metric_query_duration_seconds_count{metric="volume"}`:                                1,
		`deskpulse_metric_query_duration_seconds_count{metric="backlog"}`:                               0,
		`deskpulse_outbox_pending{queue="mail"}`:                                                        mail,
		`deskpulse_outbox_pending{queue="webhook"}`:                                                     hooks,
		`deskpulse_automation_lag_events`:                                                               0,
		`deskpulse_automation_lag_seconds`:                                                              0,
		`deskpulse_http_requests_total{method="POST",route="/api/v1/tickets",status="2xx"}`:             3,
		`deskpulse_http_requests_total{method="POST",route="/api/v1/tickets/{id}/reopen",status="4xx"}`: 1,
		`deskpulse_http_requests_total{method="GET",route="/api/v1/metrics/{name}",status="2xx"}`:       1,
		`deskpulse_http_requests_total{method="GET",route="/metrics",status="4xx"}`:                     2, // no token, an agent's
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", series, v, ok, want)
		}
	}
	// Route labels are the table's patterns, never a raw path.
	for series := range got {
		if strings.Contains(series, ids[0]) || strings.Contains(series, ids[1]) {
			t.Errorf("a ticket id in a label: %s", series)
		}
	}

	// With the automation engine stopped, new events wait behind its
	// saved cursor: the lag is theirs, in events and in event time.
	if err := m.Automation.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if code, body := send(t, http.DefaultClient, "POST", base+"/api/v1/tickets", "", `{"subject":"Later","requester_email":"zoe@example.com"}`); code != 201 {
			t.Fatalf("create: %d %s", code, body)
		}
	}
	var behind, lag float64
	if err := m.Store.DB.QueryRowContext(ctx, `WITH c AS (SELECT value::BIGINT AS seq FROM automation_state WHERE key = 'cursor')
		SELECT count(*) FILTER (e.seq > c.seq),
			epoch(max(occurred_at) FILTER (e.seq = ?)) - epoch(max(occurred_at) FILTER (e.seq = c.seq))
		FROM events e, c GROUP BY c.seq`, m.Writer.LastSeq()).Scan(&behind, &lag); err != nil {
		t.Fatal(err)
	}
	if behind < 2 || lag <= 0 {
		t.Fatalf("behind the cursor: %v events, %v s", behind, lag)
	}
	_, body = send(t, plain, "GET", base+"/metrics", tokens["analyst"], "")
	got = samples(body)
	if v := got["deskpulse_automation_lag_events"]; v != behind {
		t.Errorf("deskpulse_automation_lag_events = %v, want %v", v, behind)
	}
	if v := got["deskpulse_automation_lag_seconds"]; v != lag {
		t.Errorf("deskpulse_automation_lag_seconds = %v, want %v", v, lag)
	}
}

// samples reads a text exposition into value by series (name and labels
// as written).
func samples(body string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
