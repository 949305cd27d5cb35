package route

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/deskpulse/deskpulse/model"
)

// TestARouteMustSayWhoMayCallIt: a route without access, with two kinds
// of access, without a handler or added twice is refused at start.
func TestARouteMustSayWhoMayCallIt(t *testing.T) {
	ok := func(w http.ResponseWriter, r *http.Request) {}
	for name, add := range map[string]func(*Table){
		"no access":   func(t *Table) { t.Func("GET", "/x", Access{}, "x", ok) },
		"two kinds":   func(t *Table) { t.Func("GET", "/x", Access{Public: true, Perm: model.PermAdmin}, "x", ok) },
		"no handler":  func(t *Table) { t.Handle("GET", "/x", Anyone, "x", nil) },
		"added twice": func(t *Table) { t.Func("GET", "/x", Anyone, "x", ok); t.Func("GET", "/x", Anyone, "x", ok) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: added", name)
				}
			}()
			add(NewTable())
		}()
	}
}

// TestMatchFindsTheServingRoute: Match answers the route the ServeMux
// serves a request with, so its access is the one checked.
func TestMatchFindsTheServingRoute(t *testing.T) {
	tb := NewTable()
	ok := func(w http.ResponseWriter, r *http.Request) {}
	tb.Func("GET", "/api/v1/tickets/{id}", Need(model.PermTickets), "a ticket", ok)
	tb.Func("GET", "/api/v1/tickets/{id}/sla", Need(model.PermMetrics), "its SLA", ok)
	tb.Func("", "/api/", AnyUser, "no such route", ok)
	for path, want := range map[string]Access{
		"/api/v1/tickets/7":     Need(model.PermTickets),
		"/api/v1/tickets/7/sla": Need(model.PermMetrics),
		"/api/v1/nothing":       AnyUser,
	} {
		rt, found := tb.Match(httptest.NewRequest("GET", path, nil))
		if !found || rt.Access != want {
			t.Errorf("%s: %v %v, want %v", path, rt.Access, found, want)
		}
	}
	if _, found := tb.Match(httptest.NewRequest("GET", "/elsewhere", nil)); found {
		t.Error("/elsewhere matched")
	}
}
