package dashboards

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
)

// Tile is a KPI of the overview with its change vs the previous period.
type Tile struct {
	Label, Value, Hint string
	Delta              string // "+12 %", "-3.1 pt", "" when not comparable
	Arrow              string // ▲ ▼ or ""
	Tone               string // good, bad or flat
	Previous           string
}

// tone says whether a change is good: better is +1 when up is good, -1
// when down is good, 0 when neither.
func tone(diff float64, better int) string {
	switch {
	case diff == 0 || better == 0:
		return "flat"
	case (diff > 0) == (better > 0):
		return "good"
	}
	return "bad"
}

func arrow(diff float64) string {
	switch {
	case diff > 0:
		return "▲"
	case diff < 0:
		return "▼"
	}
	return "="
}

// countTile compares counts as a relative change.
func countTile(label, hint string, cur, prev int64, better int) Tile {
	t := Tile{Label: label, Hint: hint, Value: count(cur), Previous: count(prev)}
	diff := float64(cur - prev)
	t.Arrow, t.Tone = arrow(diff), tone(diff, better)
	if prev != 0 {
		t.Delta = fmt.Sprintf("%+.0f %%", diff*100/float64(prev))
	} else if cur != 0 {
		t.Delta = "new"
	}
	return t
}

// durationTile compares medians (minutes) as a relative change.
func durationTile(label, hint string, cur, prev *float64) Tile {
	t := Tile{Label: label, Hint: hint, Value: humanMinutes(cur), Previous: humanMinutes(prev), Tone: "flat"}
	if cur != nil && prev != nil && *prev != 0 {
		diff := *cur - *prev
		t.Arrow, t.Tone = arrow(diff), tone(diff, -1)
		t.Delta = fmt.Sprintf("%+.0f %%", diff*100 / *prev)
	}
	return t
}

// pctTile compares percentages in points.
func pctTile(label, hint string, cur, prev *float64) Tile {
	t := Tile{Label: label, Hint: hint, Value: percent(cur), Previous: percent(prev), Tone: "flat"}
	if cur != nil && prev != nil {
		diff := math.Round((*cur-*prev)*10) / 10
		t.Arrow, t.Tone = arrow(diff), tone(diff, 1)
		t.Delta = fmt.Sprintf("%+.1f pt", diff)
	}
	return t
}

func chartBlock(c *Chart, wide bool) Block { return Block{Kind: "chart", Chart: c, Wide: wide} }
func third(c *Chart) Block                 { return Block{Kind: "chart", Chart: c, Third: true} }

func (d *Dashboards) overview(ctx context.Context, v *View) error {
	q := v.Filter.Query()
	var sum *metrics.Summary
	var vol *metrics.Volume
	var bl *metrics.Backlog
	var ss *metrics.SelfService
	g := newGroup()
	g.Go(func() (err error) { sum, err = d.m.Summary(ctx, q); return })
	// Knowledge-base events belong to no ticket: the range only.
	g.Go(func() (err error) {
		ss, err = d.m.SelfService(ctx, metrics.Query{From: q.From, To: q.To, TZ: q.TZ, AsOf: q.AsOf})
		return
	})
	g.Go(func() (err error) { vol, err = series[*metrics.Volume](ctx, d.m, "volume", q); return })
	g.Go(func() (err error) { bl, err = series[*metrics.Backlog](ctx, d.m, "backlog", q); return })
	if err := g.Wait(); err != nil {
		return err
	}
	c, p := sum.Figures, sum.Previous.Figures
	v.Tiles = []Tile{
		countTile("Created", "tickets created in the range", c.TicketsCreated, p.TicketsCreated, 0),
		countTile("Resolved", "distinct tickets resolved in the range", c.TicketsResolved, p.TicketsResolved, 1),
		countTile("Backlog", "unresolved at the end of the range", c.Backlog, p.Backlog, -1),
		durationTile("Median first response", "created to the first public agent reply", c.FirstResponseMinutes.P50, p.FirstResponseMinutes.P50),
		durationTile("Median resolution", "created to the last resolution", c.ResolutionMinutes.P50, p.ResolutionMinutes.P50),
		pctTile("SLA first response", "% of first-response targets met", c.SLA.FirstResponse.CompliancePct, p.SLA.FirstResponse.CompliancePct),
		pctTile("SLA resolution", "% of resolution targets met", c.SLA.Resolution.CompliancePct, p.SLA.Resolution.CompliancePct),
		pctTile("CSAT", "% of ratings that are 4 or 5", c.CSAT.ScorePct, p.CSAT.ScorePct),
	}
	prevLabel := sum.Previous.From.In(v.Filter.loc).Format("2 Jan") + " – " + sum.Previous.To.In(v.Filter.loc).Add(-time.Nanosecond).Format("2 Jan 2006")
	for i := range v.Tiles {
		v.Tiles[i].Previous = "previous period (" + prevLabel + "): " + v.Tiles[i].Previous
	}
	v.Blocks = []Block{
		chartBlock(volumeChart("overview_volume", vol), true),
		chartBlock(backlogChart("overview_backlog", bl), true),
	}
	v.Blocks = append(v.Blocks, selfServiceBlocks(ss)...)
	return nil
}

// selfServiceBlocks is the overview's self-service panel (docs/metrics.md,
// Self-service): what became of the web form's visits that showed
// suggestions, and the most useful articles. Left out while the knowledge
// base has no activity in the range.
func selfServiceBlocks(ss *metrics.SelfService) []Block {
	if ss.FormSessions == 0 && ss.ArticleViews == 0 && ss.Searches == 0 {
		return nil
	}
	note := "web form visits that showed suggested articles; not filtered by team, agent or ticket fields"
	if ss.DeflectionRatePct != nil {
		note = "deflection " + percent(ss.DeflectionRatePct) + ": " + note
	}
	visits := countBarChart("overview_selfservice", "Self-service", note, "form visits", "resolved",
		[]string{"Deflected (read an article, no ticket)", "Left without reading", "Became a ticket", "Open or no sign yet"},
		[]int64{ss.Deflected, ss.Abandoned - ss.Deflected, ss.Submitted, ss.FormSessions - ss.Abandoned - ss.Submitted}, false)
	var titles []string
	var views []int64
	for _, a := range ss.TopArticles {
		title := a.Title
		if title == "" {
			title = "(deleted article)"
		}
		titles = append(titles, fmt.Sprintf("%s (%d helpful of %d votes)", title, a.Helpful, a.Helpful+a.NotHelpful))
		views = append(views, a.Views)
	}
	articles := countBarChart("overview_articles", "Most useful articles", "views in the range, most helpful votes first", "views", "created", titles, views, false)
	return []Block{chartBlock(visits, false), chartBlock(articles, false)}
}

// histogram edges in minutes: first response and resolution.
var (
	frEdges  = []float64{0, 15, 30, 60, 120, 240, 480, 1440, 2880}
	resEdges = []float64{0, 60, 240, 480, 1440, 2880, 4320, 7200, 10080, 20160}
)

// RiskRow is one ticket at risk.
type RiskRow struct {
	Number           int64
	Link, Subject    string
	Target, Policy   string
	Priority, Team   string
	Assignee, Status string
	DueIn, DueAt     string
	Urgent           bool
}

func (d *Dashboards) sla(ctx context.Context, v *View) error {
	q := v.Filter.Query()
	var comp *metrics.SLASeries
	var risk []metrics.AtRiskTarget
	var frH, resH *metrics.Histogram
	priorities := q.Priority
	if len(priorities) == 0 {
		for _, p := range model.Priorities {
			priorities = append(priorities, string(p))
		}
	}
	var teams []string
	if len(q.Team) > 0 {
		teams = q.Team
	} else {
		for _, t := range v.Options.Teams {
			teams = append(teams, t.Value)
		}
	}
	prioFR, prioRes := make([]int64, len(priorities)), make([]int64, len(priorities))
	teamFR, teamRes := make([]int64, len(teams)), make([]int64, len(teams))
	g := newGroup()
	g.Go(func() (err error) { comp, err = series[*metrics.SLASeries](ctx, d.m, "sla_compliance", q); return })
	g.Go(func() (err error) { risk, err = d.m.AtRisk(ctx, q, 12); return })
	g.Go(func() (err error) {
		frH, err = d.m.DurationHistogram(ctx, q, "first_response_minutes", frEdges)
		return
	})
	g.Go(func() (err error) { resH, err = d.m.DurationHistogram(ctx, q, "resolution_minutes", resEdges); return })
	// Breaches per priority and per team: the compliance series of the
	// range under one more filter each (one bucket is enough).
	breaches := func(sub metrics.Query, fr, res *int64) func() error {
		return func() error {
			sub.Interval = "month"
			s, err := series[*metrics.SLASeries](ctx, d.m, "sla_compliance", sub)
			if err != nil {
				return err
			}
			for _, p := range s.Points {
				*fr += p.FirstResponse.Breached
				*res += p.Resolution.Breached
			}
			return nil
		}
	}
	for i, p := range priorities {
		sub := q
		sub.Priority = []string{p}
		g.Go(breaches(sub, &prioFR[i], &prioRes[i]))
	}
	for i, t := range teams {
		sub := q
		sub.Team = []string{t}
		g.Go(breaches(sub, &teamFR[i], &teamRes[i]))
	}
	if err := g.Wait(); err != nil {
		return err
	}
	now := d.now()
	var rows []RiskRow
	for _, r := range risk {
		row := RiskRow{Target: targetName(r.Target), Policy: r.Policy, Priority: r.Priority, Team: r.Team,
			Assignee: v.Options.AgentName(r.Assignee), Status: r.Status,
			DueIn: until(r.DueAt, now), DueAt: r.DueAt.In(v.Filter.loc).Format("Mon 2 Jan 15:04"),
			Urgent: r.DueAt.Sub(now) < time.Hour, Link: "/tickets/" + r.TicketID}
		if t, err := d.st.Ticket(ctx, r.TicketID); err == nil {
			row.Number, row.Subject = t.Number, t.Subject
			row.Link = "/tickets/" + strconv.FormatInt(t.Number, 10)
		}
		rows = append(rows, row)
	}
	v.Blocks = []Block{
		chartBlock(slaComplianceChart("sla_compliance", comp), true),
		{Kind: "risk", Wide: true, Risk: rows, Title: "Tickets at risk now",
			Note: "SLA targets still running, least time left first (paused tickets are not at risk)"},
		chartBlock(breachesChart("sla_breaches_priority", "Breaches by priority", "SLA targets missed in the range", priorities, prioFR, prioRes, len(teams)), false),
		chartBlock(breachesChart("sla_breaches_team", "Breaches by team", "SLA targets missed in the range", teams, teamFR, teamRes, len(priorities)), false),
		chartBlock(histogramChart("sla_first_response_hist", "First response times", "tickets by time to the first public agent reply (calendar time)", "first_response", frH), false),
		chartBlock(histogramChart("sla_resolution_hist", "Resolution times", "tickets by time to the last resolution (calendar time)", "resolution", resH), false),
	}
	return nil
}

func targetName(t string) string {
	if t == "first_response" {
		return "First response"
	}
	return "Resolution"
}

// CommentRow is one CSAT comment.
type CommentRow struct {
	Number   int64
	Link     string
	Score    int64
	Comment  string
	Team     string
	Assignee string
	At       string
}

func (d *Dashboards) csat(ctx context.Context, v *View) error {
	q := v.Filter.Query()
	var trend *metrics.CSATSeries
	var det *metrics.CSATDetail
	var byTeam, byAgent *metrics.Breakdown
	g := newGroup()
	g.Go(func() (err error) { trend, err = series[*metrics.CSATSeries](ctx, d.m, "csat", q); return })
	g.Go(func() (err error) { det, err = d.m.CSATRatings(ctx, q, 8); return })
	g.Go(func() (err error) { byTeam, err = series[*metrics.Breakdown](ctx, d.m, "by_team", q); return })
	g.Go(func() (err error) { byAgent, err = series[*metrics.Breakdown](ctx, d.m, "by_agent", q); return })
	if err := g.Wait(); err != nil {
		return err
	}
	teamKeys, teamVals := breakdownPct(byTeam, func(k string) string { return orNone(k, "(no team)") })
	agentKeys, agentVals := breakdownPct(byAgent, v.Options.AgentName)
	var comments []CommentRow
	for _, c := range det.Comments {
		row := CommentRow{Score: c.Score, Comment: c.Comment, Team: c.Team, Assignee: v.Options.AgentName(c.Assignee),
			At: c.At.In(v.Filter.loc).Format("2 Jan 15:04"), Link: "/tickets/" + c.TicketID}
		if t, err := d.st.Ticket(ctx, c.TicketID); err == nil {
			row.Number = t.Number
			row.Link = "/tickets/" + strconv.FormatInt(t.Number, 10)
		}
		comments = append(comments, row)
	}
	v.Blocks = []Block{
		chartBlock(csatTrendChart("csat_trend", trend), false),
		chartBlock(scoresChart("csat_scores", det), false),
		chartBlock(pctBarChart("csat_by_team", "CSAT by team", "% of ratings that are 4 or 5", "csat", teamKeys, teamVals), false),
		chartBlock(pctBarChart("csat_by_agent", "CSAT by agent", "% of ratings that are 4 or 5", "csat", agentKeys, agentVals), false),
		{Kind: "comments", Wide: true, Comments: comments, Title: "Latest comments", Note: "ratings with a comment in the range, newest first"},
	}
	return nil
}

func orNone(k, none string) string {
	if k == "" {
		return none
	}
	return k
}

// breakdownPct lists the CSAT % of the rows that have one, best first.
func breakdownPct(b *metrics.Breakdown, name func(string) string) ([]string, []*float64) {
	rows := slices.Clone(b.Rows)
	rows = slices.DeleteFunc(rows, func(r metrics.BreakdownRow) bool { return r.CSATScorePct == nil })
	slices.SortStableFunc(rows, func(a, b metrics.BreakdownRow) int {
		switch {
		case *a.CSATScorePct > *b.CSATScorePct:
			return -1
		case *a.CSATScorePct < *b.CSATScorePct:
			return 1
		}
		return 0
	})
	keys, vals := make([]string, len(rows)), make([]*float64, len(rows))
	for i, r := range rows {
		keys[i], vals[i] = name(r.Key), r.CSATScorePct
	}
	return keys, vals
}

// created lists each row's tickets created, most first.
func created(b *metrics.Breakdown, name func(string) string, order []string) ([]string, []int64) {
	rows := slices.Clone(b.Rows)
	if order != nil {
		slices.SortStableFunc(rows, func(a, b metrics.BreakdownRow) int { return slices.Index(order, a.Key) - slices.Index(order, b.Key) })
	} else {
		slices.SortStableFunc(rows, func(a, b metrics.BreakdownRow) int { return int(b.TicketsCreated - a.TicketsCreated) })
	}
	keys, vals := make([]string, len(rows)), make([]int64, len(rows))
	for i, r := range rows {
		keys[i], vals[i] = name(r.Key), r.TicketsCreated
	}
	return keys, vals
}

func (d *Dashboards) volume(ctx context.Context, v *View) error {
	q := v.Filter.Query()
	var channel, category, priority, typ *metrics.Breakdown
	var heat *metrics.Heatmap
	g := newGroup()
	g.Go(func() (err error) { channel, err = series[*metrics.Breakdown](ctx, d.m, "by_channel", q); return })
	g.Go(func() (err error) { category, err = series[*metrics.Breakdown](ctx, d.m, "by_category", q); return })
	g.Go(func() (err error) { priority, err = series[*metrics.Breakdown](ctx, d.m, "by_priority", q); return })
	g.Go(func() (err error) { typ, err = series[*metrics.Breakdown](ctx, d.m, "by_type", q); return })
	g.Go(func() (err error) { heat, err = series[*metrics.Heatmap](ctx, d.m, "created_heatmap", q); return })
	if err := g.Wait(); err != nil {
		return err
	}
	var prioOrder []string
	for _, p := range slices.Backward(model.Priorities) {
		prioOrder = append(prioOrder, string(p))
	}
	label := func(k string) string { return orNone(k, "(none)") }
	typeLabel := func(k string) string { return orNone(humanize(k), "(none)") }
	ck, cv := created(channel, label, nil)
	kk, kv := created(category, label, nil)
	pk, pv := created(priority, label, prioOrder)
	tk, tv := created(typ, typeLabel, nil)
	v.Blocks = []Block{
		chartBlock(heatmapChart("volume_heatmap", heat), true),
		third(countBarChart("volume_channel", "By channel", "tickets created in the range", "tickets", "created", ck, cv, false)),
		third(countBarChart("volume_priority", "By priority", "tickets created in the range (current priority)", "tickets", "created", pk, pv, true)),
		third(countBarChart("volume_type", "By type", "tickets created in the range", "tickets", "created", tk, tv, false)),
		chartBlock(columnChart("volume_category", "By category", "tickets created in the range (current category)", "tickets", "created", kk, kv), true),
	}
	return nil
}

func humanize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = ' '
		}
	}
	if len(b) > 0 && b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// TableRow is a row of the agent or team table; Sort holds the sortable
// values (numbers as strings, "" for none) in column order.
type TableRow struct {
	Name  string
	Cells []Cell
}

// Cell is one table cell: its text and the value it sorts by.
type Cell struct {
	Text string
	Sort string
}

func num(n int64) Cell { return Cell{count(n), strconv.FormatInt(n, 10)} }
func dur(p *float64) Cell {
	if p == nil {
		return Cell{"–", ""}
	}
	return Cell{humanDur(*p), strconv.FormatFloat(*p, 'f', 2, 64)}
}
func pctCell(p *float64) Cell {
	if p == nil {
		return Cell{"–", ""}
	}
	return Cell{percent(p), strconv.FormatFloat(*p, 'f', 2, 64)}
}

// TableColumns are the columns of the agent and team tables after the name.
var TableColumns = []string{"Open now", "Assigned", "Resolved", "Median first response", "Median resolution", "SLA %", "CSAT %", "Reopens"}

func tableRows(b *metrics.Breakdown, open map[string]int64, name func(string) string) []TableRow {
	var rows []TableRow
	for _, r := range b.Rows {
		rows = append(rows, TableRow{Name: name(r.Key), Cells: []Cell{
			num(open[r.Key]), num(r.TicketsAssigned), num(r.TicketsResolved), dur(r.FirstResponseMedian), dur(r.ResolutionMedian),
			pctCell(r.SLACompliancePct), pctCell(r.CSATScorePct), num(r.Reopens)}})
	}
	slices.SortStableFunc(rows, func(a, b TableRow) int { return compare(a.Name, b.Name) })
	return rows
}

func (d *Dashboards) agents(ctx context.Context, v *View) error {
	q := v.Filter.Query()
	// "now": today's range, whose backlog is the open tickets at this instant.
	n := d.now().In(v.Filter.loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, v.Filter.loc)
	now := q
	now.From, now.To, now.Interval = today, today.AddDate(0, 0, 1), "day"
	var agents, teams, agentsNow, teamsNow *metrics.Breakdown
	g := newGroup()
	g.Go(func() (err error) { agents, err = series[*metrics.Breakdown](ctx, d.m, "agents", q); return })
	g.Go(func() (err error) { teams, err = series[*metrics.Breakdown](ctx, d.m, "by_team", q); return })
	g.Go(func() (err error) { agentsNow, err = series[*metrics.Breakdown](ctx, d.m, "agents", now); return })
	g.Go(func() (err error) { teamsNow, err = series[*metrics.Breakdown](ctx, d.m, "by_team", now); return })
	if err := g.Wait(); err != nil {
		return err
	}
	openAgent, openTeam := map[string]int64{}, map[string]int64{}
	for _, r := range agentsNow.Rows {
		openAgent[r.Key] = r.Backlog
	}
	for _, r := range teamsNow.Rows {
		openTeam[r.Key] = r.Backlog
	}
	// workload: open tickets per agent now, most first
	wl := slices.Clone(agentsNow.Rows)
	wl = slices.DeleteFunc(wl, func(r metrics.BreakdownRow) bool { return r.Backlog == 0 })
	slices.SortStableFunc(wl, func(a, b metrics.BreakdownRow) int { return int(b.Backlog - a.Backlog) })
	keys, vals := make([]string, len(wl)), make([]int64, len(wl))
	for i, r := range wl {
		keys[i], vals[i] = v.Options.AgentName(r.Key), r.Backlog
	}
	wlChart := countBarChart("agents_workload", "Workload now", "open tickets per assignee at this moment", "open tickets", "backlog", keys, vals, false)
	if wlChart.Empty != "" {
		wlChart.Empty = "No open tickets right now"
	}
	v.Blocks = []Block{
		{Kind: "agents", Wide: true, Title: "Agents", Note: "click a column to sort; assigned, resolved and medians are in the range, open is now",
			Rows: tableRows(agents, openAgent, v.Options.AgentName)},
		{Kind: "teams", Wide: true, Title: "Teams", Note: "click a column to sort",
			Rows: tableRows(teams, openTeam, func(k string) string { return orNone(k, "(no team)") })},
		chartBlock(wlChart, true),
	}
	return nil
}
