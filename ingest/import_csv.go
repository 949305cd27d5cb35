package ingest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/deskpulse/deskpulse/model"
)

// Mapping says how a CSV file maps to events; docs/import.md documents
// every key and examples/mappings/ holds real ones. Two shapes:
//
//   - events (default): one row per change of a ticket. Rows of a ticket
//     are ordered (by Order, default the time); the first row creates the
//     ticket; each row makes an assigned event when Team or Assignee
//     differs from the row before, priority_changed and fields_changed
//     likewise, the status events that take the ticket to the row's mapped
//     Status (resolved first before closed, reopened when leaving resolved,
//     a closed row that a later row leaves counts as resolved), and the
//     first row matching FirstResponse a synthesised public agent comment.
//   - tickets: one row per ticket with Created, FirstReply, Solved, Closed
//     times and Satisfaction; the events are synthesised from them.
type Mapping struct {
	Shape         string            `yaml:"shape"`     // events (default) or tickets
	Delimiter     string            `yaml:"delimiter"` // default ","
	Empty         []string          `yaml:"empty"`     // values that mean empty, e.g. "?" (always: "")
	Ticket        string            `yaml:"ticket"`    // column of the ticket id (required)
	TicketPrefix  string            `yaml:"ticket_prefix"`
	Time          TimeSpec          `yaml:"time"`  // events: the row's time (required)
	Order         []string          `yaml:"order"` // events: columns ordering a ticket's rows ("col:int" compares numbers, "time" the time); default [time]
	Actor         string            `yaml:"actor"` // column naming who made the change; default "import"
	ActorKind     string            `yaml:"actor_kind"`
	Subject       string            `yaml:"subject"` // template with {column}; default "{ticket column}"
	Requester     string            `yaml:"requester"`
	Priority      ValueMap          `yaml:"priority"`
	Category      ValueMap          `yaml:"category"`
	Channel       ValueMap          `yaml:"channel"`
	TicketType    ValueMap          `yaml:"ticket_type"`
	Team          ValueMap          `yaml:"team"`
	Assignee      ValueMap          `yaml:"assignee"`
	Fields        map[string]string `yaml:"fields"` // custom field -> column
	Status        ValueMap          `yaml:"status"` // events: row -> deskpulse status; rows without a mapped value keep the status
	FirstResponse struct {
		Column string   `yaml:"column"`
		Values []string `yaml:"values"`
	} `yaml:"first_response"`

	// tickets shape: columns holding times (each with Time's layout and zone).
	Created      string   `yaml:"created"`
	FirstReply   string   `yaml:"first_reply"`
	Solved       string   `yaml:"solved"`
	Closed       string   `yaml:"closed"`
	Satisfaction ValueMap `yaml:"satisfaction"` // 1-5 after the map

	loc *time.Location
}

// TimeSpec is a timestamp column: Go layout (default RFC 3339) and zone of
// times without one (default --tz).
type TimeSpec struct {
	Column string `yaml:"column"`
	Layout string `yaml:"layout"`
	Zone   string `yaml:"zone"`
}

// ValueMap takes a value from a column (or a {column} template, or a
// constant Value), translates it with Map (case-insensitive; unknown values
// give Default, or are kept when there is no Default).
type ValueMap struct {
	Column  string            `yaml:"column"`
	Value   string            `yaml:"value"`
	Map     map[string]string `yaml:"map"`
	Default string            `yaml:"default"`
}

// LoadMapping reads and checks a YAML mapping file.
func LoadMapping(path string) (*Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseMapping(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ParseMapping decodes and checks a YAML mapping.
func ParseMapping(data []byte) (*Mapping, error) {
	var m Mapping
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if m.Shape == "" {
		m.Shape = "events"
	}
	if m.Ticket == "" {
		return nil, errors.New("mapping: ticket (the ticket id column) is required")
	}
	switch m.Shape {
	case "events":
		if m.Time.Column == "" {
			return nil, errors.New("mapping: time.column is required")
		}
	case "tickets":
		if m.Created == "" {
			return nil, errors.New("mapping: created (the column of the creation time) is required for shape tickets")
		}
	default:
		return nil, fmt.Errorf("mapping: shape must be events or tickets, not %q", m.Shape)
	}
	if m.Time.Layout == "" {
		m.Time.Layout = time.RFC3339
	}
	if m.Time.Zone != "" {
		loc, err := time.LoadLocation(m.Time.Zone)
		if err != nil {
			return nil, fmt.Errorf("mapping: time.zone: %w", err)
		}
		m.loc = loc
	}
	if m.ActorKind == "" {
		m.ActorKind = string(model.ActorAgent)
	}
	if !model.ActorKind(m.ActorKind).Valid() {
		return nil, fmt.Errorf("mapping: actor_kind must be agent, requester or system")
	}
	if len(m.Delimiter) > 1 && m.Delimiter != `\t` {
		return nil, errors.New("mapping: delimiter must be one character")
	}
	for _, s := range m.Status.Map {
		if !model.Status(s).Valid() {
			return nil, fmt.Errorf("mapping: status.map value %q is not a deskpulse status", s)
		}
	}
	return &m, nil
}

var templateRef = regexp.MustCompile(`\{([^{}]+)\}`)

// csvRow is one source row with the mapping's view of it.
type csvRow struct {
	line int64
	rec  []string
	at   time.Time
	keys []string
}

type mapper struct {
	m     *Mapping
	col   map[string]int
	empty map[string]bool
	loc   *time.Location
}

func (mp *mapper) get(rec []string, column string) string {
	if strings.Contains(column, "{") {
		return strings.TrimSpace(templateRef.ReplaceAllStringFunc(column, func(ref string) string {
			return mp.get(rec, ref[1:len(ref)-1])
		}))
	}
	i, ok := mp.col[column]
	if !ok || i >= len(rec) {
		return ""
	}
	v := strings.TrimSpace(rec[i])
	if mp.empty[v] {
		return ""
	}
	return v
}

// value applies a ValueMap; ok is false when it has no source.
func (mp *mapper) value(rec []string, vm ValueMap) (string, bool) {
	if vm.Column == "" {
		return vm.Value, vm.Value != ""
	}
	v := mp.get(rec, vm.Column)
	if len(vm.Map) > 0 {
		for k, to := range vm.Map {
			if strings.EqualFold(k, v) {
				return to, true
			}
		}
		if vm.Default != "" {
			return vm.Default, true
		}
	}
	return v, true
}

func (mp *mapper) time(rec []string, column string) (time.Time, bool, error) {
	v := mp.get(rec, column)
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := time.ParseInLocation(mp.m.Time.Layout, v, mp.loc)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s %q does not match the layout %q", column, v, mp.m.Time.Layout)
	}
	return t, true, nil
}

func readMappedCSV(ctx context.Context, c *collector, file string, r io.Reader, m *Mapping, opts *ImportOptions) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	if m.Delimiter == `\t` {
		cr.Comma = '\t'
	} else if m.Delimiter != "" {
		cr.Comma = rune(m.Delimiter[0])
	}
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("reading the header: %w", err)
	}
	mp := &mapper{m: m, col: map[string]int{}, empty: map[string]bool{"": true}, loc: m.loc}
	if mp.loc == nil {
		mp.loc = opts.TZ
	}
	for _, e := range m.Empty {
		mp.empty[e] = true
	}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := mp.col[h]; !dup { // a repeated header name: the first wins
			mp.col[h] = i
		}
	}
	for _, need := range []string{m.Ticket, m.Time.Column, m.Created} {
		if _, ok := mp.col[need]; need != "" && !ok && !(m.Shape == "tickets" && need == m.Time.Column) {
			return fmt.Errorf("column %q is missing (the file has: %s)", need, strings.Join(header, ", "))
		}
	}
	var order []string
	groups := map[string][]*csvRow{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		c.row()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				c.reject(file, int64(pe.Line), "malformed CSV: "+pe.Err.Error(), "")
				continue
			}
			return err
		}
		if c.read%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		raw := strings.Join(rec, string(cr.Comma))
		id := mp.get(rec, m.Ticket)
		if id == "" {
			c.reject(file, int64(line), m.Ticket+" is empty", raw)
			continue
		}
		id = m.TicketPrefix + id
		if m.Shape == "tickets" {
			mp.ticketRow(c, file, int64(line), id, rec, raw)
			continue
		}
		row := &csvRow{line: int64(line), rec: rec}
		var ok bool
		if row.at, ok, err = mp.time(rec, m.Time.Column); err != nil || !ok {
			reason := m.Time.Column + " is empty"
			if err != nil {
				reason = err.Error()
			}
			c.reject(file, row.line, reason, raw)
			continue
		}
		if _, seen := groups[id]; !seen {
			order = append(order, id)
		}
		groups[id] = append(groups[id], row)
	}
	for _, id := range order {
		mp.ticketEvents(c, file, id, groups[id])
	}
	return nil
}

func (mp *mapper) sortRows(rows []*csvRow) {
	keys := mp.m.Order
	if len(keys) == 0 {
		keys = []string{"time"}
	}
	slices.SortStableFunc(rows, func(a, b *csvRow) int {
		for _, k := range keys {
			name, numeric := strings.CutSuffix(k, ":int")
			var d int
			switch {
			case name == "time":
				d = a.at.Compare(b.at)
			case numeric:
				x, _ := strconv.ParseFloat(mp.get(a.rec, name), 64)
				y, _ := strconv.ParseFloat(mp.get(b.rec, name), 64)
				d = cmp.Compare(x, y)
			default:
				d = strings.Compare(mp.get(a.rec, name), mp.get(b.rec, name))
			}
			if d != 0 {
				return d
			}
		}
		return 0
	})
}

func (mp *mapper) actor(rec []string) (string, model.ActorKind) {
	if mp.m.Actor != "" {
		if a := strings.Join(strings.Fields(mp.get(rec, mp.m.Actor)), " "); a != "" {
			return a, model.ActorKind(mp.m.ActorKind)
		}
	}
	return "import", model.ActorSystem
}

// created builds the created event of a ticket from its first row.
func (mp *mapper) created(id string, rec []string, at time.Time) *model.Event {
	m := mp.m
	e := &model.Event{ID: "csv:" + id + ":created", Ticket: id, Type: model.EventCreated, At: at}
	e.Actor, e.ActorKind = mp.actor(rec)
	subject := id
	if m.Subject != "" {
		if s := mp.get(rec, m.Subject); s != "" {
			subject = s
		}
	}
	e.Subject = &subject
	if m.Requester != "" {
		e.RequesterName = model.Ptr(mp.get(rec, m.Requester))
	}
	e.RequesterEmail = model.Ptr("")
	if v, ok := mp.value(rec, m.Priority); ok && v != "" {
		e.Priority = model.Ptr(model.Priority(v))
	}
	if v, ok := mp.value(rec, m.Category); ok {
		e.Category = &v
	}
	if v, ok := mp.value(rec, m.Channel); ok && v != "" {
		e.Channel = model.Ptr(model.Channel(v))
	}
	if v, ok := mp.value(rec, m.TicketType); ok && v != "" {
		e.TicketType = model.Ptr(model.TicketType(v))
	}
	if v, ok := mp.value(rec, m.Team); ok && v != "" {
		e.Team = &v
	}
	if v, ok := mp.value(rec, m.Assignee); ok && v != "" {
		e.Assignee = &v
	}
	if len(m.Fields) > 0 {
		e.Fields = map[string]string{}
		for name, column := range m.Fields {
			if v := mp.get(rec, column); v != "" {
				e.Fields[name] = v
			}
		}
	}
	return e
}

// ticketEvents maps the rows of one ticket (events shape).
func (mp *mapper) ticketEvents(c *collector, file, id string, rows []*csvRow) {
	m := mp.m
	mp.sortRows(rows)
	var good []*csvRow
	var last time.Time
	for _, r := range rows {
		if r.at.Before(last) {
			c.reject(file, r.line, fmt.Sprintf("%s is before the previous row's in the mapping's order", m.Time.Column), strings.Join(r.rec, ","))
			continue
		}
		last = r.at
		good = append(good, r)
	}
	if len(good) == 0 {
		return
	}
	created := mp.created(id, good[0].rec, good[0].at)
	c.add(created, file, good[0].line)

	statuses := make([]model.Status, len(good))
	for i, r := range good {
		if v, ok := mp.value(r.rec, m.Status); ok && v != "" && model.Status(v).Valid() {
			statuses[i] = model.Status(v)
		}
	}
	leftLater := make([]bool, len(good))
	for i, later := len(good)-2, false; i >= 0; i-- {
		s := statuses[i+1]
		later = later || (s != "" && s != model.StatusClosed)
		leftLater[i] = later
	}
	team, assignee := deref(created.Team), deref(created.Assignee)
	prio := deref(created.Priority)
	fields := created.Fields
	status := model.StatusNew
	responded := false
	for i, r := range good {
		if status == model.StatusClosed {
			// Closed is final: later rows (repeated Closed rows, e.g. by
			// another agent) change nothing.
			break
		}
		hash := rowHash([]byte(strings.Join(r.rec, "\x1f")))
		n := 0
		emit := func(typ model.EventType, fill func(*model.Event)) {
			e := &model.Event{ID: fmt.Sprintf("csv:%s:%s:%d", id, hash, n), Ticket: id, Type: typ, At: r.at}
			e.Actor, e.ActorKind = mp.actor(r.rec)
			fill(e)
			c.add(e, file, r.line)
			n++
		}
		if i > 0 {
			g, _ := mp.value(r.rec, m.Team)
			a, _ := mp.value(r.rec, m.Assignee)
			if (m.Team.Column != "" && g != team) || (m.Assignee.Column != "" && a != assignee) {
				team, assignee = g, a
				emit(model.EventAssigned, func(e *model.Event) {
					if m.Team.Column != "" {
						e.Team = model.Ptr(g)
					}
					if m.Assignee.Column != "" {
						e.Assignee = model.Ptr(a)
					}
				})
			}
			if p, ok := mp.value(r.rec, m.Priority); ok && p != "" && model.Priority(p) != prio && m.Priority.Column != "" {
				prio = model.Priority(p)
				emit(model.EventPriorityChanged, func(e *model.Event) { e.Priority = model.Ptr(prio) })
			}
			changed := map[string]string{}
			for name, column := range m.Fields {
				if v := mp.get(r.rec, column); v != fields[name] {
					changed[name] = v
				}
			}
			if len(changed) > 0 {
				fields = mergeFields(fields, changed)
				emit(model.EventFieldsChanged, func(e *model.Event) { e.Fields = changed })
			}
		}
		if fr := m.FirstResponse; !responded && fr.Column != "" && slices.Contains(fr.Values, mp.get(r.rec, fr.Column)) {
			responded = true
			emit(model.EventCommented, func(e *model.Event) {
				e.Public = model.Ptr(true)
				e.Body = model.Ptr("[synthesised by import] first agent response: " + mp.get(r.rec, fr.Column))
				e.ActorKind = model.ActorAgent
			})
		}
		if target := statuses[i]; target != "" {
			if target == model.StatusClosed && leftLater[i] {
				target = model.StatusResolved
			}
			for _, st := range fitStatus(&status, target) {
				emit(st.Type, func(e *model.Event) { e.Status = st.Status })
			}
		}
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func mergeFields(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// ticketRow synthesises the events of one ticket row (tickets shape):
// created (and assigned) at Created, a synthesised first agent response at
// FirstReply, resolved at Solved, closed at Closed (resolved first when
// there is no Solved), a CSAT rating after the resolution.
func (mp *mapper) ticketRow(c *collector, file string, line int64, id string, rec []string, raw string) {
	m := mp.m
	bad := func(reason string) { c.reject(file, line, reason, raw) }
	created, ok, err := mp.time(rec, m.Created)
	if err != nil || !ok {
		if err == nil {
			err = errors.New(m.Created + " is empty")
		}
		bad(err.Error())
		return
	}
	times := map[string]*time.Time{}
	for _, column := range []string{m.FirstReply, m.Solved, m.Closed} {
		if column == "" {
			continue
		}
		t, ok, err := mp.time(rec, column)
		if err != nil {
			bad(err.Error())
			return
		}
		if ok {
			if t.Before(created) {
				bad(fmt.Sprintf("%s is before %s", column, m.Created))
				return
			}
			times[column] = &t
		}
	}
	first, solved, closed := times[m.FirstReply], times[m.Solved], times[m.Closed]
	if solved != nil && closed != nil && closed.Before(*solved) {
		bad(fmt.Sprintf("%s is before %s", m.Closed, m.Solved))
		return
	}
	var score *int
	if m.Satisfaction.Column != "" {
		if v, _ := mp.value(rec, m.Satisfaction); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5 {
				bad(fmt.Sprintf("%s %q is not a rating from 1 to 5", m.Satisfaction.Column, v))
				return
			}
			score = &n
		}
	}
	// Ids per ticket and type: a later export of the same tickets adds
	// only what is new (e.g. the resolution).
	emit := func(typ model.EventType, at time.Time, fill func(*model.Event)) {
		e := &model.Event{ID: "csv:" + id + ":" + string(typ), Ticket: id, Type: typ, At: at}
		e.Actor, e.ActorKind = mp.actor(rec)
		if fill != nil {
			fill(e)
		}
		c.add(e, file, line)
	}
	c.add(mp.created(id, rec, created), file, line)
	if first != nil {
		emit(model.EventCommented, *first, func(e *model.Event) {
			e.Public, e.ActorKind = model.Ptr(true), model.ActorAgent
			if v, ok := mp.value(rec, m.Assignee); ok && v != "" {
				e.Actor = v
			}
			e.Body = model.Ptr("[synthesised by import] first agent response")
		})
	}
	if solved == nil && closed != nil {
		solved = closed
	}
	if solved != nil {
		emit(model.EventResolved, *solved, nil)
	}
	if closed != nil {
		emit(model.EventClosed, *closed, nil)
	}
	if score != nil && solved != nil {
		at := *solved
		if closed != nil {
			at = *closed
		}
		emit(model.EventCSATRated, at, func(e *model.Event) { e.Score = score; e.ActorKind = model.ActorRequester })
	}
}
