package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/ingest"
)

var importCommand = &command{
	name: "import", usage: "FILE... [--format ndjson|csv|parquet] [--profile NAME] [--mapping F] [--tz ZONE] [--on-error abort|skip] [--rejects F] [--dry-run]",
	summary: "import ticket history: canonical NDJSON events, mapped CSV, Parquet, built-in profiles (docs/import.md)",
	flags: func(fs *pflag.FlagSet) {
		fs.String("format", "", "ndjson, csv or parquet (default: from the file name and content)")
		fs.String("profile", "", "built-in source profile: "+strings.Join(ingest.ProfileNames(), ", "))
		fs.String("mapping", "", "YAML mapping file for a CSV source (see examples/mappings/)")
		fs.String("tz", "UTC", "time zone of source timestamps that carry none, e.g. Europe/Rome")
		fs.String("on-error", "abort", "abort: a bad row imports nothing; skip: import the rest and write bad rows to --rejects")
		fs.String("rejects", "", "where --on-error skip writes bad rows as NDJSON (default: import-rejects-TIME.ndjson)")
		fs.Bool("dry-run", false, "read and check everything, store nothing")
	},
	run: runImport,
}

func runImport(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, args []string) error {
	if len(args) == 0 {
		return errors.New("import: name at least one FILE (or - for stdin)")
	}
	opts, err := importOptions(fs)
	if err != nil {
		return err
	}
	opts.MaxInflated = cfg.Import.MaxInflatedBytes
	rejectsPath, _ := fs.GetString("rejects")
	var inputs []ingest.Input
	for _, a := range args {
		if a == "-" {
			inputs = append(inputs, ingest.Input{Name: "stdin", R: os.Stdin})
			continue
		}
		if strings.ContainsAny(a, "*?[") { // a glob of Parquet files, read by DuckDB
			inputs = append(inputs, ingest.Input{Name: a, R: strings.NewReader(""), Path: a})
			continue
		}
		f, err := os.Open(a)
		if err != nil {
			return err
		}
		defer f.Close()
		inputs = append(inputs, ingest.Input{Name: a, R: f, Path: a})
	}
	st, w, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	defer w.Close()

	if isTerminal(os.Stderr) {
		began := time.Now()
		opts.Progress = func(rows int64) {
			s := time.Since(began).Seconds()
			fmt.Fprintf(os.Stderr, "\rread %d rows, %.0f rows/s   ", rows, float64(rows)/max(s, 1e-3))
		}
		defer fmt.Fprint(os.Stderr, "\r\033[K")
	}
	sum, err := w.Import(ctx, inputs, opts)
	var ie *ingest.ImportError
	if errors.As(err, &ie) && len(ie.Rows) > 10 {
		if rejectsPath == "" {
			rejectsPath = "import-rejects-" + time.Now().Format("20060102-150405") + ".ndjson"
		}
		if werr := writeRejects(rejectsPath, ie.Rows); werr == nil {
			return fmt.Errorf("%w\nall bad rows are in %s", err, rejectsPath)
		}
	}
	if err != nil {
		return err
	}
	if len(sum.Rejects) > 0 {
		if rejectsPath == "" {
			rejectsPath = "import-rejects-" + time.Now().Format("20060102-150405") + ".ndjson"
		}
		if err := writeRejects(rejectsPath, sum.Rejects); err != nil {
			return err
		}
	}
	if opts.Progress != nil {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
	dry := ""
	if sum.DryRun {
		dry = " (dry run: nothing stored)"
	}
	fmt.Printf("read %d rows, imported %d events, %d duplicates, %d rejected rows, %d tickets touched, %.2f s%s\n",
		sum.Read, sum.Imported, sum.Duplicates, sum.Rejected, sum.TicketsTouched, sum.Seconds, dry)
	if len(sum.Rejects) > 0 {
		fmt.Printf("bad rows written to %s\n", rejectsPath)
	}
	return nil
}

func importOptions(fs *pflag.FlagSet) (ingest.ImportOptions, error) {
	var opts ingest.ImportOptions
	opts.Format, _ = fs.GetString("format")
	opts.Profile, _ = fs.GetString("profile")
	mapping, _ := fs.GetString("mapping")
	tz, _ := fs.GetString("tz")
	onError, _ := fs.GetString("on-error")
	opts.DryRun, _ = fs.GetBool("dry-run")
	switch opts.Format {
	case "", "ndjson", "csv", "parquet":
	default:
		return opts, fmt.Errorf("--format must be ndjson, csv or parquet, not %q", opts.Format)
	}
	switch onError {
	case "abort":
	case "skip":
		opts.Skip = true
	default:
		return opts, fmt.Errorf("--on-error must be abort or skip, not %q", onError)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return opts, fmt.Errorf("--tz: %w", err)
	}
	opts.TZ = loc
	if mapping != "" {
		if opts.Profile != "" {
			return opts, errors.New("use --profile or --mapping, not both")
		}
		if opts.Mapping, err = ingest.LoadMapping(mapping); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

func writeRejects(path string, rows []ingest.RowError) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
