package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	os.WriteFile(file, []byte(`
db: /from/file.duckdb
addr: 127.0.0.1:1111
demo:
  on_empty: true
  tickets: 500
timezone: Europe/Berlin
calendars:
  support:
    timezone: America/New_York
    hours: {mon: ["08:00-12:00", "13:00-17:00"]}
sla:
  policies:
    - name: All
      calendar: support
      first_response: 90m
      resolution: 24h
`), 0o644)
	t.Setenv("DESKPULSE_ADDR", "127.0.0.1:2222")
	t.Setenv("DESKPULSE_DEMO_ON_EMPTY", "false")
	t.Setenv("DESKPULSE_DEMO_DAYS", "7")

	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("db", "", "")
	fs.String("addr", "", "")
	if err := fs.Parse([]string{"--db", "/from/flag.duckdb"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file, fs, map[string]string{"db": "db", "addr": "addr"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"db (flag over file)", cfg.DB, "/from/flag.duckdb"},
		{"addr (env over file; flag not given)", cfg.Addr, "127.0.0.1:2222"},
		{"demo.on_empty (env over file)", cfg.Demo.OnEmpty, false},
		{"demo.days (env over default)", cfg.Demo.Days, 7},
		{"demo.tickets (file over default)", cfg.Demo.Tickets, 500},
		{"demo.seed (default)", cfg.Demo.Seed, int64(1)},
		{"log.level (default)", cfg.Log.Level, "info"},
		{"timezone (file)", cfg.Metrics.Timezone, "Europe/Berlin"},
		{"policy first response", cfg.Metrics.SLA.Policies[0].FirstResponse, 90 * time.Minute},
		{"calendar hours", len(cfg.Metrics.Calendars["support"].Hours["mon"]), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultsWithoutFile(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load("", pflag.NewFlagSet("x", pflag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != "./data/deskpulse.duckdb" || cfg.Addr != "127.0.0.1:8080" || !cfg.Demo.OnEmpty || cfg.Demo.Tickets != 20000 ||
		len(cfg.Metrics.SLA.Policies) != 2 {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestRepositoryConfigLoads(t *testing.T) {
	cfg, err := Load("../config.yaml", pflag.NewFlagSet("x", pflag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DB != "./data/deskpulse.duckdb" || len(cfg.Metrics.SLA.Policies) != 2 || cfg.Metrics.SLA.Policies[0].Resolution != 8*time.Hour {
		t.Fatalf("config.yaml: %+v", cfg)
	}
}

func TestBadConfigSaysWhat(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file, []byte("sla:\n  policies:\n    - name: X\n      calendar: nowhere\n      first_response: 1h\n      resolution: 2h\n"), 0o644)
	_, err := Load(file, pflag.NewFlagSet("x", pflag.ContinueOnError), nil)
	if err == nil {
		t.Fatal("a policy naming an unknown calendar was accepted")
	}
	t.Log(err)
}

// TestInboundMail: the section's defaults, a file turning it on with the
// domains from the environment, its address becoming the Reply-To of
// requester e-mails, and a bad address named by its key.
func TestInboundMail(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := Load("", pflag.NewFlagSet("x", pflag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.InboundMail
	if in.Enabled || in.Addr != "127.0.0.1:2525" || len(in.Domains) != 1 || in.Domains[0] != "localhost" ||
		in.Address != "support@localhost" || in.MaxBytes != 25<<20 || cfg.Notifications.ReplyTo != "" ||
		cfg.Notifications.StatusURL != "http://127.0.0.1:8080/support/t/{token}" {
		t.Fatalf("defaults: %+v, reply_to %q", in, cfg.Notifications.ReplyTo)
	}

	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("inbound_mail:\n  enabled: true\n  address: help@example.com\n  max_bytes: 1000\n"), 0o644)
	t.Setenv("DESKPULSE_INBOUND_MAIL_DOMAINS", "example.com,help.example.com")
	cfg, err = Load(file, pflag.NewFlagSet("x", pflag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	in = cfg.InboundMail
	if !in.Enabled || in.Address != "help@example.com" || in.MaxBytes != 1000 || len(in.Domains) != 2 || in.Domains[1] != "help.example.com" ||
		cfg.Notifications.ReplyTo != "help@example.com" {
		t.Fatalf("from file and env: %+v, reply_to %q", in, cfg.Notifications.ReplyTo)
	}

	os.WriteFile(file, []byte("inbound_mail:\n  enabled: true\n  address: help desk\n"), 0o644)
	if _, err := Load(file, pflag.NewFlagSet("x", pflag.ContinueOnError), nil); err == nil || !strings.Contains(err.Error(), "inbound_mail.address") {
		t.Errorf("bad address: %v", err)
	}
}
