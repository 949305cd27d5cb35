package dashboards_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/deskpulse/deskpulse/dashboards"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/model"
)

// evil is a value that tries to leave every context a page writes it in:
// a script (JSON data block), an element, an attribute. Its script would
// set window.__pwned to where it came from; its image would request
// /pwn/<where>.
func evil(where string) string {
	return `</script><script>window.__pwned="` + where + `"</script><img src="/pwn/` + where + `" onerror="window.__pwned='` + where + `'">"'><!--`
}

// evilTag is evil for a tag, which must be one word of at most 64 bytes.
const evilTag = `</script><script>window.__pwned="tag"</script><img/src=/pwn/tag>`

// apiCall sends a JSON request with a Bearer token and decodes the answer.
func apiCall(t *testing.T, e *env, token, method, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s %v", method, path, resp.Status, out)
	}
	return out
}

// probeJS reports what an injection would leave behind: the global its
// script sets, executable inline scripts, and elements that only markup
// injection could add (the pages have no images).
const probeJS = `(() => ({
	pwned: window.__pwned === undefined ? "" : String(window.__pwned),
	inlineScripts: Array.from(document.scripts).filter(s => !s.src && s.type !== "application/json").length,
	injected: document.querySelectorAll('img, iframe, object, embed, [onerror], [onload]').length,
	text: document.body.innerText,
}))()`

type probe struct {
	Pwned         string `json:"pwned"`
	InlineScripts int    `json:"inlineScripts"`
	Injected      int    `json:"injected"`
	Text          string `json:"text"`
}

// showTipsJS opens the tooltip of every data item of every chart whose
// axis labels or series names hold an evil value (tooltips are HTML).
const showTipsJS = `(() => {
	let shown = 0;
	for (const el of document.querySelectorAll('[data-chart]:not([data-empty]) .item')) {
		const inst = echarts.getInstanceByDom(el), o = inst.getOption();
		const labels = [].concat(...[].concat(o.xAxis || [], o.yAxis || []).map(a => a.data || []));
		labels.forEach((l, i) => {
			if (typeof l === 'string' && l.includes('__pwned')) {
				inst.dispatchAction({type: 'showTip', seriesIndex: 0, dataIndex: i});
				shown++;
			}
		});
	}
	return shown;
})()`

// axisHasJS says whether chart id's category axis holds the value exactly.
func axisHasJS(id, value string) string {
	v, _ := json.Marshal(value)
	return fmt.Sprintf(`(() => {
		const o = echarts.getInstanceByDom(document.getElementById(%q)).getOption();
		return [].concat(o.xAxis || [], o.yAxis || []).some(a => (a.data || []).some(l => l === %s || String(l).startsWith(%s)));
	})()`, id, v, v)
}

// formatterJS says whether chart id's tooltip value formatter, or its
// first series' label formatter, is a function (the options name it).
func formatterJS(id, in, key string) string {
	o := `echarts.getInstanceByDom(document.getElementById('` + id + `')).getOption()`
	if in == "tooltip" {
		return `typeof [].concat(` + o + `.tooltip)[0].` + key + ` === 'function'`
	}
	return `typeof ` + o + `.series[0].` + key + `.formatter === 'function'`
}

// TestHostileValuesInBrowser stores, as an agent and a manager could,
// values that try to break out of their place into every field that
// reaches a dashboard, the inbox, the ticket page or the knowledge base (ticket
// subject and description, category, tags, custom field names and
// values, requester name, comment, CSAT comment, team, agent name, KB
// article title; filter values in the URL), then opens the pages as
// a signed-in admin in headless Chromium: no injected script runs, no
// injected element or request appears, the policy reports no violation,
// the values show as text and the charts still draw them.
func TestHostileValuesInBrowser(t *testing.T) {
	if !dashboards.EChartsEmbedded() {
		t.Fatalf("ECharts %s is not embedded: run `%s` first", dashboards.EChartsVersion, dashboards.MakeTarget)
	}
	testtools.Chromium(t)
	e := startEnv(t, 300)
	manager := e.user(t, "manager@example.com", model.RoleManager)
	agent := e.user(t, "agent@example.com", model.RoleAgent)

	team, agentName := evil("team"), evil("agent")
	apiCall(t, e, manager, "POST", "/api/v1/teams", map[string]any{"name": team})
	apiCall(t, e, manager, "POST", "/api/v1/agents", map[string]any{"email": "mallory@example.com", "name": agentName, "teams": []string{team}})
	var numbers []int
	for i := range 3 {
		tk := apiCall(t, e, agent, "POST", "/api/v1/tickets", map[string]any{
			"subject": evil("subject"), "description": evil("description"),
			"requester_name": evil("requester"), "requester_email": "req@example.com",
			"category": evil("category"), "tags": []string{evilTag}, "priority": "urgent",
			"custom_fields": map[string]string{"order": evil("field"), evil("fieldname"): "x"},
			"team":          team, "assignee": "mallory@example.com",
		})
		n := int(tk["number"].(float64))
		numbers = append(numbers, n)
		apiCall(t, e, agent, "POST", fmt.Sprintf("/api/v1/tickets/%d/comments", n), map[string]any{"body": evil("comment")})
		if i == 0 {
			apiCall(t, e, agent, "POST", fmt.Sprintf("/api/v1/tickets/%d/resolve", n), nil)
			apiCall(t, e, agent, "POST", fmt.Sprintf("/api/v1/tickets/%d/csat", n), map[string]any{"score": 2, "comment": evil("csat")})
		}
	}
	article := apiCall(t, e, agent, "POST", "/api/v1/kb", map[string]any{"title": evil("kb"), "body": "Restart it.", "status": "published"})
	slug := article["slug"].(string)

	b := newBrowser(t, e)
	q := url.QueryEscape
	pages := []struct {
		path     string
		charts   bool
		text     []string          // shown as text
		axis     map[string]string // chart id: a value on its category axis
		tooltips bool              // some chart has an evil label
		check    string            // JS that must be true (app.js' named formatters at work)
	}{
		{path: "/kb/" + slug, text: []string{evil("kb")}}, // (the visit is a view: the overview's articles chart)
		{path: "/kb", text: []string{evil("kb")}},
		{path: "/kb?q=" + q(evil("search"))},
		{path: "/support/new?subject=" + q(evil("form")) + "&suggest=1"},
		{path: "/signin?next=" + q(evil("next"))},
		{path: "/", charts: true, axis: map[string]string{"overview_articles": evil("kb")}, tooltips: true},
		{path: "/dashboards/sla?team=" + q(team), charts: true, text: []string{evil("subject"), agentName}},
		{path: "/dashboards/sla", charts: true, axis: map[string]string{"sla_breaches_team": team}, tooltips: true,
			check: formatterJS("sla_compliance", "tooltip", "valueFormatter")},
		{path: "/dashboards/csat", charts: true, text: []string{evil("csat"), agentName},
			axis: map[string]string{"csat_by_team": team, "csat_by_agent": agentName}, tooltips: true,
			check: formatterJS("csat_by_team", "series", "label")},
		{path: "/dashboards/volume", charts: true, axis: map[string]string{"volume_category": evil("category")}, tooltips: true},
		{path: "/dashboards/volume?channel=" + q(evil("channel")) + "&category=" + q(evil("category")), charts: true, text: []string{evil("channel")}},
		{path: "/dashboards/agents", charts: true, text: []string{agentName, team},
			axis: map[string]string{"agents_workload": agentName}, tooltips: true},
		{path: "/inbox?view=all", text: []string{evil("subject"), evil("requester"), team, agentName}},
		{path: fmt.Sprintf("/tickets/%d", numbers[0]), text: []string{evil("subject"), evil("requester"), evil("category"),
			strings.ToLower(evilTag), evil("field"), evil("fieldname"), evil("description"), evil("comment"), evil("csat"), team}},
	}
	for _, p := range pages {
		if p.charts {
			b.open(t, e.srv.URL+p.path)
		} else if err := chromedp.Do(b.ctx, chromedp.Navigate(e.srv.URL+p.path)); err != nil {
			t.Fatalf("open %s: %v", p.path, err)
		}
		for id, v := range p.axis {
			if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](axisHasJS(id, v))); err != nil || !ok {
				t.Errorf("%s: chart %s does not draw %q (%v)", p.path, id, v, err)
			}
		}
		if p.check != "" {
			if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](p.check)); err != nil || !ok {
				t.Errorf("%s: %s is false (%v)", p.path, p.check, err)
			}
		}
		if p.tooltips {
			if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](showTipsJS)); err != nil || n == 0 {
				t.Errorf("%s: no tooltip with an evil label shown (%d, %v)", p.path, n, err)
			}
		}
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[probe](probeJS))
		if err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		if got.Pwned != "" {
			t.Errorf("%s: the script injected through the %s ran", p.path, got.Pwned)
		}
		if got.InlineScripts != 0 || got.Injected != 0 {
			t.Errorf("%s: %d inline scripts, %d injected elements", p.path, got.InlineScripts, got.Injected)
		}
		for _, want := range p.text {
			if !strings.Contains(got.Text, want) {
				t.Errorf("%s does not show %q as text", p.path, want)
			}
		}
		for _, pr := range b.takeProblems() {
			t.Errorf("%s: %s", p.path, pr)
		}
	}
	for _, u := range b.requested() {
		if strings.Contains(u, "/pwn/") {
			t.Errorf("an injected element was loaded: %s", u)
		}
	}
}
