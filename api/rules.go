package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/internal/httpjson"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

// AutomationRoutes adds the rules API (managers; see auth.Policy):
//
//	GET    /api/v1/rules                   the rules in evaluation order
//	POST   /api/v1/rules                   a new rule (JSON as in docs/automation.md)
//	GET    /api/v1/rules/{id}              one rule (id or name)
//	PUT    /api/v1/rules/{id}              replace a rule's definition
//	DELETE /api/v1/rules/{id}              remove it
//	GET    /api/v1/rules/{id}/dry-run?from=&to=&limit=   what it would have done
func (s *Server) AutomationRoutes(e *automation.Engine) {
	m := s.table
	m.Func("GET", "/api/v1/rules", route.Need(model.PermManage), "list automation rules", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"rules": e.Rules()})
	})
	m.Func("POST", "/api/v1/rules", route.Need(model.PermManage), "create an automation rule", func(w http.ResponseWriter, r *http.Request) {
		rule, err := decodeRule(w, r)
		if err == nil {
			rule, err = e.CreateRule(r.Context(), rule)
		}
		if err != nil {
			writeRuleError(w, r, err)
			return
		}
		s.audited(r, "rule.created", rule.ID, rule.Name)
		w.Header().Set("Location", "/api/v1/rules/"+rule.ID)
		writeJSON(w, http.StatusCreated, rule)
	})
	m.Func("GET", "/api/v1/rules/{id}", route.Need(model.PermManage), "one automation rule", func(w http.ResponseWriter, r *http.Request) {
		rule, err := e.Rule(r.PathValue("id"))
		if err != nil {
			writeRuleError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rule)
	})
	m.Func("PUT", "/api/v1/rules/{id}", route.Need(model.PermManage), "replace an automation rule", func(w http.ResponseWriter, r *http.Request) {
		rule, err := decodeRule(w, r)
		if err == nil {
			rule, err = e.UpdateRule(r.Context(), r.PathValue("id"), rule)
		}
		if err != nil {
			writeRuleError(w, r, err)
			return
		}
		s.audited(r, "rule.updated", rule.ID, rule.Name)
		writeJSON(w, http.StatusOK, rule)
	})
	m.Func("DELETE", "/api/v1/rules/{id}", route.Need(model.PermManage), "delete an automation rule", func(w http.ResponseWriter, r *http.Request) {
		if err := e.DeleteRule(r.Context(), r.PathValue("id")); err != nil {
			writeRuleError(w, r, err)
			return
		}
		s.audited(r, "rule.deleted", r.PathValue("id"), "")
		w.WriteHeader(http.StatusNoContent)
	})
	m.Func("GET", "/api/v1/rules/{id}/dry-run", route.Need(model.PermManage), "what a rule would have done over past events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		now := time.Now().UTC()
		from, to := now.AddDate(0, 0, -30), now
		var err error
		if v := q.Get("from"); v != "" {
			if from, err = parseTime(v); err != nil {
				writeError(w, r, badRequest("from", "must be a date (2026-01-31) or an RFC 3339 time"))
				return
			}
		}
		if v := q.Get("to"); v != "" {
			if to, err = parseTime(v); err != nil {
				writeError(w, r, badRequest("to", "must be a date (2026-01-31) or an RFC 3339 time"))
				return
			}
		}
		limit := 100
		if v := q.Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
				writeError(w, r, badRequest("limit", "must be a whole number from 1 to 10000"))
				return
			}
		}
		res, err := e.DryRun(r.Context(), r.PathValue("id"), from, to, limit)
		if err != nil {
			writeRuleError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// decodeRule reads a rule body strictly (unknown fields are errors).
func decodeRule(w http.ResponseWriter, r *http.Request) (*automation.Rule, error) {
	if media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (media != "application/json" && !strings.HasSuffix(media, "+json")) {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
			Message: "send the body as JSON with Content-Type: application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, httpjson.MaxBody))
	if err != nil {
		return nil, httpjson.DecodeError(err)
	}
	return automation.DecodeRule(body)
}

func writeRuleError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, model.ErrNotFound):
		err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such rule"}
	case errors.Is(err, automation.ErrNameTaken):
		err = &Error{Status: http.StatusConflict, Code: "exists", Field: "name", Message: err.Error()}
	}
	writeError(w, r, err)
}
