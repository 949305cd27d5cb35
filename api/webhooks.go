package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/deskpulse/deskpulse/automation"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

// WebhookRoutes adds the webhooks API (managers; see auth.Policy):
//
//	GET    /api/v1/webhooks                   the subscriptions (secrets are not shown)
//	POST   /api/v1/webhooks                   {url, events, secret?, description?}; the answer shows the secret once
//	GET    /api/v1/webhooks/{id}              one subscription
//	DELETE /api/v1/webhooks/{id}              remove it (queued deliveries are still sent)
//	GET    /api/v1/webhooks/{id}/deliveries   its delivery log, newest first (?limit=, default 100)
func (s *Server) WebhookRoutes(h *automation.Webhooks) {
	m := s.table
	m.Func("GET", "/api/v1/webhooks", route.Need(model.PermManage), "list webhook subscriptions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"webhooks": h.List()})
	})
	m.Func("POST", "/api/v1/webhooks", route.Need(model.PermManage), "subscribe a webhook", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			URL         string   `json:"url"`
			Events      []string `json:"events"`
			Secret      string   `json:"secret"`
			Description string   `json:"description"`
		}
		if err := decode(w, r, &in, false); err != nil {
			writeError(w, r, err)
			return
		}
		hook, err := h.Create(r.Context(), &automation.Webhook{URL: in.URL, Events: in.Events, Secret: in.Secret, Description: in.Description})
		if err != nil {
			writeError(w, r, err)
			return
		}
		s.audited(r, "webhook.created", hook.ID, hook.URL)
		w.Header().Set("Location", "/api/v1/webhooks/"+hook.ID)
		writeJSON(w, http.StatusCreated, hook)
	})
	m.Func("GET", "/api/v1/webhooks/{id}", route.Need(model.PermManage), "one webhook subscription", func(w http.ResponseWriter, r *http.Request) {
		hook, err := h.Get(r.PathValue("id"))
		if err != nil {
			writeWebhookError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, hook)
	})
	m.Func("DELETE", "/api/v1/webhooks/{id}", route.Need(model.PermManage), "delete a webhook subscription", func(w http.ResponseWriter, r *http.Request) {
		if err := h.Delete(r.Context(), r.PathValue("id")); err != nil {
			writeWebhookError(w, r, err)
			return
		}
		s.audited(r, "webhook.deleted", r.PathValue("id"), "")
		w.WriteHeader(http.StatusNoContent)
	})
	m.Func("GET", "/api/v1/webhooks/{id}/deliveries", route.Need(model.PermManage), "a webhook's deliveries", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if _, err := h.Get(id); err != nil {
			writeWebhookError(w, r, err)
			return
		}
		limit := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				writeError(w, r, badRequest("limit", "must be a whole number from 1 to 1000"))
				return
			}
			limit = n
		}
		list, err := h.Deliveries(r.Context(), id, limit)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": list})
	})
}

func writeWebhookError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, model.ErrNotFound) {
		err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such webhook"}
	}
	writeError(w, r, err)
}
