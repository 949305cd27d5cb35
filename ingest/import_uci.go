package ingest

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

func init() { profiles["uci-incidents"] = readUCI }

// The UCI "Incident management process enriched event log" (ServiceNow):
// one row per update of an incident. docs/import.md documents the mapping.
var (
	uciStates = map[string]model.Status{
		"New": model.StatusNew, "Active": model.StatusOpen, "Awaiting User Info": model.StatusPending,
		"Awaiting Vendor": model.StatusOnHold, "Awaiting Problem": model.StatusOnHold, "Awaiting Evidence": model.StatusOnHold,
		"Resolved": model.StatusResolved, "Closed": model.StatusClosed,
	}
	uciPriorities = map[string]model.Priority{
		"1 - Critical": model.PriorityUrgent, "2 - High": model.PriorityHigh,
		"3 - Moderate": model.PriorityNormal, "4 - Low": model.PriorityLow,
	}
	uciColumns = []string{"number", "incident_state", "sys_mod_count", "made_sla", "caller_id", "opened_by",
		"opened_at", "sys_updated_by", "sys_updated_at", "contact_type", "category", "subcategory",
		"priority", "assignment_group", "assigned_to"}
)

const uciLayout = "2/1/2006 15:04"

func uciChannel(contact string) model.Channel {
	switch contact {
	case "Phone", "IVR":
		return model.ChannelPhone
	case "Email":
		return model.ChannelEmail
	case "Self service":
		return model.ChannelWeb
	}
	return model.ChannelAPI
}

type uciRow struct {
	line   int64
	rec    []string
	mod    int
	at     time.Time
	bad    string // why the row cannot be mapped, "" when it can
	status model.Status
}

func readUCI(ctx context.Context, c *collector, file string, r io.Reader, opts *ImportOptions) error {
	cr := csv.NewReader(r)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("reading the header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
	}
	for _, name := range uciColumns {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("column %q is missing: is this the UCI incident event log?", name)
		}
	}
	get := func(rec []string, name string) string {
		v := strings.TrimSpace(rec[col[name]])
		if v == "?" {
			return ""
		}
		return v
	}
	var order []string
	groups := map[string][]*uciRow{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				c.row()
				c.reject(file, int64(pe.Line), "malformed CSV: "+pe.Err.Error(), "")
				continue
			}
			return err
		}
		c.row()
		if c.read%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		number := get(rec, "number")
		if number == "" {
			c.reject(file, int64(line), "number is empty", strings.Join(rec, ","))
			continue
		}
		row := &uciRow{line: int64(line), rec: rec}
		if row.mod, err = strconv.Atoi(get(rec, "sys_mod_count")); err != nil {
			row.bad = "sys_mod_count is not a whole number"
		} else if row.at, err = time.ParseInLocation(uciLayout, get(rec, "sys_updated_at"), opts.TZ); err != nil {
			row.bad = fmt.Sprintf("sys_updated_at %q is not d/m/yyyy HH:MM", get(rec, "sys_updated_at"))
		} else if st, ok := uciStates[get(rec, "incident_state")]; !ok {
			row.bad = fmt.Sprintf("unknown incident_state %q", get(rec, "incident_state"))
		} else {
			row.status = st
		}
		if _, seen := groups[number]; !seen {
			order = append(order, number)
		}
		groups[number] = append(groups[number], row)
	}
	for _, number := range order {
		mapUCIIncident(c, file, number, groups[number], get, opts)
	}
	return nil
}

// mapUCIIncident turns the rows of one incident into events.
func mapUCIIncident(c *collector, file, number string, rows []*uciRow, get func([]string, string) string, opts *ImportOptions) {
	slices.SortStableFunc(rows, func(a, b *uciRow) int { return cmp.Or(cmp.Compare(a.mod, b.mod), a.at.Compare(b.at)) })
	var opened time.Time
	var openedErr error
	for _, r := range rows {
		if opened, openedErr = time.ParseInLocation(uciLayout, get(r.rec, "opened_at"), opts.TZ); openedErr == nil {
			break
		}
	}
	if openedErr != nil {
		for _, r := range rows {
			c.reject(file, r.line, fmt.Sprintf("opened_at %q is not d/m/yyyy HH:MM", get(r.rec, "opened_at")), strings.Join(r.rec, ","))
		}
		return
	}
	// Rows that cannot be mapped: unreadable, an unknown state, a time
	// before opened_at or before the update that precedes it.
	var last time.Time
	var good []*uciRow
	for _, r := range rows {
		switch {
		case r.bad != "":
		case r.at.Before(opened):
			r.bad = fmt.Sprintf("sys_updated_at %s is before opened_at %s", get(r.rec, "sys_updated_at"), get(r.rec, "opened_at"))
		case r.at.Before(last):
			r.bad = fmt.Sprintf("sys_updated_at %s is before the previous update's (rows ordered by sys_mod_count)", get(r.rec, "sys_updated_at"))
		default:
			last = r.at
			good = append(good, r)
			continue
		}
		c.reject(file, r.line, r.bad, strings.Join(r.rec, ","))
	}
	first := rows[0]
	if len(good) > 0 {
		first = good[0]
	}
	actorOf := func(rec []string, column string) (string, model.ActorKind) {
		if a := strings.Join(strings.Fields(get(rec, column)), " "); a != "" {
			return a, model.ActorAgent
		}
		return "system", model.ActorSystem
	}
	priority := func(rec []string) model.Priority {
		if p, ok := uciPriorities[get(rec, "priority")]; ok {
			return p
		}
		return model.PriorityNormal
	}

	created := &model.Event{ID: "uci:" + number + ":created", Ticket: number, Type: model.EventCreated, At: opened}
	created.Actor, created.ActorKind = actorOf(first.rec, "opened_by")
	subject := number
	if cat, sub := get(first.rec, "category"), get(first.rec, "subcategory"); cat != "" || sub != "" {
		subject += ": " + strings.Trim(cat+" / "+sub, " /")
	}
	created.Subject = &subject
	created.RequesterName = model.Ptr(get(first.rec, "caller_id"))
	created.RequesterEmail = model.Ptr("")
	created.Priority = model.Ptr(priority(first.rec))
	created.Category = model.Ptr(get(first.rec, "category"))
	created.Channel = model.Ptr(uciChannel(get(first.rec, "contact_type")))
	team, assignee := get(first.rec, "assignment_group"), get(first.rec, "assigned_to")
	if team != "" {
		created.Team = &team
	}
	if assignee != "" {
		created.Assignee = &assignee
	}
	madeSLA := get(first.rec, "made_sla")
	if madeSLA != "" {
		created.Fields = map[string]string{"source_made_sla": madeSLA}
	}
	c.add(created, file, first.line)

	// A Closed row that a later row leaves is treated as Resolved: the
	// state machine keeps closed final, and the move away is a reopen.
	leftLater := make([]bool, len(good))
	for i, later := len(good)-2, false; i >= 0; i-- {
		later = later || good[i+1].status != model.StatusClosed
		leftLater[i] = later
	}
	status, prevState := model.StatusNew, "New"
	prio := *created.Priority
	responded := false
	for i, r := range good {
		hash := rowHash([]byte(strings.Join(r.rec, ",")))
		n := 0
		emit := func(typ model.EventType, fill func(*model.Event)) {
			e := &model.Event{ID: fmt.Sprintf("uci:%s:%s:%d", number, hash, n), Ticket: number, Type: typ, At: r.at}
			e.Actor, e.ActorKind = actorOf(r.rec, "sys_updated_by")
			fill(e)
			c.add(e, file, r.line)
			n++
		}
		if g, a := get(r.rec, "assignment_group"), get(r.rec, "assigned_to"); g != team || a != assignee {
			team, assignee = g, a
			emit(model.EventAssigned, func(e *model.Event) { e.Team, e.Assignee = model.Ptr(g), model.Ptr(a) })
		}
		if p := priority(r.rec); p != prio {
			prio = p
			emit(model.EventPriorityChanged, func(e *model.Event) { e.Priority = model.Ptr(p) })
		}
		if m := get(r.rec, "made_sla"); m != madeSLA && m != "" {
			madeSLA = m
			emit(model.EventFieldsChanged, func(e *model.Event) { e.Fields = map[string]string{"source_made_sla": m} })
		}
		state := get(r.rec, "incident_state")
		if !responded && state != "New" {
			responded = true
			emit(model.EventCommented, func(e *model.Event) {
				e.Public = model.Ptr(true)
				e.Body = model.Ptr("[synthesised by import] first agent response: the incident left New (state " + state + ")")
				if e.ActorKind != model.ActorAgent {
					e.Actor, e.ActorKind = "import", model.ActorAgent
				}
			})
		}
		if state == prevState {
			continue
		}
		prevState = state
		target := r.status
		if target == model.StatusClosed && leftLater[i] {
			target = model.StatusResolved
		}
		for _, typ := range fitStatus(&status, target) {
			emit(typ.Type, func(e *model.Event) { e.Status = typ.Status })
		}
	}
}

// statusStep is one event of a status fit.
type statusStep struct {
	Type   model.EventType
	Status *model.Status
}

// fitStatus returns the events that take a ticket from *cur to target
// within the state machine and updates *cur: closing an unresolved ticket
// resolves it first, leaving resolved is a reopen, a status the ticket
// already has makes no event, and "new" cannot be set again (a move back
// to it only reopens a resolved ticket).
func fitStatus(cur *model.Status, target model.Status) []statusStep {
	var steps []statusStep
	switch target {
	case model.StatusOpen, model.StatusPending, model.StatusOnHold, model.StatusNew:
		if *cur == model.StatusClosed {
			return nil
		}
		if *cur == model.StatusResolved {
			steps = append(steps, statusStep{Type: model.EventReopened})
			*cur = model.StatusOpen
		}
		if target != model.StatusNew && *cur != target {
			steps = append(steps, statusStep{Type: model.EventStatusChanged, Status: model.Ptr(target)})
			*cur = target
		}
	case model.StatusResolved:
		if cur.Unresolved() {
			steps = append(steps, statusStep{Type: model.EventResolved})
			*cur = model.StatusResolved
		}
	case model.StatusClosed:
		if cur.Unresolved() {
			steps = append(steps, statusStep{Type: model.EventResolved})
		}
		if *cur != model.StatusClosed {
			steps = append(steps, statusStep{Type: model.EventClosed})
			*cur = model.StatusClosed
		}
	}
	return steps
}
