package dashboards_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/dashboards"
	"github.com/deskpulse/deskpulse/internal/testtools"
)

// TestSelfServicePanelInBrowser: the overview's self-service panel draws
// the form visits and the most useful articles of a small kb_events
// fixture, with the figures computed by hand.
func TestSelfServicePanelInBrowser(t *testing.T) {
	if !dashboards.EChartsEmbedded() {
		t.Fatalf("ECharts %s is not embedded: run `%s` first", dashboards.EChartsVersion, dashboards.MakeTarget)
	}
	testtools.Chromium(t)
	e := startEnv(t, 200)
	for _, a := range [][2]string{{"a1", "Reset your password"}, {"a2", "Connect to the VPN"}} {
		if _, err := e.st.DB.Exec(`INSERT INTO kb_articles (id, slug, title, body, tags, status, created_at, updated_at)
			VALUES (?, ?, ?, '', []::VARCHAR[], 'published', now(), now())`, a[0], a[0], a[1]); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Now().Add(-24 * time.Hour)
	yes, no := true, false
	for i, ev := range []struct {
		article, kind string
		helpful       *bool
		query, fs     string
	}{
		{"a1", "suggested", nil, "password", "s1"}, {"a1", "view", nil, "suggest:password", "s1"}, {"", "left", nil, "", "s1"}, // deflected
		{"a2", "suggested", nil, "vpn", "s2"}, {"", "left", nil, "", "s2"}, // left without reading
		{"a2", "suggested", nil, "vpn", "s3"}, {"", "submitted", nil, "7", "s3"}, // a ticket
		{"a1", "suggested", nil, "pass", "s4"}, // no sign yet
		{"a1", "vote", &yes, "", ""}, {"a1", "vote", &yes, "", ""}, {"a2", "vote", &no, "", ""},
		{"a2", "view", nil, "", ""}, {"a2", "view", nil, "", ""},
	} {
		if _, err := e.st.DB.Exec(`INSERT INTO kb_events (article_id, kind, helpful, query, session, occurred_at) VALUES (?, ?, ?, ?, ?, ?)`,
			ev.article, ev.kind, ev.helpful, ev.query, ev.fs, at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowser(t, e)
	got := map[string]chartInfo{}
	for _, c := range b.open(t, e.srv.URL+"/") {
		got[c.ID] = c
	}
	// Visits: deflected 1, left without reading 1, a ticket 1, no sign 1.
	if v := got["overview_selfservice"]; !v.Canvas || v.Points != 4 || v.Sum != 4 {
		t.Errorf("self-service chart %+v", v)
	}
	// Articles: a1 (2 helpful votes) 1 view, a2 2 views.
	if a := got["overview_articles"]; !a.Canvas || a.Points != 2 || a.Sum != 3 {
		t.Errorf("articles chart %+v", a)
	}
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
	if !strings.Contains(text, "deflection 25.0 %") {
		t.Errorf("deflection rate not shown:\n%s", text)
	}
	b.screenshot(t, "overview-selfservice")
	for _, pr := range b.takeProblems() {
		t.Error(pr)
	}
}
