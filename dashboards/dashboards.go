// Package dashboards serves deskpulse's manager dashboards: server-side
// rendered pages (Overview, SLA, CSAT, Volume, Agents & teams) whose charts
// are built with go-echarts from metrics.Engine results. It holds no KPI
// logic: every number comes from a metrics result. ECharts itself is
// embedded in the binary (see assets.go), so no page loads anything from
// another host.
package dashboards

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/deskpulse/deskpulse/auth"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

// Page is one dashboard.
type Page struct{ Key, Title, Path string }

// Pages lists the dashboards in navigation order.
var Pages = []Page{
	{"overview", "Overview", "/"},
	{"sla", "SLA", "/dashboards/sla"},
	{"csat", "CSAT", "/dashboards/csat"},
	{"volume", "Volume", "/dashboards/volume"},
	{"agents", "Agents & teams", "/dashboards/agents"},
}

// Dashboards renders the pages over one metrics engine.
type Dashboards struct {
	m   *metrics.Engine
	st  *store.Store
	now func() time.Time

	mu      sync.Mutex
	opts    *options
	optsAt  time.Time
	optsTTL time.Duration
}

// New makes the dashboards over a metrics engine and the store (for the
// names of teams, agents and tickets).
func New(m *metrics.Engine, st *store.Store) *Dashboards {
	return &Dashboards{m: m, st: st, now: time.Now, optsTTL: 10 * time.Minute}
}

// Register mounts the dashboards on the route table: the pages at / and
// /dashboards/{page}, their static files under /static/.
func Register(routes *route.Table, m *metrics.Engine, st *store.Store) *Dashboards {
	d := New(m, st)
	d.Mount(routes)
	return d
}

// Mount adds the dashboards' routes to the table.
func (d *Dashboards) Mount(routes *route.Table) {
	if !EChartsEmbedded() {
		slog.Warn("dashboards: ECharts " + EChartsVersion + " is not in this build; run `" + MakeTarget + "` and rebuild (the dashboards show a notice until then)")
	}
	static := staticHandler()
	routes.Handle("GET", "/static/echarts/", route.Anyone, "ECharts, embedded", static)
	routes.Handle("GET", "/static/dashboards/", route.Anyone, "the dashboards' script and styles", static)
	for _, p := range Pages {
		path := p.Path
		if path == "/" {
			path = "/{$}"
		}
		routes.Func("GET", path, route.Need(model.PermDashboards), "the "+p.Title+" dashboard", d.handler(p))
	}
	routes.Func("GET", "/dashboards", route.Need(model.PermDashboards), "redirect to the overview dashboard", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/", http.StatusFound)
	})
}

func (d *Dashboards) handler(p Page) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !EChartsEmbedded() {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			missingTpl.Execute(w, map[string]string{"Target": MakeTarget, "Version": EChartsVersion})
			return
		}
		var buf bytes.Buffer
		status, err := d.Render(r.Context(), &buf, p.Key, r.URL.Query())
		if err != nil {
			slog.Error("dashboards: render", "page", p.Key, "err", err)
			http.Error(w, "the dashboard could not be rendered: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		w.Write(buf.Bytes())
	}
}

// Render writes one page for the filter in query to w, and says the HTTP
// status (a metrics error is shown on the page with status 500 or 400).
func (d *Dashboards) Render(ctx context.Context, w *bytes.Buffer, page string, query map[string][]string) (int, error) {
	v, err := d.Load(ctx, page, query)
	if err != nil {
		return 0, err
	}
	return v.status, d.Write(w, v)
}

// View is everything one page shows.
type View struct {
	User, CSRF  string // the signed-in user and the session's CSRF token, for the sign-out form
	Inbox       bool   // the user works tickets: link to the workspace's inbox
	Page        Page
	Pages       []Page
	Filter      Filter
	URLQuery    string
	Problems    []string
	DefaultZone string
	Error       string
	Options     *options

	Tiles    []Tile
	Blocks   []Block
	Scripts  []string
	Updated  string
	Duration time.Duration

	status int
}

// Block is one card of a page: a chart or a table.
type Block struct {
	Kind  string // chart, risk, comments, agents, teams
	Wide  bool   // the whole row (else half of it)
	Third bool   // a third of the row
	Chart *Chart

	Risk     []RiskRow
	Comments []CommentRow
	Rows     []TableRow
	Title    string
	Note     string
}

// Load computes the view of a page: the metrics it needs (concurrently)
// and its charts.
func (d *Dashboards) Load(ctx context.Context, page string, query map[string][]string) (*View, error) {
	began := time.Now()
	i := slices.IndexFunc(Pages, func(p Page) bool { return p.Key == page })
	if i < 0 {
		return nil, fmt.Errorf("no dashboard %q", page)
	}
	f, problems := parseFilter(query, d.m.Location(), d.now())
	v := &View{Page: Pages[i], Pages: Pages, Filter: f, URLQuery: f.Encode(), Problems: problems, status: http.StatusOK,
		DefaultZone: d.m.Location().String()}
	v.Options = d.options(ctx)
	var err error
	switch page {
	case "overview":
		err = d.overview(ctx, v)
	case "sla":
		err = d.sla(ctx, v)
	case "csat":
		err = d.csat(ctx, v)
	case "volume":
		err = d.volume(ctx, v)
	case "agents":
		err = d.agents(ctx, v)
	}
	if err != nil {
		var ve *model.ValidationError
		if errors.As(err, &ve) {
			v.status = http.StatusBadRequest
		} else {
			v.status = http.StatusInternalServerError
		}
		v.Error = err.Error()
		v.Tiles, v.Blocks = nil, nil
	}
	seen := map[string]bool{}
	for _, b := range v.Blocks {
		if b.Chart == nil {
			continue
		}
		for _, s := range b.Chart.Assets {
			if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
				return nil, fmt.Errorf("chart %s wants a script from another host: %s", b.Chart.ID, s)
			}
			if !seen[s] {
				seen[s] = true
				v.Scripts = append(v.Scripts, s)
			}
		}
	}
	if len(v.Scripts) == 0 {
		v.Scripts = []string{assetsHost + "echarts.min.js"}
	}
	if u := auth.UserFrom(ctx); u != nil {
		v.User, v.CSRF, v.Inbox = u.Email, auth.CSRFFrom(ctx), u.Role.Can(model.PermTickets)
	}
	v.Updated = d.now().In(f.loc).Format("2 Jan 2006 15:04 MST")
	v.Duration = time.Since(began)
	return v, nil
}

// Href is the link to another page with the same filter.
func (v *View) Href(path string) template.URL {
	if v.URLQuery == "" {
		return template.URL(path)
	}
	return template.URL(path + "?" + v.URLQuery)
}

// Write renders a loaded view as HTML.
func (d *Dashboards) Write(w *bytes.Buffer, v *View) error {
	return pageTpl.Execute(w, v)
}

// ---- concurrency ----

// group runs metric queries concurrently, at most 3 at a time (DuckDB
// parallelises each query itself), and keeps the first error.
type group struct {
	wg  sync.WaitGroup
	sem chan struct{}
	mu  sync.Mutex
	err error
}

func newGroup() *group { return &group{sem: make(chan struct{}, 3)} }

func (g *group) Go(fn func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.sem <- struct{}{}
		defer func() { <-g.sem }()
		if err := fn(); err != nil {
			g.mu.Lock()
			if g.err == nil {
				g.err = err
			}
			g.mu.Unlock()
		}
	}()
}

func (g *group) Wait() error { g.wg.Wait(); return g.err }

// series fetches a named series with its concrete type.
func series[T any](ctx context.Context, m *metrics.Engine, name string, q metrics.Query) (T, error) {
	var zero T
	res, err := m.Series(ctx, name, q)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	t, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("%s: unexpected result %T", name, res)
	}
	return t, nil
}
