package workspace

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Entry is one item of a ticket's conversation: a message (the
// requester's), a reply (an agent's public comment), a note (internal) or
// an event line (a change, with old -> new values).
type Entry struct {
	Kind string // message, reply, note, event
	At   time.Time
	Who  string
	Body string
	Line string
}

// conversation replays a ticket's events in order into entries: each
// change is compared with the state before it, so a line can say what the
// value was.
func conversation(events []*model.Event) []Entry {
	var out []Entry
	state := &model.Ticket{}
	for _, e := range events {
		before := state.Clone()
		if err := state.Apply(e); err != nil {
			continue // a stored event the state machine refuses changes nothing
		}
		who := e.Actor
		en := Entry{Kind: "event", At: e.At, Who: who}
		switch e.Type {
		case model.EventCreated:
			en.Kind, en.Body = "message", state.Description
			if e.ActorKind != model.ActorRequester {
				en.Line = "opened on behalf of " + requester(state)
			}
			if e.ActorKind == model.ActorRequester || en.Who == "" {
				en.Who = requester(state)
			}
		case model.EventCommented:
			en.Body = deref(e.Body)
			switch {
			case e.Public != nil && !*e.Public:
				en.Kind = "note"
			case e.ActorKind == model.ActorRequester:
				en.Kind = "message"
			default:
				en.Kind = "reply"
			}
		case model.EventAssigned:
			var parts []string
			if state.Team != before.Team {
				parts = append(parts, "team: "+dash(before.Team)+" → "+dash(state.Team))
			}
			if state.Assignee != before.Assignee {
				parts = append(parts, "assignee: "+dash(before.Assignee)+" → "+dash(state.Assignee))
			}
			en.Line = strings.Join(parts, "; ")
		case model.EventStatusChanged, model.EventResolved, model.EventReopened, model.EventClosed:
			en.Line = "status: " + string(before.Status) + " → " + string(state.Status)
		case model.EventPriorityChanged:
			en.Line = "priority: " + string(before.Priority) + " → " + string(state.Priority)
		case model.EventCategoryChanged:
			en.Line = "category: " + dash(before.Category) + " → " + dash(state.Category)
		case model.EventTagsChanged:
			en.Line = "tags: " + dash(strings.Join(before.Tags, " ")) + " → " + dash(strings.Join(state.Tags, " "))
		case model.EventFieldsChanged:
			var parts []string
			if state.Subject != before.Subject {
				parts = append(parts, "subject: "+before.Subject+" → "+state.Subject)
			}
			if state.Description != before.Description {
				parts = append(parts, "description edited")
			}
			if state.Type != before.Type {
				parts = append(parts, "type: "+string(before.Type)+" → "+string(state.Type))
			}
			keys := make([]string, 0, len(e.Fields))
			for k := range e.Fields {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				parts = append(parts, k+": "+dash(before.Fields[k])+" → "+dash(state.Fields[k]))
			}
			en.Line = strings.Join(parts, "; ")
		case model.EventCSATRated:
			en.Line = "rated " + strconv.Itoa(deref(e.Score)) + " of 5"
			if c := deref(e.Comment); c != "" {
				en.Line += ": " + c
			}
		}
		if en.Kind == "event" && en.Line == "" {
			continue // e.g. an assignment to the same values
		}
		out = append(out, en)
	}
	return out
}

func requester(t *model.Ticket) string {
	switch {
	case t.RequesterName != "" && t.RequesterEmail != "":
		return t.RequesterName + " <" + t.RequesterEmail + ">"
	case t.RequesterName != "":
		return t.RequesterName
	case t.RequesterEmail != "":
		return t.RequesterEmail
	}
	return "the requester"
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// ticketPage is the data of the ticket page.
type ticketPage struct {
	layout
	Ticket     *model.Ticket
	Entries    []Entry
	SLA        *metrics.TicketSLA
	Others     []*model.Ticket // the requester's other tickets, newest first
	IsAgent    bool            // the user is in the agents table: may take the ticket
	Statuses   []model.Status
	Priorities []model.Priority
	Done       string // what the last form did, shown once after its redirect

	// A refused form comes back with its input and the error at its field.
	Errors        map[string]string
	Body          string
	Note          bool
	StatusValue   model.Status   // the status form's choice
	PriorityValue model.Priority // the priority form's choice
	Types         []model.TicketType
	Teams         []string // the team choices: the teams table and the ticket's own
	Details       details  // the details form's values

	// A form posted on an older version of the ticket (409) shows what
	// changed since, and its button (Anyway names the form's field) sends
	// it on the current version.
	Changed []Entry
	Anyway  string
}

// details are the values of the details form (type, category, team, tags).
type details struct {
	Type     model.TicketType
	Category string
	Team     string
	Tags     string // space-separated
}

// Version is the ticket version every form carries: its updated_at in
// microseconds, which each command the forms send moves on.
func (p *ticketPage) Version() string { return strconv.FormatInt(p.Ticket.UpdatedAt.UnixMicro(), 10) }

// entryList is a run of conversation entries with the page that renders
// them (for its time formats).
type entryList struct {
	P       *ticketPage
	Entries []Entry
}

// List pairs entries with the page, for the "entries" template.
func (p *ticketPage) List(es []Entry) entryList { return entryList{p, es} }

// Clock describes an SLA clock in a few words.
func (p *ticketPage) Clock(c *metrics.Clock) string {
	if c == nil {
		return "no policy"
	}
	switch {
	case c.Status == "active" && c.DueAt != nil:
		return "due " + p.Until(*c.DueAt) + " (" + p.Time(*c.DueAt) + ")"
	case c.Status == "breached" && c.BreachedAt != nil:
		return "breached " + p.Time(*c.BreachedAt)
	case c.Status == "achieved" && c.FulfilledAt != nil:
		return "achieved " + p.Time(*c.FulfilledAt)
	}
	return c.Status
}

// done are the messages a successful form leaves, by the "done" parameter
// of its redirect.
var done = map[string]string{
	"reply": "Reply sent.", "note": "Internal note added.", "assign": "The ticket is yours.",
	"status": "Status changed.", "priority": "Priority changed.", "same": "Nothing changed.", "details": "Details saved.",
	"reply-pending": "Reply sent; the ticket is pending.", "reply-resolved": "Reply sent; the ticket is solved.",
	"note-pending": "Internal note added; the ticket is pending.", "note-resolved": "Internal note added; the ticket is solved.",
}

func (ws *Workspace) ticketPage(w http.ResponseWriter, r *http.Request) {
	p, err := ws.loadTicket(r.Context(), r.PathValue("ref"))
	if err != nil {
		fail(w, err)
		return
	}
	p.Done = done[r.URL.Query().Get("done")]
	render(w, "ticket.html", http.StatusOK, p)
}

func (ws *Workspace) loadTicket(ctx context.Context, ref string) (*ticketPage, error) {
	t, err := ws.st.Ticket(ctx, ref)
	if err != nil {
		return nil, err
	}
	p := &ticketPage{layout: ws.layout(ctx, "ticket", "#"+strconv.FormatInt(t.Number, 10)+" "+t.Subject), Ticket: t,
		Statuses: model.Statuses[1:], Priorities: model.Priorities, StatusValue: t.Status, PriorityValue: t.Priority,
		Types: model.TicketTypes, Details: details{Type: t.Type, Category: t.Category, Team: t.Team, Tags: strings.Join(t.Tags, " ")}}
	teams, err := ws.teamNames(ctx)
	if err != nil {
		return nil, err
	}
	if t.Team != "" && !slices.Contains(teams, t.Team) {
		teams = append(teams, t.Team) // an imported team: keep it choosable
	}
	p.Teams = teams
	events, err := ws.st.TicketEvents(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	p.Entries = conversation(events)
	if p.SLA, err = ws.m.TicketSLA(ctx, t.ID); err != nil {
		return nil, err
	}
	if t.RequesterEmail != "" {
		p.Others, err = ws.st.ListTickets(ctx, store.TicketFilter{Requester: t.RequesterEmail, ExceptID: t.ID, Limit: 10,
			Sort: store.TicketSort{Field: "updated_at", Desc: true}})
		if err != nil {
			return nil, err
		}
	}
	if u := auth.UserFrom(ctx); u != nil {
		_, err := ws.st.Agent(ctx, u.Email)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			return nil, err
		}
		p.IsAgent = err == nil
	}
	return p, nil
}

// actor is the signed-in user as the API names them: an agent.
func actor(r *http.Request) model.Actor {
	u := auth.UserFrom(r.Context())
	return model.Actor{Name: u.Email, Kind: model.ActorAgent}
}

// run resolves the ticket of the form, lets build make its command (or a
// field error), sends it through the writer and redirects back to the
// ticket; a refused form is shown again with its error at the field and
// nothing stored.
//
// field is where a refusal of the ticket's state machine (a closed ticket
// takes no reply) is shown.
//
// The form's version (the ticket's updated_at it was rendered from) goes
// into the command, which the writer refuses if the ticket has changed
// since; a form without one (a script's post) is not checked.
func (ws *Workspace) run(w http.ResponseWriter, r *http.Request, field string, build func(t *model.Ticket, seen *time.Time) (ingest.Command, string, error)) {
	// (The gate has read the form already, for its CSRF check.)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	var seen *time.Time
	if v := r.PostFormValue("version"); v != "" {
		us, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			http.Error(w, "version: not a ticket version", http.StatusBadRequest)
			return
		}
		seen = model.Ptr(time.UnixMicro(us))
	}
	ctx := r.Context()
	t, err := ws.st.Ticket(ctx, r.PathValue("ref"))
	if err != nil {
		fail(w, err)
		return
	}
	cmd, what, err := build(t, seen)
	if err == nil {
		var res *ingest.Result
		res, err = ws.w.Do(ctx, cmd)
		if err == nil && len(res.Events) == 0 {
			what = "same"
		}
	}
	if err != nil {
		ws.refuse(w, r, t, field, err)
		return
	}
	u := "/tickets/" + strconv.FormatInt(t.Number, 10) + "?done=" + url.QueryEscape(what)
	if strings.HasPrefix(what, "reply") || strings.HasPrefix(what, "note") {
		u += "#latest"
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// refuse shows the ticket page again with the error at its field (422 for
// input the ticket does not accept, 409 for a form made on an older
// version, with what changed since), keeping what the agent typed.
func (ws *Workspace) refuse(w http.ResponseWriter, r *http.Request, t *model.Ticket, stateField string, err error) {
	field, msg, status := "", "", http.StatusUnprocessableEntity
	var ve *model.ValidationError
	var te *model.TransitionError
	var se *ingest.StaleError
	switch {
	case errors.As(err, &ve):
		field, msg = ve.Field, ve.Message
	case errors.As(err, &te):
		field, msg = stateField, te.Error()
	case errors.As(err, &se):
		field, status = stateField, http.StatusConflict
		msg = "Not saved: the ticket changed since you opened it (the changes are listed at the top). " +
			"Your input is kept; the button below saves it anyway."
	default:
		fail(w, err)
		return
	}
	p, lerr := ws.loadTicket(r.Context(), strconv.FormatInt(t.Number, 10))
	if lerr != nil {
		fail(w, lerr)
		return
	}
	if se != nil {
		for _, e := range p.Entries {
			if e.At.After(se.Seen) {
				p.Changed = append(p.Changed, e)
			}
		}
		p.Anyway = field
	}
	p.Errors = map[string]string{field: msg}
	p.Body, p.Note = r.PostFormValue("body"), r.PostFormValue("kind") == "note"
	if s := model.Status(r.PostFormValue("status")); s.Valid() {
		p.StatusValue = s
	}
	if pr := model.Priority(r.PostFormValue("priority")); pr.Valid() {
		p.PriorityValue = pr
	}
	if _, ok := r.PostForm["tags"]; ok {
		p.Details = details{Type: model.TicketType(r.PostFormValue("type")), Category: r.PostFormValue("category"),
			Team: r.PostFormValue("team"), Tags: r.PostFormValue("tags")}
	}
	render(w, "ticket.html", status, p)
}

func (ws *Workspace) postComment(w http.ResponseWriter, r *http.Request) {
	ws.run(w, r, "body", func(t *model.Ticket, seen *time.Time) (ingest.Command, string, error) {
		body := r.PostFormValue("body")
		kind := r.PostFormValue("kind")
		if kind != "reply" && kind != "note" {
			return nil, "", model.Invalid("kind", "choose a public reply or an internal note")
		}
		then := model.Status(r.PostFormValue("then"))
		if then != "" && then != model.StatusPending && then != model.StatusResolved {
			return nil, "", model.Invalid("then", "send, send and set pending, or send and solve")
		}
		if strings.TrimSpace(body) == "" {
			return nil, "", model.Invalid("body", "write a message first")
		}
		if len(body) > model.MaxText {
			return nil, "", model.Invalid("body", "is at most %d bytes", model.MaxText)
		}
		c := &ingest.Comment{ID: t.ID, Actor: actor(r), Body: body, Public: kind == "reply", IfVersion: seen}
		if then == "" {
			return c, kind, nil
		}
		// "Send and set pending/solve": one command, so the reply is not
		// stored without the status change (a solved ticket takes no
		// pending) nor the change without the reply.
		return ingest.Then{c, &ingest.SetStatus{ID: t.ID, Actor: actor(r), Status: then}}, kind + "-" + string(then), nil
	})
}

func (ws *Workspace) postAssign(w http.ResponseWriter, r *http.Request) {
	ws.run(w, r, "assignee", func(t *model.Ticket, seen *time.Time) (ingest.Command, string, error) {
		me := actor(r).Name
		// As the API's assign: only an agent can hold tickets.
		if _, err := ws.st.Agent(r.Context(), me); errors.Is(err, model.ErrNotFound) {
			return nil, "", model.Invalid("assignee", "%s is not an agent, so cannot hold tickets; a manager adds agents", me)
		} else if err != nil {
			return nil, "", err
		}
		return &ingest.Assign{ID: t.ID, Actor: actor(r), Assignee: &me, IfVersion: seen}, "assign", nil
	})
}

func (ws *Workspace) postStatus(w http.ResponseWriter, r *http.Request) {
	ws.run(w, r, "status", func(t *model.Ticket, seen *time.Time) (ingest.Command, string, error) {
		s := model.Status(r.PostFormValue("status"))
		if s == model.StatusNew || !s.Valid() {
			return nil, "", model.Invalid("status", "must be one of: open, pending, on_hold, resolved, closed")
		}
		return &ingest.SetStatus{ID: t.ID, Actor: actor(r), Status: s, IfVersion: seen}, "status", nil
	})
}

func (ws *Workspace) postPriority(w http.ResponseWriter, r *http.Request) {
	ws.run(w, r, "priority", func(t *model.Ticket, seen *time.Time) (ingest.Command, string, error) {
		p := model.Priority(r.PostFormValue("priority"))
		if !p.Valid() {
			return nil, "", model.Invalid("priority", "must be one of: low, normal, high, urgent")
		}
		return &ingest.UpdateTicket{ID: t.ID, Actor: actor(r), Priority: &p, IfVersion: seen}, "priority", nil
	})
}

// teamNames are the teams a ticket can be given, by name.
func (ws *Workspace) teamNames(ctx context.Context) ([]string, error) {
	teams, err := ws.st.Teams(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(teams))
	for _, t := range teams {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return out, nil
}

// postDetails saves type, category, team and tags as one command: each
// value is checked first (the error at its field), and the update and the
// team's assignment commit together or not at all.
func (ws *Workspace) postDetails(w http.ResponseWriter, r *http.Request) {
	ws.run(w, r, "details", func(t *model.Ticket, seen *time.Time) (ingest.Command, string, error) {
		typ := model.TicketType(r.PostFormValue("type"))
		if !typ.Valid() {
			return nil, "", model.Invalid("type", "must be one of: incident, service_request, question, problem, task")
		}
		category := strings.TrimSpace(r.PostFormValue("category"))
		if len(category) > model.MaxShort {
			return nil, "", model.Invalid("category", "is at most %d bytes", model.MaxShort)
		}
		team := strings.TrimSpace(r.PostFormValue("team"))
		if team != "" && team != t.Team {
			// As the API's: a ticket goes to a team that exists.
			teams, err := ws.teamNames(r.Context())
			if err != nil {
				return nil, "", err
			}
			if !slices.Contains(teams, team) {
				return nil, "", model.Invalid("team", "%q is not a team; a manager adds teams", team)
			}
		}
		tags, err := model.NormalizeTags(strings.FieldsFunc(r.PostFormValue("tags"), func(c rune) bool {
			return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
		}))
		if err != nil {
			return nil, "", err
		}
		return ingest.Then{
			&ingest.UpdateTicket{ID: t.ID, Actor: actor(r), Type: &typ, Category: &category, Tags: &tags, IfVersion: seen},
			&ingest.Assign{ID: t.ID, Actor: actor(r), Team: &team},
		}, "details", nil
	})
}
