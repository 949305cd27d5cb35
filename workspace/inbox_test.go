package workspace_test

import (
	"maps"
	"strconv"
	"testing"

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
	want := map[string]int{"mine": 1, "unassigned": 1, "teams": 3, "waiting": 2, "breached": 1, "solved": 2, "all": 5}
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
		if got, want := rows(page), num(names...); !slicesEqual(got, want) {
			t.Errorf("ann's %s: rows %v, want %v", view, got, want)
		}
	}

	_, page, _ = e.get(t, mia, "/inbox")
	want = map[string]int{"mine": 0, "unassigned": 3, "waiting": 2, "breached": 1, "solved": 2, "all": 5}
	if got := counts(t, page); !maps.Equal(got, want) {
		t.Errorf("mia's counts: got %v, want %v", got, want)
	}
	_, page, _ = e.get(t, mia, "/inbox?view=unassigned")
	if got, want := rows(page), num("t5", "t3", "t1"); !slicesEqual(got, want) {
		t.Errorf("mia's unassigned: rows %v, want %v", got, want)
	}
	if status, _, _ := e.get(t, mia, "/inbox?view=teams"); status != 404 {
		t.Errorf("a view the user does not have: %d, want 404", status)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
