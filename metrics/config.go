package metrics

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// Config is the metrics part of config.yaml: the default reporting time
// zone, the business calendars and the SLA policies. The CLI decodes it
// with viper (mapstructure tags; durations such as "1h" or "40h" decode
// into time.Duration with viper's default hooks); the what-if endpoint
// decodes the same shape from JSON.
type Config struct {
	// Timezone is the default reporting zone (IANA name, e.g.
	// Europe/Berlin); empty means UTC. A query's tz= overrides it.
	Timezone  string              `mapstructure:"timezone" json:"timezone,omitempty" yaml:"timezone,omitempty"`
	Calendars map[string]Calendar `mapstructure:"calendars" json:"calendars,omitempty" yaml:"calendars,omitempty"`
	SLA       SLAConfig           `mapstructure:"sla" json:"sla" yaml:"sla"`

	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time `mapstructure:"-" json:"-" yaml:"-"`
}

// Calendar is a weekly schedule of business hours in one zone, with
// holidays (whole local days off).
type Calendar struct {
	Timezone string `mapstructure:"timezone" json:"timezone" yaml:"timezone"`
	// Hours maps a weekday (mon, tue, wed, thu, fri, sat, sun) to one or
	// more "HH:MM-HH:MM" intervals; a missing day is closed. "24:00" may
	// end an interval.
	Hours    map[string][]string `mapstructure:"hours" json:"hours" yaml:"hours"`
	Holidays []string            `mapstructure:"holidays" json:"holidays,omitempty" yaml:"holidays,omitempty"`
}

// SLAConfig holds the SLA policies; the first matching policy applies.
type SLAConfig struct {
	Policies []Policy `mapstructure:"policies" json:"policies" yaml:"policies"`
}

// Policy is an SLA policy: which tickets it applies to and its targets.
type Policy struct {
	Name string `mapstructure:"name" json:"name" yaml:"name"`
	// Match keys: priority, type, team, category, channel. A ticket matches
	// when, for every key given, its value is one of the listed ones. No
	// keys match every ticket.
	Match map[string][]string `mapstructure:"match" json:"match,omitempty" yaml:"match,omitempty"`
	// Calendar names a calendar; empty means calendar hours (24x7).
	Calendar      string        `mapstructure:"calendar" json:"calendar,omitempty" yaml:"calendar,omitempty"`
	FirstResponse time.Duration `mapstructure:"first_response" json:"first_response" yaml:"first_response"`
	Resolution    time.Duration `mapstructure:"resolution" json:"resolution" yaml:"resolution"`
}

// MatchKeys are the ticket fields a policy can match on.
var MatchKeys = []string{"priority", "type", "team", "category", "channel"}

// weekdays in config spelling, with their ISO day numbers (mon=1 ... sun=7).
var weekdays = map[string]int{"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}

// DefaultConfig is the example: an office calendar Mon-Fri 09:00-17:00
// in Europe/Berlin, "Urgent and high" 1h/8h on it and "Default" 8h/40h
// around the clock, reporting in UTC.
func DefaultConfig() Config {
	day := []string{"09:00-17:00"}
	return Config{
		Timezone: "UTC",
		Calendars: map[string]Calendar{
			"office": {
				Timezone: "Europe/Berlin",
				Hours:    map[string][]string{"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
			},
		},
		SLA: SLAConfig{Policies: []Policy{
			{Name: "Urgent and high", Match: map[string][]string{"priority": {"urgent", "high"}}, Calendar: "office",
				FirstResponse: time.Hour, Resolution: 8 * time.Hour},
			{Name: "Default", FirstResponse: 8 * time.Hour, Resolution: 40 * time.Hour},
		}},
	}
}

// Validate checks the config and says what is wrong with which entry.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			bad("timezone: unknown time zone %q", c.Timezone)
		}
	}
	for _, name := range sortedKeys(c.Calendars) {
		cal := c.Calendars[name]
		where := "calendars." + name
		if strings.TrimSpace(name) == "" {
			bad("calendars: a calendar needs a name")
		}
		if cal.Timezone == "" {
			bad("%s.timezone: is required (an IANA zone such as Europe/Berlin)", where)
		} else if _, err := time.LoadLocation(cal.Timezone); err != nil {
			bad("%s.timezone: unknown time zone %q", where, cal.Timezone)
		}
		open := 0
		for _, day := range sortedKeys(cal.Hours) {
			if _, ok := weekdays[strings.ToLower(day)]; !ok {
				bad("%s.hours: %q is not a weekday (use mon, tue, wed, thu, fri, sat, sun)", where, day)
				continue
			}
			spans, err := parseDay(cal.Hours[day])
			if err != nil {
				bad("%s.hours.%s: %v", where, day, err)
			}
			open += len(spans)
		}
		if open == 0 {
			bad("%s.hours: the calendar has no business hours", where)
		}
		for _, h := range cal.Holidays {
			if _, err := time.Parse(time.DateOnly, h); err != nil {
				bad("%s.holidays: %q is not a date (YYYY-MM-DD)", where, h)
			}
		}
	}
	names := map[string]bool{}
	for i, p := range c.SLA.Policies {
		where := fmt.Sprintf("sla.policies[%d]", i)
		if strings.TrimSpace(p.Name) == "" {
			bad("%s.name: is required", where)
		} else if names[p.Name] {
			bad("%s.name: %q is used twice", where, p.Name)
		}
		names[p.Name] = true
		if p.Calendar != "" {
			if _, ok := c.Calendars[p.Calendar]; !ok {
				bad("%s.calendar: no calendar named %q", where, p.Calendar)
			}
		}
		if p.FirstResponse <= 0 {
			bad("%s.first_response: must be a positive duration such as 1h", where)
		}
		if p.Resolution <= 0 {
			bad("%s.resolution: must be a positive duration such as 8h", where)
		}
		for _, key := range sortedKeys(p.Match) {
			if !slices.Contains(MatchKeys, key) {
				bad("%s.match: unknown key %q (use %s)", where, key, strings.Join(MatchKeys, ", "))
				continue
			}
			for _, v := range p.Match[key] {
				if err := validMatchValue(key, v); err != nil {
					bad("%s.match.%s: %v", where, key, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func validMatchValue(key, v string) error {
	switch key {
	case "priority":
		if !model.Priority(v).Valid() {
			return fmt.Errorf("%q is not a priority (low, normal, high, urgent)", v)
		}
	case "type":
		if !model.TicketType(v).Valid() {
			return fmt.Errorf("%q is not a ticket type", v)
		}
	case "channel":
		if !model.Channel(v).Valid() {
			return fmt.Errorf("%q is not a channel", v)
		}
	}
	return nil
}

// span is an interval of a day in minutes from local midnight.
type span struct{ start, end int }

// parseDay parses a weekday's "HH:MM-HH:MM" intervals, sorted, checking
// that they do not overlap.
func parseDay(list []string) ([]span, error) {
	var out []span
	for _, s := range list {
		a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
		if !ok {
			return nil, fmt.Errorf("%q is not HH:MM-HH:MM", s)
		}
		start, err1 := parseClock(a)
		end, err2 := parseClock(b)
		if err1 != nil || err2 != nil || start >= end {
			return nil, fmt.Errorf("%q is not HH:MM-HH:MM with the start before the end", s)
		}
		out = append(out, span{start, end})
	}
	slices.SortFunc(out, func(x, y span) int { return x.start - y.start })
	for i := 1; i < len(out); i++ {
		if out[i].start < out[i-1].end {
			return nil, fmt.Errorf("intervals overlap")
		}
	}
	return out, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || len(strings.TrimSpace(s)) != 5 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	if h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// fingerprint identifies the parts of the config the stored per-ticket
// metrics depend on (calendars and policies), with the pipeline version.
func (c *Config) fingerprint() string {
	b, _ := json.Marshal(struct {
		V int
		C map[string]Calendar
		P []Policy
	}{pipelineVersion, c.Calendars, c.SLA.Policies})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// UnmarshalJSON accepts durations as Go duration strings ("1h", "90m") or
// as numbers of minutes, so a what-if request can be written like
// config.yaml.
func (p *Policy) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name          string              `json:"name"`
		Match         map[string][]string `json:"match"`
		Calendar      string              `json:"calendar"`
		FirstResponse json.RawMessage     `json:"first_response"`
		Resolution    json.RawMessage     `json:"resolution"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	fr, err := parseJSONDuration(raw.FirstResponse)
	if err != nil {
		return fmt.Errorf("first_response: %w", err)
	}
	res, err := parseJSONDuration(raw.Resolution)
	if err != nil {
		return fmt.Errorf("resolution: %w", err)
	}
	*p = Policy{Name: raw.Name, Match: raw.Match, Calendar: raw.Calendar, FirstResponse: fr, Resolution: res}
	return nil
}

// MarshalJSON writes durations as strings such as "1h0m0s".
func (p Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name          string              `json:"name"`
		Match         map[string][]string `json:"match,omitempty"`
		Calendar      string              `json:"calendar,omitempty"`
		FirstResponse string              `json:"first_response"`
		Resolution    string              `json:"resolution"`
	}{p.Name, p.Match, p.Calendar, p.FirstResponse.String(), p.Resolution.String()})
}

func parseJSONDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 1h or 90m", s)
		}
		return d, nil
	}
	var minutes float64
	if err := json.Unmarshal(raw, &minutes); err != nil {
		return 0, fmt.Errorf("must be a duration string such as \"8h\" or a number of minutes")
	}
	return time.Duration(minutes * float64(time.Minute)), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
