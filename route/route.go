// Package route is deskpulse's table of routes: every endpoint is added
// with its method, path, handler and the access it needs, so that the
// gate (package auth) checks what the route declares, the OpenAPI document
// is written from the same table, and `deskpulse routes` lists it. A
// route cannot be added without saying who may call it.
package route

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/deskpulse/deskpulse/model"
)

// Access says who may call a route: anyone, any signed-in user, or users
// whose role grants a permission.
type Access struct {
	Public   bool             // no sign-in: health checks, sign-in pages, the requester portal
	SignedIn bool             // any signed-in user, whatever the role
	Perm     model.Permission // the permission the role must grant
}

// Anyone, AnyUser and Need are the three kinds of Access.
var (
	Anyone  = Access{Public: true}
	AnyUser = Access{SignedIn: true}
)

// Need is access for the roles that grant p.
func Need(p model.Permission) Access { return Access{Perm: p} }

func (a Access) String() string {
	switch {
	case a.Public:
		return "public"
	case a.SignedIn:
		return "signed-in"
	}
	return string(a.Perm)
}

func (a Access) valid() bool {
	n := 0
	for _, b := range []bool{a.Public, a.SignedIn, a.Perm != ""} {
		if b {
			n++
		}
	}
	return n == 1
}

// Route is one endpoint.
type Route struct {
	Method  string // GET, POST, ...; "" for any method (a catch-all)
	Path    string // a ServeMux path pattern: /api/v1/tickets/{id}
	Access  Access
	Summary string // one line, for the OpenAPI document and `deskpulse routes`
	Handler http.Handler
	// Machine marks a route read by programs, not people (a Prometheus
	// scrape): like the API's, it answers a missing sign-in with 401
	// instead of sending the client to the sign-in page.
	Machine bool
}

// Pattern is the route's ServeMux pattern.
func (r Route) Pattern() string {
	if r.Method == "" {
		return r.Path
	}
	return r.Method + " " + r.Path
}

// API says whether the route is part of the JSON API.
func (r Route) API() bool { return strings.HasPrefix(r.Path, "/api/") }

// ForMachines says whether the route's callers are programs: the API's
// routes and those marked Machine.
func (r Route) ForMachines() bool { return r.API() || r.Machine }

// Table is the server's routes and the ServeMux made of them.
type Table struct {
	mu     sync.RWMutex
	mux    *http.ServeMux
	routes map[string]Route // by pattern
	order  []string
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{mux: http.NewServeMux(), routes: map[string]Route{}}
}

// Add registers routes. A route without a valid Access (exactly one of
// public, signed-in or a permission), or with a pattern already taken,
// is a programming error and panics, as ServeMux does for a conflict.
func (t *Table) Add(rs ...Route) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range rs {
		p := r.Pattern()
		if !r.Access.valid() {
			panic(fmt.Sprintf("route %s: say who may call it (route.Anyone, route.AnyUser or route.Need)", p))
		}
		if _, dup := t.routes[p]; dup {
			panic("route " + p + " added twice")
		}
		if r.Handler == nil {
			panic("route " + p + " has no handler")
		}
		t.mux.Handle(p, r.Handler)
		t.routes[p] = r
		t.order = append(t.order, p)
	}
}

// Func is Add of one route with a handler function.
func (t *Table) Func(method, path string, a Access, summary string, h http.HandlerFunc) {
	t.Add(Route{Method: method, Path: path, Access: a, Summary: summary, Handler: h})
}

// Match returns the route that serves r, as the ServeMux would choose it.
func (t *Table) Match(r *http.Request) (Route, bool) {
	_, pattern := t.mux.Handler(r)
	t.mu.RLock()
	defer t.mu.RUnlock()
	route, ok := t.routes[pattern]
	return route, ok
}

// Routes lists the routes in the order they were added.
func (t *Table) Routes() []Route {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Route, len(t.order))
	for i, p := range t.order {
		out[i] = t.routes[p]
	}
	return out
}

// Sorted lists the routes by path, then method.
func (t *Table) Sorted() []Route {
	rs := t.Routes()
	slices.SortFunc(rs, func(a, b Route) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	return rs
}

// ServeHTTP serves r by its route.
func (t *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) { t.mux.ServeHTTP(w, r) }

// Handle is Add of one route.
func (t *Table) Handle(method, path string, a Access, summary string, h http.Handler) {
	t.Add(Route{Method: method, Path: path, Access: a, Summary: summary, Handler: h})
}

// Handler is the ServeMux's: the handler and pattern that would serve r.
func (t *Table) Handler(r *http.Request) (http.Handler, string) { return t.mux.Handler(r) }
