package ingest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// sharedData returns a file of ../shared/data (the public ITSM logs, never
// copied into the repository). Without it the test is skipped, except
// under CI=true, where it fails.
func sharedData(t *testing.T, name string) string {
	t.Helper()
	path, _ := filepath.Abs(filepath.Join("..", "..", "shared", "data", name))
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI=true needs ../shared/data, see its SOURCES.md): %v", path, err)
		}
		t.Skipf("skipping: %s is absent (public ITSM logs, see ../shared/data/SOURCES.md); under CI=true this fails", path)
	}
	return path
}

func importFile(t *testing.T, w *ingest.Writer, path string, opts ingest.ImportOptions) (*ingest.ImportSummary, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return w.Import(context.Background(), []ingest.Input{{Name: filepath.Base(path), R: f, Path: path}}, opts)
}

func mustTicket(t *testing.T, st *store.Store, id string) *model.Ticket {
	t.Helper()
	tk, err := st.Ticket(context.Background(), id)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return tk
}

func utc(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }

func sameTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestImportUCIIncidents(t *testing.T) {
	path := sharedData(t, "uci_incident_event_log.zip")
	ctx := context.Background()
	st, w := openImport(t)

	// The default aborts on the 11 rows that cannot be mapped and stores nothing.
	_, err := importFile(t, w, path, ingest.ImportOptions{Profile: "uci-incidents"})
	if err == nil || !strings.Contains(err.Error(), "11 bad rows") {
		t.Fatalf("want 11 bad rows, got %v", err)
	}
	if n, _ := st.CountTickets(ctx); n != 0 {
		t.Fatalf("an aborted import stored %d tickets", n)
	}

	sum, err := importFile(t, w, path, ingest.ImportOptions{Profile: "uci-incidents", Skip: true})
	if err != nil {
		t.Fatal(err)
	}
	// 11 bad rows: 5 with incident_state -100, 5 updated before opened_at,
	// 1 updated before the update preceding it. No incident is lost: each
	// is created from opened_at.
	reasons := map[string]int{}
	for _, r := range sum.Rejects {
		switch {
		case strings.Contains(r.Reason, `unknown incident_state "-100"`):
			reasons["-100"]++
		case strings.Contains(r.Reason, "is before opened_at"):
			reasons["before opened_at"]++
		case strings.Contains(r.Reason, "before the previous update"):
			reasons["out of order"]++
		default:
			t.Errorf("unexpected reason %s", r)
		}
	}
	if sum.Read != 141712 || sum.Rejected != 11 || reasons["-100"] != 5 || reasons["before opened_at"] != 5 || reasons["out of order"] != 1 ||
		sum.TicketsTouched != 24918 || sum.Duplicates != 0 {
		t.Fatalf("summary %+v, reasons %v", *sum, reasons)
	}
	if n, _ := st.CountTickets(ctx); n != 24918 {
		t.Fatalf("%d tickets, want 24918", n)
	}
	var closed, reopened int
	st.DB.QueryRow(`SELECT count(*) FILTER (status = 'closed'), count(*) FILTER (reopens > 0) FROM tickets`).Scan(&closed, &reopened)
	t.Logf("closed %d, reopened %d", closed, reopened)
	if closed != 24918 {
		t.Errorf("closed tickets %d, want all 24918 (every incident ends Closed)", closed)
	}

	tk := mustTicket(t, st, "INC0000045")
	if tk.Priority != model.PriorityNormal || tk.Team != "Group 56" || tk.Assignee != "" || tk.Status != model.StatusClosed ||
		tk.Category != "Category 55" || tk.Channel != model.ChannelPhone || tk.Fields["source_made_sla"] != "true" ||
		tk.Subject != "INC0000045: Category 55 / Subcategory 170" || tk.RequesterName != "Caller 2403" || tk.Reopens != 0 {
		t.Errorf("INC0000045 %+v", tk)
	}
	sameTime(t, "INC0000045 created_at", &tk.CreatedAt, utc(2016, 2, 29, 1, 16))
	sameTime(t, "INC0000045 first_response_at", tk.FirstResponseAt, utc(2016, 2, 29, 8, 53))
	sameTime(t, "INC0000045 resolved_at", tk.ResolvedAt, utc(2016, 2, 29, 8, 53))
	sameTime(t, "INC0000045 closed_at", tk.ClosedAt, utc(2016, 3, 5, 12, 0))
	evs, _ := st.TicketEvents(ctx, "INC0000045")
	var types []string
	for _, e := range evs {
		types = append(types, string(e.Type))
	}
	if got := strings.Join(types, " "); got != "created commented resolved closed" {
		t.Errorf("INC0000045 timeline %s", got)
	}

	// Closed, then Active again: the first Closed counts as Resolved and the
	// move away as a reopen.
	tk = mustTicket(t, st, "INC0001894")
	if tk.Team != "Group 10" || tk.Assignee != "Resolver 139" || tk.Status != model.StatusClosed || tk.Reopens != 1 || tk.Fields["source_made_sla"] != "false" {
		t.Errorf("INC0001894 %+v", tk)
	}
	sameTime(t, "INC0001894 first_response_at", tk.FirstResponseAt, utc(2016, 3, 8, 14, 34))
	sameTime(t, "INC0001894 resolved_at", tk.ResolvedAt, utc(2016, 5, 16, 7, 51))
	sameTime(t, "INC0001894 closed_at", tk.ClosedAt, utc(2016, 5, 21, 8, 7))

	if n, err := st.ProjectionDiff(ctx); err != nil || n != 0 {
		t.Fatalf("projection differs from rebuild: %d %v", n, err)
	}
	// Again: nothing new.
	sum, err = importFile(t, w, path, ingest.ImportOptions{Profile: "uci-incidents", Skip: true})
	if err != nil || sum.Imported != 0 || sum.Duplicates != sum.Events {
		t.Fatalf("second import: %+v %v", sum, err)
	}
}
