package automation

import (
	"context"
	"time"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// queueRuleWebhook queues a rule's webhook call.
func queueRuleWebhook(ctx context.Context, st *store.Store, a *Action, r *Rule, t *model.Ticket, ev *model.Event, now time.Time) error {
	return nil
}
