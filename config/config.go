// Package config loads deskpulse's settings: defaults, then config.yaml,
// then DESKPULSE_* environment variables, then command-line flags, each
// overriding the one before. config.yaml in the repository documents
// every key with its default.
package config

import (
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/mailin"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/notify"
	"github.com/deskpulse/deskpulse/reports"
	"github.com/deskpulse/deskpulse/sqlbox"
)

// Config is every setting of deskpulse.
type Config struct {
	DB string `mapstructure:"db"`
	// DuckDB bounds the database engine: memory_limit ("" is DuckDB's
	// default, 80% of RAM) and threads (0: one per CPU).
	DuckDB struct {
		MemoryLimit string `mapstructure:"memory_limit"`
		Threads     int    `mapstructure:"threads"`
	} `mapstructure:"duckdb"`
	Addr string `mapstructure:"addr"`
	Log  struct {
		Level  string `mapstructure:"level"`  // debug, info, warn, error
		Format string `mapstructure:"format"` // auto (text on a terminal, else JSON), text, json
	} `mapstructure:"log"`
	Demo struct {
		OnEmpty bool `mapstructure:"on_empty"`
		// SignIn offers the one-click demo manager sign-in on a loopback
		// server whose store had demo data written (package auth, demo.go).
		SignIn  bool  `mapstructure:"signin"`
		Tickets int   `mapstructure:"tickets"`
		Days    int   `mapstructure:"days"`
		Seed    int64 `mapstructure:"seed"`
	} `mapstructure:"demo"`
	// TLS, when both files are set, serves HTTPS (and marks cookies Secure).
	TLS struct {
		Cert string `mapstructure:"cert"`
		Key  string `mapstructure:"key"`
	} `mapstructure:"tls"`
	Auth struct {
		// TokenRate is the steady requests per second allowed per user
		// (bursts of twice that); 0 turns the limit off.
		TokenRate float64 `mapstructure:"token_rate"`
		// SessionIdle ends a browser session unused that long; SessionMax
		// ends any session that old.
		SessionIdle time.Duration `mapstructure:"session_idle"`
		SessionMax  time.Duration `mapstructure:"session_max"`
		// TrustedProxies are the IPs and CIDR ranges of reverse proxies
		// whose X-Forwarded-For names the client (rate limits).
		TrustedProxies []string `mapstructure:"trusted_proxies"`
	} `mapstructure:"auth"`
	// Reports are the scheduled report e-mails; SMTP the server they go
	// through (package reports; the password also from
	// DESKPULSE_SMTP_PASSWORD).
	Reports reports.Settings `mapstructure:"reports"`
	SMTP    reports.SMTP     `mapstructure:"smtp"`
	// Rules are the automation rules seeded at start (package automation,
	// managed at /api/v1/rules afterwards; parsed into AutomationRules);
	// Routing is the auto-assignment per team.
	Rules           []any              `mapstructure:"rules"`
	AutomationRules []*automation.Rule `mapstructure:"-"`
	Routing         automation.Routing `mapstructure:"routing"`
	// Webhooks are the timeouts and retries of webhook deliveries, and
	// whether they may go to private addresses.
	Webhooks automation.WebhookSettings `mapstructure:"webhooks"`
	// Import bounds imports: MaxInflatedBytes is what the compressed
	// inputs of one import may inflate to in all (the API also keeps to
	// its 1 GiB per request).
	Import struct {
		MaxInflatedBytes int64 `mapstructure:"max_inflated_bytes"`
	} `mapstructure:"import"`
	// Notifications are the e-mails to requesters and agents (package
	// notify), sent through SMTP.
	Notifications notify.Settings `mapstructure:"notifications"`
	// InboundMail is the SMTP listener of the e-mail channel (package
	// mailin), off by default.
	InboundMail mailin.Settings `mapstructure:"inbound_mail"`
	// SQL bounds analysts' queries at /api/v1/sql (package sqlbox).
	SQL sqlbox.Settings `mapstructure:"sql"`
	// Metrics holds the reporting time zone, business calendars and SLA
	// policies (top-level keys timezone, calendars and sla).
	Metrics metrics.Config `mapstructure:",squash"`
}

// defaults are the values used when nothing else sets a key; config.yaml
// repeats them with explanations.
var defaults = map[string]any{
	"db":                  "./data/deskpulse.duckdb",
	"duckdb.memory_limit": "",
	"duckdb.threads":      0,
	"addr":                "127.0.0.1:8080",
	"log.level":           "info",
	"log.format":          "auto",
	"demo.on_empty":       true,
	"demo.tickets":        20000,
	"demo.days":           180,
	"demo.seed":           1,
	"timezone":            "UTC",
	"auth.token_rate":     1000,
	"tls.cert":            "",
	"tls.key":             "",
	"rules":               automation.DefaultRules(),
	"routing.teams":       map[string]any{},

	"sql.memory_limit":     "512MB",
	"sql.threads":          1,
	"sql.max_result_bytes": 64 << 20,

	// Sign-in (package auth).
	"demo.signin":          true,
	"auth.session_idle":    "12h",
	"auth.session_max":     "720h",
	"auth.trusted_proxies": []string{},

	"webhooks.timeout":           "10s",
	"webhooks.workers":           4,
	"webhooks.retry.attempts":    8,
	"webhooks.retry.backoff":     "30s",
	"webhooks.retry.max_backoff": "1h",
	"webhooks.allow_private":     false,

	"import.max_inflated_bytes": ingest.DefaultMaxInflated,
}

// Load reads the configuration. file is the --config flag ("" looks for
// ./config.yaml and uses defaults when there is none). Flags that were set
// on the command line override everything; they are bound by key name
// (flag "db" -> key "db", flag "addr" -> key "addr").
func Load(file string, flags *pflag.FlagSet, flagKeys map[string]string) (*Config, error) {
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	for k, val := range reports.Defaults {
		v.SetDefault(k, val)
	}
	for k, val := range notify.Defaults {
		v.SetDefault(k, val)
	}
	for k, val := range mailin.Defaults {
		v.SetDefault(k, val)
	}
	v.SetEnvPrefix("DESKPULSE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	switch {
	case file != "":
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config %s: %w", file, err)
		}
	default:
		if _, err := os.Stat("config.yaml"); err == nil {
			v.SetConfigFile("config.yaml")
			if err := v.ReadInConfig(); err != nil {
				return nil, fmt.Errorf("read config.yaml: %w", err)
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	for flag, key := range flagKeys {
		if f := flags.Lookup(flag); f != nil && f.Changed {
			if err := v.BindPFlag(key, f); err != nil {
				return nil, err
			}
		}
	}

	cfg := &Config{}
	hooks := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(), mapstructure.StringToSliceHookFunc(",")))
	if err := v.Unmarshal(cfg, hooks); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(cfg.Metrics.SLA.Policies) == 0 && len(cfg.Metrics.Calendars) == 0 {
		tz := cfg.Metrics.Timezone
		cfg.Metrics = metrics.DefaultConfig()
		cfg.Metrics.Timezone = tz
	}
	if err := cfg.Metrics.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := reports.Validate(cfg.Reports, cfg.SMTP); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := checkAuth(cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := checkInboundMail(cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	rules, err := automation.ParseRules(automation.Specs(cfg.Rules))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg.AutomationRules = rules
	return cfg, nil
}

// checkAuth checks the session limits and the trusted proxies.
func checkAuth(cfg *Config) error {
	a := cfg.Auth
	if a.SessionIdle <= 0 || a.SessionMax <= 0 {
		return fmt.Errorf("auth.session_idle and auth.session_max must be positive durations such as 12h")
	}
	if a.SessionIdle > a.SessionMax {
		return fmt.Errorf("auth.session_idle (%s) must not be longer than auth.session_max (%s)", a.SessionIdle, a.SessionMax)
	}
	_, err := auth.ParseTrustedProxies(a.TrustedProxies)
	return err
}

// checkInboundMail checks the inbound_mail section when it is on, and
// makes its support address the Reply-To of requester e-mails unless
// notifications.reply_to names another.
func checkInboundMail(cfg *Config) error {
	in := &cfg.InboundMail
	if !in.Enabled {
		return nil
	}
	if len(in.Domains) == 0 {
		return fmt.Errorf("inbound_mail.domains: name at least one recipient domain to accept")
	}
	if a, err := mail.ParseAddress(in.Address); err != nil || a.Address != in.Address {
		return fmt.Errorf("inbound_mail.address: %q is not an e-mail address like support@example.com", in.Address)
	}
	if cfg.Notifications.ReplyTo == "" {
		cfg.Notifications.ReplyTo = in.Address
	}
	return nil
}
