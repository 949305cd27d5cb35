package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

func (s *Server) loadPeople(ctx context.Context) error {
	agents, err := s.store.Agents(ctx)
	if err != nil {
		return err
	}
	teams, err := s.store.Teams(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range agents {
		s.agents[a.Email] = true
	}
	for _, t := range teams {
		s.teams[t.Name] = true
	}
	return nil
}

// knownAgent checks an assignee; "" (nobody) is fine.
func (s *Server) knownAgent(email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if email != "" && !s.agents[email] {
		return badRequest("assignee", "%q is not an agent; add it with POST /api/v1/agents", email)
	}
	return nil
}

// knownTeam checks a team; "" (no team) is fine.
func (s *Server) knownTeam(name string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if name != "" && !s.teams[name] {
		return badRequest("team", "%q is not a team; add it with POST /api/v1/teams", name)
	}
	return nil
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	agents, err := s.store.Agents(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agentList{Agents: agents})
}

type agentList struct {
	Agents []*model.Agent `json:"agents"`
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) {
	var a model.Agent
	if err := decode(w, r, &a, false); err != nil {
		writeError(w, r, err)
		return
	}
	err := a.Validate()
	for _, team := range a.Teams {
		err = firstError(err, s.knownTeam(team))
	}
	if err != nil {
		if e, ok := err.(*Error); ok && e.Field == "team" {
			e.Field = "teams"
		}
		writeError(w, r, err)
		return
	}
	a.CreatedAt = time.Now().UTC()
	if err := s.store.CreateAgent(r.Context(), &a); err != nil {
		writeError(w, r, err)
		return
	}
	s.mu.Lock()
	s.agents[a.Email] = true
	s.mu.Unlock()
	s.audited(r, "agent.created", a.Email, strings.Join(a.Teams, ", "))
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) {
	teams, err := s.store.Teams(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, teamList{Teams: teams})
}

type teamList struct {
	Teams []*model.Team `json:"teams"`
}

func (s *Server) createTeam(w http.ResponseWriter, r *http.Request) {
	var t model.Team
	if err := decode(w, r, &t, false); err != nil {
		writeError(w, r, err)
		return
	}
	if err := t.Validate(); err != nil {
		writeError(w, r, err)
		return
	}
	t.CreatedAt = time.Now().UTC()
	if err := s.store.CreateTeam(r.Context(), &t); err != nil {
		writeError(w, r, err)
		return
	}
	s.mu.Lock()
	s.teams[t.Name] = true
	s.mu.Unlock()
	s.audited(r, "team.created", t.Name, "")
	writeJSON(w, http.StatusCreated, t)
}

type agentPatch struct {
	Name         *string   `json:"name"`
	Teams        *[]string `json:"teams"`
	Skills       *[]string `json:"skills"`
	Availability *string   `json:"availability"` // available, away, offline
	Calendar     *string   `json:"calendar"`     // a calendar of the config, "" none
}

// updateAgent is PATCH /api/v1/agents/{email}: change what is given.
func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) {
	var in agentPatch
	if err := decode(w, r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	agents, err := s.store.Agents(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PathValue("email")))
	var a *model.Agent
	for _, x := range agents {
		if x.Email == email {
			a = x
		}
	}
	if a == nil {
		writeError(w, r, model.ErrNotFound)
		return
	}
	if in.Name != nil {
		a.Name = *in.Name
	}
	if in.Teams != nil {
		a.Teams = *in.Teams
	}
	if in.Skills != nil {
		a.Skills = *in.Skills
	}
	if in.Availability != nil {
		if *in.Availability == "" {
			writeError(w, r, badRequest("availability", "must be available, away or offline"))
			return
		}
		a.Availability = *in.Availability
	}
	if in.Calendar != nil {
		if *in.Calendar != "" && s.metrics != nil {
			if _, ok := s.metrics.Config().Calendars[*in.Calendar]; !ok {
				writeError(w, r, badRequest("calendar", "%q is not a calendar of the configuration", *in.Calendar))
				return
			}
		}
		a.Calendar = *in.Calendar
	}
	err = a.Validate()
	for _, team := range a.Teams {
		err = firstError(err, s.knownTeam(team))
	}
	if err == nil {
		err = s.store.UpdateAgent(r.Context(), a)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	s.audited(r, "agent.updated", a.Email, string(a.Availability))
	writeJSON(w, http.StatusOK, a)
}
