package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

type createTicketInput struct {
	Subject        string            `json:"subject"`
	Description    string            `json:"description"`
	RequesterName  string            `json:"requester_name"`
	RequesterEmail string            `json:"requester_email"`
	Type           model.TicketType  `json:"type"`
	Priority       model.Priority    `json:"priority"`
	Category       string            `json:"category"`
	Channel        model.Channel     `json:"channel"`
	Tags           []string          `json:"tags"`
	CustomFields   map[string]string `json:"custom_fields"`
	Team           string            `json:"team"`
	Assignee       string            `json:"assignee"`
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	var in createTicketInput
	if err := decode(w, r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	err := firstError(
		required("subject", in.Subject),
		enum("type", in.Type, model.TicketTypes),
		enum("priority", in.Priority, model.Priorities),
		enum("channel", in.Channel, model.Channels),
		email("requester_email", in.RequesterEmail),
		s.knownTeam(in.Team), s.knownAgent(in.Assignee),
	)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.writer.Do(r.Context(), &ingest.CreateTicket{
		Actor: s.actor(r), Subject: strings.TrimSpace(in.Subject), Description: in.Description,
		RequesterName: strings.TrimSpace(in.RequesterName), RequesterEmail: strings.ToLower(strings.TrimSpace(in.RequesterEmail)),
		Type: in.Type, Priority: in.Priority, Category: strings.TrimSpace(in.Category), Channel: in.Channel,
		Tags: in.Tags, Fields: in.CustomFields, Team: in.Team, Assignee: strings.ToLower(in.Assignee),
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.numbers.Store(res.Ticket.Number, res.Ticket.ID)
	w.Header().Set("Location", "/api/v1/tickets/"+res.Ticket.ID)
	writeJSON(w, http.StatusCreated, res.Ticket)
}

// ticketID resolves a path reference, an id or a ticket number, to an id.
// Numbers never change owner, so resolved ones are remembered.
func (s *Server) ticketID(ctx context.Context, ref string) (string, error) {
	n, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return ref, nil
	}
	if id, ok := s.numbers.Load(n); ok {
		return id.(string), nil
	}
	t, err := s.store.Ticket(ctx, ref)
	if err != nil {
		return "", err
	}
	s.numbers.Store(t.Number, t.ID)
	return t.ID, nil
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	t, err := s.store.Ticket(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	id, err := s.ticketID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	events, err := s.store.TicketEvents(r.Context(), id)
	if err == nil && len(events) == 0 {
		err = model.ErrNotFound
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ticketEvents{Ticket: id, Events: events})
}

// ticketEvents is a ticket's timeline, oldest event first.
type ticketEvents struct {
	Ticket string         `json:"ticket"`
	Events []*model.Event `json:"events"`
}

// command decodes the body into in, lets build make the command for the
// ticket in the path, runs it and answers with the ticket.
func command[T any](s *Server, w http.ResponseWriter, r *http.Request, optionalBody bool, build func(id string, in *T) (ingest.Command, error)) {
	var in T
	if err := decode(w, r, &in, optionalBody); err != nil {
		writeError(w, r, err)
		return
	}
	id, err := s.ticketID(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	cmd, err := build(id, &in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.writer.Do(r.Context(), cmd)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res.Ticket)
}

type updateTicketInput struct {
	Subject      *string           `json:"subject"`
	Description  *string           `json:"description"`
	Type         *model.TicketType `json:"type"`
	Priority     *model.Priority   `json:"priority"`
	Category     *string           `json:"category"`
	Tags         *[]string         `json:"tags"`
	CustomFields map[string]string `json:"custom_fields"`
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request) {
	command(s, w, r, false, func(id string, in *updateTicketInput) (ingest.Command, error) {
		err := firstError(optEnum("type", in.Type, model.TicketTypes), optEnum("priority", in.Priority, model.Priorities))
		if in.Subject != nil {
			err = firstError(err, required("subject", *in.Subject))
		}
		return &ingest.UpdateTicket{ID: id, Actor: s.actor(r), Subject: in.Subject, Description: in.Description,
			Type: in.Type, Priority: in.Priority, Category: in.Category, Tags: in.Tags, Fields: in.CustomFields}, err
	})
}

type assignInput struct {
	Team     *string `json:"team"`
	Assignee *string `json:"assignee"`
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request) {
	command(s, w, r, false, func(id string, in *assignInput) (ingest.Command, error) {
		if in.Team == nil && in.Assignee == nil {
			return nil, badRequest("assignee", "give a team, an assignee or both (an empty string unassigns)")
		}
		var err error
		if in.Team != nil {
			err = s.knownTeam(*in.Team)
		}
		if in.Assignee != nil {
			*in.Assignee = strings.ToLower(strings.TrimSpace(*in.Assignee))
			err = firstError(err, s.knownAgent(*in.Assignee))
		}
		return &ingest.Assign{ID: id, Actor: s.actor(r), Team: in.Team, Assignee: in.Assignee}, err
	})
}

type commentInput struct {
	Body   string `json:"body"`
	Public *bool  `json:"public"` // default true
}

func (s *Server) comment(w http.ResponseWriter, r *http.Request) {
	command(s, w, r, false, func(id string, in *commentInput) (ingest.Command, error) {
		public := in.Public == nil || *in.Public
		return &ingest.Comment{ID: id, Actor: s.actor(r), Body: in.Body, Public: public}, required("body", in.Body)
	})
}

type statusInput struct {
	Status model.Status `json:"status"`
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request) {
	command(s, w, r, false, func(id string, in *statusInput) (ingest.Command, error) {
		if in.Status == model.StatusNew || !in.Status.Valid() {
			return nil, badRequest("status", "must be one of: open, pending, on_hold, resolved, closed")
		}
		return &ingest.SetStatus{ID: id, Actor: s.actor(r), Status: in.Status}, nil
	})
}

func (s *Server) transition(typ model.EventType) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		command(s, w, r, true, func(id string, _ *struct{}) (ingest.Command, error) {
			return &ingest.Transition{ID: id, Actor: s.actor(r), Type: typ}, nil
		})
	}
}

type csatInput struct {
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

func (s *Server) rate(w http.ResponseWriter, r *http.Request) {
	command(s, w, r, false, func(id string, in *csatInput) (ingest.Command, error) {
		if in.Score < 1 || in.Score > 5 {
			return nil, badRequest("score", "must be a whole number from 1 to 5")
		}
		return &ingest.RateCSAT{ID: id, Actor: s.actor(r), Score: in.Score, Comment: in.Comment}, nil
	})
}

// ticketPage is one page of a ticket list.
type ticketPage struct {
	Tickets    []*model.Ticket `json:"tickets"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// cursorToken is the opaque cursor: the sort it belongs to and the
// position after which the next page starts.
type cursorToken struct {
	Sort   string `json:"s"`
	Value  string `json:"v"`
	Number int64  `json:"n"`
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	f, err := parseTicketFilter(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	limit := f.Limit
	f.Limit++ // one more tells whether a next page exists
	tickets, err := s.store.ListTickets(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	page := ticketPage{Tickets: tickets}
	if page.Tickets == nil {
		page.Tickets = []*model.Ticket{}
	}
	if len(tickets) > limit {
		page.Tickets = tickets[:limit]
		c := store.CursorFor(page.Tickets[limit-1], f.Sort)
		raw, _ := json.Marshal(cursorToken{Sort: sortName(f.Sort), Value: c.Value, Number: c.Number})
		page.NextCursor = base64.RawURLEncoding.EncodeToString(raw)
	}
	writeJSON(w, http.StatusOK, page)
}

func sortName(s store.TicketSort) string {
	if s.Desc {
		return "-" + s.Field
	}
	return s.Field
}

func parseTicketFilter(q url.Values) (store.TicketFilter, error) {
	list := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			for part := range strings.SplitSeq(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
		}
		return out
	}
	f := store.TicketFilter{
		Status: list("status"), Priority: list("priority"), Team: list("team"), Assignee: list("assignee"),
		Category: list("category"), Type: list("type"), Channel: list("channel"), Tag: list("tag"),
		Query: q.Get("q"), Limit: 50, Sort: store.TicketSort{Field: "created_at", Desc: true},
	}
	err := firstError(enumList("status", f.Status, model.Statuses), enumList("priority", f.Priority, model.Priorities),
		enumList("type", f.Type, model.TicketTypes), enumList("channel", f.Channel, model.Channels))
	if err != nil {
		return f, err
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, badRequest("limit", "must be a whole number from 1 to 500")
		}
		f.Limit = n
	}
	if v := q.Get("sort"); v != "" {
		field := strings.TrimPrefix(v, "-")
		if !slices.Contains(store.SortFields, field) {
			return f, badRequest("sort", "must be one of %s, with a leading - for descending", strings.Join(store.SortFields, ", "))
		}
		f.Sort = store.TicketSort{Field: field, Desc: strings.HasPrefix(v, "-")}
	}
	for _, bound := range []struct {
		name string
		dst  *time.Time
	}{{"created_from", &f.CreatedFrom}, {"created_to", &f.CreatedTo}} {
		if v := q.Get(bound.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				return f, badRequest(bound.name, "must be a date (2026-01-31) or an RFC 3339 time")
			}
			*bound.dst = t
		}
	}
	if v := q.Get("cursor"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		var c cursorToken
		if err == nil {
			err = json.Unmarshal(raw, &c)
		}
		if err != nil || c.Sort != sortName(f.Sort) {
			return f, badRequest("cursor", "is not a cursor of this list (keep the same sort as the first page)")
		}
		f.After = &store.Cursor{Value: c.Value, Number: c.Number}
	}
	return f, nil
}

// parseTime accepts a date (midnight UTC) or an RFC 3339 time.
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, v)
}

// Validation helpers return nil or a 400 naming the field.

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return badRequest(field, "%s is required", field)
	}
	return nil
}

func enum[T ~string](field string, v T, allowed []T) error {
	if v != "" && !slices.Contains(allowed, v) {
		return badRequest(field, "%s must be one of: %s", field, joinValues(allowed))
	}
	return nil
}

func optEnum[T ~string](field string, v *T, allowed []T) error {
	if v == nil {
		return nil
	}
	if *v == "" {
		return badRequest(field, "%s must be one of: %s", field, joinValues(allowed))
	}
	return enum(field, *v, allowed)
}

func enumList[T ~string](field string, values []string, allowed []T) error {
	for _, v := range values {
		if err := enum(field, T(v), allowed); err != nil {
			return err
		}
	}
	return nil
}

func joinValues[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func email(field, v string) error {
	if v == "" {
		return nil
	}
	if a, err := mail.ParseAddress(v); err != nil || a.Name != "" {
		return badRequest(field, "%s must be a plain email address such as ann@example.com", field)
	}
	return nil
}
