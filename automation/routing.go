package automation

import (
	"context"
	"fmt"

	"github.com/deskpulse/deskpulse/model"
)

// Routing is the config's routing section: how each team's new tickets
// are assigned.
type Routing struct {
	Teams map[string]TeamRouting `mapstructure:"teams" json:"teams"`
}

// TeamRouting is one team's assignment mode.
type TeamRouting struct {
	// Mode: manual (default), round_robin, least_loaded or skills.
	Mode string `mapstructure:"mode" json:"mode"`
	// MaxOpen caps an agent's unresolved tickets (0: no cap).
	MaxOpen int `mapstructure:"max_open" json:"max_open"`
	// Lead is the team lead's e-mail (escalations: set_assignee team_lead).
	Lead string `mapstructure:"lead" json:"lead"`
}

func (r Routing) validate() error {
	for name, t := range r.Teams {
		switch t.Mode {
		case "", "manual", "round_robin", "least_loaded", "skills":
		default:
			return fmt.Errorf("routing.teams.%s.mode %q must be manual, round_robin, least_loaded or skills", name, t.Mode)
		}
		if t.MaxOpen < 0 {
			return fmt.Errorf("routing.teams.%s.max_open must be 0 (no cap) or more", name)
		}
	}
	return nil
}

type router struct {
	e   *Engine
	cfg Routing
}

func newRouter(e *Engine, cfg Routing) *router { return &router{e: e, cfg: cfg} }

// route assigns a ticket that an event left in a routed team without an
// assignee; it returns the ticket afterwards, nil if nothing changed.
func (r *router) route(ctx context.Context, ev *model.Event, t *model.Ticket, depth int) *model.Ticket {
	return nil
}

// pick chooses an agent of t's team by the team's mode, with the reason.
func (r *router) pick(ctx context.Context, t *model.Ticket) (string, string) {
	return "", ""
}
