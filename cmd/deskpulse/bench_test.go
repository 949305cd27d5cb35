package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/bench"
)

// TestBenchSmoke runs the benchmark harness at a tiny size (no
// PostgreSQL), so that `deskpulse bench` keeps working: every step runs
// and the table has its rows.
func TestBenchSmoke(t *testing.T) {
	var out, log bytes.Buffer
	benchOut, benchLog = &out, &log
	defer func() { benchOut, benchLog = os.Stdout, os.Stderr }()
	dir := t.TempDir()
	args := []string{"bench", "--tickets", "2000", "--commands", "300", "--runs", "1", "--dir", dir}
	if err := run(args, io.Discard, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	table := out.String()
	for _, want := range []string{
		"| area | measure | result |", "generate 2000 tickets / 20000 events", "events/s",
		"summary, 90 days", "by_agent, 90 days", "xlsx workbook", "events), `deskpulse export xlsx` in its own process, memory_limit 200MB", "Parquet lake", "commands/s", "p50 / p99", "peak RSS of the whole run",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q:\n%s", want, table)
		}
	}
	// the generated files are kept in --dir for the next run; the stores
	// and exports are removed
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range left {
		if !strings.HasPrefix(filepath.Base(f), "events-2000-10.") {
			t.Errorf("left behind: %s", f)
		}
	}
}

// TestBenchPostgres runs the comparison at a tiny size when PostgreSQL is
// installed: the throwaway cluster starts, loads, answers the core KPIs
// exactly as deskpulse does, and is removed.
func TestBenchPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL cluster")
	}
	if _, err := bench.FindPostgres(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: `make test` installs PostgreSQL (apt-get install postgresql)", err)
		}
		t.Skip(err)
	}
	var out, log bytes.Buffer
	benchOut, benchLog = &out, &log
	defer func() { benchOut, benchLog = os.Stdout, os.Stderr }()
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "deskpulse-bench-pg-*"))
	args := []string{"bench", "--tickets", "1000", "--commands", "200", "--runs", "1", "--compare-postgres"}
	if err := run(args, io.Discard, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	table := out.String()
	for _, want := range []string{"COPY ", "| vs PG | backlog, 90 days", "first_response_minutes, 90 days (PG", "these KPIs together",
		"gave the same answers as deskpulse for all 6 KPI queries"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "DIFFERENT") {
		t.Errorf("PostgreSQL and deskpulse differ:\n%s", table)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "deskpulse-bench-pg-*"))
	if len(after) > len(before) {
		t.Errorf("the cluster's folder was left behind: %v", after)
	}
}
