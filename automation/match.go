package automation

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
)

// Subject is what a rule is evaluated on: the ticket, the event that
// triggered the rule (nil for time and SLA triggers) and the instant.
type Subject struct {
	Ticket *model.Ticket
	Event  *model.Event
	At     time.Time
}

// Actor is the identity a rule acts as.
func (r *Rule) Actor() model.Actor {
	return model.Actor{Name: "rule:" + r.Name, Kind: model.ActorSystem}
}

// TriggeredBy reports whether an event fires the rule's (event) trigger,
// enabled or not. A rule's own events never do.
func (r *Rule) TriggeredBy(e *model.Event) bool {
	if e.ActorKind == model.ActorSystem && e.Actor == "rule:"+r.Name {
		return false
	}
	return triggerOf(e.Type) == r.Trigger.On
}

// triggerOf maps an event type to the event trigger it fires.
func triggerOf(t model.EventType) string {
	switch t {
	case model.EventCreated:
		return OnCreated
	case model.EventAssigned, model.EventPriorityChanged, model.EventCategoryChanged, model.EventTagsChanged, model.EventFieldsChanged:
		return OnUpdated
	case model.EventCommented:
		return OnCommented
	case model.EventStatusChanged, model.EventResolved, model.EventReopened, model.EventClosed:
		return OnStatusChanged
	}
	return ""
}

// Matches evaluates the conditions (all, or any) on s.
func (r *Rule) Matches(s *Subject, cals *Calendars) bool {
	if len(r.Conditions) == 0 {
		return true
	}
	for i := range r.Conditions {
		ok := r.Conditions[i].eval(s, cals)
		if r.Match == "any" && ok {
			return true
		}
		if r.Match != "any" && !ok {
			return false
		}
	}
	return r.Match != "any"
}

// value is a field of the subject as text.
func value(s *Subject, field string) string {
	t := s.Ticket
	switch field {
	case "status":
		return string(t.Status)
	case "priority":
		return string(t.Priority)
	case "type":
		return string(t.Type)
	case "category":
		return t.Category
	case "channel":
		return string(t.Channel)
	case "team":
		return t.Team
	case "assignee":
		return t.Assignee
	case "subject":
		return t.Subject
	case "description":
		return t.Description
	case "requester_name":
		return t.RequesterName
	case "requester_email":
		return t.RequesterEmail
	case "requester_domain":
		if i := strings.LastIndexByte(t.RequesterEmail, '@'); i >= 0 {
			return strings.ToLower(t.RequesterEmail[i+1:])
		}
		return ""
	case "tags":
		return strings.Join(t.Tags, " ")
	}
	if name, ok := strings.CutPrefix(field, "custom."); ok {
		return t.Fields[name]
	}
	e := s.Event
	if e == nil {
		return ""
	}
	switch field {
	case "event.type":
		return string(e.Type)
	case "event.actor":
		return e.Actor
	case "event.actor_kind":
		return string(e.ActorKind)
	case "event.body":
		if e.Body != nil {
			return *e.Body
		}
	case "event.public":
		if e.Public != nil {
			return strconv.FormatBool(*e.Public)
		}
	}
	return ""
}

func (c *Condition) eval(s *Subject, cals *Calendars) bool {
	switch c.Op {
	case "business_hours":
		return cals.Open(c.Value, s.At)
	case "outside_business_hours":
		return !cals.Open(c.Value, s.At)
	case "tag_present", "tag_absent":
		want := c.Values
		if c.Value != "" {
			want = append([]string{c.Value}, want...)
		}
		has := slices.ContainsFunc(want, func(tag string) bool { return slices.Contains(s.Ticket.Tags, strings.ToLower(tag)) })
		return has == (c.Op == "tag_present")
	}
	if c.Field == "tags" {
		switch c.Op {
		case "equals", "contains":
			return slices.Contains(s.Ticket.Tags, strings.ToLower(c.Value))
		case "not_equals", "not_contains":
			return !slices.Contains(s.Ticket.Tags, strings.ToLower(c.Value))
		case "in", "not_in":
			has := slices.ContainsFunc(c.Values, func(tag string) bool { return slices.Contains(s.Ticket.Tags, strings.ToLower(tag)) })
			return has == (c.Op == "in")
		}
	}
	v := value(s, c.Field)
	switch c.Op {
	case "equals":
		return strings.EqualFold(v, c.Value)
	case "not_equals":
		return !strings.EqualFold(v, c.Value)
	case "in", "not_in":
		in := slices.ContainsFunc(c.Values, func(x string) bool { return strings.EqualFold(v, x) })
		return in == (c.Op == "in")
	case "contains", "not_contains":
		has := containsFold(v, c.Value)
		return has == (c.Op == "contains")
	case "matches":
		return c.re != nil && c.re.MatchString(v)
	case "empty":
		return v == ""
	case "not_empty":
		return v != ""
	}
	return false
}

func containsFold(s, sub string) bool {
	if sub == "" {
		return true
	}
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// Calendars answers "is it business hours" for the config's calendars.
type Calendars struct {
	cals map[string]*calendar
}

type calendar struct {
	loc      *time.Location
	days     map[time.Weekday][][2]int // minutes from local midnight, [start, end)
	holidays map[string]bool
}

var weekdayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// NewCalendars compiles the metrics config's calendars (already validated
// by package metrics).
func NewCalendars(in map[string]metrics.Calendar) *Calendars {
	c := &Calendars{cals: map[string]*calendar{}}
	for name, mc := range in {
		cal := &calendar{loc: time.UTC, days: map[time.Weekday][][2]int{}, holidays: map[string]bool{}}
		if loc, err := time.LoadLocation(mc.Timezone); err == nil && mc.Timezone != "" {
			cal.loc = loc
		}
		for day, list := range mc.Hours {
			wd, ok := weekdayNames[strings.ToLower(day)]
			if !ok {
				continue
			}
			for _, span := range list {
				a, b, ok := strings.Cut(span, "-")
				start, err1 := clock(a)
				end, err2 := clock(b)
				if ok && err1 == nil && err2 == nil {
					cal.days[wd] = append(cal.days[wd], [2]int{start, end})
				}
			}
		}
		for _, h := range mc.Holidays {
			cal.holidays[h] = true
		}
		c.cals[name] = cal
	}
	return c
}

func clock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil {
		return 0, err
	}
	return h*60 + m, nil
}

// Has reports whether a calendar of that name exists.
func (c *Calendars) Has(name string) bool { return c != nil && c.cals[name] != nil }

// Open reports whether instant t is within the calendar's business hours;
// an unknown calendar is never open.
func (c *Calendars) Open(name string, t time.Time) bool {
	if c == nil || c.cals[name] == nil {
		return false
	}
	cal := c.cals[name]
	l := t.In(cal.loc)
	if cal.holidays[l.Format(time.DateOnly)] {
		return false
	}
	m := l.Hour()*60 + l.Minute()
	for _, span := range cal.days[l.Weekday()] {
		if m >= span[0] && m < span[1] {
			return true
		}
	}
	return false
}

// after is the instant minutes of business time of the calendar after
// start (calendar time for "", a 24x7 policy), and whether that is at
// most limit later; it walks the calendar a minute at a time (dry runs).
func (c *Calendars) after(name string, start time.Time, minutes float64, limit time.Duration) (time.Time, bool) {
	if minutes <= 0 {
		return start, true
	}
	if name == "" {
		d := time.Duration(minutes * float64(time.Minute))
		return start.Add(d), d <= limit
	}
	t := start
	for t.Sub(start) < limit {
		if c.Open(name, t) {
			minutes--
			if minutes <= 0 {
				return t.Add(time.Duration((1 + minutes) * float64(time.Minute))), true
			}
		}
		t = t.Add(time.Minute)
	}
	return time.Time{}, false
}
