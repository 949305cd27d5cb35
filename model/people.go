package model

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Team is a group of agents that tickets are routed to.
type Team struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

// Validate checks a new team.
func (t *Team) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || len(t.Name) > MaxShort {
		return Invalid("name", "is required, at most %d bytes", MaxShort)
	}
	if len(t.Description) > MaxText {
		return Invalid("description", "is at most %d bytes", MaxText)
	}
	return nil
}

// Agent is a person who works tickets.
type Agent struct {
	Email  string   `json:"email"`
	Name   string   `json:"name"`
	Teams  []string `json:"teams"`
	Skills []string `json:"skills"`
	// Availability is available (default), away or offline; auto-assignment
	// picks available agents only, and only within their Calendar's
	// business hours when one is named.
	Availability string    `json:"availability"`
	Calendar     string    `json:"calendar,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Availabilities lists the agent availability values.
var Availabilities = []string{"available", "away", "offline"}

// Validate checks and normalises a new agent.
func (a *Agent) Validate() error {
	addr, err := mail.ParseAddress(strings.TrimSpace(a.Email))
	if err != nil || addr.Name != "" {
		return Invalid("email", "must be a plain email address such as bob@example.com")
	}
	a.Email = strings.ToLower(addr.Address)
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" || len(a.Name) > MaxShort {
		return Invalid("name", "is required, at most %d bytes", MaxShort)
	}
	if a.Teams == nil {
		a.Teams = []string{}
	}
	skills, err := NormalizeTags(a.Skills)
	if err != nil {
		return Invalid("skills", "skills are single words of at most 64 characters")
	}
	a.Skills = skills
	if a.Availability == "" {
		a.Availability = "available"
	}
	if !slices.Contains(Availabilities, a.Availability) {
		return Invalid("availability", "must be available, away or offline")
	}
	return nil
}

// Actor is who causes an event: an agent, a requester or the system (a
// rule, an import, the API without a known user).
type Actor struct {
	Name string
	Kind ActorKind
}
