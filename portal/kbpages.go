package portal

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/deskpulse/deskpulse/model"
)

func (p *Portal) registerKB(mux *http.ServeMux) {
	mux.HandleFunc("GET /kb", p.kbIndex)
	mux.HandleFunc("GET /kb/suggest", p.kbSuggest)
	mux.HandleFunc("GET /kb/{slug}", p.kbArticle)
	mux.Handle("POST /kb/{slug}/vote", p.protect(p.kbVote))
}

type kbIndexPage struct {
	Query    string
	Hits     []Hit
	Articles []*Article
}

func (p *Portal) kbIndex(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page := kbIndexPage{Query: q}
	var err error
	if q != "" {
		page.Hits, err = p.KB.Search(r.Context(), q, 20)
		if err == nil && len(page.Hits) == 0 {
			err = p.KB.Record(r.Context(), "", EventNoResults, nil, q)
		}
	} else {
		page.Articles, err = p.KB.List(r.Context(), false)
	}
	if err != nil {
		slog.Error("portal: kb index", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	render(w, http.StatusOK, "kb.html", page)
}

type suggestion struct {
	Title string `json:"title"`
	URL   string `json:"url"`
}

// suggestFor finds up to 5 articles for a subject and records that they
// were suggested.
func (p *Portal) suggestFor(r *http.Request, subject string) []suggestion {
	if len(words(subject)) == 0 {
		return nil
	}
	hits, err := p.KB.Search(r.Context(), subject, 5)
	if err != nil {
		slog.Warn("portal: suggestions", "err", err)
		return nil
	}
	out := []suggestion{}
	for _, h := range hits {
		out = append(out, suggestion{Title: h.Title, URL: "/kb/" + h.Slug + "?from=suggest&q=" + url.QueryEscape(subject)})
		if err := p.KB.Record(r.Context(), h.ID, EventSuggested, nil, subject); err != nil {
			slog.Warn("portal: record suggestion", "err", err)
		}
	}
	return out
}

// kbSuggest is the JSON the form's script asks for as the requester types.
func (p *Portal) kbSuggest(w http.ResponseWriter, r *http.Request) {
	s := p.suggestFor(r, r.URL.Query().Get("q"))
	if s == nil {
		s = []suggestion{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(s)
}

type kbArticlePage struct {
	Article *Article
	HTML    any
	Voted   bool
	Query   string
}

func (p *Portal) kbArticle(w http.ResponseWriter, r *http.Request) {
	a, err := p.KB.Get(r.Context(), r.PathValue("slug"))
	if errors.Is(err, model.ErrNotFound) || (err == nil && a.Status != Published) {
		render(w, http.StatusNotFound, "kbmissing.html", nil)
		return
	}
	if err != nil {
		slog.Error("portal: kb article", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	source := ""
	if q.Get("from") == "suggest" {
		source = "suggest:" + q.Get("q")
	}
	if q.Get("voted") == "" {
		if err := p.KB.Record(r.Context(), a.ID, EventView, nil, source); err != nil {
			slog.Warn("portal: record view", "err", err)
		}
	}
	render(w, http.StatusOK, "article.html", kbArticlePage{Article: a, HTML: Markdown(a.Body), Voted: q.Get("voted") != "", Query: source})
}

func (p *Portal) kbVote(w http.ResponseWriter, r *http.Request) {
	if ok, _ := p.allow(r); !ok {
		http.Error(w, "too many requests", http.StatusTooManyRequests)
		return
	}
	a, err := p.KB.Get(r.Context(), r.PathValue("slug"))
	if err != nil || a.Status != Published {
		render(w, http.StatusNotFound, "kbmissing.html", nil)
		return
	}
	helpful := r.PostFormValue("helpful") == "yes"
	if err := p.KB.Record(r.Context(), a.ID, EventVote, &helpful, r.PostFormValue("q")); err != nil {
		slog.Error("portal: vote", "err", err)
	}
	http.Redirect(w, r, "/kb/"+a.Slug+"?voted=1", http.StatusSeeOther)
}
