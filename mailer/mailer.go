// Package mailer sends e-mail through the configured SMTP server (the
// config's smtp section) with go-mail. Scheduled reports (package
// reports) and notifications (package notify) share it.
package mailer

import (
	"context"
	"os"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTP is the config's smtp section: the server e-mails go through.
type SMTP struct {
	Host     string        `mapstructure:"host"`
	Port     int           `mapstructure:"port"`
	TLS      string        `mapstructure:"tls"` // starttls (required), opportunistic, implicit, none
	Username string        `mapstructure:"username"`
	Password string        `mapstructure:"password"` // or DESKPULSE_SMTP_PASSWORD; never logged
	From     string        `mapstructure:"from"`
	Timeout  time.Duration `mapstructure:"timeout"`
}

// WithDefaults fills an unset timeout (30s) and TLS mode (starttls), and
// the password from DESKPULSE_SMTP_PASSWORD when the config has none.
func (s SMTP) WithDefaults() SMTP {
	if s.Timeout <= 0 {
		s.Timeout = 30 * time.Second
	}
	if s.TLS == "" {
		s.TLS = "starttls"
	}
	if v := os.Getenv("DESKPULSE_SMTP_PASSWORD"); v != "" && s.Password == "" {
		s.Password = v
	}
	return s
}

// Send delivers m over the SMTP server of cfg.
func Send(ctx context.Context, cfg SMTP, m *mail.Msg) error {
	opts := []mail.Option{mail.WithPort(cfg.Port), mail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL())
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if cfg.Username != "" {
		// The strongest mechanism the server offers; over a connection
		// configured without TLS (tls: none, e.g. a relay on localhost)
		// PLAIN, which the operator then chose to send unencrypted.
		auth := mail.SMTPAuthAutoDiscover
		if cfg.TLS == "none" {
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, m)
}
