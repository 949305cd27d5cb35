package model

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func ev(typ EventType, mutate ...func(*Event)) *Event {
	e := &Event{ID: "e", Ticket: "T1", Type: typ, At: t0, Actor: "bob@example.com", ActorKind: ActorAgent}
	for _, m := range mutate {
		m(e)
	}
	return e
}

func withStatus(s Status) func(*Event) { return func(e *Event) { e.Status = &s } }

// ticketIn returns an existing ticket in the given status.
func ticketIn(s Status) *Ticket {
	return &Ticket{ID: "T1", Number: 1, Subject: "x", Status: s, Priority: PriorityNormal, Fields: map[string]string{}}
}

func TestStateMachine(t *testing.T) {
	score := func(n int) func(*Event) { return func(e *Event) { e.Score = &n } }
	cases := []struct {
		from    Status
		event   *Event
		want    Status // expected status after, when allowed
		allowed bool
	}{
		{StatusNew, ev(EventStatusChanged, withStatus(StatusOpen)), StatusOpen, true},
		{StatusOpen, ev(EventStatusChanged, withStatus(StatusPending)), StatusPending, true},
		{StatusPending, ev(EventStatusChanged, withStatus(StatusOnHold)), StatusOnHold, true},
		{StatusOpen, ev(EventStatusChanged, withStatus(StatusOpen)), "", false}, // no-op change
		{StatusResolved, ev(EventStatusChanged, withStatus(StatusOpen)), "", false},
		{StatusNew, ev(EventResolved), StatusResolved, true},
		{StatusPending, ev(EventResolved), StatusResolved, true},
		{StatusResolved, ev(EventResolved), "", false},
		{StatusResolved, ev(EventReopened), StatusOpen, true},
		{StatusOpen, ev(EventReopened), "", false},
		{StatusResolved, ev(EventClosed), StatusClosed, true},
		{StatusOpen, ev(EventClosed), "", false},
		{StatusClosed, ev(EventReopened), "", false},
		{StatusClosed, ev(EventCommented, func(e *Event) { e.Body = Ptr("hi") }), "", false},
		{StatusClosed, ev(EventPriorityChanged, func(e *Event) { e.Priority = Ptr(PriorityHigh) }), "", false},
		{StatusClosed, ev(EventCSATRated, score(2)), StatusClosed, true}, // a late survey answer still counts
		{StatusResolved, ev(EventCSATRated, score(5)), StatusResolved, true},
		{StatusOpen, ev(EventCSATRated, score(5)), "", false},
		{StatusOnHold, ev(EventAssigned, func(e *Event) { e.Assignee = Ptr("amy@example.com") }), StatusOnHold, true},
		{StatusOpen, ev(EventCreated, func(e *Event) { e.Subject = Ptr("again") }), "", false},
	}
	for _, c := range cases {
		t.Run(string(c.from)+"/"+string(c.event.Type), func(t *testing.T) {
			if err := c.event.Normalize(); err != nil {
				t.Fatalf("normalize: %v", err)
			}
			tk := ticketIn(c.from)
			before := *tk
			err := tk.Apply(c.event)
			var te *TransitionError
			switch {
			case c.allowed && err != nil:
				t.Fatalf("refused: %v", err)
			case c.allowed && tk.Status != c.want:
				t.Fatalf("status %s, want %s", tk.Status, c.want)
			case !c.allowed && !errors.As(err, &te):
				t.Fatalf("allowed (err %v), want a TransitionError", err)
			case !c.allowed && (tk.Status != before.Status || !tk.UpdatedAt.Equal(before.UpdatedAt)):
				t.Fatalf("a refused event changed the ticket")
			}
		})
	}
}

func TestApplyOnMissingTicket(t *testing.T) {
	e := ev(EventResolved)
	if err := (&Ticket{}).Apply(e); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

func TestLifecycleFields(t *testing.T) {
	tk := &Ticket{}
	events := []*Event{
		ev(EventCreated, func(e *Event) {
			e.ActorKind, e.Actor, e.Subject = ActorRequester, "ann@example.com", Ptr("VPN down")
			e.Fields = map[string]string{"site": "Berlin"}
			e.Tags = []string{"VPN", " remote ", "vpn"}
		}),
		ev(EventCommented, func(e *Event) { e.Body, e.Public, e.At = Ptr("note"), Ptr(false), t0.Add(time.Minute) }),
		ev(EventCommented, func(e *Event) { e.Body, e.At = Ptr("reply"), t0.Add(2*time.Minute) }),
		ev(EventCommented, func(e *Event) { e.Body, e.At = Ptr("reply 2"), t0.Add(3*time.Minute) }),
		ev(EventFieldsChanged, func(e *Event) { e.Fields, e.At = map[string]string{"site": "", "os": "linux"}, t0.Add(4*time.Minute) }),
		ev(EventResolved, func(e *Event) { e.At = t0.Add(5 * time.Minute) }),
		ev(EventReopened, func(e *Event) { e.At = t0.Add(6 * time.Minute) }),
		ev(EventResolved, func(e *Event) { e.At = t0.Add(7 * time.Minute) }),
	}
	for _, e := range events {
		if err := e.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := tk.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	switch {
	case tk.RequesterEmail != "ann@example.com", tk.Priority != PriorityNormal, tk.Type != TypeIncident, tk.Channel != ChannelAPI:
		t.Fatalf("created defaults: %+v", tk)
	case len(tk.Tags) != 2 || tk.Tags[0] != "remote" || tk.Tags[1] != "vpn":
		t.Fatalf("tags %v", tk.Tags)
	case !tk.FirstResponseAt.Equal(t0.Add(2 * time.Minute)), tk.AgentReplies != 2:
		t.Fatalf("first response %v, replies %d", tk.FirstResponseAt, tk.AgentReplies)
	case len(tk.Fields) != 1 || tk.Fields["os"] != "linux":
		t.Fatalf("fields %v", tk.Fields)
	case tk.Reopens != 1, !tk.ResolvedAt.Equal(t0.Add(7 * time.Minute)), !tk.UpdatedAt.Equal(t0.Add(7 * time.Minute)):
		t.Fatalf("resolution %+v", tk)
	}
}

func TestNormalizeNamesTheField(t *testing.T) {
	cases := map[string]*Event{
		"subject":    ev(EventCreated),
		"priority":   ev(EventCreated, func(e *Event) { e.Subject, e.Priority = Ptr("x"), Ptr(Priority("asap")) }),
		"status":     ev(EventStatusChanged, withStatus(StatusClosed)),
		"score":      ev(EventCSATRated, func(e *Event) { e.Score = Ptr(0) }),
		"body":       ev(EventCommented),
		"at":         ev(EventResolved, func(e *Event) { e.At = time.Time{} }),
		"actor_kind": ev(EventResolved, func(e *Event) { e.ActorKind = "robot" }),
		"public":     ev(EventCommented, func(e *Event) { e.Body, e.Public, e.ActorKind = Ptr("x"), Ptr(false), ActorRequester }),
		"tags":       ev(EventTagsChanged, func(e *Event) { e.Tags = []string{"two words"} }),
		"assignee":   ev(EventAssigned),
	}
	for field, e := range cases {
		var ve *ValidationError
		if err := e.Normalize(); !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}
