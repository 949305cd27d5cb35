package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
)

// Routing is the config's routing section: how each team's tickets are
// assigned. Team names match case-insensitively (viper lower-cases keys).
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

// Routing modes.
const (
	ModeManual      = "manual"
	ModeRoundRobin  = "round_robin"
	ModeLeastLoaded = "least_loaded"
	ModeSkills      = "skills"
)

// RouterActor is who routing assignments are by.
var RouterActor = model.Actor{Name: "router", Kind: model.ActorSystem}

func (r Routing) validate() error {
	for name, t := range r.Teams {
		switch t.Mode {
		case "", ModeManual, ModeRoundRobin, ModeLeastLoaded, ModeSkills:
		default:
			return fmt.Errorf("routing.teams.%s.mode %q must be manual, round_robin, least_loaded or skills", name, t.Mode)
		}
		if t.MaxOpen < 0 {
			return fmt.Errorf("routing.teams.%s.max_open must be 0 (no cap) or more", name)
		}
	}
	return nil
}

// team returns a team's routing (the zero value, manual, if none).
func (r Routing) team(name string) TeamRouting {
	if t, ok := r.Teams[name]; ok {
		return t
	}
	for k, t := range r.Teams {
		if strings.EqualFold(k, name) {
			return t
		}
	}
	return TeamRouting{}
}

func (t TeamRouting) routed() bool { return t.Mode != "" && t.Mode != ModeManual }

type router struct {
	e   *Engine
	cfg Routing
}

func newRouter(e *Engine, cfg Routing) *router { return &router{e: e, cfg: cfg} }

// route assigns a ticket that an event (created, or an assignment that
// changed the team or unassigned it) left unassigned in a routed team; it
// returns the ticket afterwards, nil if nothing changed.
func (r *router) route(ctx context.Context, ev *model.Event, t *model.Ticket, depth int) *model.Ticket {
	if ev.Type != model.EventCreated && ev.Type != model.EventAssigned && ev.Type != model.EventReopened {
		return nil
	}
	if t == nil || t.Assignee != "" || t.Team == "" || !t.Status.Unresolved() || !r.cfg.team(t.Team).routed() {
		return nil
	}
	if ev.Type == model.EventAssigned && ev.Actor == RouterActor.Name {
		return nil
	}
	return r.assign(ctx, t, depth, "route:"+ev.ID)
}

// assign picks an agent and records the assignment, once per key (the
// event that landed the ticket in the team; "" from the scheduler); nil
// when nobody can take the ticket (all away or at their cap: the
// scheduler tries again).
func (r *router) assign(ctx context.Context, t *model.Ticket, depth int, key string) *model.Ticket {
	agent, reason := r.pick(ctx, t)
	if agent == "" {
		slog.Debug("routing: nobody to assign", "ticket", t.ID, "team", t.Team, "reason", reason)
		return nil
	}
	res, err := r.e.w.Do(ctx, &routeCommand{id: t.ID, key: key, team: t.Team, agent: agent, reason: reason})
	if err != nil {
		slog.Warn("routing: assign", "ticket", t.ID, "agent", agent, "err", err)
		return nil
	}
	if len(res.Events) == 0 {
		return nil
	}
	for _, x := range res.Events {
		r.e.depth[x.ID] = depth
	}
	r.assigned(ctx, t.Team, agent)
	return res.Ticket
}

// assigned records that the team's routing gave agent a ticket: a
// round-robin team continues after agent next time, whether the routing
// ran for a ticket landing in the team or for a rule's set_assignee auto.
func (r *router) assigned(ctx context.Context, team, agent string) {
	if r.cfg.team(team).Mode != ModeRoundRobin {
		return
	}
	if _, err := r.e.st.DB.ExecContext(ctx, `INSERT INTO routing_state (team, last_agent, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (team) DO UPDATE SET last_agent = excluded.last_agent, updated_at = excluded.updated_at`,
		strings.ToLower(team), agent, r.e.now().UTC()); err != nil {
		slog.Warn("routing: save round-robin position", "err", err)
	}
}

// candidate is an agent who could take a ticket.
type candidate struct {
	email  string
	skills []string
	open   int
}

// pick chooses an agent of t's team by the team's mode, with the reason
// ("" and why not when nobody can take it).
func (r *router) pick(ctx context.Context, t *model.Ticket) (string, string) {
	tr := r.cfg.team(t.Team)
	mode := tr.Mode
	if !tr.routed() {
		mode = ModeLeastLoaded // set_assignee auto on a manual team
	}
	cands, err := r.candidates(ctx, t.Team)
	if err != nil {
		slog.Warn("routing: candidates", "team", t.Team, "err", err)
		return "", "error"
	}
	if len(cands) == 0 {
		return "", "no available agent in team " + t.Team
	}
	if tr.MaxOpen > 0 {
		cands = slices.DeleteFunc(cands, func(c candidate) bool { return c.open >= tr.MaxOpen })
		if len(cands) == 0 {
			return "", fmt.Sprintf("every available agent of %s has %d open tickets (max_open)", t.Team, tr.MaxOpen)
		}
	}
	capNote := ""
	if tr.MaxOpen > 0 {
		capNote = fmt.Sprintf(", max %d", tr.MaxOpen)
	}
	switch mode {
	case ModeRoundRobin:
		var last string
		err := r.e.st.DB.QueryRowContext(ctx, `SELECT last_agent FROM routing_state WHERE team = ?`, strings.ToLower(t.Team)).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			slog.Warn("routing: round-robin position", "err", err)
		}
		next := cands[0]
		for _, c := range cands { // sorted by e-mail: the first after the last one
			if c.email > last {
				next = c
				break
			}
		}
		return next.email, fmt.Sprintf("round_robin in team %s: next available agent (%d open%s)", t.Team, next.open, capNote)
	case ModeSkills:
		terms := ticketTerms(t)
		best, bestN := []candidate(nil), 0
		for _, c := range cands {
			n := 0
			for _, s := range c.skills {
				if slices.Contains(terms, s) {
					n++
				}
			}
			switch {
			case n > bestN:
				best, bestN = []candidate{c}, n
			case n == bestN && n > 0:
				best = append(best, c)
			}
		}
		if bestN == 0 {
			c := leastLoaded(cands)
			return c.email, fmt.Sprintf("skills in team %s: nobody has a skill in [%s]; least loaded (%d open%s)", t.Team, strings.Join(terms, " "), c.open, capNote)
		}
		c := leastLoaded(best)
		var matched []string
		for _, s := range c.skills {
			if slices.Contains(terms, s) {
				matched = append(matched, s)
			}
		}
		return c.email, fmt.Sprintf("skills in team %s: matches %s; least loaded of %d (%d open%s)", t.Team, strings.Join(matched, ", "), len(best), c.open, capNote)
	default:
		c := leastLoaded(cands)
		return c.email, fmt.Sprintf("least_loaded in team %s: fewest open tickets (%d%s)", t.Team, c.open, capNote)
	}
}

// leastLoaded is the candidate with the fewest open tickets (the first by
// e-mail among equals).
func leastLoaded(cands []candidate) candidate {
	best := cands[0]
	for _, c := range cands[1:] {
		if c.open < best.open {
			best = c
		}
	}
	return best
}

// ticketTerms are what skills match: the category, the tags and the
// custom field language, lower-cased.
func ticketTerms(t *model.Ticket) []string {
	var out []string
	add := func(s string) {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(t.Category)
	for _, tag := range t.Tags {
		add(tag)
	}
	add(t.Fields["language"])
	return out
}

// candidates are the team's available agents (within their calendar's
// hours if they have one), with their open tickets, sorted by e-mail.
func (r *router) candidates(ctx context.Context, team string) ([]candidate, error) {
	rows, err := r.e.st.DB.QueryContext(ctx, `SELECT a.email, a.skills, coalesce(a.calendar, ''),
			(SELECT count(*) FROM tickets t WHERE t.assignee = a.email AND t.status NOT IN ('resolved', 'closed')) AS open
		FROM agents a
		WHERE coalesce(a.availability, 'available') = 'available' AND list_contains(list_transform(a.teams, x -> lower(x)), lower(?))
		ORDER BY a.email`, team)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	now := r.e.now()
	var out []candidate
	for rows.Next() {
		var c candidate
		var skills any
		var cal string
		if err := rows.Scan(&c.email, &skills, &cal, &c.open); err != nil {
			return nil, err
		}
		if cal != "" && !r.e.cals.Open(cal, now) {
			continue
		}
		if list, ok := skills.([]any); ok {
			for _, s := range list {
				if str, ok := s.(string); ok {
					c.skills = append(c.skills, strings.ToLower(str))
				}
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// tick routes the unassigned unresolved tickets of routed teams, oldest
// first: those nobody could take before (everyone away or at the cap).
func (r *router) tick(ctx context.Context) error {
	var teams []string
	for name, t := range r.cfg.Teams {
		if t.routed() {
			teams = append(teams, strings.ToLower(name))
		}
	}
	if len(teams) == 0 {
		return nil
	}
	rows, err := r.e.st.DB.QueryContext(ctx, `SELECT id FROM tickets WHERE assignee = '' AND status NOT IN ('resolved', 'closed')
		AND list_contains(?, lower(team)) ORDER BY created_at, id LIMIT ?`, teams, r.e.opts.MaxPerTick)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		return rows.Err()
	}
	tickets, err := r.e.ticketsByID(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if t := tickets[id]; t != nil {
			r.assign(ctx, t, 1, "")
		}
	}
	return nil
}

// routeCommand assigns the ticket if it is still unassigned in the team,
// as the router, with the reason in the event's comment.
type routeCommand struct {
	id, key, team, agent, reason string
}

func (c *routeCommand) TicketID() string { return c.id }

// Key makes a replayed event's routing a no-op (ingest.Keyed).
func (c *routeCommand) Key() string { return c.key }

func (c *routeCommand) Record() string { return "" }

func (c *routeCommand) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	if t == nil {
		return nil, model.ErrNotFound
	}
	if t.Assignee != "" || t.Team != c.team || !t.Status.Unresolved() {
		return nil, nil
	}
	evs, err := (&ingest.Assign{ID: t.ID, Actor: RouterActor, Assignee: &c.agent}).Decide(t, at)
	for _, e := range evs {
		e.Comment = model.Ptr(c.reason)
	}
	return evs, err
}
