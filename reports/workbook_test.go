package reports

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"

	"github.com/xuri/excelize/v2"

	"github.com/deskpulse/deskpulse/metrics"
)

func testQuery(t testing.TB, e *env, v url.Values) metrics.Query {
	t.Helper()
	q, err := metrics.ParseQuery(v, e.eng.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func writeTestWorkbook(t testing.TB, e *env, q metrics.Query) (string, *Info) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.xlsx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := WriteWorkbook(context.Background(), e.eng, q, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("DESKPULSE_KEEP_WORKBOOK"); dir != "" { // to look at it
		data, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(dir, t.Name()+".xlsx"), data, 0o644)
	}
	return path, info
}

// kpiValues reads Summary's KPI table: label -> [this, previous] cells as
// excelize reads them raw.
func kpiValues(t testing.TB, f *excelize.File) map[string][2]string {
	t.Helper()
	rows, err := f.GetRows("Summary", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]string{}
	in := false
	for _, r := range rows {
		if len(r) > 0 && r[0] == "KPI" {
			in = true
			continue
		}
		if in && len(r) >= 1 && r[0] != "" {
			var v [2]string
			if len(r) > 1 {
				v[0] = r[1]
			}
			if len(r) > 2 {
				v[1] = r[2]
			}
			out[r[0]] = v
		}
	}
	return out
}

func num(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return v
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

// checkSummarySheet compares Summary's KPIs with the metrics summary.
func checkSummarySheet(t testing.TB, f *excelize.File, sum *metrics.Summary) {
	t.Helper()
	got := kpiValues(t, f)
	checks := []struct {
		label     string
		cur, prev *float64
		scale     float64
	}{
		{"Tickets created", count(sum.TicketsCreated), count(sum.Previous.TicketsCreated), 1},
		{"Tickets resolved", count(sum.TicketsResolved), count(sum.Previous.TicketsResolved), 1},
		{"Backlog at end of period", count(sum.Backlog), count(sum.Previous.Backlog), 1},
		{"First response, median", sum.FirstResponseMinutes.P50, sum.Previous.FirstResponseMinutes.P50, 1.0 / 1440},
		{"Full resolution, median (business hours)", sum.ResolutionMinutes.Business.P50, sum.Previous.ResolutionMinutes.Business.P50, 1.0 / 1440},
		{"SLA first response met", sum.SLA.FirstResponse.CompliancePct, sum.Previous.SLA.FirstResponse.CompliancePct, 0.01},
		{"SLA resolution met", sum.SLA.Resolution.CompliancePct, sum.Previous.SLA.Resolution.CompliancePct, 0.01},
		{"SLA resolution breached", count(sum.SLA.Resolution.Breached), count(sum.Previous.SLA.Resolution.Breached), 1},
		{"CSAT score", sum.CSAT.ScorePct, sum.Previous.CSAT.ScorePct, 0.01},
		{"One-touch resolution", sum.OneTouchPct, sum.Previous.OneTouchPct, 0.01},
	}
	for _, c := range checks {
		v, ok := got[c.label]
		if !ok {
			t.Errorf("Summary has no KPI %q", c.label)
			continue
		}
		for i, want := range []*float64{c.cur, c.prev} {
			if want == nil {
				if v[i] != "" {
					t.Errorf("%s[%d] = %q, want empty", c.label, i, v[i])
				}
				continue
			}
			if g := num(t, v[i]); !near(g, *want*c.scale) {
				t.Errorf("%s[%d] = %v, want %v", c.label, i, g, *want*c.scale)
			}
		}
	}
}

func TestWorkbookMatchesSummary(t *testing.T) {
	e := newEnv(t)
	q := testQuery(t, e, url.Values{"from": {"2026-03-01"}, "to": {"2026-04-01"}})
	path, info := writeTestWorkbook(t, e, q)
	sum, err := e.eng.Summary(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantSheets := []string{"Summary", "Daily", "Tickets", "SLA", "Agents", "Teams", "Events"}
	if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(wantSheets, ",") {
		t.Fatalf("sheets %v, want %v", got, wantSheets)
	}
	checkSummarySheet(t, f, sum)

	// Tickets: one row per ticket created in range, oldest first, real dates in Berlin time.
	rows, err := f.GetRows("Tickets", excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)-1) != sum.TicketsCreated || info.Tickets != sum.TicketsCreated || sum.TicketsCreated < 100 {
		t.Fatalf("Tickets has %d rows, info %d, summary created %d", len(rows)-1, info.Tickets, sum.TicketsCreated)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	first := num(t, rows[1][col["Created"]])
	lo, hi := excelTime(q.From, q.TZ), excelTime(q.To, q.TZ)
	if first < lo || first >= hi {
		t.Fatalf("first Created %v not within [%v, %v)", first, lo, hi)
	}
	if excelTime(q.From, q.TZ) != 46082 { // 2026-03-01 local midnight is the serial of 2026-03-01
		t.Fatalf("2026-03-01 00:00 Berlin is serial %v", excelTime(q.From, q.TZ))
	}
	styleOf := func(sheet, cell string) *excelize.Style {
		id, err := f.GetCellStyle(sheet, cell)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := styleOf("Tickets", cellName(col["Created"]+1, 2)); st.CustomNumFmt == nil || *st.CustomNumFmt != "yyyy-mm-dd hh:mm" {
		t.Fatalf("Created is not formatted as a date: %+v", st)
	}
	// durations: Excel days with [h]:mm; breached SLA cells highlighted.
	var sawDur, sawBreach bool
	var breachedRes int
	for i, r := range rows[1:] {
		if c := col["First response"]; c < len(r) && r[c] != "" && !sawDur {
			sawDur = true
			if st := styleOf("Tickets", cellName(c+1, i+2)); st.CustomNumFmt == nil || *st.CustomNumFmt != "[h]:mm" {
				t.Fatalf("First response format %+v", st)
			}
		}
		if c := col["Resolution SLA"]; c < len(r) && r[c] == "breached" {
			breachedRes++
			if !sawBreach {
				sawBreach = true
				if st := styleOf("Tickets", cellName(c+1, i+2)); st.Fill.Color == nil || st.Fill.Color[0] != "FFC7CE" {
					t.Fatalf("a breached SLA is not highlighted: %+v", st.Fill)
				}
			}
		}
	}
	if !sawDur || !sawBreach {
		t.Fatalf("no duration (%v) or no breached SLA (%v) in the Tickets sheet", sawDur, sawBreach)
	}

	// Daily sums to the summary; every data sheet is a table with a frozen header.
	daily, _ := f.GetRows("Daily", excelize.Options{RawCellValue: true})
	var created, resolvedDays float64
	for _, r := range daily[1:] {
		created += num(t, r[1])
		resolvedDays += num(t, r[2])
	}
	if int64(created) != sum.TicketsCreated || len(daily)-1 != 31 {
		t.Fatalf("Daily: %d days, created %v, summary %d", len(daily)-1, created, sum.TicketsCreated)
	}
	for _, sh := range wantSheets[1:] {
		tables, err := f.GetTables(sh)
		if err != nil || len(tables) != 1 {
			t.Fatalf("%s: tables %v %v", sh, tables, err)
		}
		panes, err := f.GetPanes(sh)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Fatalf("%s: header not frozen: %+v %v", sh, panes, err)
		}
	}
	// Native charts whose series reference the data sheets.
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var charts []string
	for _, zf := range zr.File {
		if strings.HasPrefix(zf.Name, "xl/charts/chart") {
			rc, _ := zf.Open()
			data, _ := io.ReadAll(rc)
			rc.Close()
			charts = append(charts, string(data))
		}
	}
	if len(charts) != 3 || !strings.Contains(strings.Join(charts, ""), "Daily!$B$2:$B$32") || !strings.Contains(strings.Join(charts, ""), "SLA!$E$2:$E$32") {
		t.Fatalf("%d charts; the first: %.600s", len(charts), charts)
	}
	events, _ := f.GetRows("Events")
	if int64(len(events)-1) != info.Events || info.Events < sum.TicketsCreated {
		t.Fatalf("Events: %d rows, info %d", len(events)-1, info.Events)
	}
}

func TestWorkbookOverflowsOntoNextSheet(t *testing.T) {
	e := newEnv(t)
	defer func(n, tq, eq int) { MaxSheetRows, maxTicketQueryRows, maxEventQueryRows = n, tq, eq }(MaxSheetRows, maxTicketQueryRows, maxEventQueryRows)
	MaxSheetRows = 101                             // 100 data rows per sheet
	maxTicketQueryRows, maxEventQueryRows = 30, 30 // each sheet read in 4 pages of 25
	q := testQuery(t, e, url.Values{"from": {"2026-03-20"}, "to": {"2026-04-01"}})
	path, info := writeTestWorkbook(t, e, q)
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int
	var parts, ids []string
	for _, sh := range f.GetSheetList() {
		if sh == "Tickets" || strings.HasPrefix(sh, "Tickets (") {
			rows, _ := f.GetRows(sh)
			if rows[0][0] != "Number" || len(rows) > 101 {
				t.Fatalf("%s: header %v, %d rows", sh, rows[0], len(rows))
			}
			total += len(rows) - 1
			for _, r := range rows[1:] {
				ids = append(ids, r[len(ticketColumns)-1])
			}
			parts = append(parts, sh)
			tables, _ := f.GetTables(sh)
			if len(tables) != 1 {
				t.Fatalf("%s has %d tables", sh, len(tables))
			}
		}
	}
	if int64(total) != info.Tickets || len(parts) < 2 || parts[1] != "Tickets (2)" {
		t.Fatalf("tickets %d over %v, want %d over several sheets", total, parts, info.Tickets)
	}
	// Read in pages of 25, the tickets are still TicketRows' list, in order.
	var want []string
	e.eng.TicketRows(context.Background(), q, func(r *metrics.TicketRow) error { want = append(want, r.ID); return nil })
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("ticket order over the sheets differs from TicketRows (%d vs %d ids)", len(ids), len(want))
	}
	// Events parts are written in parallel, each from its own page of the
	// event order: together they are every event once, in order.
	var events [][]string
	var order []string
	for _, sh := range f.GetSheetList() {
		kind, _, _ := strings.Cut(sh, " (")
		if len(order) == 0 || order[len(order)-1] != kind {
			order = append(order, kind)
		}
		if kind == "Events" {
			rows, _ := f.GetRows(sh, excelize.Options{RawCellValue: true})
			if len(rows) > 101 || rows[0][0] != "Occurred" {
				t.Fatalf("%s: %d rows, header %v", sh, len(rows), rows[0])
			}
			events = append(events, rows[1:]...)
		}
	}
	if want := "Summary Daily Tickets SLA Agents Teams Events"; strings.Join(order, " ") != want {
		t.Fatalf("sheet order %v, want %s", f.GetSheetList(), want)
	}
	if int64(len(events)) != info.Events || len(events) <= 200 {
		t.Fatalf("%d event rows over the parts, info says %d; want more than two parts", len(events), info.Events)
	}
	seen := map[string]bool{}
	for i, r := range events {
		seq := r[len(r)-1]
		if seen[seq] {
			t.Fatalf("event seq %s twice", seq)
		}
		seen[seq] = true
		if i > 0 {
			prev, _ := strconv.ParseFloat(events[i-1][0], 64)
			cur, _ := strconv.ParseFloat(r[0], 64)
			if cur < prev {
				t.Fatalf("row %d occurred %v before the row above (%v)", i, cur, prev)
			}
		}
	}
	rows, _ := f.GetRows("Summary")
	var note bool
	for _, r := range rows {
		if len(r) > 0 && strings.HasPrefix(r[0], "Tickets: ") && strings.Contains(r[0], "Tickets (2)") {
			note = true
		}
	}
	if !note {
		t.Fatalf("Summary does not say the tickets continue on another sheet: %v", info.Notes)
	}
}

func TestCSVIsTheTicketsSheet(t *testing.T) {
	e := newEnv(t)
	q := testQuery(t, e, url.Values{"from": {"2026-03-01"}, "to": {"2026-04-01"}, "priority": {"high,urgent"}})
	var buf bytes.Buffer
	n, err := WriteCSV(context.Background(), e.eng, q, &buf)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := e.eng.Summary(context.Background(), q)
	if int64(len(recs)-1) != n || n != sum.TicketsCreated || n == 0 {
		t.Fatalf("CSV rows %d, n %d, created %d", len(recs)-1, n, sum.TicketsCreated)
	}
	head := map[string]int{}
	for i, h := range recs[0] {
		head[h] = i
	}
	for _, r := range recs[1:] {
		if p := r[head["Priority"]]; p != "high" && p != "urgent" {
			t.Fatalf("filter not applied: %v", r)
		}
		if _, err := time.ParseInLocation(time.DateTime, r[head["Created"]], q.TZ); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := head["First response (min)"]; !ok {
		t.Fatalf("header %v", recs[0])
	}
}

// TestLibreOfficeReadsWorkbook has an independent reader, LibreOffice,
// convert every sheet to CSV and checks the Tickets sheet's rows and
// values against the per-ticket figures.
func TestLibreOfficeReadsWorkbook(t *testing.T) {
	soffice := testtools.Need(t, "soffice", "libreoffice")
	e := newEnv(t)
	q := testQuery(t, e, url.Values{"from": {"2026-03-25"}, "to": {"2026-04-01"}})
	path, info := writeTestWorkbook(t, e, q)
	out := t.TempDir()
	profile := "file://" + filepath.Join(t.TempDir(), "lo-profile")
	// 44,34,76,1: comma, double quote, UTF-8, from line 1; cells as shown;
	// the last field
	// -1 exports every sheet to its own file.
	cmd := exec.Command(soffice, "-env:UserInstallation="+profile, "--headless", "--norestore", "--convert-to",
		"csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1", "--outdir", out, path)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, msg)
	}
	read := func(sheet string) [][]string {
		p := filepath.Join(out, "report-"+sheet+".csv")
		data, err := os.ReadFile(p)
		if err != nil {
			files, _ := filepath.Glob(filepath.Join(out, "*"))
			t.Fatalf("LibreOffice wrote no %s (%v): %s", p, files, msg)
		}
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", sheet, err)
		}
		return recs
	}
	for _, sh := range []string{"Summary", "Daily", "SLA", "Agents", "Teams", "Events"} {
		if recs := read(sh); len(recs) < 2 {
			t.Fatalf("%s: %d rows", sh, len(recs))
		}
	}
	recs := read("Tickets")
	if int64(len(recs)-1) != info.Tickets {
		t.Fatalf("LibreOffice reads %d ticket rows, want %d", len(recs)-1, info.Tickets)
	}
	head := map[string]int{}
	for i, h := range recs[0] {
		head[h] = i
	}
	var want []*metrics.TicketRow
	e.eng.TicketRows(context.Background(), q, func(r *metrics.TicketRow) error {
		c := *r
		want = append(want, &c)
		return nil
	})
	for i, r := range recs[1:] {
		w := want[i]
		if r[head["Number"]] != strconv.FormatInt(w.Number, 10) || r[head["Subject"]] != w.Subject || r[head["Ticket ID"]] != w.ID {
			t.Fatalf("row %d: %v, want ticket %d %q", i+1, r[:3], w.Number, w.Subject)
		}
		if got, want := r[head["Created"]], w.CreatedAt.In(q.TZ).Format("2006-01-02 15:04"); got != want {
			t.Fatalf("row %d Created %q, want %q (Berlin time; %s, serial %.12f)", i+1, got, want, w.CreatedAt.In(q.TZ).Format(time.RFC3339Nano), excelTime(w.CreatedAt, q.TZ))
		}
		if w.FirstResponseMin != nil {
			// h:mm of the minutes, truncated or rounded by the reader
			lo, hi := int64(math.Floor(*w.FirstResponseMin)), int64(math.Round(*w.FirstResponseMin))
			got := r[head["First response"]]
			if got != fmt.Sprintf("%d:%02d", lo/60, lo%60) && got != fmt.Sprintf("%d:%02d", hi/60, hi%60) {
				t.Fatalf("row %d First response %q, want %d minutes", i+1, got, hi)
			}
		}
		if got := r[head["Resolution SLA"]]; got != w.ResolutionSLA.Status {
			t.Fatalf("row %d Resolution SLA %q, want %q", i+1, got, w.ResolutionSLA.Status)
		}
	}
}
