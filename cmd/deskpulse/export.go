package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/bench"
	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/reports"
)

// queryFlags are the metrics query flags of export (as the API's query string).
var queryFlags = []string{"from", "to", "tz", "asof", "team", "agent", "priority", "category", "channel", "type"}

// The analyst workbook and its Tickets CSV are formats of `deskpulse
// export` (export_parquet.go owns the command and its registry).
func init() {
	exportFormats["xlsx"] = func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, _ []string) error {
		return runExportReport(ctx, cfg, fs, "xlsx")
	}
	exportFormats["csv"] = func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, _ []string) error {
		return runExportReport(ctx, cfg, fs, "csv")
	}
	exportCommand.usage += " | xlsx|csv [--out FILE] [--from DATE --to DATE --tz ZONE --team T --priority P ...]"
	exportCommand.summary += "; xlsx the analyst workbook of a period, csv its Tickets sheet"
	parquetFlags := exportCommand.flags
	exportCommand.flags = func(fs *pflag.FlagSet) {
		if parquetFlags != nil {
			parquetFlags(fs)
		}
		fs.StringP("out", "o", "", "file to write (xlsx, csv; default deskpulse-report-FROM_TO.xlsx|csv)")
		fs.String("from", "", "first day (2026-03-01, midnight in --tz) or RFC 3339 instant (default: 30 days before --to)")
		fs.String("to", "", "end, exclusive (default: tomorrow midnight, i.e. through today)")
		fs.String("tz", "", "reporting time zone (default from config: timezone)")
		fs.String("asof", "", "knowledge instant: only events up to then")
		for _, f := range queryFlags[4:] {
			fs.StringSlice(f, nil, "only tickets with this "+f+" (repeatable or comma separated)")
		}
	}
}

func runExportReport(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, format string) error {
	st, w, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	defer w.Close()
	eng, err := metrics.New(st, cfg.Metrics)
	if err != nil {
		return err
	}
	q, err := metrics.ParseQuery(flagValues(fs), eng.Defaults())
	if err != nil {
		return err
	}
	out, _ := fs.GetString("out")
	if out == "" {
		last := q.To.In(q.TZ).Add(-time.Nanosecond)
		out = fmt.Sprintf("deskpulse-report-%s_%s.%s", q.From.In(q.TZ).Format("2006-01-02"), last.Format("2006-01-02"), format)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".deskpulse-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	start := time.Now()
	var rows, events int64
	if format == "xlsx" {
		var info *reports.Info
		if info, err = reports.WriteWorkbook(ctx, eng, q, tmp); err == nil {
			rows, events = info.Tickets, info.Events
			for _, n := range info.Notes {
				fmt.Fprintln(os.Stderr, "note:", n)
			}
		}
	} else {
		rows, err = reports.WriteCSV(ctx, eng, q, tmp)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d tickets", out, rows)
	if format == "xlsx" {
		fmt.Printf(", %d events", events)
	}
	fmt.Printf(" (%s, %s) in %s", reports.FilterLabel(q), q.TZ, time.Since(start).Round(time.Millisecond))
	if runtime.GOOS == "linux" {
		// the process's peak resident memory (VmHWM): what an export costs
		// the machine, and what `deskpulse bench` reports of it
		fmt.Printf(", peak memory %.0f MB", bench.PeakMB())
	}
	fmt.Println()
	return nil
}

// flagValues turns the query flags that were set into a query string.
func flagValues(fs *pflag.FlagSet) url.Values {
	v := url.Values{}
	for _, name := range queryFlags {
		f := fs.Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		if list, err := fs.GetStringSlice(name); err == nil {
			v[name] = list
		} else {
			v.Set(name, f.Value.String())
		}
	}
	return v
}
