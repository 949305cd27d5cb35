package reports

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Run statuses.
const (
	RunRunning = "running" // claimed; being built or sent, or waiting to retry
	RunSent    = "sent"
	RunFailed  = "failed" // every attempt failed
)

// Run is one recorded report run (GET /api/v1/reports/runs).
type Run struct {
	ID          string     `json:"id"`
	Report      string     `json:"report"`
	Trigger     string     `json:"trigger"` // schedule, catch_up, manual
	Period      string     `json:"period"`
	From        time.Time  `json:"period_from"`
	To          time.Time  `json:"period_to"`
	Timezone    string     `json:"timezone"`
	ScheduledAt *time.Time `json:"scheduled_at"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	Error       string     `json:"error"`
	Recipients  []string   `json:"recipients"`
	Formats     []string   `json:"formats"`
}

// Service runs the scheduled reports of one deskpulse and serves the
// report and export routes.
type Service struct {
	st   *store.Store
	eng  *metrics.Engine
	set  Settings
	smtp SMTP
	loc  *time.Location

	// Now is the clock (tests move it); Sleep waits between retries.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	claim  sync.Mutex // serialises claiming a period
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks the settings and makes the service; Start starts the
// scheduler.
func New(st *store.Store, eng *metrics.Engine, set Settings, smtp SMTP) (*Service, error) {
	if set.Retry.Attempts == 0 {
		set.Retry.Attempts = 5
	}
	if set.Retry.Backoff <= 0 {
		set.Retry.Backoff = 30 * time.Second
	}
	if set.Retry.MaxBackoff < set.Retry.Backoff {
		set.Retry.MaxBackoff = max(set.Retry.Backoff, 10*time.Minute)
	}
	if smtp.Timeout <= 0 {
		smtp.Timeout = 30 * time.Second
	}
	if smtp.TLS == "" {
		smtp.TLS = "starttls"
	}
	if v := os.Getenv("DESKPULSE_SMTP_PASSWORD"); v != "" && smtp.Password == "" {
		smtp.Password = v
	}
	if err := Validate(set, smtp); err != nil {
		return nil, fmt.Errorf("reports config: %w", err)
	}
	s := &Service{st: st, eng: eng, set: set, smtp: smtp, loc: eng.Location(), Now: time.Now, Sleep: sleep}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Definitions are the configured reports.
func (s *Service) Definitions() []Definition { return s.set.Schedules }

func (s *Service) definition(name string) (*Definition, error) {
	for i := range s.set.Schedules {
		if s.set.Schedules[i].Name == name {
			return &s.set.Schedules[i], nil
		}
	}
	var names []string
	for _, d := range s.set.Schedules {
		names = append(names, d.Name)
	}
	return nil, fmt.Errorf("report %q: %w (configured: %s)", name, model.ErrNotFound, strings.Join(names, ", "))
}

// Status is a report with its next run (GET /api/v1/reports).
type Status struct {
	Definition
	Timezone string    `json:"timezone"`
	NextRun  time.Time `json:"next_run"`
	NextFrom time.Time `json:"next_period_from"`
	NextTo   time.Time `json:"next_period_to"`
	LastRun  *Run      `json:"last_run"`
}

// Reports lists each report with its next run time and its last run.
func (s *Service) Reports(ctx context.Context) ([]Status, error) {
	now := s.Now()
	out := []Status{}
	for _, d := range s.set.Schedules {
		sched, err := d.schedule(s.loc)
		if err != nil {
			return nil, err
		}
		loc := d.location(s.loc)
		st := Status{Definition: d, Timezone: loc.String(), NextRun: sched.Next(now).In(loc)}
		st.NextFrom, st.NextTo, _ = PeriodRange(d.Period, st.NextRun, loc)
		runs, err := s.Runs(ctx, d.Name, 1)
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 {
			st.LastRun = &runs[0]
		}
		out = append(out, st)
	}
	return out, nil
}

const runColumns = `id, report, trigger, period, period_from, period_to, timezone, scheduled_at, started_at, finished_at,
	status, attempts, error, array_to_string(recipients, ','), array_to_string(formats, ',')`

// Runs lists recorded runs, newest first; report "" lists all.
func (s *Service) Runs(ctx context.Context, report string, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.st.DB.QueryContext(ctx, `SELECT `+runColumns+` FROM report_runs WHERE ? = '' OR report = ? ORDER BY started_at DESC, id LIMIT ?`, report, report, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

func scanRun(row interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var sched, fin sql.NullTime
	var rcpt, formats string
	if err := row.Scan(&r.ID, &r.Report, &r.Trigger, &r.Period, &r.From, &r.To, &r.Timezone, &sched, &r.StartedAt, &fin,
		&r.Status, &r.Attempts, &r.Error, &rcpt, &formats); err != nil {
		return nil, err
	}
	if sched.Valid {
		r.ScheduledAt = &sched.Time
	}
	if fin.Valid {
		r.FinishedAt = &fin.Time
	}
	r.Recipients = splitList(rcpt)
	r.Formats = splitList(formats)
	return &r, nil
}

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// RunNow runs a report at once (`deskpulse report run`), for period (""
// = the report's) ending before now, and waits for the delivery,
// retries included. A manual run is always sent, even for a period that
// a scheduled run already sent.
func (s *Service) RunNow(ctx context.Context, name, period string) (*Run, error) {
	d, err := s.definition(name)
	if err != nil {
		return nil, err
	}
	if period == "" {
		period = d.Period
	}
	loc := d.location(s.loc)
	from, to, err := PeriodRange(period, s.Now(), loc)
	if err != nil {
		return nil, model.Invalid("period", "%v", err)
	}
	run := &Run{ID: uuid.NewString(), Report: d.Name, Trigger: "manual", Period: period, From: from, To: to, Timezone: loc.String(),
		StartedAt: s.Now(), Status: RunRunning, Recipients: d.Recipients, Formats: d.formats()}
	if err := s.insert(ctx, run); err != nil {
		return nil, err
	}
	err = s.deliver(ctx, d, run)
	return run, err
}

func (s *Service) insert(ctx context.Context, r *Run) error {
	_, err := s.st.DB.ExecContext(ctx, `INSERT INTO report_runs (id, report, trigger, period, period_from, period_to, timezone, scheduled_at,
		started_at, status, attempts, error, recipients, formats)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', string_split(?, ','), string_split(?, ','))`,
		r.ID, r.Report, r.Trigger, r.Period, r.From, r.To, r.Timezone, r.ScheduledAt, r.StartedAt, r.Status,
		strings.Join(r.Recipients, ","), strings.Join(r.Formats, ","))
	if err != nil {
		return fmt.Errorf("record report run: %w", err)
	}
	return nil
}

func (s *Service) update(r *Run) error {
	// A shutdown must not keep the outcome from being recorded.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.st.DB.ExecContext(ctx, `UPDATE report_runs SET status = ?, attempts = ?, error = ?, finished_at = ? WHERE id = ?`,
		r.Status, r.Attempts, r.Error, r.FinishedAt, r.ID)
	return err
}

// deliver builds the files and sends the mail, retrying with backoff; it
// records every attempt on run. When ctx ends while waiting to retry,
// the run stays "running" and the next start resumes it.
func (s *Service) deliver(ctx context.Context, d *Definition, run *Run) error {
	wait := s.set.Retry.Backoff
	for {
		run.Attempts++
		// An attempt under way finishes even when deskpulse is stopping;
		// only the waits between attempts are cut short.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		err := s.attempt(actx, d, run)
		cancel()
		if err == nil {
			now := s.Now()
			run.Status, run.Error, run.FinishedAt = RunSent, "", &now
			slog.Info("report sent", "report", d.Name, "period_from", run.From, "period_to", run.To, "recipients", len(run.Recipients), "attempt", run.Attempts)
			return s.update(run)
		}
		run.Error = err.Error()
		if run.Attempts >= s.set.Retry.Attempts {
			now := s.Now()
			run.Status, run.FinishedAt = RunFailed, &now
			slog.Error("report failed", "report", d.Name, "period_from", run.From, "attempts", run.Attempts, "err", err)
			s.update(run)
			return fmt.Errorf("report %s: %d attempts failed, the last: %w", d.Name, run.Attempts, err)
		}
		slog.Warn("report delivery failed; retrying", "report", d.Name, "attempt", run.Attempts, "in", wait.String(), "err", err)
		s.update(run)
		if err := s.Sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(wait*2, s.set.Retry.MaxBackoff)
	}
}

// Query is the metrics query of a report for [from, to).
func (s *Service) Query(d *Definition, from, to time.Time) (metrics.Query, error) {
	v := d.values()
	v.Set("from", from.Format(time.RFC3339Nano))
	v.Set("to", to.Format(time.RFC3339Nano))
	v.Set("tz", d.location(s.loc).String())
	return metrics.ParseQuery(v, s.eng.Defaults())
}

func (s *Service) attempt(ctx context.Context, d *Definition, run *Run) error {
	q, err := s.Query(d, run.From, run.To)
	if err != nil {
		return err
	}
	base := fmt.Sprintf("deskpulse-%s-%s", d.Name, run.From.In(q.TZ).Format("2006-01-02"))
	if days := run.To.Sub(run.From).Hours() / 24; days > 1.5 {
		base += "_" + run.To.In(q.TZ).AddDate(0, 0, -1).Format("2006-01-02")
	}
	var files []attachment
	defer func() {
		for _, f := range files {
			os.Remove(f.path)
		}
	}()
	var info *Info
	for _, format := range d.formats() {
		f, err := tempFile("deskpulse-report-*." + format)
		if err != nil {
			return err
		}
		files = append(files, attachment{path: f.Name(), name: base + "." + format})
		switch format {
		case "xlsx":
			files[len(files)-1].contentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
			info, err = WriteWorkbook(ctx, s.eng, q, f)
		case "csv":
			files[len(files)-1].contentType = "text/csv"
			_, err = WriteCSV(ctx, s.eng, q, f)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("build %s: %w", format, err)
		}
	}
	if info == nil { // CSV only: the mail still shows the KPIs
		sum, err := s.eng.Summary(ctx, q)
		if err != nil {
			return err
		}
		info = &Info{Summary: sum, Query: q}
		info.Tickets = -1
	}
	id := ""
	if run.Trigger != "manual" {
		id = messageID(d.Name, run.From, run.To)
	}
	m, err := s.message(d, info, files, id)
	if err != nil {
		return err
	}
	return s.send(ctx, m)
}

// Start starts the scheduler: it resumes runs a previous process left
// unfinished, runs the fires missed while deskpulse was down (within
// reports.catch_up, not before the report was first configured) and then
// each report at its cron times.
func (s *Service) Start() error {
	if len(s.set.Schedules) == 0 {
		return nil
	}
	ctx := s.ctx
	now := s.Now()
	if err := s.arm(ctx, now); err != nil {
		return err
	}
	if err := s.resume(ctx); err != nil {
		return err
	}
	for i := range s.set.Schedules {
		d := &s.set.Schedules[i]
		if err := s.catchUp(ctx, d, now); err != nil {
			return err
		}
	}
	s.wg.Go(func() { s.loop(ctx) })
	return nil
}

// Close stops the scheduler and waits for runs in progress; a run
// waiting to retry stays recorded as running and is resumed at the next
// start.
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// arm records when each report was first seen.
func (s *Service) arm(ctx context.Context, now time.Time) error {
	for _, d := range s.set.Schedules {
		if _, err := s.st.DB.ExecContext(ctx, `INSERT INTO report_schedules (report, armed_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, d.Name, now); err != nil {
			return fmt.Errorf("arm report %s: %w", d.Name, err)
		}
	}
	return nil
}

// resume continues scheduled runs that were claimed but not finished.
func (s *Service) resume(ctx context.Context) error {
	rows, err := s.st.DB.QueryContext(ctx, `SELECT `+runColumns+` FROM report_runs WHERE status = ? ORDER BY started_at`, RunRunning)
	if err != nil {
		return err
	}
	var runs []*Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return err
		}
		runs = append(runs, r)
	}
	rows.Close()
	for _, r := range runs {
		d, err := s.definition(r.Report)
		if err != nil || r.Trigger == "manual" {
			now := s.Now()
			r.Status, r.FinishedAt = RunFailed, &now
			r.Error = strings.TrimSpace(r.Error + " (interrupted: deskpulse stopped during the run)")
			s.update(r)
			continue
		}
		slog.Info("resuming an unfinished report run", "report", r.Report, "period_from", r.From, "attempts", r.Attempts)
		s.wg.Go(func() { s.deliver(ctx, d, r) })
	}
	return nil
}

// catchUp runs the fires of d missed between max(armed_at, now -
// catch_up) and now.
func (s *Service) catchUp(ctx context.Context, d *Definition, now time.Time) error {
	if s.set.CatchUp <= 0 {
		return nil
	}
	var armed time.Time
	if err := s.st.DB.QueryRowContext(ctx, `SELECT armed_at FROM report_schedules WHERE report = ?`, d.Name).Scan(&armed); err != nil {
		return err
	}
	since := now.Add(-s.set.CatchUp)
	if armed.After(since) {
		since = armed
	}
	sched, err := d.schedule(s.loc)
	if err != nil {
		return err
	}
	var fires []time.Time
	for t := sched.Next(since); !t.After(now) && len(fires) < 1000; t = sched.Next(t) {
		fires = append(fires, t)
	}
	// Only the latest fire of each period matters; fire() skips periods
	// already claimed.
	for _, t := range fires {
		if err := s.fire(ctx, d, t, "catch_up", false); err != nil {
			return err
		}
	}
	return nil
}

// fire claims the period of d's fire at t and delivers it (in the
// background unless wait). A period already claimed is skipped.
func (s *Service) fire(ctx context.Context, d *Definition, at time.Time, trigger string, wait bool) error {
	loc := d.location(s.loc)
	from, to, err := PeriodRange(d.Period, at, loc)
	if err != nil {
		return err
	}
	s.claim.Lock()
	var n int
	err = s.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM report_runs WHERE report = ? AND trigger <> 'manual' AND period_from = ? AND period_to = ?`,
		d.Name, from, to).Scan(&n)
	if err != nil || n > 0 {
		s.claim.Unlock()
		return err
	}
	scheduled := at
	run := &Run{ID: uuid.NewString(), Report: d.Name, Trigger: trigger, Period: d.Period, From: from, To: to, Timezone: loc.String(),
		ScheduledAt: &scheduled, StartedAt: s.Now(), Status: RunRunning, Recipients: d.Recipients, Formats: d.formats()}
	err = s.insert(ctx, run)
	s.claim.Unlock()
	if err != nil {
		return err
	}
	slog.Info("report due", "report", d.Name, "trigger", trigger, "scheduled_at", at, "period_from", from, "period_to", to)
	if wait {
		return s.deliver(ctx, d, run)
	}
	s.wg.Go(func() { s.deliver(ctx, d, run) })
	return nil
}

// loop waits for the next fire of any report and fires it.
func (s *Service) loop(ctx context.Context) {
	type entry struct {
		d     *Definition
		sched cron.Schedule
		next  time.Time
	}
	now := s.Now()
	var es []*entry
	for i := range s.set.Schedules {
		d := &s.set.Schedules[i]
		sched, err := d.schedule(s.loc)
		if err != nil {
			continue // New validated it
		}
		es = append(es, &entry{d: d, sched: sched, next: sched.Next(now)})
	}
	for {
		next := es[0].next
		for _, e := range es[1:] {
			if e.next.Before(next) {
				next = e.next
			}
		}
		d := next.Sub(s.Now())
		if d > 0 {
			// Wake at least every minute, so a clock change is noticed.
			if err := sleep(ctx, min(d, time.Minute)); err != nil {
				return
			}
		}
		now := s.Now()
		for _, e := range es {
			if e.next.After(now) {
				continue
			}
			if err := s.fire(ctx, e.d, e.next, "schedule", false); err != nil && ctx.Err() == nil {
				slog.Error("report schedule", "report", e.d.Name, "err", err)
			}
			e.next = e.sched.Next(now)
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// ExportQuery parses an export request's query string like the metrics
// API does.
func (s *Service) ExportQuery(v url.Values) (metrics.Query, error) {
	return metrics.ParseQuery(v, s.eng.Defaults())
}
