package automation

// DefaultRules are the rules config.yaml ships (config key rules), as
// viper holds them: acknowledge new tickets by e-mail with the ticket
// number and status link; close tickets resolved for 3 days; escalate to
// the team lead and raise the priority when the resolution SLA has under
// an hour left.
func DefaultRules() []any {
	return []any{
		map[string]any{
			"name":        "acknowledge-new-tickets",
			"description": "E-mail the requester the ticket number and a status link.",
			"trigger":     map[string]any{"on": "created"},
			"conditions":  []any{map[string]any{"field": "requester_email", "op": "not_empty"}},
			"actions":     []any{map[string]any{"type": "email", "to": "requester", "template": "ticket_created"}},
		},
		map[string]any{
			"name":        "close-resolved-after-3-days",
			"description": "Close tickets that stayed resolved for 3 days.",
			"trigger":     map[string]any{"on": "time", "status": "resolved", "for": "3d"},
			"actions":     []any{map[string]any{"type": "set_status", "value": "closed"}},
		},
		map[string]any{
			"name":        "escalate-resolution-at-risk",
			"description": "Under 1 hour left on the resolution SLA: raise the priority and hand the ticket to the team lead.",
			"trigger":     map[string]any{"on": "sla_at_risk", "target": "resolution", "within": "1h"},
			"actions": []any{
				map[string]any{"type": "raise_priority"},
				map[string]any{"type": "set_assignee", "value": "team_lead"},
				map[string]any{"type": "add_note", "body": "Resolution due {{.DueAt}}: priority raised and escalated to the team lead by rule {{.Rule}}."},
			},
		},
	}
}

// Specs converts the config's rules value (a list of maps) for ParseRules.
func Specs(v []any) []map[string]any {
	out := make([]map[string]any, 0, len(v))
	for _, x := range v {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		} else {
			out = append(out, map[string]any{"invalid": x})
		}
	}
	return out
}
