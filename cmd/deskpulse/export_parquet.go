package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/store"
)

// exportFormats are the formats of `deskpulse export FORMAT`; other
// formats register here rather than adding a second export command.
var exportFormats = map[string]func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, args []string) error{
	"parquet": runExportParquet,
}

var exportCommand = &command{
	name: "export", usage: "parquet --dir D [--overwrite]",
	summary: "export the warehouse: parquet writes events and tickets as Hive-partitioned Parquet (zstd)",
	flags: func(fs *pflag.FlagSet) {
		fs.String("dir", "", "folder to write into (parquet)")
		fs.Bool("overwrite", false, "replace an earlier export in --dir (otherwise a non-empty folder is refused)")
	},
	run: func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, args []string) error {
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range exportFormats {
				if !yield(k) {
					return
				}
			}
		})
		if len(args) == 0 {
			return fmt.Errorf("export: name a format: %s", strings.Join(names, ", "))
		}
		run, ok := exportFormats[args[0]]
		if !ok {
			return fmt.Errorf("export: unknown format %q (known: %s)", args[0], strings.Join(names, ", "))
		}
		return run(ctx, cfg, fs, args[1:])
	},
}

func runExportParquet(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, _ []string) error {
	dir, _ := fs.GetString("dir")
	overwrite, _ := fs.GetBool("overwrite")
	if dir == "" {
		return errors.New("export parquet: --dir is required")
	}
	st, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	began := time.Now()
	n, err := ExportParquet(ctx, st, dir, overwrite)
	if err != nil {
		return err
	}
	fmt.Printf("exported %d events and %d tickets to %s in %s\n", n.Events, n.Tickets, dir, time.Since(began).Round(time.Millisecond))
	return nil
}

// ExportCounts says how many rows an export wrote.
type ExportCounts struct{ Events, Tickets int64 }

// exportParquetEvents and exportParquetTickets are what the export writes,
// each with a month column (yyyy-mm, UTC) that partitions the files. Tickets
// carry their basic metrics in seconds.
const (
	exportParquetEvents = `SELECT *,
		strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m') AS month FROM events`
	exportParquetTickets = `SELECT *,
		date_diff('second', created_at, first_response_at) AS first_response_seconds,
		date_diff('second', created_at, resolved_at) AS resolution_seconds,
		strftime(created_at AT TIME ZONE 'UTC', '%Y-%m') AS month FROM tickets`
)

// ExportParquet writes dir/events/month=YYYY-MM/*.parquet and
// dir/tickets/month=YYYY-MM/*.parquet (zstd). A folder that already holds
// files is refused unless overwrite, which replaces events/ and tickets/.
func ExportParquet(ctx context.Context, st *store.Store, dir string, overwrite bool) (ExportCounts, error) {
	var n ExportCounts
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if !overwrite {
			return n, fmt.Errorf("export parquet: %s is not empty (--overwrite replaces an earlier export)", dir)
		}
		for _, sub := range []string{"events", "tickets"} {
			if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
				return n, err
			}
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return n, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return n, err
	}
	for _, part := range []struct {
		name, query string
		count       *int64
	}{{"events", exportParquetEvents, &n.Events}, {"tickets", exportParquetTickets, &n.Tickets}} {
		target := filepath.Join(dir, part.name)
		q := fmt.Sprintf(`COPY (%s) TO %s (FORMAT parquet, PARTITION_BY (month), COMPRESSION zstd, FILENAME_PATTERN '%s_{i}')`,
			part.query, store.Literal(target), part.name)
		if err := st.DB.QueryRowContext(ctx, q).Scan(part.count); err != nil {
			return n, fmt.Errorf("export %s: %w", part.name, err)
		}
	}
	return n, nil
}
