package api

import (
	"net/http"
	"net/url"

	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

func (s *Server) metricsRoutes() {
	m := s.table
	m.Func("GET", "/api/v1/metrics", route.Need(model.PermMetrics), "list the metrics (the catalog)", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, metricList{Metrics: s.metrics.List()})
	})
	m.Func("GET", "/api/v1/metrics/summary", route.Need(model.PermMetrics), "headline KPIs of a range and the previous period", s.summary)
	m.Func("GET", "/api/v1/metrics/self-service", route.Need(model.PermMetrics), "knowledge-base and web-form self-service figures", s.selfService)
	m.Func("GET", "/api/v1/metrics/{name}", route.Need(model.PermMetrics), "one named series, distribution or breakdown", s.series)
	m.Func("GET", "/api/v1/tickets/{id}/sla", route.Need(model.PermTickets), "a ticket's SLA clocks", s.ticketSLA)
	m.Func("POST", "/api/v1/sla/simulate", route.Need(model.PermMetrics), "what-if: SLA outcomes under other policies", s.simulate)
}

// metricList is the metrics catalog.
type metricList struct {
	Metrics []metrics.Definition `json:"metrics"`
}

func (s *Server) summary(w http.ResponseWriter, r *http.Request) {
	q, err := metrics.ParseQuery(r.URL.Query(), s.metrics.Defaults())
	if err != nil {
		writeError(w, r, err)
		return
	}
	sum, err := s.metrics.Summary(r.Context(), q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

// selfService is the knowledge base's figures: views, votes, searches,
// form suggestions and deflection (docs/metrics.md, Self-service).
func (s *Server) selfService(w http.ResponseWriter, r *http.Request) {
	q, err := metrics.ParseQuery(r.URL.Query(), s.metrics.Defaults())
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.metrics.SelfService(r.Context(), q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) series(w http.ResponseWriter, r *http.Request) {
	q, err := metrics.ParseQuery(r.URL.Query(), s.metrics.Defaults())
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.metrics.Series(r.Context(), r.PathValue("name"), q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) ticketSLA(w http.ResponseWriter, r *http.Request) {
	res, err := s.metrics.TicketSLA(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// simulateInput is the what-if document: calendars and SLA policies in
// config.yaml's shape, and the range and filters as in the metrics query
// string (which they may also come in).
type simulateInput struct {
	Calendars map[string]metrics.Calendar `json:"calendars"`
	SLA       metrics.SLAConfig           `json:"sla"`
	From      string                      `json:"from"`
	To        string                      `json:"to"`
	TZ        string                      `json:"tz"`
	AsOf      string                      `json:"asof"`
	Team      []string                    `json:"team"`
	Agent     []string                    `json:"agent"`
	Priority  []string                    `json:"priority"`
	Category  []string                    `json:"category"`
	Channel   []string                    `json:"channel"`
	Type      []string                    `json:"type"`
}

func (s *Server) simulate(w http.ResponseWriter, r *http.Request) {
	var in simulateInput
	if err := decode(w, r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	if len(in.SLA.Policies) == 0 {
		writeError(w, r, badRequest("sla", "give the policies to simulate under sla.policies"))
		return
	}
	values := r.URL.Query()
	set := func(key, v string) {
		if v != "" {
			values.Set(key, v)
		}
	}
	set("from", in.From)
	set("to", in.To)
	set("tz", in.TZ)
	set("asof", in.AsOf)
	for key, list := range map[string][]string{"team": in.Team, "agent": in.Agent, "priority": in.Priority,
		"category": in.Category, "channel": in.Channel, "type": in.Type} {
		for _, v := range list {
			values.Add(key, v)
		}
	}
	q, err := metrics.ParseQuery(url.Values(values), s.metrics.Defaults())
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := s.metrics.Simulate(r.Context(), metrics.SimulateRequest{
		Config: metrics.Config{Calendars: in.Calendars, SLA: in.SLA}, Query: q})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
