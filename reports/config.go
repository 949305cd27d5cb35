// Package reports makes the analyst workbook (Excel, with its Tickets
// sheet also as CSV) and sends scheduled report e-mails. The numbers all
// come from package metrics, so a workbook's Summary equals
// GET /api/v1/metrics/summary for the same query.
//
// Scheduled reports are defined in config.yaml (reports.schedules); the
// scheduler runs inside `deskpulse serve`. Each run is recorded in the
// report_runs table; a scheduled period is claimed there before it is
// sent, so a restart neither loses a due run (missed fires within
// reports.catch_up are run at start) nor sends a period twice.
package reports

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // report zones work on machines without a zone database

	"github.com/robfig/cron/v3"

	"github.com/deskpulse/deskpulse/mailer"
)

// Settings is the config's reports section.
type Settings struct {
	// CatchUp is how far back a fire missed while deskpulse was not
	// running is still sent at start (0: never).
	CatchUp time.Duration `mapstructure:"catch_up"`
	Retry   Retry         `mapstructure:"retry"`
	// Schedules are the scheduled reports.
	Schedules []Definition `mapstructure:"schedules"`
}

// Retry is how a failed delivery is retried: Attempts tries in all, the
// first wait Backoff, doubling up to MaxBackoff.
type Retry struct {
	Attempts   int           `mapstructure:"attempts"`
	Backoff    time.Duration `mapstructure:"backoff"`
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
}

// Definition is one scheduled report.
type Definition struct {
	Name       string              `mapstructure:"name" json:"name"`
	Cron       string              `mapstructure:"cron" json:"cron"`         // 5-field cron expression or @daily, @every 1h...
	Timezone   string              `mapstructure:"timezone" json:"timezone"` // IANA zone of the cron expression and of the period ("" = the config's timezone)
	Period     string              `mapstructure:"period" json:"period"`
	Filters    map[string][]string `mapstructure:"filters" json:"filters"` // team, agent, priority, category, channel, type
	Recipients []string            `mapstructure:"recipients" json:"recipients"`
	Formats    []string            `mapstructure:"formats" json:"formats"` // xlsx, csv (default xlsx)
}

// SMTP is the config's smtp section: the server report e-mails go
// through (package mailer, shared with notifications).
type SMTP = mailer.SMTP

// Defaults are the config defaults of both sections, keyed like viper.
var Defaults = map[string]any{
	"reports.catch_up":          "24h",
	"reports.retry.attempts":    5,
	"reports.retry.backoff":     "30s",
	"reports.retry.max_backoff": "10m",
	"reports.schedules":         []any{},
	"smtp.host":                 "localhost",
	"smtp.port":                 587,
	"smtp.tls":                  "starttls",
	"smtp.username":             "",
	"smtp.password":             "",
	"smtp.from":                 "deskpulse@localhost",
	"smtp.timeout":              "30s",
}

// Periods are the report periods.
var Periods = []string{"previous_day", "previous_week", "previous_month", "month_to_date", "last_7_days", "last_30_days"}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

var filterKeys = []string{"team", "agent", "priority", "category", "channel", "type"}

// Validate names every problem of the reports and SMTP settings.
func Validate(s Settings, m SMTP) error {
	var errs []string
	seen := map[string]bool{}
	for i, d := range s.Schedules {
		where := fmt.Sprintf("reports.schedules[%d]", i)
		if d.Name != "" {
			where += " (" + d.Name + ")"
		}
		if d.Name == "" {
			errs = append(errs, where+": name is required")
		} else if seen[d.Name] {
			errs = append(errs, where+": duplicate name")
		} else if !validName.MatchString(d.Name) {
			errs = append(errs, where+": name may have only letters, digits, - and _")
		}
		seen[d.Name] = true
		if _, err := d.schedule(time.UTC); err != nil {
			errs = append(errs, fmt.Sprintf("%s: cron %q: %v", where, d.Cron, err))
		}
		if d.Timezone != "" {
			if _, err := time.LoadLocation(d.Timezone); err != nil || d.Timezone == "Local" {
				errs = append(errs, fmt.Sprintf("%s: timezone %q is not an IANA zone", where, d.Timezone))
			}
		}
		if !slices.Contains(Periods, d.Period) {
			errs = append(errs, fmt.Sprintf("%s: period %q must be one of %s", where, d.Period, strings.Join(Periods, ", ")))
		}
		for k := range d.Filters {
			if !slices.Contains(filterKeys, k) {
				errs = append(errs, fmt.Sprintf("%s: unknown filter %q (use %s)", where, k, strings.Join(filterKeys, ", ")))
			}
		}
		if len(d.Recipients) == 0 {
			errs = append(errs, where+": recipients are required")
		}
		for _, f := range d.Formats {
			if f != "xlsx" && f != "csv" {
				errs = append(errs, fmt.Sprintf("%s: format %q must be xlsx or csv", where, f))
			}
		}
	}
	if len(s.Schedules) > 0 {
		if !slices.Contains([]string{"starttls", "opportunistic", "implicit", "none"}, m.TLS) {
			errs = append(errs, fmt.Sprintf("smtp.tls %q must be starttls, opportunistic, implicit or none", m.TLS))
		}
		if m.Host == "" || m.Port <= 0 {
			errs = append(errs, "smtp.host and smtp.port are required for scheduled reports")
		}
	}
	if s.Retry.Attempts < 1 {
		errs = append(errs, "reports.retry.attempts must be at least 1")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// cronParser reads 5-field expressions, descriptors (@daily, @every 1h)
// and a CRON_TZ= prefix.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// location is the report's zone, falling back to def.
func (d *Definition) location(def *time.Location) *time.Location {
	if d.Timezone != "" {
		if loc, err := time.LoadLocation(d.Timezone); err == nil {
			return loc
		}
	}
	if def == nil {
		return time.UTC
	}
	return def
}

// schedule parses the cron expression in the report's zone (a CRON_TZ=
// prefix in the expression wins).
func (d *Definition) schedule(def *time.Location) (cron.Schedule, error) {
	spec := strings.TrimSpace(d.Cron)
	if spec == "" {
		return nil, fmt.Errorf("is required")
	}
	if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		spec = "CRON_TZ=" + d.location(def).String() + " " + spec
	}
	return cronParser.Parse(spec)
}

// values is the report's filters as a metrics query string.
func (d *Definition) values() url.Values {
	v := url.Values{}
	for k, list := range d.Filters {
		for _, s := range list {
			v.Add(k, s)
		}
	}
	return v
}

func (d *Definition) formats() []string {
	if len(d.Formats) == 0 {
		return []string{"xlsx"}
	}
	return d.Formats
}

// PeriodRange is the [from, to) that period covers for a run at instant
// at, in zone loc. Periods end at local midnight: previous_day is
// yesterday, previous_week the ISO week (Monday to Sunday) before the
// current one, previous_month the calendar month before, month_to_date
// the month of yesterday up to today (on the 1st: the whole previous
// month), last_7_days and last_30_days the days before today.
func PeriodRange(period string, at time.Time, loc *time.Location) (time.Time, time.Time, error) {
	l := at.In(loc)
	today := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	day := func(n int) time.Time { return time.Date(l.Year(), l.Month(), l.Day()+n, 0, 0, 0, 0, loc) }
	switch period {
	case "previous_day":
		return day(-1), today, nil
	case "previous_week":
		wd := (int(l.Weekday()) + 6) % 7
		return day(-wd - 7), day(-wd), nil
	case "previous_month":
		first := time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
		return first.AddDate(0, -1, 0), first, nil
	case "month_to_date":
		y := day(-1)
		return time.Date(y.Year(), y.Month(), 1, 0, 0, 0, 0, loc), today, nil
	case "last_7_days":
		return day(-7), today, nil
	case "last_30_days":
		return day(-30), today, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("period %q must be one of %s", period, strings.Join(Periods, ", "))
}
