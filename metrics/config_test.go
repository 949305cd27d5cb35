package metrics

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"github.com/deskpulse/deskpulse/model"
)

// TestConfigDecodesLikeViper decodes the YAML shape (as viper hands
// it to mapstructure, with viper's default hooks) into Config.
func TestConfigDecodesLikeViper(t *testing.T) {
	raw := map[string]any{
		"timezone": "Europe/Berlin",
		"calendars": map[string]any{"office": map[string]any{
			"timezone": "Europe/Berlin",
			"hours":    map[string]any{"mon": []any{"09:00-17:00"}, "tue": []any{"09:00-12:00", "13:00-17:00"}},
			"holidays": []any{"2026-01-06", "2026-12-25"},
		}},
		"sla": map[string]any{"policies": []any{
			map[string]any{"name": "Urgent and high", "match": map[string]any{"priority": []any{"urgent", "high"}}, "calendar": "office", "first_response": "1h", "resolution": "8h"},
			map[string]any{"name": "Default", "first_response": "8h", "resolution": "40h"},
		}},
	}
	var cfg Config
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result: &cfg, WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc(), mapstructure.StringToSliceHookFunc(",")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := cfg.SLA.Policies[0]
	if p.FirstResponse != time.Hour || p.Resolution != 8*time.Hour || p.Calendar != "office" || len(p.Match["priority"]) != 2 ||
		len(cfg.Calendars["office"].Hours["tue"]) != 2 || cfg.SLA.Policies[1].Resolution != 40*time.Hour {
		t.Fatalf("decoded %+v", cfg)
	}
	// The same document as JSON (the what-if request).
	var fromJSON Config
	if err := json.Unmarshal([]byte(`{"calendars":{"office":{"timezone":"Europe/Berlin","hours":{"mon":["09:00-17:00"]}}},
		"sla":{"policies":[{"name":"X","calendar":"office","first_response":"90m","resolution":480}]}}`), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if fromJSON.SLA.Policies[0].FirstResponse != 90*time.Minute || fromJSON.SLA.Policies[0].Resolution != 8*time.Hour {
		t.Fatalf("json %+v", fromJSON.SLA.Policies[0])
	}
	if c := DefaultConfig(); c.Validate() != nil {
		t.Fatal(c.Validate())
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{
		Timezone: "Mars/Olympus",
		Calendars: map[string]Calendar{"office": {Timezone: "Europe/Berlin", Hours: map[string][]string{
			"mon": {"09:00-17:00", "16:00-18:00"}, "funday": {"09:00-10:00"}, "tue": {"17:00-09:00"}}, Holidays: []string{"6 Jan"}}},
		SLA: SLAConfig{Policies: []Policy{
			{Name: "A", Calendar: "shop", FirstResponse: time.Hour, Match: map[string][]string{"priority": {"asap"}, "colour": {"red"}}},
			{Name: "A", FirstResponse: time.Hour, Resolution: time.Hour},
		}},
	}
	err := cfg.Validate()
	for _, want := range []string{
		"timezone: unknown time zone", "calendars.office.hours.mon: intervals overlap", `"funday" is not a weekday`,
		"calendars.office.hours.tue:", `calendars.office.holidays: "6 Jan"`, `sla.policies[0].calendar: no calendar named "shop"`,
		"sla.policies[0].resolution: must be a positive", `sla.policies[0].match.priority: "asap"`, `unknown key "colour"`,
		`sla.policies[1].name: "A" is used twice`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestParseQuery(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	d := Defaults{TZ: berlin, Now: func() time.Time { return ts("2026-03-15T10:00:00Z") }, Days: 7}
	q, err := ParseQuery(url.Values{}, d)
	if err != nil {
		t.Fatal(err)
	}
	// Default: the last 7 local days including today: [Mar 9, Mar 16) Berlin.
	if !q.From.Equal(ts("2026-03-08T23:00:00Z")) || !q.To.Equal(ts("2026-03-15T23:00:00Z")) || q.Interval != "day" {
		t.Errorf("defaults %v %v", q.From, q.To)
	}
	v, _ := url.ParseQuery("from=2026-03-01&to=2026-03-02T12:00:00Z&tz=America/New_York&team=a,b&team=c&priority=high&asof=2026-03-10")
	q, err = ParseQuery(v, d)
	if err != nil {
		t.Fatal(err)
	}
	if !q.From.Equal(ts("2026-03-01T05:00:00Z")) || !q.To.Equal(ts("2026-03-02T12:00:00Z")) || len(q.Team) != 3 || !q.AsOf.Equal(ts("2026-03-10T04:00:00Z")) {
		t.Errorf("parsed %+v", q)
	}
	// Previous period of a whole-day range across the Berlin DST change:
	// [Mar 29, Mar 30) is 23 hours; the previous day is [Mar 28, Mar 29).
	q = Query{From: time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), To: time.Date(2026, 3, 30, 0, 0, 0, 0, berlin), TZ: berlin}
	if f, to := q.previous(); !f.Equal(time.Date(2026, 3, 28, 0, 0, 0, 0, berlin)) || !to.Equal(q.From) {
		t.Errorf("previous %v %v", f, to)
	}
	for raw, field := range map[string]string{
		"tz=Nowhere/City": "tz", "from=yesterday": "from", "to=2026-13-01": "to", "asof=x": "asof",
		"from=2026-03-02&to=2026-03-01": "from", "interval=fortnight": "interval", "priority=asap": "priority",
		"channel=pigeon": "channel", "type=saga": "type", "from=2020-01-01&to=2026-01-01&interval=hour": "interval",
	} {
		v, _ := url.ParseQuery(raw)
		_, err := ParseQuery(v, d)
		var ve *model.ValidationError
		if !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("%s: %v, want a validation error on %s", raw, err, field)
		}
	}
}
