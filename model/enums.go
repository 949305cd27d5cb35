// Package model holds deskpulse's domain types: tickets, their lifecycle
// events, the enumerations they use, validation and the state machine that
// says which events a ticket accepts. It does no I/O.
package model

import (
	"fmt"
	"slices"
)

// Status is where a ticket stands in its lifecycle.
type Status string

const (
	StatusNew      Status = "new"
	StatusOpen     Status = "open"
	StatusPending  Status = "pending" // waiting on the requester: SLA resolution clock paused
	StatusOnHold   Status = "on_hold" // waiting on a third party: SLA resolution clock paused
	StatusResolved Status = "resolved"
	StatusClosed   Status = "closed" // final
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{StatusNew, StatusOpen, StatusPending, StatusOnHold, StatusResolved, StatusClosed}

// Unresolved reports whether the ticket still needs work.
func (s Status) Unresolved() bool { return s != StatusResolved && s != StatusClosed }

// Priority is how urgent a ticket is.
type Priority string

const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Priorities lists every priority from least to most urgent.
var Priorities = []Priority{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// Rank orders priorities: low 1 ... urgent 4; unknown 0.
func (p Priority) Rank() int { return slices.Index(Priorities, p) + 1 }

// TicketType says what kind of work a ticket is.
type TicketType string

const (
	TypeIncident       TicketType = "incident"
	TypeServiceRequest TicketType = "service_request"
	TypeQuestion       TicketType = "question"
	TypeProblem        TicketType = "problem"
	TypeTask           TicketType = "task"
)

// TicketTypes lists every ticket type.
var TicketTypes = []TicketType{TypeIncident, TypeServiceRequest, TypeQuestion, TypeProblem, TypeTask}

// Channel is how a ticket reached support.
type Channel string

const (
	ChannelAPI   Channel = "api"
	ChannelWeb   Channel = "web"
	ChannelEmail Channel = "email"
	ChannelPhone Channel = "phone"
	ChannelChat  Channel = "chat"
)

// Channels lists every channel.
var Channels = []Channel{ChannelAPI, ChannelWeb, ChannelEmail, ChannelPhone, ChannelChat}

// ActorKind says who caused an event. Only agents' public comments count
// as responses in the metrics.
type ActorKind string

const (
	ActorAgent     ActorKind = "agent"
	ActorRequester ActorKind = "requester"
	ActorSystem    ActorKind = "system"
)

// ActorKinds lists every actor kind.
var ActorKinds = []ActorKind{ActorAgent, ActorRequester, ActorSystem}

// EventType names a lifecycle event.
type EventType string

const (
	EventCreated         EventType = "created"
	EventAssigned        EventType = "assigned"
	EventStatusChanged   EventType = "status_changed"
	EventPriorityChanged EventType = "priority_changed"
	EventCategoryChanged EventType = "category_changed"
	EventTagsChanged     EventType = "tags_changed"
	EventFieldsChanged   EventType = "fields_changed"
	EventCommented       EventType = "commented"
	EventResolved        EventType = "resolved"
	EventReopened        EventType = "reopened"
	EventClosed          EventType = "closed"
	EventCSATRated       EventType = "csat_rated"
)

// EventTypes lists every event type.
var EventTypes = []EventType{
	EventCreated, EventAssigned, EventStatusChanged, EventPriorityChanged,
	EventCategoryChanged, EventTagsChanged, EventFieldsChanged, EventCommented,
	EventResolved, EventReopened, EventClosed, EventCSATRated,
}

// Valid reports whether v is one of the listed values.
func (s Status) Valid() bool     { return slices.Contains(Statuses, s) }
func (p Priority) Valid() bool   { return slices.Contains(Priorities, p) }
func (t TicketType) Valid() bool { return slices.Contains(TicketTypes, t) }
func (c Channel) Valid() bool    { return slices.Contains(Channels, c) }
func (k ActorKind) Valid() bool  { return slices.Contains(ActorKinds, k) }
func (t EventType) Valid() bool  { return slices.Contains(EventTypes, t) }

// oneOf formats the allowed values for an error message.
func oneOf[T ~string](values []T) string {
	s := ""
	for i, v := range values {
		if i > 0 {
			s += ", "
		}
		s += string(v)
	}
	return fmt.Sprintf("one of: %s", s)
}
