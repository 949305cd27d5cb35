package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/bench"
	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/reports"
	"github.com/deskpulse/deskpulse/store"
)

var benchCommand = &command{
	name: "bench", usage: "[--tickets N] [--events-per-ticket K] [--compare-postgres] [--dir D]",
	summary: "benchmark harness: generate, import, metrics, xlsx and Parquet export, API writes (and PostgreSQL 15); prints one table",
	flags: func(fs *pflag.FlagSet) {
		fs.Int("tickets", 100_000, "tickets to generate (docs/benchmarks.md also runs 1000000)")
		fs.Int("events-per-ticket", 10, "events per ticket, 1-10 (the first K of the generator's 10)")
		fs.Bool("compare-postgres", false, "also load the events into a throwaway PostgreSQL 15 cluster and run the core KPI queries there")
		fs.String("dir", "", "working folder; generated files are kept and reused (default: a temporary folder, deleted)")
		fs.Int("commands", 20_000, "API write-path commands (64 clients)")
		fs.Int("runs", 3, "runs per metric query (the median is reported)")
	},
	run: runBench,
}

// exportMemoryLimit is the duckdb.memory_limit the workbook is written
// under a second time.
const exportMemoryLimit = "200MB"

// Where bench prints its table and its progress (tests replace them).
var benchOut, benchLog io.Writer = os.Stdout, os.Stderr

// benchRow is one line of the table.
type benchRow struct {
	area, what, value, target, pg string
	peakMB                        float64
}

type benchRun struct {
	out   io.Writer
	log   io.Writer
	rows  []benchRow
	runs  int
	reset bool // peak RSS can be reset per step
}

// add appends a row and returns its index.
func (b *benchRun) add(area, what, value, target string) int {
	b.rows = append(b.rows, benchRow{area: area, what: what, value: value, target: target})
	return len(b.rows) - 1
}

func (b *benchRun) addPeak(area, what, value, target string, peak float64) int {
	i := b.add(area, what, value, target)
	b.rows[i].peakMB = peak
	return i
}

// step runs fn as one measured step: it resets the peak RSS first and
// returns the step's peak in MB.
func (b *benchRun) step(name string, fn func() error) (float64, error) {
	fmt.Fprintf(b.log, "bench: %s ...\n", name)
	// return freed Go memory to the OS, so that the step's peak is its
	// own plus what is still live (DuckDB's buffer pool included)
	debug.FreeOSMemory()
	b.reset = bench.ResetPeak()
	began := time.Now()
	err := fn()
	peak := bench.PeakMB()
	fmt.Fprintf(b.log, "bench: %s done in %s (peak RSS %.0f MB)\n", name, time.Since(began).Round(time.Millisecond), peak)
	return peak, err
}

// median runs fn b.runs times and returns the median duration.
func (b *benchRun) median(fn func() error) (time.Duration, error) {
	var ds []time.Duration
	for range max(1, b.runs) {
		began := time.Now()
		if err := fn(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(began))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// ratio formats how many times faster deskpulse is.
func ratio(x float64) string {
	if x < 10 {
		return fmt.Sprintf("%.2fx", x)
	}
	return fmt.Sprintf("%.0fx", x)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func runBench(ctx context.Context, _ *config.Config, fs *pflag.FlagSet, _ []string) error {
	n, _ := fs.GetInt("tickets")
	k, _ := fs.GetInt("events-per-ticket")
	comparePG, _ := fs.GetBool("compare-postgres")
	dir, _ := fs.GetString("dir")
	commands, _ := fs.GetInt("commands")
	runs, _ := fs.GetInt("runs")
	if n < 1 {
		return errors.New("bench: --tickets must be at least 1")
	}
	if comparePG {
		if _, err := bench.FindPostgres(); err != nil {
			return err
		}
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "deskpulse-bench-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if comparePG {
		// PostgreSQL reads the CSV itself, as the postgres user
		os.Chmod(dir, 0o755)
	}
	// request logs of the write-path run would drown the output
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(benchLog, &slog.HandlerOptions{Level: slog.LevelWarn})))

	b := &benchRun{out: benchOut, log: benchLog, runs: runs}
	began := time.Now()
	loadBefore := loadAvg()
	host, _ := os.Hostname()
	fmt.Fprintf(b.log, "bench: %d tickets x %d events, folder %s, %d CPUs, load %s\n", n, k, dir, runtime.NumCPU(), loadBefore)

	// 1. data
	var data *bench.Data
	peak, err := b.step("generate", func() (err error) {
		data, err = bench.Generate(ctx, dir, n, k)
		return err
	})
	if err != nil {
		return err
	}
	gen := "reused"
	if data.Seconds > 0 {
		gen = fmt.Sprintf("%.1f s", data.Seconds)
	}
	b.addPeak("data", fmt.Sprintf("generate %d tickets / %d events (SQL, then NDJSON + CSV)", data.Tickets, data.Events), gen, "", peak)

	// 2. import through the real path into a fresh store
	dbPath := filepath.Join(dir, "deskpulse-bench.duckdb")
	os.Remove(dbPath)
	os.Remove(dbPath + ".wal")
	defer os.Remove(dbPath)
	defer os.Remove(dbPath + ".wal")
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		st.Close()
		return err
	}
	closed := false
	defer func() {
		if !closed {
			w.Close()
			st.Close()
		}
	}() // the store reopened below
	var sum *ingest.ImportSummary
	peak, err = b.step("import", func() error {
		f, err := os.Open(data.NDJSON)
		if err != nil {
			return err
		}
		defer f.Close()
		sum, err = w.Import(ctx, []ingest.Input{{Name: filepath.Base(data.NDJSON), R: f, Path: data.NDJSON}}, ingest.ImportOptions{})
		return err
	})
	if err != nil {
		return err
	}
	if int64(sum.Imported) != data.Events {
		return fmt.Errorf("bench: imported %d events of %d", sum.Imported, data.Events)
	}
	importRate := float64(sum.Imported) / sum.Seconds
	importRow := b.addPeak("import", fmt.Sprintf("`deskpulse import` of canonical NDJSON (%d events, %.1f s)", sum.Imported, sum.Seconds),
		fmt.Sprintf("%.0f events/s", importRate), ">= 1M events/s, >= 3x PG COPY", peak)
	phases := []string{}
	for _, p := range []string{"read", "dedup", "check", "store"} {
		phases = append(phases, fmt.Sprintf("%s %.1f s", p, sum.Phases[p]))
	}
	fmt.Fprintf(b.log, "bench: import phases: %s\n", strings.Join(phases, ", "))

	// A history is imported with `deskpulse import`, then served by
	// `deskpulse serve`: the rest runs on the store opened anew, as the
	// server has it. (In the importing process the first summaries after
	// the import were slow and uneven: docs/benchmarks.md, Harness.)
	w.Close()
	st.Close()
	if st, err = store.Open(ctx, dbPath); err != nil {
		return err
	}
	if w, err = ingest.NewWriter(ctx, st, ingest.WriterOptions{}); err != nil {
		return err
	}

	// 3. metrics
	cfg := metrics.DefaultConfig()
	cfg.Now = func() time.Time { return metrics.GeneratedNow }
	var eng *metrics.Engine
	var buildTime time.Duration
	peak, err = b.step("metrics build", func() (err error) {
		start := time.Now()
		eng, err = metrics.New(st, cfg)
		buildTime = time.Since(start)
		return err
	})
	if err != nil {
		return err
	}
	b.addPeak("metrics", "first `metrics.New` (per-ticket table, full build)", fmt.Sprintf("%.1f s", buildTime.Seconds()), "", peak)
	to := metrics.GeneratedEnd
	year := metrics.Query{From: to.AddDate(-1, 0, 0), To: to, TZ: time.UTC, Interval: "day"}
	q90 := metrics.Query{From: to.AddDate(0, 0, -90), To: to, TZ: time.UTC, Interval: "day"}
	days := max(1, 10_000*365/n)
	q10k := metrics.Query{From: to.AddDate(0, 0, -days), To: to, TZ: time.UTC, Interval: "day"}
	var summary90 *metrics.Summary
	var d90 time.Duration
	// The measured queries, in the table's order.
	type metricQuery struct {
		what, target string
		run          func() error
		median       *time.Duration // where to keep the median too
	}
	queries := []metricQuery{
		{"summary, 90 days + previous 90, all KPIs", "< 300 ms", func() (err error) { summary90, err = eng.Summary(ctx, q90); return err }, &d90},
		{fmt.Sprintf("summary, ~10k tickets (%d days)", days), "< 20 ms", func() error { _, err := eng.Summary(ctx, q10k); return err }, nil},
	}
	for _, def := range eng.List() {
		if def.Name != "summary" {
			queries = append(queries, metricQuery{def.Name + ", 90 days", "< 100 ms", func() error {
				if _, err := eng.Series(ctx, def.Name, q90); err != nil {
					return fmt.Errorf("%s: %w", def.Name, err)
				}
				return nil
			}, nil})
		}
	}
	peak, err = b.step("metrics queries", func() error {
		// Warm up as a running server is: DuckDB's buffer pool holds the
		// table, and the build's memory has gone back (for the first
		// seconds after a full build the same queries take ~40% longer
		// while DuckDB's allocator returns it; docs/benchmarks.md).
		warm := time.Now()
		for first := true; first || time.Since(warm) < 5*time.Second; first = false {
			if _, err := eng.Summary(ctx, year); err != nil {
				return err
			}
			for _, mq := range queries {
				if err := mq.run(); err != nil {
					return err
				}
			}
		}
		for _, mq := range queries {
			d, err := b.median(mq.run)
			if err != nil {
				return err
			}
			if mq.median != nil {
				*mq.median = d
			}
			b.add("metrics", mq.what, ms(d), mq.target)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.rows[len(b.rows)-1].peakMB = peak

	// 4. exports
	xlsx := filepath.Join(dir, "bench-report.xlsx")
	defer os.Remove(xlsx)
	var info *reports.Info
	var xlsxTime time.Duration
	peak, err = b.step("xlsx export", func() error {
		f, err := os.Create(xlsx)
		if err != nil {
			return err
		}
		start := time.Now()
		info, err = reports.WriteWorkbook(ctx, eng, year, f)
		xlsxTime = time.Since(start)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return err
	}
	xlsxTarget := ""
	if n <= 100_000 {
		xlsxTarget = "< 3 s at 100k tickets"
	}
	xlsxWhat := fmt.Sprintf("xlsx workbook, whole year (%d tickets, %d events)", info.Tickets, info.Events)
	b.addPeak("export", xlsxWhat, fmt.Sprintf("%.1f s", xlsxTime.Seconds()), xlsxTarget, peak)
	lake := filepath.Join(dir, "bench-parquet")
	defer os.RemoveAll(lake)
	var pq ExportCounts
	var pqTime time.Duration
	peak, err = b.step("parquet export", func() (err error) {
		start := time.Now()
		pq, err = ExportParquet(ctx, st, lake, true)
		pqTime = time.Since(start)
		return err
	})
	if err != nil {
		return err
	}
	b.addPeak("export", fmt.Sprintf("Parquet lake (%d events, %d tickets, zstd)", pq.Events, pq.Tickets),
		fmt.Sprintf("%.1f s", pqTime.Seconds()), "", peak)

	// The workbook once more as `deskpulse export xlsx` writes it in a
	// process of its own, configured with duckdb.memory_limit: 200MB. The
	// limit bounds DuckDB's buffer cache, which the export fills with the
	// events it reads; and this process still holds what the import and
	// the build left in DuckDB's allocator, so the child's peak RSS is the
	// export's (with the opening of the store).
	w.Close()
	st.Close()
	closed = true
	childTime, childPeak, err := exportInChild(ctx, dir, dbPath, year, exportMemoryLimit)
	if err != nil {
		return err
	}
	target := ""
	if n >= 1_000_000 {
		target = "< 30 s, < 500 MB at 1M tickets"
	}
	b.addPeak("export", xlsxWhat+", `deskpulse export xlsx` in its own process, memory_limit "+exportMemoryLimit,
		fmt.Sprintf("%.1f s", childTime.Seconds()), target, childPeak)

	// 5. API write path on its own fresh store
	var load *bench.LoadResult
	peak, err = b.step("API write path", func() (err error) {
		load, err = benchWritePath(ctx, filepath.Join(dir, "deskpulse-bench-api.duckdb"), commands)
		return err
	})
	if err != nil {
		return err
	}
	b.addPeak("api", fmt.Sprintf("ticket commands over HTTP, 64 clients (%d commands)", load.Commands),
		fmt.Sprintf("%.0f commands/s", load.PerSecond), ">= 3,000/s", peak)
	b.add("api", "p50 / p99 latency", fmt.Sprintf("%s / %s", ms(load.P50), ms(load.P99)), "p99 < 50 ms")

	// 6. PostgreSQL
	if comparePG {
		var pgNote string
		peak, err = b.step("PostgreSQL comparison", func() (err error) {
			pgNote, err = b.postgres(ctx, data, summary90, d90, q90, importRow, importRate)
			return err
		})
		if err != nil {
			return err
		}
		b.rows[len(b.rows)-1].peakMB = peak
		if pgNote != "" {
			defer fmt.Fprintln(b.out, pgNote)
		}
	}

	// the table
	total := time.Since(began)
	peakAll := 0.0
	for _, r := range b.rows {
		peakAll = math.Max(peakAll, r.peakMB)
	}
	fmt.Fprintf(b.out, "\ndeskpulse bench: %d tickets, %d events; %s, %d CPUs, %s; load average %s at start, %s at end; %s\n\n",
		data.Tickets, data.Events, host, runtime.NumCPU(), runtime.Version(), loadBefore, loadAvg(), time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintln(b.out, "| area | measure | result | target | vs PostgreSQL 15 | peak RSS |")
	fmt.Fprintln(b.out, "| --- | --- | --- | --- | --- | --- |")
	for _, r := range b.rows {
		mb := ""
		if r.peakMB > 0 {
			mb = fmt.Sprintf("%.0f MB", r.peakMB)
		}
		fmt.Fprintf(b.out, "| %s | %s | %s | %s | %s | %s |\n", r.area, r.what, r.value, r.target, r.pg, mb)
	}
	fmt.Fprintf(b.out, "\npeak RSS of the whole run: %.0f MB", peakAll)
	if !b.reset {
		fmt.Fprint(b.out, " (per-step peaks could not be reset: each is the peak so far)")
	}
	fmt.Fprintf(b.out, "; total %s\n", total.Round(time.Second))
	return nil
}

// exportInChild runs `deskpulse export xlsx` of q over the store at db in
// a child process with DuckDB's memory limit set to limit, and returns how
// long it took and its peak RSS in MB.
func exportInChild(ctx context.Context, dir, db string, q metrics.Query, limit string) (time.Duration, float64, error) {
	out := filepath.Join(dir, "bench-report-child.xlsx")
	defer os.Remove(out)
	cmd := benchSelf(ctx, "export", "xlsx", "--db", db, "--out", out,
		"--from", q.From.Format(time.RFC3339), "--to", q.To.Format(time.RFC3339), "--tz", q.TZ.String())
	cmd.Dir = dir // no config.yaml there: the defaults, as the harness's engine has them
	cmd.Env = append(cmd.Env, "DESKPULSE_DUCKDB_MEMORY_LIMIT="+limit)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("bench: deskpulse export xlsx: %w\n%s", err, stderr.String())
	}
	took := time.Since(start)
	// The child says its peak: the rusage of a child started with
	// CLONE_VM, as os/exec does, starts from this process's peak.
	m := regexp.MustCompile(`peak memory (\d+) MB`).FindStringSubmatch(stdout.String())
	if m == nil {
		return 0, 0, fmt.Errorf("bench: deskpulse export xlsx did not say its peak memory: %q", stdout.String())
	}
	peak, _ := strconv.ParseFloat(m[1], 64)
	return took, peak, nil
}

// benchSelf is this deskpulse binary run with args (tests replace it).
var benchSelf = func(ctx context.Context, args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = os.Environ()
	return cmd
}

// benchWritePath starts the API over a fresh store on a loopback port and
// drives it with bench.Load.
func benchWritePath(ctx context.Context, path string, commands int) (*bench.LoadResult, error) {
	os.Remove(path)
	os.Remove(path + ".wal")
	defer os.Remove(path)
	defer os.Remove(path + ".wal")
	st, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	m, err := metrics.New(st, metrics.DefaultConfig())
	if err != nil {
		return nil, err
	}
	s, err := api.New(ctx, st, w, m)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	defer srv.Close()
	return bench.Load(ctx, "http://"+l.Addr().String(), bench.LoadOptions{Commands: commands, Clients: 64, Seeded: min(2000, max(100, commands/10))})
}

// postgres loads the same events into a throwaway PostgreSQL cluster with
// COPY, runs the core KPI queries of q there and compares time and
// answers with deskpulse's summary of q (which computed all of them, and
// the previous period, in dsum). It returns a note when answers differ.
func (b *benchRun) postgres(ctx context.Context, data *bench.Data, sum *metrics.Summary, dsum time.Duration, q metrics.Query, importRow int, importRate float64) (string, error) {
	p, err := bench.StartPostgres(ctx)
	if err != nil {
		return "", err
	}
	defer func() {
		if err := p.Stop(); err != nil {
			fmt.Fprintln(b.log, "bench: stopping PostgreSQL:", err)
		}
	}()
	fmt.Fprintf(b.log, "bench: PostgreSQL %s started, loading %d events with COPY ...\n", p.Version, data.Events)
	load, err := p.Load(ctx, data.CSV)
	if err != nil {
		return "", err
	}
	if load.Rows != data.Events {
		return "", fmt.Errorf("PostgreSQL holds %d events of %d", load.Rows, data.Events)
	}
	copyRate := float64(data.Events) / load.Copy.Seconds()
	b.rows[importRow].pg = fmt.Sprintf("COPY %.0f events/s (%.1f s, + %.1f s indexes and VACUUM ANALYZE): deskpulse **%s**",
		copyRate, load.Copy.Seconds(), load.Index.Seconds(), ratio(importRate/copyRate))

	f := sum.Figures
	stats := func(s metrics.Stats) string {
		v := func(p *float64) string {
			if p == nil {
				return ""
			}
			return fmt.Sprintf("%.2f", *p)
		}
		return fmt.Sprintf("%d|%s|%s", s.Count, v(s.P50), v(s.P90))
	}
	want := map[string]string{
		"tickets_created":          fmt.Sprint(f.TicketsCreated),
		"tickets_resolved":         fmt.Sprint(f.TicketsResolved),
		"backlog":                  fmt.Sprint(f.Backlog),
		"first_response_minutes":   stats(f.FirstResponseMinutes.Stats),
		"first_resolution_minutes": stats(f.FirstResolutionMinutes.Stats),
		"csat":                     fmt.Sprintf("%d|%d", f.CSAT.Responses, f.CSAT.Satisfied),
	}
	var total time.Duration
	var bad []string
	for _, kq := range bench.KPIQueries(q.From, q.To) {
		stmts := make([]string, max(1, b.runs))
		for i := range stmts {
			stmts[i] = kq.SQL
		}
		times, lines, err := p.Timed(ctx, stmts...)
		if err != nil {
			return "", fmt.Errorf("%s: %w", kq.Name, err)
		}
		slices.Sort(times)
		d := times[len(times)/2]
		total += d
		got := ""
		if len(lines) > 0 {
			got = lines[len(lines)-1]
		}
		same := "same answer"
		if got != want[kq.Name] {
			same = fmt.Sprintf("**DIFFERENT**: PG %s, deskpulse %s", got, want[kq.Name])
			bad = append(bad, kq.Name)
		}
		i := b.add("vs PG", kq.Name+", 90 days (PG: one SQL query over indexed events)", "PG "+ms(d), ">= 10x")
		b.rows[i].pg = fmt.Sprintf("deskpulse %s (its whole summary: %s); %s", ratio(float64(d)/float64(dsum)), ms(dsum), same)
	}
	i := b.add("vs PG", "these KPIs together, 90 days", "PG "+ms(total), ">= 10x")
	b.rows[i].pg = fmt.Sprintf("deskpulse **%s** (one summary: all KPIs, both periods, %s)", ratio(float64(total)/float64(dsum)), ms(dsum))
	if len(bad) > 0 {
		return "PostgreSQL's answers differ from deskpulse's for: " + strings.Join(bad, ", "), nil
	}
	return fmt.Sprintf("PostgreSQL %s gave the same answers as deskpulse for all %d KPI queries.", p.Version, len(want)), nil
}
