package model

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Ticket is the current state of a ticket: a projection of its events.
type Ticket struct {
	ID              string            `json:"id"`
	Number          int64             `json:"number"`
	Subject         string            `json:"subject"`
	Description     string            `json:"description"`
	RequesterName   string            `json:"requester_name"`
	RequesterEmail  string            `json:"requester_email"`
	Type            TicketType        `json:"type"`
	Category        string            `json:"category"`
	Tags            []string          `json:"tags"`
	Priority        Priority          `json:"priority"`
	Status          Status            `json:"status"`
	Channel         Channel           `json:"channel"`
	Team            string            `json:"team"`
	Assignee        string            `json:"assignee"`
	Fields          map[string]string `json:"custom_fields"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	FirstResponseAt *time.Time        `json:"first_response_at"`
	ResolvedAt      *time.Time        `json:"resolved_at"`
	ClosedAt        *time.Time        `json:"closed_at"`
	CSATScore       *int              `json:"csat_score"`
	CSATComment     string            `json:"csat_comment"`
	Reopens         int               `json:"reopens"`
	AgentReplies    int               `json:"agent_replies"`
}

// Clone returns a deep copy, so a command can be tried on it without
// touching the original.
func (t *Ticket) Clone() *Ticket {
	c := *t
	c.Tags = slices.Clone(t.Tags)
	c.Fields = maps.Clone(t.Fields)
	return &c
}

// NormalizeTags trims, lower-cases, de-duplicates and sorts tags, so that a
// tag set has one spelling. Tags may not contain spaces or commas.
func NormalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if strings.ContainsAny(t, " ,\t\n") || len(t) > 64 {
			return nil, Invalid("tags", "tag %q must be one word of at most 64 characters", t)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
