package model

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one immutable change to a ticket. Events are the truth: the
// ticket table is rebuilt from them. Payload fields are pointers because an
// absent field ("leave as is") differs from an empty one ("clear it"); which
// fields a type uses is documented in docs/events.md.
type Event struct {
	Seq       int64     `json:"-"` // storage order, assigned when stored
	ID        string    `json:"id"`
	Ticket    string    `json:"ticket"`
	Type      EventType `json:"type"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	ActorKind ActorKind `json:"actor_kind"`

	Number         int64             `json:"number,omitempty"` // created: the human ticket number
	Subject        *string           `json:"subject,omitempty"`
	Description    *string           `json:"description,omitempty"`
	RequesterName  *string           `json:"requester_name,omitempty"`
	RequesterEmail *string           `json:"requester_email,omitempty"`
	TicketType     *TicketType       `json:"ticket_type,omitempty"`
	Priority       *Priority         `json:"priority,omitempty"`
	Category       *string           `json:"category,omitempty"`
	Channel        *Channel          `json:"channel,omitempty"`
	Tags           []string          `json:"tags,omitempty"`
	Fields         map[string]string `json:"fields,omitempty"`
	Team           *string           `json:"team,omitempty"`
	Assignee       *string           `json:"assignee,omitempty"`
	Status         *Status           `json:"status,omitempty"`
	Public         *bool             `json:"public,omitempty"`
	Body           *string           `json:"body,omitempty"`
	Score          *int              `json:"score,omitempty"`
	Comment        *string           `json:"comment,omitempty"`
}

// Ptr returns a pointer to v; events use it for their optional fields.
func Ptr[T any](v T) *T { return &v }

// Limits on text sizes, so one request cannot bloat the store.
const (
	MaxSubject = 500
	MaxText    = 64 << 10
	MaxShort   = 200
)

// Normalize validates an event's shape (not whether the ticket accepts it:
// that is Apply's job) and fills the defaults of a created event, so that a
// stored event is complete and replaying it needs no defaults.
func (e *Event) Normalize() error {
	if strings.TrimSpace(e.ID) == "" {
		return Invalid("id", "is required")
	}
	if strings.TrimSpace(e.Ticket) == "" {
		return Invalid("ticket", "is required")
	}
	if !e.Type.Valid() {
		return Invalid("type", "must be %s", oneOf(EventTypes))
	}
	if e.At.IsZero() {
		return Invalid("at", "is required (RFC 3339 time with zone)")
	}
	if !e.ActorKind.Valid() {
		return Invalid("actor_kind", "must be %s", oneOf(ActorKinds))
	}
	e.Actor = strings.TrimSpace(e.Actor)
	if e.Actor == "" {
		return Invalid("actor", "is required")
	}
	for _, f := range []struct {
		name  string
		value *string
		max   int
	}{
		{"subject", e.Subject, MaxSubject}, {"description", e.Description, MaxText},
		{"requester_name", e.RequesterName, MaxShort}, {"requester_email", e.RequesterEmail, MaxShort},
		{"category", e.Category, MaxShort}, {"team", e.Team, MaxShort}, {"assignee", e.Assignee, MaxShort},
		{"body", e.Body, MaxText}, {"comment", e.Comment, MaxText},
	} {
		if f.value != nil && (len(*f.value) > f.max || !utf8.ValidString(*f.value)) {
			return Invalid(f.name, "must be valid UTF-8 of at most %d bytes", f.max)
		}
	}
	if e.TicketType != nil && !e.TicketType.Valid() {
		return Invalid("ticket_type", "must be %s", oneOf(TicketTypes))
	}
	if e.Priority != nil && !e.Priority.Valid() {
		return Invalid("priority", "must be %s", oneOf(Priorities))
	}
	if e.Channel != nil && !e.Channel.Valid() {
		return Invalid("channel", "must be %s", oneOf(Channels))
	}
	if e.Status != nil && !e.Status.Valid() {
		return Invalid("status", "must be %s", oneOf(Statuses))
	}
	if e.Tags != nil {
		tags, err := NormalizeTags(e.Tags)
		if err != nil {
			return err
		}
		e.Tags = tags
	}
	for k, v := range e.Fields {
		if strings.TrimSpace(k) == "" || len(k) > MaxShort || len(v) > MaxText {
			return Invalid("fields", "custom field names must be 1-%d bytes and values at most %d bytes", MaxShort, MaxText)
		}
	}

	switch e.Type {
	case EventCreated:
		if e.Subject == nil || strings.TrimSpace(*e.Subject) == "" {
			return Invalid("subject", "is required")
		}
		if e.Description == nil {
			e.Description = Ptr("")
		}
		if e.RequesterEmail == nil {
			if e.ActorKind == ActorRequester {
				e.RequesterEmail = Ptr(e.Actor)
			} else {
				e.RequesterEmail = Ptr("")
			}
		}
		if e.RequesterName == nil {
			e.RequesterName = Ptr("")
		}
		if e.TicketType == nil {
			e.TicketType = Ptr(TypeIncident)
		}
		if e.Priority == nil {
			e.Priority = Ptr(PriorityNormal)
		}
		if e.Category == nil {
			e.Category = Ptr("")
		}
		if e.Channel == nil {
			e.Channel = Ptr(ChannelAPI)
		}
		if e.Tags == nil {
			e.Tags = []string{}
		}
	case EventAssigned:
		if e.Team == nil && e.Assignee == nil {
			return Invalid("assignee", "an assignment needs a team, an assignee or both")
		}
	case EventStatusChanged:
		if e.Status == nil {
			return Invalid("status", "is required")
		}
		switch *e.Status {
		case StatusOpen, StatusPending, StatusOnHold:
		default:
			return Invalid("status", "must be open, pending or on_hold (use resolved, reopened and closed events for the others)")
		}
	case EventPriorityChanged:
		if e.Priority == nil {
			return Invalid("priority", "is required")
		}
	case EventCategoryChanged:
		if e.Category == nil {
			return Invalid("category", "is required (an empty string clears it)")
		}
	case EventTagsChanged:
		if e.Tags == nil {
			e.Tags = []string{}
		}
	case EventFieldsChanged:
		if e.Subject == nil && e.Description == nil && e.TicketType == nil && len(e.Fields) == 0 {
			return Invalid("fields", "a fields_changed event changes at least one of subject, description, ticket_type, fields")
		}
		if e.Subject != nil && strings.TrimSpace(*e.Subject) == "" {
			return Invalid("subject", "must not be empty")
		}
	case EventCommented:
		if e.Body == nil || strings.TrimSpace(*e.Body) == "" {
			return Invalid("body", "is required")
		}
		if e.Public == nil {
			e.Public = Ptr(true)
		}
		if e.ActorKind == ActorRequester && !*e.Public {
			return Invalid("public", "requesters cannot write internal notes")
		}
	case EventCSATRated:
		if e.Score == nil || *e.Score < 1 || *e.Score > 5 {
			return Invalid("score", "must be a whole number from 1 to 5")
		}
	}
	return nil
}
