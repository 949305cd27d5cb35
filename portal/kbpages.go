package portal

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

func (p *Portal) registerKB(routes *route.Table) {
	routes.Func("GET", "/kb", route.Anyone, "the public knowledge base and its search", p.kbIndex)
	routes.Func("GET", "/kb/suggest", route.Anyone, "article suggestions for the web form", p.kbSuggest)
	routes.Func("GET", "/kb/{slug}", route.Anyone, "a public knowledge-base article", p.kbArticle)
	routes.Handle("POST", "/kb/{slug}/vote", route.Anyone, "\"did this help?\" vote", p.protect(p.kbVote))
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
		if err == nil {
			kind := EventSearch
			if len(page.Hits) == 0 {
				kind = EventNoResults
			}
			err = p.KB.Record(r.Context(), ReaderEvent{Kind: kind, Query: q})
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
// were suggested in the form session.
func (p *Portal) suggestFor(r *http.Request, subject, session string) []suggestion {
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
		link := url.Values{"from": {"suggest"}, "q": {subject}}
		if session != "" {
			link.Set("fs", session)
		}
		out = append(out, suggestion{Title: h.Title, URL: "/kb/" + h.Slug + "?" + link.Encode()})
		if err := p.KB.Record(r.Context(), ReaderEvent{ArticleID: h.ID, Kind: EventSuggested, Query: subject, Session: session}); err != nil {
			slog.Warn("portal: record suggestion", "err", err)
		}
	}
	return out
}

// kbSuggest is the JSON the form's script asks for as the requester types.
func (p *Portal) kbSuggest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s := p.suggestFor(r, q.Get("q"), formSession(q.Get("fs")))
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
	Session string
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
	// Where the reader came from: a form suggestion (in which form
	// session) or a search, so metrics can count deflection and searches
	// that led nowhere.
	source, session := "", ""
	switch q.Get("from") {
	case "suggest":
		source, session = "suggest:"+q.Get("q"), formSession(q.Get("fs"))
	case "search":
		source = "search:" + q.Get("q")
	}
	if q.Get("voted") == "" {
		if err := p.KB.Record(r.Context(), ReaderEvent{ArticleID: a.ID, Kind: EventView, Query: source, Session: session}); err != nil {
			slog.Warn("portal: record view", "err", err)
		}
	}
	render(w, http.StatusOK, "article.html", kbArticlePage{Article: a, HTML: Markdown(a.Body), Voted: q.Get("voted") != "", Query: source, Session: session})
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
	vote := ReaderEvent{ArticleID: a.ID, Kind: EventVote, Helpful: &helpful, Query: r.PostFormValue("q"), Session: formSession(r.PostFormValue("fs"))}
	if err := p.KB.Record(r.Context(), vote); err != nil {
		slog.Error("portal: vote", "err", err)
	}
	http.Redirect(w, r, "/kb/"+a.Slug+"?voted=1", http.StatusSeeOther)
}
