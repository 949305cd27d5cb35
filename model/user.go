package model

import (
	"net/mail"
	"slices"
	"strings"
	"time"
)

// Role is what a user may do.
type Role string

const (
	RoleAdmin   Role = "admin"   // everything, including users and tokens
	RoleManager Role = "manager" // tickets, metrics, dashboards, reports, SLA policies, rules
	RoleAnalyst Role = "analyst" // metrics, exports and SQL: read only
	RoleAgent   Role = "agent"   // works tickets
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleManager, RoleAnalyst, RoleAgent}

func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Permission is one kind of access that routes require.
type Permission string

const (
	PermTickets    Permission = "tickets"    // read and change tickets, read agents and teams
	PermMetrics    Permission = "metrics"    // read metrics, exports, SQL
	PermDashboards Permission = "dashboards" // browse the dashboards
	PermManage     Permission = "manage"     // reports, SLA policies, rules, agents, teams, imports
	PermAdmin      Permission = "admin"      // users, tokens, audit
)

// permissions is the role matrix.
var permissions = map[Role][]Permission{
	RoleAdmin:   {PermTickets, PermMetrics, PermDashboards, PermManage, PermAdmin},
	RoleManager: {PermTickets, PermMetrics, PermDashboards, PermManage},
	RoleAnalyst: {PermMetrics, PermDashboards}, // the dashboards are views of the metrics
	RoleAgent:   {PermTickets},
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool { return slices.Contains(permissions[r], p) }

// User is someone who signs in to deskpulse.
type User struct {
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// DisabledAt is when an admin disabled the user (nil: active); a
	// disabled user cannot sign in and has no live tokens or sessions.
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
}

// Validate checks and normalises a new user.
func (u *User) Validate() error {
	addr, err := mail.ParseAddress(strings.TrimSpace(u.Email))
	if err != nil || addr.Name != "" {
		return Invalid("email", "must be a plain email address such as ann@example.com")
	}
	u.Email = strings.ToLower(addr.Address)
	u.Name = strings.TrimSpace(u.Name)
	if len(u.Name) > MaxShort {
		return Invalid("name", "is at most %d bytes", MaxShort)
	}
	if !u.Role.Valid() {
		return Invalid("role", "must be %s", oneOf(Roles))
	}
	return nil
}
