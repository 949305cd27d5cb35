package portal

import (
	"net/http"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/internal/httpjson"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

// APIRoutes adds the knowledge-base management API (agents and managers:
// the tickets permission); the public pages are at /kb (kbpages.go). What readers do with the articles is a metric:
// GET /api/v1/metrics/self-service.
//
//	GET    /api/v1/kb              all articles, drafts included
//	POST   /api/v1/kb              create {title, body, category, tags, status}
//	GET    /api/v1/kb/{ref}        one article by id or slug
//	PUT    /api/v1/kb/{ref}        replace title, body, category, tags, status
//	DELETE /api/v1/kb/{ref}
func (kb *KB) APIRoutes(t *route.Table) {
	t.Func("GET", "/api/v1/kb", route.Need(model.PermTickets), "list knowledge-base articles, drafts included", func(w http.ResponseWriter, r *http.Request) {
		list, err := kb.List(r.Context(), true)
		if err != nil {
			httpjson.WriteError(w, r, err, kbResource)
			return
		}
		if list == nil {
			list = []*Article{}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"articles": list})
	})
	t.Func("POST", "/api/v1/kb", route.Need(model.PermTickets), "create a knowledge-base article", func(w http.ResponseWriter, r *http.Request) {
		var in kbInput
		if err := httpjson.Decode(w, r, &in, false); err != nil {
			httpjson.WriteError(w, r, err, kbResource)
			return
		}
		a := in.article()
		a.Author = author(r)
		if err := kb.Create(r.Context(), a); err != nil {
			httpjson.WriteError(w, r, err, kbResource)
			return
		}
		httpjson.Write(w, http.StatusCreated, a)
	})
	t.Func("GET", "/api/v1/kb/{ref}", route.Need(model.PermTickets), "one knowledge-base article by id or slug", func(w http.ResponseWriter, r *http.Request) {
		a, err := kb.Get(r.Context(), r.PathValue("ref"))
		if err != nil {
			httpjson.WriteError(w, r, err, kbResource)
			return
		}
		httpjson.Write(w, http.StatusOK, a)
	})
	t.Func("PUT", "/api/v1/kb/{ref}", route.Need(model.PermTickets), "replace a knowledge-base article", func(w http.ResponseWriter, r *http.Request) {
		cur, err := kb.Get(r.Context(), r.PathValue("ref"))
		if err != nil {
			httpjson.WriteError(w, r, err, kbResource)
			return
		}
		var in kbInput
		if err := httpjson.Decode(w, r, &in, false); err != nil {
			httpjson.WriteError(w, r, err, kbResource)
			return
		}
		a := in.article()
		a.ID, a.Slug, a.Author, a.CreatedAt = cur.ID, cur.Slug, cur.Author, cur.CreatedAt
		if err := kb.Update(r.Context(), a); err != nil {
			httpjson.WriteError(w, r, err, kbResource)
			return
		}
		httpjson.Write(w, http.StatusOK, a)
	})
	t.Func("DELETE", "/api/v1/kb/{ref}", route.Need(model.PermTickets), "delete a knowledge-base article", func(w http.ResponseWriter, r *http.Request) {
		if err := kb.Delete(r.Context(), r.PathValue("ref")); err != nil {
			httpjson.WriteError(w, r, err, kbResource)
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

func (in *kbInput) article() *Article {
	return &Article{Title: in.Title, Body: in.Body, Category: in.Category, Tags: in.Tags, Status: in.Status}
}

// author is who writes an article: the signed-in user, or "api".
func author(r *http.Request) string {
	if u := auth.UserFrom(r.Context()); u != nil {
		return u.Email
	}
	return "api"
}

func kbResource(*http.Request) string { return "article" }
