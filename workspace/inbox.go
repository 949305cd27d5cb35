package workspace

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// pageSize is how many tickets one inbox page shows.
const pageSize = 50

// maxSearch bounds the search box's text.
const maxSearch = 200

// riskWindow is how close a next SLA target must be for "SLA at risk".
const riskWindow = time.Hour

// solvedWindow is how far back "Recently solved" looks.
const solvedWindow = 7 * 24 * time.Hour

// unresolved are the statuses of tickets that still need work.
var unresolved = []string{string(model.StatusNew), string(model.StatusOpen), string(model.StatusPending), string(model.StatusOnHold)}

// View is one inbox view: a named ticket filter and its count.
type View struct {
	Key, Title string
	Count      int64
	Note       string // why the view may be incomplete
	filter     store.TicketFilter
}

// viewer is who the inbox is for: the user and, when they are an agent,
// the teams the agents table gives them.
type viewer struct {
	email string
	agent *model.Agent // nil for a user who is not an agent
}

func (v viewer) teams() []string {
	if v.agent == nil {
		return nil
	}
	return v.agent.Teams
}

// views are the inbox's views for a viewer, in navigation order.
// breached lists the unresolved tickets whose SLA is breached, atRisk
// those whose next target is due within the hour (both nil when the
// metrics engine could not say).
func views(v viewer, now time.Time, breached, atRisk []string) []*View {
	teams := v.teams()
	unassigned := &View{Key: "unassigned", Title: "Unassigned in my teams",
		filter: store.TicketFilter{Assignee: []string{""}, Team: teams, Status: unresolved}}
	if len(teams) == 0 {
		// Not an agent, or an agent in no team: every unassigned ticket.
		unassigned.Title = "Unassigned"
	}
	out := []*View{
		{Key: "mine", Title: "My open tickets", filter: store.TicketFilter{Assignee: []string{v.email}, Status: unresolved}},
		unassigned,
	}
	if len(teams) > 0 {
		out = append(out, &View{Key: "teams", Title: "My teams' open", filter: store.TicketFilter{Team: teams, Status: unresolved}})
	}
	sla := &View{Key: "breached", Title: "SLA breached", filter: store.TicketFilter{IDs: breached, Status: unresolved}}
	if breached == nil {
		sla.filter.IDs = []string{}
		sla.Note = "The SLA clocks could not be read just now; see the server log."
	}
	risk := &View{Key: "atrisk", Title: "SLA at risk", Note: "The next SLA target is due within the hour.",
		filter: store.TicketFilter{IDs: atRisk, Status: unresolved}}
	if atRisk == nil {
		risk.filter.IDs = []string{}
		risk.Note = sla.Note
	}
	out = append(out,
		&View{Key: "waiting", Title: "Pending and on hold", filter: store.TicketFilter{Status: []string{string(model.StatusPending), string(model.StatusOnHold)}}},
		sla,
		risk,
		&View{Key: "solved", Title: "Recently solved", Note: "Resolved or closed in the last 7 days.",
			filter: store.TicketFilter{Status: []string{string(model.StatusResolved), string(model.StatusClosed)}, ResolvedFrom: now.Add(-solvedWindow)}},
		&View{Key: "all", Title: "All open", filter: store.TicketFilter{Status: unresolved}},
	)
	return out
}

// Row is one ticket of an inbox page with its SLA state.
type Row struct {
	*model.Ticket
	SLA          metrics.OpenClock
	AssigneeName string // the agent's name, else the address
}

// Due is when the next running SLA target breaches (zero when none runs).
func (r Row) Due() time.Time { return deref(r.SLA.NextDue) }

type inboxPage struct {
	layout
	Views   []*View
	View    *View
	Rows    []Row
	Next    string // the cursor of the next page, "" on the last
	Paged   bool   // this is not the first page
	SLANote string
}

// loadViews finds the viewer, the SLA state and the views with counts;
// a search (q) narrows every view and so its count.
func (ws *Workspace) loadViews(ctx context.Context, q string) ([]*View, map[string]metrics.OpenClock, error) {
	u := auth.UserFrom(ctx)
	if u == nil {
		return nil, nil, errors.New("no signed-in user")
	}
	v := viewer{email: u.Email}
	a, err := ws.st.Agent(ctx, u.Email)
	switch {
	case err == nil:
		v.agent = a
	case !errors.Is(err, model.ErrNotFound):
		return nil, nil, err
	}
	clocks, err := ws.m.OpenSLA(ctx)
	var breached, atRisk []string
	now := ws.now()
	if err != nil {
		slog.Error("workspace: SLA clocks for the inbox", "err", err)
	} else {
		breached, atRisk = []string{}, []string{}
		for id, c := range clocks {
			switch {
			case c.Breached:
				breached = append(breached, id)
			case c.NextDue != nil && !c.NextDue.After(now.Add(riskWindow)):
				// OpenSLA names only targets not yet breached as NextDue.
				atRisk = append(atRisk, id)
			}
		}
		slices.Sort(breached)
		slices.Sort(atRisk)
	}
	vs := views(v, now, breached, atRisk)
	filters := make([]store.TicketFilter, len(vs))
	for i, view := range vs {
		view.filter.Search = q
		filters[i] = view.filter
	}
	counts, err := ws.st.CountMatching(ctx, filters...)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range counts {
		vs[i].Count = n
	}
	return vs, clocks, nil
}

func (ws *Workspace) inbox(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > maxSearch {
		http.Error(w, "q: at most "+strconv.Itoa(maxSearch)+" bytes", http.StatusBadRequest)
		return
	}
	vs, clocks, err := ws.loadViews(ctx, q)
	if err != nil {
		fail(w, err)
		return
	}
	p := &inboxPage{layout: ws.layout(ctx, "inbox", "Inbox"), Views: vs}
	key := r.URL.Query().Get("view")
	if key == "" {
		key = "mine"
	}
	p.Q, p.SearchView = q, key
	for _, v := range vs {
		if v.Key == key {
			p.View = v
		}
	}
	if p.View == nil {
		http.Error(w, "no inbox view "+strconv.Quote(key), http.StatusNotFound)
		return
	}
	f := p.View.filter
	f.Sort = store.TicketSort{Field: "updated_at", Desc: true}
	f.Limit = pageSize + 1 // one more tells whether a next page exists
	if c := r.URL.Query().Get("after"); c != "" {
		after, ok := parseCursor(c)
		if !ok {
			http.Error(w, "after: not a cursor of this inbox", http.StatusBadRequest)
			return
		}
		f.After, p.Paged = &after, true
	}
	tickets, err := ws.st.ListTickets(ctx, f)
	if err != nil {
		fail(w, err)
		return
	}
	if len(tickets) > pageSize {
		tickets = tickets[:pageSize]
		p.Next = formatCursor(store.CursorFor(tickets[pageSize-1], f.Sort))
	}
	agents, err := ws.st.Agents(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	names := make(map[string]string, len(agents))
	for _, a := range agents {
		names[a.Email] = a.Name
	}
	for _, t := range tickets {
		row := Row{Ticket: t, SLA: clocks[t.ID], AssigneeName: names[t.Assignee]}
		if row.AssigneeName == "" {
			row.AssigneeName = t.Assignee
		}
		p.Rows = append(p.Rows, row)
	}
	p.Title = p.View.Title
	if q != "" {
		p.Title = p.View.Title + ": “" + q + "”"
	}
	render(w, "inbox.html", http.StatusOK, p)
}

// A cursor is the last row's update time and number, base64url-encoded:
// keyset paging that stays right while tickets change.
func formatCursor(c store.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Value + "," + strconv.FormatInt(c.Number, 10)))
}

func parseCursor(s string) (store.Cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.Cursor{}, false
	}
	value, num, ok := strings.Cut(string(raw), ",")
	n, err := strconv.ParseInt(num, 10, 64)
	if _, terr := time.Parse(time.RFC3339Nano, value); !ok || err != nil || terr != nil {
		return store.Cursor{}, false
	}
	return store.Cursor{Value: value, Number: n}, true
}
