package main

import (
	"context"
	"time"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/notify"
)

// startAutomation starts the rules engine with its routes and its
// scheduler (time and SLA triggers, each minute).
func (m *Main) startAutomation(ctx context.Context) error {
	var err error
	m.Automation, err = automation.New(ctx, automation.Options{
		Store: m.Store, Writer: m.Writer, Metrics: m.Metrics,
		Rules: m.Config.AutomationRules, Calendars: m.Config.Metrics.Calendars, Routing: m.Config.Routing,
		Webhooks: m.Config.Webhooks,
		Mailer:   notify.New(m.Store, m.Config.Notifications, m.Config.SMTP),
	})
	if err != nil {
		return err
	}
	m.API.AutomationRoutes(m.Automation)
	m.API.WebhookRoutes(m.Automation.Webhooks())
	if err := m.Automation.Start(ctx); err != nil {
		return err
	}
	m.Automation.StartScheduler(time.Minute)
	return nil
}
