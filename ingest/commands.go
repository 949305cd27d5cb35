package ingest

import (
	"fmt"
	"slices"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

func newEvent(ticket string, typ model.EventType, at time.Time, actor model.Actor) *model.Event {
	return &model.Event{ID: model.NewID(), Ticket: ticket, Type: typ, At: at, Actor: actor.Name, ActorKind: actor.Kind}
}

// existing is the common guard of commands on a ticket that must exist.
func existing(t *model.Ticket) error {
	if t == nil {
		return model.ErrNotFound
	}
	return nil
}

// StaleError refuses a command made on an older version of the ticket
// than the current one: someone changed it since the command's sender
// looked. Current is the version now.
type StaleError struct {
	Seen, Current time.Time
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("the ticket changed since it was read (version %d, now %d)", e.Seen.UnixMicro(), e.Current.UnixMicro())
}

// fresh is the guard of a command that carries the version its sender
// saw (the ticket's updated_at): checked in Decide, on the writer's
// current state, so two senders of one version cannot both pass it.
// A nil version checks nothing.
func fresh(t *model.Ticket, seen *time.Time) error {
	if seen != nil && !t.UpdatedAt.Equal(*seen) {
		return &StaleError{Seen: *seen, Current: t.UpdatedAt}
	}
	return nil
}

// CreateTicket opens a new ticket; Team and Assignee, when given, follow
// as an assigned event.
type CreateTicket struct {
	ID             string // set by NewCreate
	Actor          model.Actor
	Subject        string
	Description    string
	RequesterName  string
	RequesterEmail string
	Type           model.TicketType
	Priority       model.Priority
	Category       string
	Channel        model.Channel
	Tags           []string
	Fields         map[string]string
	Team, Assignee string
}

func (c *CreateTicket) TicketID() string {
	if c.ID == "" {
		c.ID = model.NewID()
	}
	return c.ID
}

func (c *CreateTicket) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	e := newEvent(c.TicketID(), model.EventCreated, at, c.Actor)
	e.Subject, e.Description = &c.Subject, &c.Description
	e.RequesterName, e.RequesterEmail = &c.RequesterName, &c.RequesterEmail
	if c.RequesterEmail == "" && c.Actor.Kind == model.ActorRequester {
		e.RequesterEmail = &c.Actor.Name
	}
	e.Category, e.Tags, e.Fields = &c.Category, c.Tags, c.Fields
	if c.Type != "" {
		e.TicketType = &c.Type
	}
	if c.Priority != "" {
		e.Priority = &c.Priority
	}
	if c.Channel != "" {
		e.Channel = &c.Channel
	}
	events := []*model.Event{e}
	if c.Team != "" || c.Assignee != "" {
		a := newEvent(e.Ticket, model.EventAssigned, at, c.Actor)
		if c.Team != "" {
			a.Team = &c.Team
		}
		if c.Assignee != "" {
			a.Assignee = &c.Assignee
		}
		events = append(events, a)
	}
	return events, nil
}

// UpdateTicket changes a ticket's fields; nil fields stay as they are.
// Each kind of change is its own event, and unchanged values make none.
type UpdateTicket struct {
	ID          string
	Actor       model.Actor
	Subject     *string
	Description *string
	Type        *model.TicketType
	Priority    *model.Priority
	Category    *string
	Tags        *[]string
	Fields      map[string]string // "" removes a field
	IfVersion   *time.Time        // refuse with StaleError unless the ticket is still at this version
}

func (c *UpdateTicket) TicketID() string { return c.ID }

func (c *UpdateTicket) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	if err := existing(t); err != nil {
		return nil, err
	}
	if err := fresh(t, c.IfVersion); err != nil {
		return nil, err
	}
	var events []*model.Event
	add := func(typ model.EventType) *model.Event {
		e := newEvent(t.ID, typ, at, c.Actor)
		events = append(events, e)
		return e
	}
	if c.Priority != nil && *c.Priority != t.Priority {
		add(model.EventPriorityChanged).Priority = c.Priority
	}
	if c.Category != nil && *c.Category != t.Category {
		add(model.EventCategoryChanged).Category = c.Category
	}
	if c.Tags != nil {
		tags, err := model.NormalizeTags(*c.Tags)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(tags, t.Tags) {
			add(model.EventTagsChanged).Tags = tags
		}
	}
	f := &model.Event{}
	if c.Subject != nil && *c.Subject != t.Subject {
		f.Subject = c.Subject
	}
	if c.Description != nil && *c.Description != t.Description {
		f.Description = c.Description
	}
	if c.Type != nil && *c.Type != t.Type {
		f.TicketType = c.Type
	}
	changed := map[string]string{}
	for k, v := range c.Fields {
		if cur, ok := t.Fields[k]; cur != v && (ok || v != "") {
			changed[k] = v
		}
	}
	if len(changed) > 0 {
		f.Fields = changed
	}
	if f.Subject != nil || f.Description != nil || f.TicketType != nil || f.Fields != nil {
		e := add(model.EventFieldsChanged)
		e.Subject, e.Description, e.TicketType, e.Fields = f.Subject, f.Description, f.TicketType, f.Fields
	}
	return events, nil
}

// Assign sets a ticket's team and/or assignee ("" unassigns).
type Assign struct {
	ID             string
	Actor          model.Actor
	Team, Assignee *string
	IfVersion      *time.Time // refuse with StaleError unless the ticket is still at this version
}

func (c *Assign) TicketID() string { return c.ID }

func (c *Assign) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	if err := existing(t); err != nil {
		return nil, err
	}
	if err := fresh(t, c.IfVersion); err != nil {
		return nil, err
	}
	e := newEvent(t.ID, model.EventAssigned, at, c.Actor)
	if c.Team != nil && *c.Team != t.Team {
		e.Team = c.Team
	}
	if c.Assignee != nil && *c.Assignee != t.Assignee {
		e.Assignee = c.Assignee
	}
	if e.Team == nil && e.Assignee == nil {
		return nil, nil
	}
	return []*model.Event{e}, nil
}

// Comment adds a public reply or an internal note. As in common helpdesks
// an agent's public reply opens a new ticket, a requester's reply takes a
// pending ticket back to open, and a requester's reply to a resolved
// ticket reopens it; these follow-ups are events of their own.
type Comment struct {
	ID        string
	Actor     model.Actor
	Body      string
	Public    bool
	IfVersion *time.Time // refuse with StaleError unless the ticket is still at this version
}

func (c *Comment) TicketID() string { return c.ID }

func (c *Comment) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	if err := existing(t); err != nil {
		return nil, err
	}
	if err := fresh(t, c.IfVersion); err != nil {
		return nil, err
	}
	e := newEvent(t.ID, model.EventCommented, at, c.Actor)
	e.Body, e.Public = &c.Body, &c.Public
	events := []*model.Event{e}
	follow := func(typ model.EventType, status model.Status) {
		f := newEvent(t.ID, typ, at, c.Actor)
		if typ == model.EventStatusChanged {
			f.Status = &status
		}
		events = append(events, f)
	}
	switch {
	case !c.Public:
	case c.Actor.Kind == model.ActorAgent && t.Status == model.StatusNew:
		follow(model.EventStatusChanged, model.StatusOpen)
	case c.Actor.Kind == model.ActorRequester && t.Status == model.StatusPending:
		follow(model.EventStatusChanged, model.StatusOpen)
	case c.Actor.Kind == model.ActorRequester && t.Status == model.StatusResolved:
		follow(model.EventReopened, "")
	}
	return events, nil
}

// SetStatus moves a ticket to any status, choosing the event that means it:
// resolved, closed, reopened (from resolved) or status_changed.
type SetStatus struct {
	ID        string
	Actor     model.Actor
	Status    model.Status
	IfVersion *time.Time // refuse with StaleError unless the ticket is still at this version
}

func (c *SetStatus) TicketID() string { return c.ID }

func (c *SetStatus) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	if err := existing(t); err != nil {
		return nil, err
	}
	if err := fresh(t, c.IfVersion); err != nil {
		return nil, err
	}
	if !c.Status.Valid() {
		return nil, model.Invalid("status", "must be one of: open, pending, on_hold, resolved, closed")
	}
	var typ model.EventType
	switch {
	case c.Status == t.Status:
		return nil, nil
	case c.Status == model.StatusResolved:
		typ = model.EventResolved
	case c.Status == model.StatusClosed:
		typ = model.EventClosed
	case t.Status == model.StatusResolved && c.Status == model.StatusOpen:
		typ = model.EventReopened
	default:
		typ = model.EventStatusChanged
	}
	e := newEvent(t.ID, typ, at, c.Actor)
	if typ == model.EventStatusChanged {
		e.Status = &c.Status
	}
	return []*model.Event{e}, nil
}

// Transition is a bare lifecycle step: resolved, reopened or closed.
type Transition struct {
	ID    string
	Actor model.Actor
	Type  model.EventType
}

func (c *Transition) TicketID() string { return c.ID }

func (c *Transition) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	if err := existing(t); err != nil {
		return nil, err
	}
	return []*model.Event{newEvent(t.ID, c.Type, at, c.Actor)}, nil
}

// RateCSAT records the requester's satisfaction rating; the latest counts.
type RateCSAT struct {
	ID      string
	Actor   model.Actor
	Score   int
	Comment string
}

func (c *RateCSAT) TicketID() string { return c.ID }

func (c *RateCSAT) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	if err := existing(t); err != nil {
		return nil, err
	}
	e := newEvent(t.ID, model.EventCSATRated, at, c.Actor)
	e.Score, e.Comment = &c.Score, &c.Comment
	return []*model.Event{e}, nil
}

// Then is commands on one ticket made one: each decides on the state the
// ones before it leave, and their events are committed together or not
// at all (a reply and the status change it comes with).
type Then []Command

func (c Then) TicketID() string { return c[0].TicketID() }

func (c Then) Decide(t *model.Ticket, at time.Time) ([]*model.Event, error) {
	var all []*model.Event
	cur := t
	for _, cmd := range c {
		if cmd.TicketID() != c.TicketID() {
			return nil, fmt.Errorf("ingest.Then: commands on tickets %s and %s", c.TicketID(), cmd.TicketID())
		}
		evs, err := cmd.Decide(cur, at)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			next := &model.Ticket{}
			if cur != nil {
				next = cur.Clone()
			}
			for _, e := range evs {
				if err := e.Normalize(); err != nil {
					return nil, err
				}
				if err := next.Apply(e); err != nil {
					return nil, err
				}
			}
			cur = next
		}
		all = append(all, evs...)
	}
	return all, nil
}
