package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

// The OpenAPI 3.1 document of the JSON API is written from the route
// table on each request, so it lists exactly the routes the server
// serves with the access each declares. Bodies are described from the
// Go types the handlers decode and write (bodies below), by reflection,
// so the schemas follow the types.

// body is what a route reads and writes: values of the Go types, whose
// schemas the document derives.
type body struct {
	In     any      // the JSON request body's type; nil: no body
	Out    any      // the success answer's type; nil: not described yet
	Status int      // the success status; 0 is 200
	Query  []string // the query parameters
}

// bodies are the described routes, by route pattern.
var bodies = map[string]body{
	"POST /api/v1/tickets":               {In: createTicketInput{}, Out: model.Ticket{}, Status: http.StatusCreated},
	"GET /api/v1/tickets":                {Out: ticketPage{}, Query: ticketQuery},
	"GET /api/v1/tickets/{id}":           {Out: model.Ticket{}},
	"PATCH /api/v1/tickets/{id}":         {In: updateTicketInput{}, Out: model.Ticket{}},
	"POST /api/v1/tickets/{id}/assign":   {In: assignInput{}, Out: model.Ticket{}},
	"POST /api/v1/tickets/{id}/comments": {In: commentInput{}, Out: model.Ticket{}},
	"POST /api/v1/tickets/{id}/status":   {In: statusInput{}, Out: model.Ticket{}},
	"POST /api/v1/tickets/{id}/resolve":  {Out: model.Ticket{}},
	"POST /api/v1/tickets/{id}/reopen":   {Out: model.Ticket{}},
	"POST /api/v1/tickets/{id}/close":    {Out: model.Ticket{}},
	"POST /api/v1/tickets/{id}/csat":     {In: csatInput{}, Out: model.Ticket{}},
	"GET /api/v1/tickets/{id}/events":    {Out: ticketEvents{}},
	"GET /api/v1/agents":                 {Out: agentList{}},
	"POST /api/v1/agents":                {In: model.Agent{}, Out: model.Agent{}, Status: http.StatusCreated},
	"PATCH /api/v1/agents/{email}":       {In: agentPatch{}, Out: model.Agent{}},
	"GET /api/v1/teams":                  {Out: teamList{}},
	"POST /api/v1/teams":                 {In: model.Team{}, Out: model.Team{}, Status: http.StatusCreated},
	"GET /api/v1/metrics/summary":        {Out: metrics.Summary{}, Query: metricsQuery},
	"GET /api/v1/metrics/self-service":   {Out: metrics.SelfService{}, Query: metricsQuery},
	"GET /api/v1/metrics":                {Out: metricList{}},
	"GET /api/v1/tickets/{id}/sla":       {Out: metrics.TicketSLA{}},
	"GET /api/v1/metrics/{name}":         {Query: metricsQuery},
	"GET /api/v1/openapi.json":           {Out: map[string]any{}},
}

// The query parameters of ticket lists (parseTicketFilter) and of
// metrics (metrics.ParseQuery); lists take comma-separated or repeated
// values.
var (
	ticketQuery = []string{"status", "priority", "team", "assignee", "category", "type", "channel", "tag",
		"q", "limit", "sort", "cursor", "created_from", "created_to"}
	metricsQuery = []string{"from", "to", "tz", "asof", "interval", "team", "agent", "priority", "category", "channel", "type"}
)

// enums are the string types with a fixed set of values.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[model.Status]():     values(model.Statuses),
	reflect.TypeFor[model.Priority]():   values(model.Priorities),
	reflect.TypeFor[model.TicketType](): values(model.TicketTypes),
	reflect.TypeFor[model.Channel]():    values(model.Channels),
	reflect.TypeFor[model.EventType]():  values(model.EventTypes),
	reflect.TypeFor[model.ActorKind]():  values(model.ActorKinds),
	reflect.TypeFor[model.Role]():       values(model.Roles),
}

func values[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func (s *Server) openAPIRoutes() {
	s.table.Func("GET", "/api/v1/openapi.json", route.Need(model.PermMetrics),
		"this API's OpenAPI 3.1 description, written from the route table", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, openAPI(s.table))
		})
}

type obj = map[string]any

// openAPI is the OpenAPI 3.1 document of the table's API routes (those
// under /api/ with a method; the catch-all has none).
func openAPI(t *route.Table) obj {
	g := &schemas{components: obj{}, types: map[string]reflect.Type{}}
	errRef := obj{"$ref": "#/components/responses/Error"}
	paths := obj{}
	for _, rt := range t.Sorted() {
		if !rt.API() || rt.Method == "" {
			continue
		}
		path := openAPIPath(rt.Path)
		op := obj{
			"operationId": operationID(rt.Method, path),
			"summary":     rt.Summary,
			"description": accessSentence(rt.Access),
			"tags":        []string{tag(path)},
			"responses":   obj{"4XX": errRef, "5XX": errRef},
		}
		if rt.Access.Perm != "" {
			op["x-deskpulse-permission"] = string(rt.Access.Perm)
		}
		if rt.Access.Public {
			op["security"] = []any{}
		}
		var params []any
		for _, name := range pathParams(path) {
			params = append(params, obj{"name": name, "in": "path", "required": true, "schema": obj{"type": "string"}})
		}
		b := bodies[rt.Pattern()]
		for _, name := range b.Query {
			params = append(params, obj{"name": name, "in": "query", "schema": obj{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if b.In != nil {
			op["requestBody"] = obj{"required": true, "content": jsonContent(g.schema(reflect.TypeOf(b.In), true))}
		}
		success := obj{"description": "the body is not described yet"}
		status := "2XX"
		if b.Out != nil {
			success = obj{"description": "success", "content": jsonContent(g.schema(reflect.TypeOf(b.Out), false))}
			status = "200"
			if b.Status != 0 {
				status = strconv.Itoa(b.Status)
			}
		}
		op["responses"].(obj)[status] = success
		item, _ := paths[path].(obj)
		if item == nil {
			item = obj{}
			paths[path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":   "deskpulse API",
			"version": "v1",
			"description": "The JSON API of deskpulse, a helpdesk. Every route needs a signed-in user whose role " +
				"grants the route's permission (x-deskpulse-permission). Errors answer " +
				`{"error":{"code","message","field"}}, field naming the input at fault.`,
		},
		"security": []any{obj{"bearerToken": []string{}}, obj{"sessionCookie": []string{}}},
		"paths":    paths,
		"components": obj{
			"schemas": g.components,
			"responses": obj{"Error": obj{
				"description": "an error: code is a stable word (invalid, not_found, ...), field the input at fault",
				"content":     jsonContent(g.schema(reflect.TypeFor[errorBody](), false)),
			}},
			"securitySchemes": obj{
				"bearerToken": obj{"type": "http", "scheme": "bearer",
					"description": "an API token (deskpulse user add, or POST /api/v1/users/{email}/tokens)"},
				"sessionCookie": obj{"type": "apiKey", "in": "cookie", "name": "deskpulse_session",
					"description": "a browser session from /signin; requests other than GET also send X-CSRF-Token"},
			},
		},
	}
}

// accessSentence says who may call a route, for its description.
func accessSentence(a route.Access) string {
	switch {
	case a.Public:
		return "Public: no sign-in needed."
	case a.SignedIn:
		return "Any signed-in user may call it."
	}
	var roles []string
	for _, r := range model.Roles {
		if r.Can(a.Perm) {
			roles = append(roles, string(r))
		}
	}
	need := "Needs the " + string(a.Perm) + " permission, which "
	if len(roles) == 1 {
		return need + "only the " + roles[0] + " role grants."
	}
	last := len(roles) - 1
	return need + "the " + strings.Join(roles[:last], ", ") + " and " + roles[last] + " roles grant."
}

// openAPIPath turns a ServeMux pattern's path into an OpenAPI path:
// {name...} is {name}, a trailing {$} goes.
func openAPIPath(p string) string {
	return strings.ReplaceAll(strings.TrimSuffix(p, "{$}"), "...}", "}")
}

func pathParams(path string) []string {
	var names []string
	for part := range strings.SplitSeq(path, "/") {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			names = append(names, part[1:len(part)-1])
		}
	}
	return names
}

// operationID is the method and the path's words in camel case:
// POST /api/v1/tickets/{id}/assign is postTicketsIdAssign.
func operationID(method, path string) string {
	id := strings.ToLower(method)
	for _, word := range strings.FieldsFunc(strings.TrimPrefix(path, "/api/v1/"), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		id += strings.ToUpper(word[:1]) + word[1:]
	}
	return id
}

// tag groups operations by the path's first word after /api/v1/.
func tag(path string) string {
	rest := strings.TrimPrefix(path, "/api/v1/")
	if i := strings.IndexAny(rest, "/."); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func jsonContent(schema obj) obj {
	return obj{"application/json": obj{"schema": schema}}
}

// schemas derives JSON Schemas from Go types as encoding/json writes and
// reads them: json tags name the properties, a pointer may be null,
// time.Time is a date-time string. Named structs of answers become
// components; request bodies are inline, with no required properties
// (the handlers say which are missing) and no unknown ones (decode
// refuses them).
type schemas struct {
	components obj
	types      map[string]reflect.Type // the component names taken
}

var (
	timeType        = reflect.TypeFor[time.Time]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// ownJSON says whether t has a JSON form of its own, which reflection
// cannot see.
func ownJSON(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(marshalerType) || p.Implements(marshalerType) || p.Implements(unmarshalerType)
}

func (g *schemas) schema(t reflect.Type, request bool) obj {
	if t.Kind() == reflect.Pointer {
		return orNull(g.schema(t.Elem(), request))
	}
	if vs, ok := enums[t]; ok {
		return obj{"type": "string", "enum": vs}
	}
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case ownJSON(t):
		return obj{"description": "a value in the type's own JSON form"}
	}
	switch t.Kind() {
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		return obj{"type": "array", "items": g.schema(t.Elem(), request)}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem(), request)}
	case reflect.Struct:
		if request || t.Name() == "" {
			return g.object(t, request)
		}
		return g.component(t)
	}
	return obj{} // an interface: any JSON value
}

// component is a $ref to t's schema under components, written once.
func (g *schemas) component(t reflect.Type) obj {
	name := upper(t.Name())
	if other, taken := g.types[name]; taken && other != t { // metrics.SLA and some x.SLA: MetricsSLA
		name = upper(t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]) + name
	}
	ref := obj{"$ref": "#/components/schemas/" + name}
	if _, done := g.types[name]; !done {
		g.types[name] = t
		g.components[name] = g.object(t, false)
	}
	return ref
}

func upper(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// object is a struct's schema: its JSON fields as properties; in answers
// every field without omitempty is always written, so required.
func (g *schemas) object(t reflect.Type, request bool) obj {
	props := obj{}
	var required []string
	for _, f := range jsonFields(t) {
		props[f.name] = g.schema(f.typ, request)
		if !request && !f.omitempty {
			required = append(required, f.name)
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": false}
	if required != nil {
		s["required"] = required
	}
	return s
}

type jsonField struct {
	name      string
	typ       reflect.Type
	omitempty bool
	depth     int
}

// jsonFields lists the fields encoding/json writes for a struct: exported
// ones not tagged "-", the fields of embedded structs promoted, and of
// two fields of one name the shallower.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	var walk func(t reflect.Type, depth int)
	walk = func(t reflect.Type, depth int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, depth+1)
					continue
				}
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			out = append(out, jsonField{name, f.Type, strings.Contains(","+opts+",", ",omitempty,"), depth})
		}
	}
	walk(t, 0)
	var fields []jsonField
	for _, f := range out {
		i := slices.IndexFunc(fields, func(o jsonField) bool { return o.name == f.name })
		switch {
		case i < 0:
			fields = append(fields, f)
		case f.depth < fields[i].depth:
			fields[i] = f
		}
	}
	return fields
}

// orNull lets a schema also take null.
func orNull(s obj) obj {
	if typ, ok := s["type"].(string); ok {
		s["type"] = []string{typ, "null"}
		if vs, ok := s["enum"].([]string); ok {
			withNull := make([]any, 0, len(vs)+1)
			for _, v := range vs {
				withNull = append(withNull, v)
			}
			s["enum"] = append(withNull, nil)
		}
		return s
	}
	return obj{"anyOf": []any{s, obj{"type": "null"}}}
}
