package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/deskpulse/deskpulse/api"
	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/config"
	"github.com/deskpulse/deskpulse/dashboards"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/internal/telemetry"
	"github.com/deskpulse/deskpulse/mailin"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/portal"
	"github.com/deskpulse/deskpulse/reports"
	"github.com/deskpulse/deskpulse/store"
	"github.com/deskpulse/deskpulse/workspace"
)

var serveCommand = &command{
	name: "serve", usage: "[--addr HOST:PORT]",
	summary: "run the helpdesk: API, dashboards and scheduled reports",
	flags: func(fs *pflag.FlagSet) {
		fs.String("addr", "", "listen address (default from config: 127.0.0.1:8080)")
	},
	flagKeys: map[string]string{"addr": "addr"},
	run: func(ctx context.Context, cfg *config.Config, _ *pflag.FlagSet, _ []string) error {
		m := NewMain(cfg)
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		scheme := "http"
		if cfg.TLS.Cert != "" {
			scheme = "https"
		}
		fmt.Printf("deskpulse is running at %s://%s/ (API under /api/v1; Ctrl+C stops it)\n", scheme, m.Addr())
		if demo, _ := m.Auth.DemoOpen(ctx); demo && cfg.Demo.SignIn && m.onLoopback() {
			fmt.Println("It holds demo data: open the address and press \"Demo sign-in\".")
		}
		<-ctx.Done()
		slog.Info("shutting down")
		return m.Close()
	},
}

// Main is a running deskpulse server: Run opens everything and starts
// listening, Close shuts it down gracefully. Tests start one end to end.
type Main struct {
	Config  *config.Config
	Store   *store.Store
	Writer  *ingest.Writer
	Metrics *metrics.Engine
	API     *api.Server
	Auth    *auth.Service
	// Automation is the rules engine (cmd/deskpulse/automation.go).
	Automation *automation.Engine
	Reports    *reports.Service
	Portal     *portal.Portal
	// MailIn is the inbound e-mail listener (nil unless
	// inbound_mail.enabled).
	MailIn *mailin.Receiver
	// Telemetry is the Prometheus metrics at GET /metrics.
	Telemetry *telemetry.Telemetry
	// Workspace is the agents' pages and their live-update streams.
	Workspace *workspace.Workspace

	listener net.Listener
	http     *http.Server
	served   chan error
}

// NewMain prepares a server for cfg.
func NewMain(cfg *config.Config) *Main { return &Main{Config: cfg} }

// Run opens the store (seeding demo data into an empty one when
// demo.on_empty is set), builds the handlers and starts serving. It
// returns once the server listens.
func (m *Main) Run(ctx context.Context) error {
	var err error
	if m.Store, m.Writer, err = openStore(ctx, m.Config); err != nil {
		return err
	}
	if err := m.seedDemo(ctx); err != nil {
		return err
	}
	if m.Metrics, err = metrics.New(m.Store, m.Config.Metrics); err != nil {
		return err
	}
	if m.API, err = api.New(ctx, m.Store, m.Writer, m.Metrics); err != nil {
		return err
	}
	m.API.SetSQLSettings(m.Config.SQL)
	m.API.SetImportMaxInflated(m.Config.Import.MaxInflatedBytes)
	m.Telemetry = telemetry.New(m.Store, m.Writer, m.Metrics)
	m.Telemetry.Register(m.API.Routes())
	dashboards.Register(m.API.Routes(), m.Metrics, m.Store)
	m.Workspace = workspace.New(m.Store, m.Writer, m.Metrics).Register(m.API.Routes()) // /inbox, /tickets/{ref} (docs/workspace.md)
	m.Portal = portal.New(m.Store, m.Writer, m.Config.DB).Register(m.API.Routes())
	m.Portal.KB.APIRoutes(m.API.Routes()) // /api/v1/kb; the pages at /support and /kb (docs/portal.md)
	if m.Reports, err = reports.New(m.Store, m.Metrics, m.Config.Reports, m.Config.SMTP); err != nil {
		return err
	}
	m.Reports.Register(m.API.Routes()) // exports and scheduled reports
	if err := m.Reports.Start(); err != nil {
		return err
	}
	if err := m.startAutomation(ctx); err != nil {
		return err
	}
	if m.Config.InboundMail.Enabled { // docs/email.md
		m.MailIn = mailin.New(m.Store, m.Writer, m.Portal, m.Config.InboundMail)
		if err := m.MailIn.Start(); err != nil {
			m.MailIn = nil
			return err
		}
	}
	gate, err := m.setupAuth(ctx)
	if err != nil {
		return err
	}
	m.listener, err = net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another deskpulse running? choose another with --addr)", m.Config.Addr, err)
	}
	m.http = &http.Server{
		Handler:           m.Telemetry.Wrap(m.API.Routes(), gate.Wrap(m.API.Routes(), m.API.Handler())),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // imports stream large bodies
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	m.served = make(chan error, 1)
	if tc := m.Config.TLS; tc.Cert != "" || tc.Key != "" {
		if tc.Cert == "" || tc.Key == "" {
			return fmt.Errorf("tls: set both tls.cert and tls.key, or neither")
		}
		cert, err := tls.LoadX509KeyPair(tc.Cert, tc.Key)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		m.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		m.listener = tls.NewListener(m.listener, m.http.TLSConfig)
	}
	go func() { m.served <- m.http.Serve(m.listener) }()
	slog.Info("listening", "addr", m.Addr(), "db", m.Config.DB)
	return nil
}

func (m *Main) seedDemo(ctx context.Context) error {
	if !m.Config.Demo.OnEmpty {
		return nil
	}
	seq, err := m.Store.MaxSeq(ctx)
	if err != nil || seq > 0 {
		return err
	}
	slog.Info("the store is empty: writing demo data (demo.on_empty)", "tickets", m.Config.Demo.Tickets, "days", m.Config.Demo.Days)
	stats, err := ingest.LoadDemo(ctx, m.Store, m.Writer, demoOptions(m.Config))
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	slog.Info("demo data written", "tickets", stats.Tickets, "events", stats.Events, "seconds", stats.Elapsed.Seconds())
	return seedDemoKB(ctx, m.Store, m.Config)
}

// setupAuth makes sure an administrator exists (printing a new token
// once), adds the admin API and sign-in pages, and returns the gate that
// guards every route.
func (m *Main) setupAuth(ctx context.Context) (*auth.Gate, error) {
	m.Auth = auth.New(m.Store)
	m.Auth.SessionIdle, m.Auth.SessionMax = m.Config.Auth.SessionIdle, m.Config.Auth.SessionMax
	email, token, err := m.Auth.Bootstrap(ctx, os.Getenv("DESKPULSE_ADMIN_TOKEN"))
	if err != nil {
		return nil, fmt.Errorf("create the first administrator: %w", err)
	}
	if token != "" {
		fmt.Printf("\nNo users yet: created administrator %s with this API token (shown only now, keep it):\n\n    %s\n\n", email, token)
	}
	m.API.AdminRoutes(m.Auth)
	gate := auth.NewGate(m.Auth, m.Config.Auth.TokenRate)
	gate.Routes(m.API.Routes())
	gate.Home = workspace.Home // agents and managers land on the inbox
	if gate.TrustedProxies, err = auth.ParseTrustedProxies(m.Config.Auth.TrustedProxies); err != nil {
		return nil, err
	}
	// The gate checks the rest per request (auth/demo.go); the listener is
	// opened after this.
	gate.Demo = func() bool { return m.Config.Demo.SignIn && m.onLoopback() }
	return gate, nil
}

func (m *Main) onLoopback() bool {
	if m.listener == nil {
		return false
	}
	addr, ok := m.listener.Addr().(*net.TCPAddr)
	return ok && addr.IP.IsLoopback()
}

// Addr is the address the server listens on.
func (m *Main) Addr() string {
	if m.listener == nil {
		return m.Config.Addr
	}
	return m.listener.Addr().String()
}

// Close lets in-flight requests finish, then commits what the writer has
// queued and closes the store cleanly.
func (m *Main) Close() error {
	var errs []error
	if m.Workspace != nil {
		m.Workspace.Close() // ends the live-update streams, which Shutdown would wait for
	}
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		errs = append(errs, m.http.Shutdown(ctx))
		if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if m.MailIn != nil {
		errs = append(errs, m.MailIn.Close())
	}
	if m.Reports != nil {
		errs = append(errs, m.Reports.Close())
	}
	if m.Automation != nil {
		errs = append(errs, m.Automation.Close())
	}
	if m.API != nil {
		errs = append(errs, m.API.Close()) // the SQL sandbox's process
	}
	if m.Writer != nil {
		errs = append(errs, m.Writer.Close())
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}
