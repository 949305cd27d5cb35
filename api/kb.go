package api

import (
	"net/http"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/portal"
	"github.com/deskpulse/deskpulse/route"
)

// KBRoutes adds the knowledge-base management API (agents and managers:
// the tickets permission, see auth.Policy); the public pages are the
// portal's, at /kb. What readers do with the articles is a metric:
// GET /api/v1/metrics/self-service.
//
//	GET    /api/v1/kb              all articles, drafts included
//	POST   /api/v1/kb              create {title, body, category, tags, status}
//	GET    /api/v1/kb/{ref}        one article by id or slug
//	PUT    /api/v1/kb/{ref}        replace title, body, category, tags, status
//	DELETE /api/v1/kb/{ref}
func (s *Server) KBRoutes(kb *portal.KB) {
	s.table.Func("GET", "/api/v1/kb", route.Need(model.PermTickets), "list knowledge-base articles, drafts included", func(w http.ResponseWriter, r *http.Request) {
		list, err := kb.List(r.Context(), true)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if list == nil {
			list = []*portal.Article{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"articles": list})
	})
	s.table.Func("POST", "/api/v1/kb", route.Need(model.PermTickets), "create a knowledge-base article", func(w http.ResponseWriter, r *http.Request) {
		var in kbInput
		if err := decode(w, r, &in, false); err != nil {
			writeError(w, r, err)
			return
		}
		a := in.article()
		a.Author = s.actor(r).Name
		if err := kb.Create(r.Context(), a); err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, a)
	})
	s.table.Func("GET", "/api/v1/kb/{ref}", route.Need(model.PermTickets), "one knowledge-base article by id or slug", func(w http.ResponseWriter, r *http.Request) {
		a, err := kb.Get(r.Context(), r.PathValue("ref"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	})
	s.table.Func("PUT", "/api/v1/kb/{ref}", route.Need(model.PermTickets), "replace a knowledge-base article", func(w http.ResponseWriter, r *http.Request) {
		cur, err := kb.Get(r.Context(), r.PathValue("ref"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in kbInput
		if err := decode(w, r, &in, false); err != nil {
			writeError(w, r, err)
			return
		}
		a := in.article()
		a.ID, a.Slug, a.Author, a.CreatedAt = cur.ID, cur.Slug, cur.Author, cur.CreatedAt
		if err := kb.Update(r.Context(), a); err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	})
	s.table.Func("DELETE", "/api/v1/kb/{ref}", route.Need(model.PermTickets), "delete a knowledge-base article", func(w http.ResponseWriter, r *http.Request) {
		if err := kb.Delete(r.Context(), r.PathValue("ref")); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

type kbInput struct {
	Title    string   `json:"title"`
	Body     string   `json:"body"`
	Category string   `json:"category"`
	Tags     []string `json:"tags"`
	Status   string   `json:"status"`
}

func (in *kbInput) article() *portal.Article {
	return &portal.Article{Title: in.Title, Body: in.Body, Category: in.Category, Tags: in.Tags, Status: in.Status}
}
