package dashboards

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	"github.com/go-echarts/go-echarts/v2/render"
	"github.com/go-echarts/go-echarts/v2/types"

	"github.com/deskpulse/deskpulse/metrics"
)

// assetsHost is where the pages load ECharts from: this server, never
// another host (go-echarts' default is a CDN).
const assetsHost = "/static/echarts/"

// One colour per series across pages.
var colors = map[string]string{
	"created": "#4e79a7", "resolved": "#59a14f", "backlog": "#f28e2b",
	"first_response": "#76b7b2", "resolution": "#b07aa1", "csat": "#edc948",
	"breached": "#e15759", "achieved": "#59a14f",
	"low": "#a0cbe8", "normal": "#4e79a7", "high": "#f28e2b", "urgent": "#e15759",
}

// Chart is one card of a page: a go-echarts chart that app.js draws from
// its options, or an empty state when there is nothing to draw.
type Chart struct {
	ID      string
	Title   string
	Note    string // unit or definition, under the title
	Wide    bool   // spans the whole row
	Empty   string // set: no chart, this message instead
	Element template.HTML
	// Options is the ECharts option object. The page writes it into a
	// <script type="application/json"> data block, which html/template
	// writes as HTML-safe JSON (<, > and & escaped): a stored value can
	// neither close the block nor run, and no page needs an inline script
	// (go-echarts' own snippet inlines the options unescaped into one).
	Options map[string]any
	Assets  []string // the scripts the chart needs (local paths)
}

// chartConfig is what every chart shares.
type chartConfig interface {
	RenderSnippet() render.ChartSnippet
	JSON() map[string]any
	GetAssets() opts.Assets
}

func emptyChart(id, title, note string) *Chart {
	return &Chart{ID: id, Title: title, Note: note, Empty: "No tickets in this range"}
}

// finish renders c into a card. RenderSnippet validates the chart (puts
// the axis data in place) and writes its container; only then are the
// options complete. Its Script is not used.
func finish(c chartConfig, id, title, note string) *Chart {
	s := c.RenderSnippet()
	ch := &Chart{ID: id, Title: title, Note: note, Element: template.HTML(s.Element), Options: c.JSON()}
	ch.Assets = append(ch.Assets, c.GetAssets().JSAssets.Values...)
	return ch
}

// jsFormatter names a formatter function of app.js (dpFormatters): the
// options are data, so no code travels in them.
func jsFormatter(name string) types.FuncStr { return types.FuncStr("dp:" + name) }

// common are the options of every chart: a stable id, the local assets
// host, the size, no animation (pages are read, not watched) and room for
// the axis labels.
func common(id, height string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, AssetsHost: assetsHost, Width: "100%", Height: height, Renderer: "canvas"}),
		charts.WithAnimation(false),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", Left: "center"}),
		setGrid(opts.Grid{Left: "8", Right: "24", Top: "44", Bottom: "8", ContainLabel: opts.Bool(true)}),
	}
}

func yAxis(name string) charts.GlobalOpts {
	return charts.WithYAxisOpts(opts.YAxis{Name: name, NameLocation: "end", NameGap: 12, Type: "value", MinInterval: 1,
		SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#eceff3"}}})
}

func categoryX(name string, labels []string, rotate float64) charts.GlobalOpts {
	return charts.WithXAxisOpts(opts.XAxis{Name: name, NameLocation: "middle", NameGap: 28, Type: "category", Data: labels,
		AxisLabel: &opts.AxisLabel{HideOverlap: opts.Bool(true), Rotate: rotate}})
}

// timeLabels writes the buckets of a series as axis labels.
func timeLabels(points []metrics.Point, interval string) []string {
	out := make([]string, len(points))
	for i, p := range points {
		switch interval {
		case "hour":
			out[i] = p.Start.Format("15:04")
		case "week":
			out[i] = "w/c " + p.Start.Format("2 Jan")
		case "month":
			out[i] = p.Start.Format("Jan 2006")
		default:
			out[i] = p.Start.Format("Mon 2 Jan")
		}
	}
	return out
}

func intervalName(interval string) string {
	return map[string]string{"hour": "hour", "day": "day", "week": "week", "month": "month"}[interval]
}

func lineStyle(key string) []charts.SeriesOpts {
	c := colors[key]
	return []charts.SeriesOpts{
		charts.WithItemStyleOpts(opts.ItemStyle{Color: c}),
		charts.WithLineStyleOpts(opts.LineStyle{Color: c, Width: 2}),
		charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false), Symbol: "circle"}),
	}
}

func barStyle(key string, stack string) []charts.SeriesOpts {
	return []charts.SeriesOpts{
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colors[key]}),
		charts.WithBarChartOpts(opts.BarChart{Stack: stack, BarWidth: "40%"}),
	}
}

func lineData(vals []float64) []opts.LineData {
	out := make([]opts.LineData, len(vals))
	for i, v := range vals {
		out[i] = opts.LineData{Value: v}
	}
	return out
}

// nullableLine leaves gaps where a value is undefined (no ratings, no
// decided targets) instead of drawing 0.
func nullableLine(vals []*float64) []opts.LineData {
	out := make([]opts.LineData, len(vals))
	for i, v := range vals {
		if v == nil {
			out[i] = opts.LineData{Value: "-"}
		} else {
			out[i] = opts.LineData{Value: *v}
		}
	}
	return out
}

func barData(vals []int64) []opts.BarData {
	out := make([]opts.BarData, len(vals))
	for i, v := range vals {
		out[i] = opts.BarData{Value: v}
	}
	return out
}

func anyNonZero(vals ...[]int64) bool {
	for _, vs := range vals {
		for _, v := range vs {
			if v != 0 {
				return true
			}
		}
	}
	return false
}

// ---- charts used by the pages ----

func volumeChart(id string, v *metrics.Volume) *Chart {
	title, note := "Created vs resolved", "tickets per "+intervalName(v.Interval)
	created, resolved := make([]int64, len(v.Points)), make([]int64, len(v.Points))
	pts := make([]metrics.Point, len(v.Points))
	for i, p := range v.Points {
		created[i], resolved[i], pts[i] = p.Created, p.Resolved, p.Point
	}
	if !anyNonZero(created, resolved) {
		return emptyChart(id, title, note)
	}
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(id, "300px"), yAxis("tickets"), categoryX("", timeLabels(pts, v.Interval), 0))...)
	c.SetXAxis(timeLabels(pts, v.Interval)).
		AddSeries("Created", barData(created), barStyle("created", "")...).
		AddSeries("Resolved", barData(resolved), barStyle("resolved", "")...)
	return finish(c, id, title, note)
}

func backlogChart(id string, b *metrics.Backlog) *Chart {
	title, note := "Backlog", "unresolved tickets at the end of each "+intervalName(b.Interval)
	vals := make([]float64, len(b.Points))
	pts := make([]metrics.Point, len(b.Points))
	any := false
	for i, p := range b.Points {
		vals[i], pts[i] = float64(p.Backlog), p.Point
		any = any || p.Backlog != 0
	}
	if !any {
		return emptyChart(id, title, note)
	}
	c := charts.NewLine()
	c.SetGlobalOptions(append(common(id, "300px"), yAxis("tickets"), categoryX("", timeLabels(pts, b.Interval), 0))...)
	c.SetXAxis(timeLabels(pts, b.Interval)).AddSeries("Backlog", lineData(vals),
		append(lineStyle("backlog"), charts.WithAreaStyleOpts(opts.AreaStyle{Color: colors["backlog"], Opacity: opts.Float(0.15)}))...)
	return finish(c, id, title, note)
}

func slaComplianceChart(id string, s *metrics.SLASeries) *Chart {
	title, note := "SLA compliance", "% of targets decided in each "+intervalName(s.Interval)+" that were met"
	fr, res := make([]*float64, len(s.Points)), make([]*float64, len(s.Points))
	pts := make([]metrics.Point, len(s.Points))
	any := false
	for i, p := range s.Points {
		fr[i], res[i], pts[i] = p.FirstResponse.CompliancePct, p.Resolution.CompliancePct, p.Point
		any = any || fr[i] != nil || res[i] != nil
	}
	if !any {
		return emptyChart(id, title, note)
	}
	c := charts.NewLine()
	c.SetGlobalOptions(append(common(id, "300px"),
		charts.WithYAxisOpts(opts.YAxis{Name: "% met", Type: "value", Min: 0, Max: 100,
			AxisLabel: &opts.AxisLabel{Formatter: "{value} %"}}),
		categoryX("", timeLabels(pts, s.Interval), 0),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", ValueFormatter: jsFormatter("pct")}),
	)...)
	c.SetXAxis(timeLabels(pts, s.Interval)).
		AddSeries("First response", nullableLine(fr), append(lineStyle("first_response"), charts.WithLineChartOpts(opts.LineChart{ConnectNulls: opts.Bool(true), ShowSymbol: opts.Bool(false)}))...).
		AddSeries("Resolution", nullableLine(res), append(lineStyle("resolution"), charts.WithLineChartOpts(opts.LineChart{ConnectNulls: opts.Bool(true), ShowSymbol: opts.Bool(false)}))...)
	return finish(c, id, title, note)
}

// breachesChart is a horizontal stacked bar: breaches of each target per
// value of a dimension.
func breachesChart(id, title, note string, keys []string, fr, res []int64, rows int) *Chart {
	if !anyNonZero(fr, res) {
		return emptyChart(id, title, note)
	}
	c := charts.NewBar()
	h := fmt.Sprintf("%dpx", 100+32*max(rows, len(keys)))
	c.SetGlobalOptions(append(common(id, h),
		charts.WithXAxisOpts(opts.XAxis{Name: "breaches", NameLocation: "middle", NameGap: 26, Type: "value", MinInterval: 1}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: keys, Inverse: opts.Bool(true)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", AxisPointer: &opts.AxisPointer{Type: "shadow"}}),
		setGrid(opts.Grid{Left: "8", Right: "24", Top: "36", Bottom: "40", ContainLabel: opts.Bool(true)}),
	)...)
	c.SetXAxis(keys).
		AddSeries("First response", barData(fr), barStyle("first_response", "b")...).
		AddSeries("Resolution", barData(res), barStyle("resolution", "b")...)
	c.XYReversal()
	return finish(c, id, title, note)
}

// histogramChart draws duration bins (labels in human units).
func histogramChart(id, title, note, key string, h *metrics.Histogram) *Chart {
	if h == nil || !anyNonZero(h.Counts) {
		return emptyChart(id, title, note)
	}
	labels := make([]string, len(h.Edges))
	for i, lo := range h.Edges {
		if i+1 < len(h.Edges) {
			labels[i] = "< " + humanDur(h.Edges[i+1])
		} else {
			labels[i] = "≥ " + humanDur(lo)
		}
	}
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(id, "280px"), yAxis("tickets"), categoryX("time taken", labels, 0),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		setGrid(opts.Grid{Left: "8", Right: "24", Top: "36", Bottom: "30", ContainLabel: opts.Bool(true)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", AxisPointer: &opts.AxisPointer{Type: "shadow"}}),
	)...)
	c.SetXAxis(labels).AddSeries("Tickets", barData(h.Counts),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colors[key]}),
		charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "8%"}))
	return finish(c, id, title, note)
}

func csatTrendChart(id string, s *metrics.CSATSeries) *Chart {
	title, note := "CSAT score over time", "% of ratings that are 4 or 5, per "+intervalName(s.Interval)
	score := make([]*float64, len(s.Points))
	resp := make([]int64, len(s.Points))
	pts := make([]metrics.Point, len(s.Points))
	for i, p := range s.Points {
		score[i], resp[i], pts[i] = p.ScorePct, p.Responses, p.Point
	}
	if !anyNonZero(resp) {
		return emptyChart(id, title, note)
	}
	c := charts.NewLine()
	c.SetGlobalOptions(append(common(id, "300px"),
		charts.WithYAxisOpts(opts.YAxis{Name: "% satisfied", Type: "value", Min: 0, Max: 100, AxisLabel: &opts.AxisLabel{Formatter: "{value} %"}}),
		categoryX("", timeLabels(pts, s.Interval), 0),
	)...)
	c.SetXAxis(timeLabels(pts, s.Interval)).
		AddSeries("CSAT score", nullableLine(score), append(lineStyle("csat"), charts.WithLineChartOpts(opts.LineChart{ConnectNulls: opts.Bool(true), ShowSymbol: opts.Bool(false)}))...)
	return finish(c, id, title, note)
}

func scoresChart(id string, d *metrics.CSATDetail) *Chart {
	title, note := "Distribution of scores", "ratings by score (1 = very unhappy, 5 = very happy)"
	if d == nil || !anyNonZero(d.Scores[:]) {
		return emptyChart(id, title, note)
	}
	shades := []string{"#e15759", "#f28e2b", "#bab0ac", "#8cd17d", "#59a14f"}
	labels := []string{"1", "2", "3", "4", "5"}
	data := make([]opts.BarData, 5)
	for i, n := range d.Scores {
		data[i] = opts.BarData{Value: n, ItemStyle: &opts.ItemStyle{Color: shades[i]}}
	}
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(id, "300px"), yAxis("ratings"), categoryX("score", labels, 0),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		setGrid(opts.Grid{Left: "8", Right: "24", Top: "36", Bottom: "30", ContainLabel: opts.Bool(true)}),
	)...)
	c.SetXAxis(labels).AddSeries("Ratings", data, charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "25%"}))
	return finish(c, id, title, note)
}

// pctBarChart is a horizontal bar of a percentage per key (CSAT % by team).
func pctBarChart(id, title, note, key string, keys []string, vals []*float64) *Chart {
	var ks []string
	var data []opts.BarData
	for i, v := range vals {
		if v != nil {
			ks = append(ks, keys[i])
			data = append(data, opts.BarData{Value: *v})
		}
	}
	if len(data) == 0 {
		return emptyChart(id, title, note)
	}
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(id, fmt.Sprintf("%dpx", 70+26*len(ks))),
		charts.WithXAxisOpts(opts.XAxis{Name: "% satisfied", NameLocation: "middle", NameGap: 26, Type: "value", Min: 0, Max: 100}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: ks, Inverse: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		setGrid(opts.Grid{Left: "8", Right: "60", Top: "8", Bottom: "40", ContainLabel: opts.Bool(true)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", AxisPointer: &opts.AxisPointer{Type: "shadow"}}),
	)...)
	c.SetXAxis(ks).AddSeries("CSAT score %", data,
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colors[key]}),
		charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right", Formatter: string(jsFormatter("pctLabel"))}),
		charts.WithBarChartOpts(opts.BarChart{BarWidth: "60%"}))
	c.XYReversal()
	return finish(c, id, title, note)
}

// countBarChart is a horizontal bar of counts per key; keyColors may name
// a colour per key (priorities), else all bars have the colour of series.
func countBarChart(id, title, note, axis, series string, keys []string, vals []int64, keyColors bool) *Chart {
	if !anyNonZero(vals) {
		return emptyChart(id, title, note)
	}
	data := make([]opts.BarData, len(vals))
	for i, v := range vals {
		col := colors[series]
		if keyColors && colors[keys[i]] != "" {
			col = colors[keys[i]]
		}
		data[i] = opts.BarData{Value: v, ItemStyle: &opts.ItemStyle{Color: col}}
	}
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(id, fmt.Sprintf("%dpx", 70+24*len(keys))),
		charts.WithXAxisOpts(opts.XAxis{Name: axis, NameLocation: "middle", NameGap: 26, Type: "value", MinInterval: 1}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: keys, Inverse: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		setGrid(opts.Grid{Left: "8", Right: "48", Top: "8", Bottom: "40", ContainLabel: opts.Bool(true)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", AxisPointer: &opts.AxisPointer{Type: "shadow"}}),
	)...)
	c.SetXAxis(keys).AddSeries(axis, data,
		charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right"}),
		charts.WithBarChartOpts(opts.BarChart{BarWidth: "60%"}))
	c.XYReversal()
	return finish(c, id, title, note)
}

// columnChart is a vertical bar of counts per key, for many keys (categories).
func columnChart(id, title, note, axis, series string, keys []string, vals []int64) *Chart {
	if !anyNonZero(vals) {
		return emptyChart(id, title, note)
	}
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(id, "320px"), yAxis(axis), categoryX("", keys, 35),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		setGrid(opts.Grid{Left: "8", Right: "24", Top: "36", Bottom: "8", ContainLabel: opts.Bool(true)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", AxisPointer: &opts.AxisPointer{Type: "shadow"}}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: keys, AxisLabel: &opts.AxisLabel{Interval: "0", Rotate: 35}}),
	)...)
	c.SetXAxis(keys).AddSeries(axis, barData(vals), charts.WithItemStyleOpts(opts.ItemStyle{Color: colors[series]}),
		charts.WithBarChartOpts(opts.BarChart{BarCategoryGap: "30%"}))
	return finish(c, id, title, note)
}

func heatmapChart(id string, h *metrics.Heatmap) *Chart {
	title, note := "Tickets created by weekday and hour", "local time of the selected zone"
	var data []opts.HeatMapData
	var maxV int64
	for d, row := range h.Cells {
		for hr, n := range row {
			data = append(data, opts.HeatMapData{Value: [3]any{hr, d, n}})
			maxV = max(maxV, n)
		}
	}
	if maxV == 0 {
		return emptyChart(id, title, note)
	}
	hours := make([]string, 24)
	for i := range hours {
		hours[i] = fmt.Sprintf("%02d", i)
	}
	days := make([]string, len(h.Weekdays))
	for i, d := range h.Weekdays {
		days[i] = strings.ToUpper(d[:1]) + d[1:min(3, len(d))]
	}
	c := charts.NewHeatMap()
	c.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, AssetsHost: assetsHost, Width: "100%", Height: "340px", Renderer: "canvas"}),
		charts.WithAnimation(false),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		setGrid(opts.Grid{Left: "8", Right: "24", Top: "8", Bottom: "70", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Name: "hour of day", NameLocation: "middle", NameGap: 26, Type: "category", Data: hours, SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: days, Inverse: opts.Bool(true), SplitArea: &opts.SplitArea{Show: opts.Bool(true)}}),
		charts.WithVisualMapOpts(opts.VisualMap{Calculable: opts.Bool(true), Min: 0, Max: float32(maxV), Orient: "horizontal", Left: "center", Bottom: "0",
			Text: []string{"more tickets", "fewer"}, InRange: &opts.VisualMapInRange{Color: []string{"#f1f5fb", "#4e79a7", "#1f3a5f"}}}),
	)
	c.SetXAxis(hours).AddSeries("Tickets created", data)
	return finish(c, id, title, note)
}

// since formats how long ago or how far ahead t is from now.
func until(t, now time.Time) string {
	return humanDur(t.Sub(now).Minutes())
}

// setGrid replaces the grid (charts.WithGridOpts appends a second one,
// which ECharts would ignore for the series).
func setGrid(g opts.Grid) charts.GlobalOpts {
	return func(bc *charts.BaseConfiguration) { bc.GridList = []opts.Grid{g} }
}
