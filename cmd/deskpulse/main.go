// Command deskpulse is the helpdesk and its analytics warehouse in one
// binary: `deskpulse serve` runs it, the other commands load, rebuild and
// inspect the store. Run `deskpulse help` for the list.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/portal"
	"github.com/deskpulse/deskpulse/store"
)

// command is one subcommand: its flags and what it does.
type command struct {
	name, usage, summary string
	flags                func(*pflag.FlagSet)
	flagKeys             map[string]string // flag name -> config key
	run                  func(ctx context.Context, cfg *config.Config, fs *pflag.FlagSet, args []string) error
}

var commands = []*command{serveCommand, demoCommand, rebuildCommand, importCommand, exportCommand, reportCommand, userCommand, backupCommand, restoreCommand, benchCommand, versionCommand}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "deskpulse:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	var cmd *command
	for _, c := range commands {
		if c.name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	fs := pflag.NewFlagSet(cmd.name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "config file (default ./config.yaml when present)")
	fs.String("db", "", "DuckDB file (default from config: ./data/deskpulse.duckdb)")
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: deskpulse %s %s\n\n%s\n\nflags:\n%s", cmd.name, cmd.usage, cmd.summary, fs.FlagUsages())
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	keys := map[string]string{"db": "db"}
	for f, k := range cmd.flagKeys {
		keys[f] = k
	}
	cfg, err := config.Load(*configFile, fs, keys)
	if err != nil {
		return err
	}
	setupLogging(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cmd.run(ctx, cfg, fs, fs.Args())
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "deskpulse: a helpdesk whose heart is an analytics warehouse\n\nusage: deskpulse COMMAND [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command takes --config FILE and --db PATH; `deskpulse COMMAND --help` lists the rest.")
}

// setupLogging logs JSON when stderr is not a terminal, text when it is.
func setupLogging(cfg *config.Config, w io.Writer) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.Log.Format
	if format == "auto" || format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if format == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	slog.SetDefault(slog.New(h))
}

// openDB opens the configured store with its DuckDB limits.
func openDB(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if err := st.Limit(cfg.DuckDB.MemoryLimit, cfg.DuckDB.Threads); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// openStore opens the configured store and its writer.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, *ingest.Writer, error) {
	st, err := openDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, w, nil
}

var demoCommand = &command{
	name: "demo", usage: "[--tickets N] [--days D] [--seed S]",
	summary: "write a realistic demo history (ends now) into the store",
	flags: func(fs *pflag.FlagSet) {
		fs.Int("tickets", 0, "tickets to create (default from config: 20000)")
		fs.Int("days", 0, "days of history (default from config: 180)")
		fs.Int64("seed", 0, "random seed; the same seed gives the same history (default from config: 1)")
	},
	flagKeys: map[string]string{"tickets": "demo.tickets", "days": "demo.days", "seed": "demo.seed"},
	run: func(ctx context.Context, cfg *config.Config, _ *pflag.FlagSet, _ []string) error {
		st, w, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		defer w.Close()
		fmt.Fprintf(os.Stderr, "writing %d demo tickets over %d days into %s ...\n", cfg.Demo.Tickets, cfg.Demo.Days, cfg.DB)
		stats, err := ingest.LoadDemo(ctx, st, w, demoOptions(cfg))
		if err != nil {
			return fmt.Errorf("demo: %w (demo data for this seed may already be loaded: try another --seed or a fresh --db)", err)
		}
		fmt.Printf("wrote %d tickets and %d events in %s\n", stats.Tickets, stats.Events, stats.Elapsed.Round(time.Millisecond))
		return seedDemoKB(ctx, st, cfg)
	},
}

// seedDemoKB adds the demo knowledge base and its reader events to a store
// without articles (the demo history's self-service side).
func seedDemoKB(ctx context.Context, st *store.Store, cfg *config.Config) error {
	if err := portal.SeedDemo(ctx, portal.NewKB(st), time.Now(), cfg.Demo.Days, cfg.Demo.Seed); err != nil {
		return fmt.Errorf("demo knowledge base: %w", err)
	}
	return nil
}

func demoOptions(cfg *config.Config) ingest.DemoOptions {
	return ingest.DemoOptions{Tickets: cfg.Demo.Tickets, Days: cfg.Demo.Days, Seed: cfg.Demo.Seed}
}

var rebuildCommand = &command{
	name: "rebuild", summary: "recompute the tickets projection from the events",
	run: func(ctx context.Context, cfg *config.Config, _ *pflag.FlagSet, _ []string) error {
		st, w, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		defer w.Close()
		start := time.Now()
		if err := w.Rebuild(ctx); err != nil {
			return err
		}
		n, _ := st.CountTickets(ctx)
		fmt.Printf("rebuilt %d tickets from events in %s\n", n, time.Since(start).Round(time.Millisecond))
		return nil
	},
}

var versionCommand = &command{
	name: "version", summary: "print the version",
	run: func(context.Context, *config.Config, *pflag.FlagSet, []string) error {
		fmt.Println(version())
		return nil
	},
}

// version is the module version and VCS revision the binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "deskpulse (unknown version)"
	}
	v := "deskpulse " + info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value[:min(12, len(s.Value))]
		}
	}
	return strings.TrimSpace(v + " " + info.GoVersion)
}
