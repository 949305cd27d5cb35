package workspace_test

import (
	"context"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
)

// TestInboxCounts checks every view's count and rows on the fixture (see
// startEnv), for an agent in a team and for a manager who is not an agent.
func TestInboxCounts(t *testing.T) {
	e := startEnv(t)
	ann, _ := e.user(t, "ann@example.com", model.RoleAgent)
	mia, _ := e.user(t, "mia@example.com", model.RoleManager)
	num := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, strconv.FormatInt(e.numbers[n], 10))
		}
		return out
	}

	status, page, _ := e.get(t, ann, "/inbox")
	if status != 200 {
		t.Fatalf("ann's inbox: %d\n%s", status, page)
	}
	want := map[string]int{"mine": 1, "unassigned": 1, "teams": 3, "waiting": 2, "breached": 1, "atrisk": 0, "solved": 2, "all": 5}
	if got := counts(t, page); !maps.Equal(got, want) {
		t.Errorf("ann's counts: got %v, want %v", got, want)
	}
	// Each view lists its tickets, the latest update first (the fixture
	// wrote them in order, so the higher number is the later).
	for view, names := range map[string][]string{
		"mine": {"t2"}, "unassigned": {"t1"}, "teams": {"t4", "t2", "t1"}, "waiting": {"t5", "t4"},
		"breached": {"t3"}, "solved": {"t7", "t6"}, "all": {"t5", "t4", "t3", "t2", "t1"},
	} {
		_, page, _ := e.get(t, ann, "/inbox?view="+view)
		if got, want := rows(page), num(names...); !slices.Equal(got, want) {
			t.Errorf("ann's %s: rows %v, want %v", view, got, want)
		}
	}

	_, page, _ = e.get(t, mia, "/inbox")
	want = map[string]int{"mine": 0, "unassigned": 3, "waiting": 2, "breached": 1, "atrisk": 0, "solved": 2, "all": 5}
	if got := counts(t, page); !maps.Equal(got, want) {
		t.Errorf("mia's counts: got %v, want %v", got, want)
	}
	_, page, _ = e.get(t, mia, "/inbox?view=unassigned")
	if got, want := rows(page), num("t5", "t3", "t1"); !slices.Equal(got, want) {
		t.Errorf("mia's unassigned: rows %v, want %v", got, want)
	}
	if status, _, _ := e.get(t, mia, "/inbox?view=teams"); status != 404 {
		t.Errorf("a view the user does not have: %d, want 404", status)
	}
}

// TestInboxPaging: 50 rows a page, the next page after the last row's
// update (keyset), newest update first; a ticket updated between the
// pages moves to the top of page one and shifts nothing on page two.
func TestInboxPaging(t *testing.T) {
	e := startEnv(t)
	ann, _ := e.user(t, "ann@example.com", model.RoleAgent)
	ctx := context.Background()
	for i := range 53 {
		if _, err := e.w.Do(ctx, &ingest.CreateTicket{Actor: model.Actor{Name: "fixture", Kind: model.ActorSystem},
			Subject: "More " + strconv.Itoa(i), RequesterEmail: "sam@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	_, page, _ := e.get(t, ann, "/inbox?view=all")
	if c := counts(t, page)["all"]; c != 58 {
		t.Fatalf("all open: %d, want 58", c)
	}
	first := rows(page)
	m := regexp.MustCompile(`href="/inbox\?view=all&amp;after=([A-Za-z0-9_-]+)" rel="next"`).FindStringSubmatch(page)
	if len(first) != 50 || m == nil {
		t.Fatalf("page 1: %d rows, next link %v", len(first), m)
	}
	// An update between the pages: t1 goes to the top of page 1, and
	// page 2 is still what followed page 1's last row, less t1.
	tk, _ := e.st.Ticket(ctx, strconv.FormatInt(e.numbers["t1"], 10))
	if _, err := e.w.Do(ctx, commentCmd(tk.ID, "bump", false)); err != nil {
		t.Fatal(err)
	}
	status, page, _ := e.get(t, ann, "/inbox?view=all&after="+m[1])
	second := rows(page)
	if status != 200 || len(second) != 7 || strings.Contains(page, `rel="next"`) || !strings.Contains(page, "First page") {
		t.Fatalf("page 2: %d, %d rows", status, len(second))
	}
	// Page 1 listed the 50 newest of the new ones (60 down to 11); page
	// 2 the other three new ones, then t5 to t2 by their last update.
	if first[0] != "60" || first[49] != "11" || strings.Join(second, " ") != "10 9 8 5 4 3 2" {
		t.Errorf("pages: %v | %v", first, second)
	}
	if _, page, _ := e.get(t, ann, "/inbox?view=all"); rows(page)[0] != "1" {
		t.Errorf("the updated t1 is not first on page 1: %v", rows(page)[:3])
	}
	if status, _, _ := e.get(t, ann, "/inbox?view=all&after=bogus"); status != 400 {
		t.Errorf("a bad cursor: %d, want 400", status)
	}
}

// TestOpenSLA holds the metrics engine's inbox view of the SLA clocks to
// the fixture's policies: Default 8 h first response / 40 h resolution,
// Urgent 1 min / 1 h, 24x7, the metrics clock 10 minutes ahead.
func TestOpenSLA(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	tk := func(name string) *model.Ticket {
		t.Helper()
		x, err := e.st.Ticket(ctx, strconv.FormatInt(e.numbers[name], 10))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	// t4 is pending: an agent's reply meets its first response, and its
	// resolution clock is paused.
	if _, err := e.w.Do(ctx, commentCmd(tk("t4").ID, "Waiting for your answer.", true)); err != nil {
		t.Fatal(err)
	}
	clocks, err := e.m.OpenSLA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(clocks) != 5 {
		t.Errorf("%d clocks, want the 5 unresolved tickets", len(clocks))
	}
	due := func(name string, d time.Duration) {
		t.Helper()
		c, x := clocks[tk(name).ID], tk(name)
		if c.Breached || c.Paused || c.NextDue == nil || !c.NextDue.Equal(x.CreatedAt.Add(d)) {
			t.Errorf("%s: %+v, want due at created + %s", name, c, d)
		}
	}
	due("t1", 8*time.Hour)
	due("t2", 8*time.Hour)
	due("t5", 8*time.Hour) // on hold: the first response still runs
	if c := clocks[tk("t3").ID]; !c.Breached || c.NextDue == nil || !c.NextDue.Equal(tk("t3").CreatedAt.Add(time.Hour)) {
		t.Errorf("t3: %+v, want breached with the resolution due at created + 1 h", c)
	}
	if c := clocks[tk("t4").ID]; c.Breached || !c.Paused || c.NextDue != nil {
		t.Errorf("t4: %+v, want paused", c)
	}
	for _, name := range []string{"t6", "t7"} {
		if _, ok := clocks[tk(name).ID]; ok {
			t.Errorf("%s is resolved but has an open clock", name)
		}
	}
}

// TestSLAAtRisk: an urgent ticket whose first response is met has its
// resolution (1 h) due within the hour, so it is at risk; t3, urgent but
// breached, is not; the Default tickets are due in about 8 h. The
// view's count and rows agree, and a reply that solves it empties the view.
func TestSLAAtRisk(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	ann, _ := e.user(t, "ann@example.com", model.RoleAgent)
	res, err := e.w.Do(ctx, &ingest.CreateTicket{Actor: model.Actor{Name: "rita@example.com", Kind: model.ActorRequester},
		Subject: "Ticket t8", Description: "About t8", RequesterEmail: "rita@example.com", Priority: model.PriorityUrgent,
		Channel: model.ChannelWeb, Team: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.Do(ctx, commentCmd(res.Ticket.ID, "On it.", true)); err != nil {
		t.Fatal(err)
	}
	n := strconv.FormatInt(res.Ticket.Number, 10)
	_, page, _ := e.get(t, ann, "/inbox?view=atrisk")
	if c := counts(t, page); c["atrisk"] != 1 || c["breached"] != 1 || c["all"] != 6 {
		t.Errorf("counts with t8: %v", c)
	}
	if got := rows(page); !slices.Equal(got, []string{n}) || !strings.Contains(page, "The next SLA target is due within the hour.") {
		t.Errorf("at risk rows: %v, want [%s]", got, n)
	}
	if _, err := e.w.Do(ctx, &ingest.SetStatus{ID: res.Ticket.ID, Actor: model.Actor{Name: "ann@example.com", Kind: model.ActorAgent}, Status: model.StatusResolved}); err != nil {
		t.Fatal(err)
	}
	if _, page, _ := e.get(t, ann, "/inbox?view=atrisk"); counts(t, page)["atrisk"] != 0 || len(rows(page)) != 0 {
		t.Errorf("a solved ticket is still at risk: %v", rows(page))
	}
}

// TestInboxSearch: the search box matches number, subject, description and
// requester name and address, case-insensitive and literally (% and _
// are text), within the current view, every view's count narrowed alike;
// results page as the views do, the search kept in the links.
func TestInboxSearch(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	ann, _ := e.user(t, "ann@example.com", model.RoleAgent)
	res, err := e.w.Do(ctx, &ingest.CreateTicket{Actor: model.Actor{Name: "oscar@example.org", Kind: model.ActorRequester},
		Subject: "Printer JAM on floor 9", Description: "paper 100%_done", RequesterName: "Óscar Núñez",
		RequesterEmail: "oscar@Example.org", Channel: model.ChannelWeb, Team: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	t8 := strconv.FormatInt(res.Ticket.Number, 10)
	num := func(name string) string { return strconv.FormatInt(e.numbers[name], 10) }
	for _, c := range []struct {
		view, q string
		want    []string
	}{
		{"all", "printer", []string{t8}},         // subject, another case
		{"all", "ÓSCAR", []string{t8}},           // requester name, Unicode case
		{"all", "example.ORG", []string{t8}},     // requester address
		{"all", "100%_", []string{t8}},           // description, % and _ literally
		{"all", "_", []string{t8}},               // no wildcard: only t8 has an underscore
		{"all", "about T2", []string{num("t2")}}, // description
		{"all", "#" + num("t3"), []string{num("t3")}},
		{"all", "rita", []string{num("t5"), num("t4"), num("t3"), num("t2"), num("t1")}},
		{"solved", "rita", []string{num("t7"), num("t6")}},
		{"mine", "ticket", []string{num("t2")}},
		{"all", "nothing like this", nil},
		{"all", "'; DROP TABLE tickets; --", nil},
	} {
		status, page, _ := e.get(t, ann, "/inbox?view="+c.view+"&q="+url.QueryEscape(c.q))
		if got := rows(page); status != 200 || !slices.Equal(got, c.want) {
			t.Errorf("%s %q: %d, rows %v, want %v", c.view, c.q, status, got, c.want)
		}
	}
	// Every view's count is of the search; the links keep it.
	_, page, _ := e.get(t, ann, "/inbox?view=all&q=rita")
	want := map[string]int{"mine": 1, "unassigned": 1, "teams": 3, "waiting": 2, "breached": 1, "atrisk": 0, "solved": 2, "all": 5}
	if got := counts(t, page); !maps.Equal(got, want) {
		t.Errorf("counts of the search: %v, want %v", got, want)
	}
	if !strings.Contains(page, `href="/inbox?view=solved&amp;q=rita"`) || !strings.Contains(page, `id="q" name="q" value="rita"`) ||
		!strings.Contains(page, `name="view" value="all"`) {
		t.Errorf("the search is not kept in the view links and the box")
	}
	if n, _ := e.st.CountTickets(ctx); n != 8 {
		t.Errorf("%d tickets after the searches, want 8", n)
	}
	if status, _, _ := e.get(t, ann, "/inbox?q="+strings.Repeat("x", 201)); status != 400 {
		t.Errorf("a search of 201 bytes: %d, want 400", status)
	}

	// 52 more matches: 50 on page one, 2 after, the search in the link.
	for i := range 52 {
		if _, err := e.w.Do(ctx, &ingest.CreateTicket{Actor: model.Actor{Name: "fixture", Kind: model.ActorSystem},
			Subject: "Batch " + strconv.Itoa(i), RequesterEmail: "sam@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	_, page, _ = e.get(t, ann, "/inbox?view=all&q=BATCH")
	m := regexp.MustCompile(`href="/inbox\?view=all&amp;q=BATCH&amp;after=([A-Za-z0-9_-]+)" rel="next"`).FindStringSubmatch(page)
	if counts(t, page)["all"] != 52 || len(rows(page)) != 50 || m == nil {
		t.Fatalf("search page 1: count %d, %d rows, next %v", counts(t, page)["all"], len(rows(page)), m)
	}
	_, page, _ = e.get(t, ann, "/inbox?view=all&q=BATCH&after="+m[1])
	if got := rows(page); len(got) != 2 || strings.Contains(page, `rel="next"`) {
		t.Errorf("search page 2: %v", got)
	}
}
