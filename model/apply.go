package model

import "maps"

// Apply checks that the ticket accepts e in its current state and, if so,
// changes the ticket accordingly. It is the state machine: closed is final
// (only a late CSAT rating is accepted), resolve needs an unresolved ticket,
// reopen and close need a resolved one, a rating needs a resolution. Apply
// expects a Normalized event; on error the ticket is unchanged.
//
// The set-based rebuild in the store must give the same result as Apply;
// a test holds the two together.
func (t *Ticket) Apply(e *Event) error {
	deny := func(reason string) error {
		return &TransitionError{Event: e.Type, Status: t.Status, Reason: reason}
	}
	if e.Type == EventCreated {
		if t.ID != "" {
			return deny("the ticket already exists")
		}
	} else {
		if t.ID == "" {
			return ErrNotFound
		}
		if t.Status == StatusClosed && e.Type != EventCSATRated {
			return deny("a closed ticket is final")
		}
	}

	switch e.Type {
	case EventCreated:
		*t = Ticket{
			ID: e.Ticket, Number: e.Number, Subject: *e.Subject, Description: *e.Description,
			RequesterName: *e.RequesterName, RequesterEmail: *e.RequesterEmail,
			Type: *e.TicketType, Category: *e.Category, Tags: e.Tags, Priority: *e.Priority,
			Status: StatusNew, Channel: *e.Channel, Fields: map[string]string{}, CreatedAt: e.At,
		}
		t.mergeFields(e.Fields)
		if e.Team != nil {
			t.Team = *e.Team
		}
		if e.Assignee != nil {
			t.Assignee = *e.Assignee
		}
	case EventAssigned:
		if e.Team != nil {
			t.Team = *e.Team
		}
		if e.Assignee != nil {
			t.Assignee = *e.Assignee
		}
	case EventStatusChanged:
		if !t.Status.Unresolved() {
			return deny("reopen it first")
		}
		if t.Status == *e.Status {
			return deny("the ticket is already " + string(t.Status))
		}
		t.Status = *e.Status
	case EventPriorityChanged:
		t.Priority = *e.Priority
	case EventCategoryChanged:
		t.Category = *e.Category
	case EventTagsChanged:
		t.Tags = e.Tags
	case EventFieldsChanged:
		if e.Subject != nil {
			t.Subject = *e.Subject
		}
		if e.Description != nil {
			t.Description = *e.Description
		}
		if e.TicketType != nil {
			t.Type = *e.TicketType
		}
		t.mergeFields(e.Fields)
	case EventCommented:
		if *e.Public && e.ActorKind == ActorAgent {
			t.AgentReplies++
			if t.FirstResponseAt == nil {
				t.FirstResponseAt = Ptr(e.At)
			}
		}
	case EventResolved:
		if !t.Status.Unresolved() {
			return deny("the ticket is already resolved")
		}
		t.Status = StatusResolved
		t.ResolvedAt = Ptr(e.At)
	case EventReopened:
		if t.Status != StatusResolved {
			return deny("only a resolved ticket can be reopened")
		}
		t.Status = StatusOpen
		t.ResolvedAt = nil
		t.Reopens++
	case EventClosed:
		if t.Status != StatusResolved {
			return deny("resolve the ticket before closing it")
		}
		t.Status = StatusClosed
		t.ClosedAt = Ptr(e.At)
	case EventCSATRated:
		if t.Status.Unresolved() {
			return deny("a ticket can be rated once it is resolved")
		}
		t.CSATScore = Ptr(*e.Score)
		t.CSATComment = ""
		if e.Comment != nil {
			t.CSATComment = *e.Comment
		}
	}
	if e.At.After(t.UpdatedAt) {
		t.UpdatedAt = e.At
	}
	return nil
}

// mergeFields sets custom fields; an empty value removes the field.
func (t *Ticket) mergeFields(fields map[string]string) {
	if len(fields) == 0 {
		return
	}
	t.Fields = maps.Clone(t.Fields)
	if t.Fields == nil {
		t.Fields = map[string]string{}
	}
	for k, v := range fields {
		if v == "" {
			delete(t.Fields, k)
		} else {
			t.Fields[k] = v
		}
	}
}
