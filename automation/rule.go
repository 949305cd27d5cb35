// Package automation is deskpulse's workflow automation: rules that act on
// tickets when something happens to them (created, updated, commented,
// status changed), when a status has been held for a while ("pending for 5
// days") or when an SLA target is at risk or breached; auto-assignment per
// team; webhooks; e-mail notifications through a durable outbound queue.
//
// Every change a rule makes is an event with actor_kind system and the
// actor "rule:<name>", so timelines explain themselves and the metrics
// never count a rule as an agent. The Engine receives committed events
// from the ingest.Writer (Writer.Subscribe), queues them to its own
// goroutine and issues its commands through Writer.Do. A rule's own events
// never trigger it again, and a chain of rules triggering rules stops at
// MaxDepth with a warning in the log.
package automation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// Trigger kinds.
const (
	OnCreated       = "created"        // a ticket was created
	OnUpdated       = "updated"        // priority, category, tags, fields, team or assignee changed
	OnCommented     = "commented"      // a public reply or an internal note
	OnStatusChanged = "status_changed" // status_changed, resolved, reopened, closed
	OnSLAAtRisk     = "sla_at_risk"    // a running SLA target has under Within left
	OnSLABreached   = "sla_breached"   // an SLA target passed its due time unfulfilled
	OnTime          = "time"           // the ticket has had Status for at least For
)

// Triggers lists every trigger kind.
var Triggers = []string{OnCreated, OnUpdated, OnCommented, OnStatusChanged, OnSLAAtRisk, OnSLABreached, OnTime}

// Rule is one automation rule: when Trigger fires for a ticket and the
// Conditions hold (all of them, or any with Match "any"), the Actions run
// in order.
type Rule struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Enabled     bool        `json:"enabled"`
	Trigger     Trigger     `json:"trigger"`
	Match       string      `json:"match"` // all (default) or any
	Conditions  []Condition `json:"conditions"`
	Actions     []Action    `json:"actions"`
	Source      string      `json:"source"` // config (seeded from config.yaml) or api
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// Trigger says when a rule is considered.
type Trigger struct {
	On string `json:"on"`
	// Status and For: a time trigger fires once the ticket has had Status
	// for at least For (once per stay in that status).
	Status model.Status `json:"status,omitempty"`
	For    Duration     `json:"for,omitempty"`
	// Target limits SLA triggers to first_response or resolution ("" both);
	// Within is how much time left counts as at risk.
	Target string   `json:"target,omitempty"`
	Within Duration `json:"within,omitempty"`
}

// UnmarshalJSON also accepts a bare trigger name: "created".
func (t *Trigger) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = Trigger{On: s}
		return nil
	}
	type plain Trigger
	return json.Unmarshal(b, (*plain)(t))
}

// Condition tests one field of the ticket (or of the triggering event).
type Condition struct {
	Field  string   `json:"field,omitempty"`
	Op     string   `json:"op"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`

	re *regexp.Regexp
}

// Condition operators.
var Ops = []string{"equals", "not_equals", "in", "not_in", "contains", "not_contains", "matches",
	"empty", "not_empty", "tag_present", "tag_absent", "business_hours", "outside_business_hours"}

// Fields conditions can test. custom.NAME is a custom field; event.* are
// the triggering event's (empty for time and SLA triggers).
var Fields = []string{"status", "priority", "type", "category", "channel", "team", "assignee",
	"subject", "description", "requester_name", "requester_email", "requester_domain", "tags",
	"event.type", "event.actor", "event.actor_kind", "event.body", "event.public"}

// Action is one step of a rule.
type Action struct {
	Type   string   `json:"type"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`
	// Body is an internal note's text (a text/template over the ticket:
	// {{.Ticket.Number}}, {{.Rule}}, {{.DueAt}}).
	Body string `json:"body,omitempty"`
	// To and Template: an e-mail to the requester, the assignee or the
	// team's agents, from a named template (see package notify's list).
	To       string `json:"to,omitempty"`
	Template string `json:"template,omitempty"`
	// URL and Secret: a webhook call, signed like subscriptions.
	URL    string `json:"url,omitempty"`
	Secret string `json:"secret,omitempty"`

	body *template.Template
}

// Action types.
var ActionTypes = []string{"set_priority", "raise_priority", "set_type", "set_category", "set_tags", "add_tags",
	"remove_tags", "set_team", "set_assignee", "set_status", "add_note", "email", "webhook"}

// Duration is a length of time written as Go durations with d (days) and
// w (weeks) allowed: "90m", "8h", "5d", "1w2d".
type Duration time.Duration

// ParseDuration reads a Duration.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var total time.Duration
	rest := s
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}} {
		if i := strings.Index(rest, unit.suffix); i > 0 {
			n, err := strconv.Atoi(rest[:i])
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration such as 90m, 8h, 5d", s)
			}
			total += time.Duration(n) * unit.d
			rest = rest[i+1:]
		}
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 90m, 8h, 5d", s)
		}
		total += d
	}
	return Duration(total), nil
}

func (d Duration) String() string {
	td := time.Duration(d)
	if td > 0 && td%(24*time.Hour) == 0 {
		return strconv.Itoa(int(td/(24*time.Hour))) + "d"
	}
	s := td.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if json.Unmarshal(b, &n) != nil {
			return fmt.Errorf("a duration is a string such as \"5d\"")
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := ParseDuration(s)
	*d = v
	return err
}

// DecodeRule reads a rule from JSON; a rule is enabled unless it says
// "enabled": false.
func DecodeRule(b []byte) (*Rule, error) {
	r := &Rule{Enabled: true}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return nil, model.Invalid("", "rule: %v", err)
	}
	return r, nil
}

// ParseRules reads the config's rules section (a list of maps as viper
// gives it) and validates every rule.
func ParseRules(specs []map[string]any) ([]*Rule, error) {
	var out []*Rule
	for i, spec := range specs {
		b, err := json.Marshal(spec)
		if err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
		r, err := DecodeRule(b)
		if err == nil {
			err = r.Validate()
		}
		if err != nil {
			return nil, fmt.Errorf("rules[%d] (%v): %w", i, spec["name"], err)
		}
		if slices.ContainsFunc(out, func(x *Rule) bool { return x.Name == r.Name }) {
			return nil, fmt.Errorf("rules[%d]: duplicate name %q", i, r.Name)
		}
		r.Source = "config"
		out = append(out, r)
	}
	return out, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$`)

// Validate checks a rule, compiles its patterns and templates and fills
// defaults. Errors are model.ValidationError naming the field.
func (r *Rule) Validate() error {
	r.Name = strings.TrimSpace(r.Name)
	if !nameRE.MatchString(r.Name) {
		return model.Invalid("name", "is required: letters, digits, spaces, . _ - (at most 100)")
	}
	if r.Match == "" {
		r.Match = "all"
	}
	if r.Match != "all" && r.Match != "any" {
		return model.Invalid("match", "must be all or any")
	}
	t := &r.Trigger
	if !slices.Contains(Triggers, t.On) {
		return model.Invalid("trigger.on", "must be one of: %s", strings.Join(Triggers, ", "))
	}
	switch t.On {
	case OnTime:
		if !t.Status.Valid() || t.Status == model.StatusClosed {
			return model.Invalid("trigger.status", "a time trigger needs the status held: new, open, pending, on_hold or resolved")
		}
		if t.For < Duration(time.Minute) {
			return model.Invalid("trigger.for", "a time trigger needs for: at least 1m, e.g. 5d")
		}
	case OnSLAAtRisk, OnSLABreached:
		if t.Target != "" && t.Target != "first_response" && t.Target != "resolution" {
			return model.Invalid("trigger.target", "must be first_response or resolution (or empty for both)")
		}
		if t.On == OnSLAAtRisk && t.Within <= 0 {
			return model.Invalid("trigger.within", "an sla_at_risk trigger needs within: the time left, e.g. 1h")
		}
	}
	if r.Conditions == nil {
		r.Conditions = []Condition{}
	}
	for i := range r.Conditions {
		if err := r.Conditions[i].compile(); err != nil {
			if ve, ok := err.(*model.ValidationError); ok {
				ve.Field = fmt.Sprintf("conditions[%d].%s", i, ve.Field)
			}
			return err
		}
	}
	if len(r.Actions) == 0 {
		return model.Invalid("actions", "a rule needs at least one action")
	}
	for i := range r.Actions {
		if err := r.Actions[i].compile(); err != nil {
			if ve, ok := err.(*model.ValidationError); ok {
				ve.Field = fmt.Sprintf("actions[%d].%s", i, ve.Field)
			}
			return err
		}
	}
	return nil
}

func (c *Condition) compile() error {
	if !slices.Contains(Ops, c.Op) {
		return model.Invalid("op", "must be one of: %s", strings.Join(Ops, ", "))
	}
	switch c.Op {
	case "tag_present", "tag_absent":
		if c.Field == "" {
			c.Field = "tags"
		}
		if c.Value == "" && len(c.Values) == 0 {
			return model.Invalid("value", "name the tag")
		}
	case "business_hours", "outside_business_hours":
		if c.Value == "" {
			return model.Invalid("value", "name the calendar (see calendars in config.yaml)")
		}
		return nil
	case "in", "not_in":
		if len(c.Values) == 0 {
			return model.Invalid("values", "%s needs values", c.Op)
		}
	case "matches":
		re, err := regexp.Compile(c.Value)
		if err != nil {
			return model.Invalid("value", "not a regular expression: %v", err)
		}
		c.re = re
	}
	if c.Field == "" || !(slices.Contains(Fields, c.Field) || strings.HasPrefix(c.Field, "custom.") && len(c.Field) > 7) {
		return model.Invalid("field", "must be one of: %s, or custom.NAME", strings.Join(Fields, ", "))
	}
	return nil
}

func (a *Action) compile() error {
	if !slices.Contains(ActionTypes, a.Type) {
		return model.Invalid("type", "must be one of: %s", strings.Join(ActionTypes, ", "))
	}
	switch a.Type {
	case "set_priority":
		if !model.Priority(a.Value).Valid() {
			return model.Invalid("value", "must be a priority: low, normal, high, urgent")
		}
	case "set_type":
		if !model.TicketType(a.Value).Valid() {
			return model.Invalid("value", "must be a ticket type")
		}
	case "set_status":
		if s := model.Status(a.Value); !s.Valid() || s == model.StatusNew {
			return model.Invalid("value", "must be open, pending, on_hold, resolved or closed")
		}
	case "set_tags", "add_tags", "remove_tags":
		if len(a.Values) == 0 && a.Type != "set_tags" {
			return model.Invalid("values", "list the tags")
		}
		tags, err := model.NormalizeTags(a.Values)
		if err != nil {
			return model.Invalid("values", "tags are single words of at most 64 characters")
		}
		a.Values = tags
	case "set_team":
		if a.Value == "" {
			return model.Invalid("value", "name the team")
		}
	case "add_note":
		if strings.TrimSpace(a.Body) == "" {
			return model.Invalid("body", "an internal note needs a body")
		}
		tpl, err := template.New("note").Option("missingkey=zero").Parse(a.Body)
		if err != nil {
			return model.Invalid("body", "template: %v", err)
		}
		a.body = tpl
	case "email":
		if a.To != "requester" && a.To != "assignee" && a.To != "team" {
			return model.Invalid("to", "must be requester, assignee or team")
		}
		if a.Template == "" {
			return model.Invalid("template", "name the e-mail template")
		}
	case "webhook":
		if !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "https://") {
			return model.Invalid("url", "must be an http or https URL")
		}
	}
	return nil
}

// Describe says in words what the action does, for timelines and dry runs.
func (a *Action) Describe() string {
	switch a.Type {
	case "set_priority", "set_type", "set_category", "set_team", "set_status":
		return fmt.Sprintf("%s %s", strings.ReplaceAll(strings.TrimPrefix(a.Type, "set_"), "_", " ")+" →", quoteEmpty(a.Value))
	case "set_assignee":
		return "assignee → " + quoteEmpty(a.Value)
	case "raise_priority":
		return "raise priority one step"
	case "set_tags", "add_tags", "remove_tags":
		return strings.ReplaceAll(a.Type, "_", " ") + " " + strings.Join(a.Values, ", ")
	case "add_note":
		return "internal note"
	case "email":
		return fmt.Sprintf("e-mail the %s (template %s)", a.To, a.Template)
	case "webhook":
		return "call webhook " + a.URL
	}
	return a.Type
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
