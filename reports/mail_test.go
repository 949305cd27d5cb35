package reports

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"

	"github.com/xuri/excelize/v2"
)

func (e *env) service(t testing.TB, mp *testtools.Mailpit, defs ...Definition) *Service {
	t.Helper()
	port := 1
	if mp != nil {
		port = mp.SMTPPort
	}
	s, err := New(e.st, e.eng, Settings{CatchUp: 24 * time.Hour, Retry: Retry{Attempts: 3, Backoff: 50 * time.Millisecond}, Schedules: defs},
		SMTP{Host: "127.0.0.1", Port: port, TLS: "none", Username: "deskpulse", Password: "s3cret", From: "deskpulse@example.com", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return testEnd.Add(24 * time.Hour) }
	t.Cleanup(func() { s.Close() })
	return s
}

// TestReportEmailThroughRealSMTP sends a report through mailpit, reads
// the delivered message back and checks the HTML's numbers and the
// attached workbook's numbers against the metrics summary.
func TestReportEmailThroughRealSMTP(t *testing.T) {
	mp := testtools.StartMailpit(t)
	e := newEnv(t)
	s := e.service(t, mp, Definition{Name: "weekly-ops", Cron: "0 7 * * MON", Timezone: "Europe/Berlin", Period: "previous_week",
		Recipients: []string{"lead@example.com", "boss@example.com"}, Formats: []string{"xlsx", "csv"}})
	run, err := s.RunNow(context.Background(), "weekly-ops", "last_30_days")
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != RunSent || run.Attempts != 1 {
		t.Fatalf("run %+v", run)
	}
	msgs := mp.Wait(t, 1)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	msg := mp.Message(t, msgs[0].ID)
	if !strings.Contains(msg.Subject, "weekly-ops") || len(msg.To) != 2 {
		t.Fatalf("subject %q to %v", msg.Subject, msg.To)
	}
	q, err := s.Query(&s.set.Schedules[0], run.From, run.To)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := e.eng.Summary(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	// The HTML shows each KPI's value and the previous period's, inline styled.
	if strings.Contains(msg.HTML, "<script") || strings.Contains(msg.HTML, "<style") {
		t.Fatal("the HTML has scripts or a style block")
	}
	for _, k := range KPIs(sum) {
		row := fmt.Sprintf(">%s</td>", k.Label)
		i := strings.Index(msg.HTML, row)
		if i < 0 {
			t.Fatalf("the HTML has no row %q", k.Label)
		}
		end := strings.Index(msg.HTML[i:], "</tr>")
		cells := msg.HTML[i : i+end]
		for _, want := range []string{k.Kind.format(k.Cur), k.Kind.format(k.Prev), k.Kind.formatChange(k.Change())} {
			if !strings.Contains(cells, ">"+want+"</td>") {
				t.Fatalf("HTML row %q lacks %q: %s", k.Label, want, cells)
			}
		}
		if !strings.Contains(msg.Text, k.Label) || !strings.Contains(msg.Text, k.Kind.format(k.Cur)) {
			t.Fatalf("the text part lacks %q", k.Label)
		}
	}
	if !strings.Contains(msg.HTML, ">"+thousands(sum.TicketsCreated)+"</td>") {
		t.Fatalf("tickets created %d not in the HTML", sum.TicketsCreated)
	}
	// The attachments: the workbook, whose Summary equals the metrics
	// summary, and the CSV with one row per ticket.
	var xlsx, csvData []byte
	for _, a := range msg.Attachments {
		switch {
		case strings.HasSuffix(a.FileName, ".xlsx"):
			xlsx = mp.Part(t, msg.ID, a.PartID)
		case strings.HasSuffix(a.FileName, ".csv"):
			csvData = mp.Part(t, msg.ID, a.PartID)
		}
	}
	if xlsx == nil || csvData == nil {
		t.Fatalf("attachments %+v", msg.Attachments)
	}
	f, err := excelize.OpenReader(bytes.NewReader(xlsx))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checkSummarySheet(t, f, sum)
	rows, _ := f.GetRows("Tickets")
	if int64(len(rows)-1) != sum.TicketsCreated {
		t.Fatalf("attached workbook has %d tickets, want %d", len(rows)-1, sum.TicketsCreated)
	}
	if lines := bytes.Count(csvData, []byte("\n")); int64(lines-1) < sum.TicketsCreated {
		t.Fatalf("CSV has %d lines", lines)
	}
	if dir := os.Getenv("DESKPULSE_KEEP_WORKBOOK"); dir != "" {
		os.WriteFile(filepath.Join(dir, "mail.html"), []byte(msg.HTML), 0o644)
		os.WriteFile(filepath.Join(dir, "mail.txt"), []byte(msg.Text), 0o644)
	}
	// The run is recorded and listed.
	runs, err := s.Runs(context.Background(), "", 10)
	if err != nil || len(runs) != 1 || runs[0].Status != RunSent || runs[0].Trigger != "manual" || len(runs[0].Recipients) != 2 {
		t.Fatalf("runs %+v %v", runs, err)
	}
}

// TestScheduleSendsEachPeriodOnceAcrossRestarts: a fire missed while
// deskpulse was down is sent at start; restarting again, or the schedule
// firing again for the same period, sends nothing more.
func TestScheduleSendsEachPeriodOnceAcrossRestarts(t *testing.T) {
	mp := testtools.StartMailpit(t)
	e := newEnv(t)
	now := testEnd.Add(24 * time.Hour) // 2026-04-02 06:00 UTC, 08:00 Berlin
	def := Definition{Name: "daily", Cron: "0 7 * * *", Timezone: "Europe/Berlin", Period: "previous_day", Recipients: []string{"lead@example.com"}}
	// The report was configured two days ago, so today's 07:00 fire was missed.
	if _, err := e.st.DB.Exec(`INSERT INTO report_schedules VALUES (?, ?)`, def.Name, now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for restart := range 3 {
		s := e.service(t, mp, def)
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if restart == 0 {
			mp.Wait(t, 1)
		}
	}
	// An "every second" schedule for the same period fires repeatedly but
	// claims the period once.
	every := def
	every.Cron = "@every 1s"
	s := e.service(t, mp, every)
	s.Now = time.Now
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	s.Close()
	msgs := mp.Messages(t)
	runs, _ := s.Runs(context.Background(), "daily", 100)
	sent := map[string]int{}
	for _, r := range runs {
		if r.Status == RunSent {
			sent[r.From.Format(time.RFC3339)+"/"+r.To.Format(time.RFC3339)]++
		}
	}
	for p, n := range sent {
		if n != 1 {
			t.Fatalf("period %s sent %d times", p, n)
		}
	}
	if len(msgs) != len(sent) || len(msgs) < 2 {
		t.Fatalf("%d messages for %d periods: %+v", len(msgs), len(sent), runs)
	}
	first := runs[len(runs)-1]
	loc, _ := time.LoadLocation("Europe/Berlin")
	if first.Trigger != "catch_up" || !first.From.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, loc)) || !first.To.Equal(time.Date(2026, 4, 2, 0, 0, 0, 0, loc)) {
		t.Fatalf("the missed fire: %+v", first)
	}
}

// TestFailedDeliveryIsRetriedThenRecorded: with no SMTP server the run
// is tried Attempts times with backoff, then recorded as failed.
func TestFailedDeliveryIsRetriedThenRecorded(t *testing.T) {
	e := newEnv(t)
	s := e.service(t, nil, Definition{Name: "daily", Cron: "@daily", Period: "previous_day", Recipients: []string{"a@example.com"}})
	var waits []time.Duration
	s.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	run, err := s.RunNow(context.Background(), "daily", "")
	if err == nil || run.Status != RunFailed || run.Attempts != 3 {
		t.Fatalf("run %+v err %v", run, err)
	}
	if len(waits) != 2 || waits[1] != 2*waits[0] {
		t.Fatalf("backoff waits %v", waits)
	}
	if strings.Contains(run.Error, "s3cret") {
		t.Fatal("the password is in the error")
	}
	runs, _ := s.Runs(context.Background(), "daily", 10)
	if len(runs) != 1 || runs[0].Status != RunFailed || runs[0].Attempts != 3 || runs[0].Error == "" || runs[0].FinishedAt == nil {
		t.Fatalf("recorded %+v", runs)
	}
}

func TestPeriodRanges(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	at := time.Date(2026, 3, 30, 7, 0, 0, 0, loc) // a Monday, the day after DST began
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 0, 0, 0, 0, loc) }
	for _, c := range []struct {
		period   string
		from, to time.Time
	}{
		{"previous_day", d(3, 29), d(3, 30)},
		{"previous_week", d(3, 23), d(3, 30)},
		{"previous_month", d(2, 1), d(3, 1)},
		{"month_to_date", d(3, 1), d(3, 30)},
		{"last_7_days", d(3, 23), d(3, 30)},
		{"last_30_days", d(2, 28), d(3, 30)},
	} {
		from, to, err := PeriodRange(c.period, at, loc)
		if err != nil || !from.Equal(c.from) || !to.Equal(c.to) {
			t.Errorf("%s: %v – %v (%v), want %v – %v", c.period, from, to, err, c.from, c.to)
		}
	}
	if f, to, _ := PeriodRange("month_to_date", d(4, 1).Add(7*time.Hour), loc); !f.Equal(d(3, 1)) || !to.Equal(d(4, 1)) {
		t.Errorf("month_to_date on the 1st: %v – %v", f, to)
	}
	if got := (&Definition{Cron: "0 7 * * MON", Timezone: "America/New_York"}); true {
		sched, err := got.schedule(time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		next := sched.Next(time.Date(2026, 3, 30, 0, 0, 0, 0, time.UTC))
		if want := time.Date(2026, 3, 30, 11, 0, 0, 0, time.UTC); !next.Equal(want) {
			t.Errorf("CRON_TZ: next %v, want %v", next, want)
		}
	}
}
