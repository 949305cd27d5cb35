package portal

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Article states.
const (
	Draft     = "draft"
	Published = "published"
)

// Article is a knowledge-base article; Body is Markdown (see Markdown).
type Article struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	Category  string    `json:"category"`
	Tags      []string  `json:"tags"`
	Status    string    `json:"status"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// KB keeps the knowledge base in the store (tables kb_articles and
// kb_events).
type KB struct {
	st  *store.Store
	Now func() time.Time
}

// NewKB returns the knowledge base of a store.
func NewKB(st *store.Store) *KB { return &KB{st: st, Now: time.Now} }

// Validate checks and normalises an article.
func (a *Article) Validate() error {
	a.Title, a.Category = strings.TrimSpace(a.Title), strings.TrimSpace(a.Category)
	switch {
	case a.Title == "":
		return model.Invalid("title", "is required")
	case utf8.RuneCountInString(a.Title) > 200:
		return model.Invalid("title", "is longer than 200 characters")
	case len(a.Body) > 200_000:
		return model.Invalid("body", "is longer than 200,000 bytes")
	}
	if a.Status == "" {
		a.Status = Draft
	}
	if a.Status != Draft && a.Status != Published {
		return model.Invalid("status", "must be draft or published")
	}
	tags, err := model.NormalizeTags(a.Tags)
	if err != nil {
		return err
	}
	a.Tags = tags
	if a.Tags == nil {
		a.Tags = []string{}
	}
	return nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slugify(title string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(s) > 60 {
		s = strings.Trim(s[:60], "-")
	}
	if s == "" || s == "suggest" {
		s = "article"
	}
	return s
}

const articleColumns = `id, slug, title, body, category, tags, status, author, created_at, updated_at`

func scanArticle(row interface{ Scan(...any) error }) (*Article, error) {
	a := &Article{}
	var tags any
	err := row.Scan(&a.ID, &a.Slug, &a.Title, &a.Body, &a.Category, &tags, &a.Status, &a.Author, &a.CreatedAt, &a.UpdatedAt)
	if list, ok := tags.([]any); ok {
		for _, t := range list {
			if s, ok := t.(string); ok {
				a.Tags = append(a.Tags, s)
			}
		}
	}
	if a.Tags == nil {
		a.Tags = []string{}
	}
	return a, err
}

// Create stores a new article with a unique slug from its title.
func (k *KB) Create(ctx context.Context, a *Article) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.ID = model.NewID()
	a.CreatedAt = k.Now().UTC()
	a.UpdatedAt = a.CreatedAt
	base := slugify(a.Title)
	for i := 1; ; i++ {
		a.Slug = base
		if i > 1 {
			a.Slug = base + "-" + strconv.Itoa(i)
		}
		_, err := k.st.DB.ExecContext(ctx, `INSERT INTO kb_articles (`+articleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Slug, a.Title, a.Body, a.Category, a.Tags, a.Status, a.Author, a.CreatedAt, a.UpdatedAt)
		if err == nil || i > 50 || !strings.Contains(strings.ToLower(err.Error()), "constraint") {
			return err
		}
	}
}

// Update replaces an article's content (the slug stays, so links hold).
func (k *KB) Update(ctx context.Context, a *Article) error {
	if err := a.Validate(); err != nil {
		return err
	}
	a.UpdatedAt = k.Now().UTC()
	res, err := k.st.DB.ExecContext(ctx, `UPDATE kb_articles SET title = ?, body = ?, category = ?, tags = ?, status = ?, updated_at = ? WHERE id = ?`,
		a.Title, a.Body, a.Category, a.Tags, a.Status, a.UpdatedAt, a.ID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrNotFound
	}
	return nil
}

// Delete removes an article (its recorded views and votes stay).
func (k *KB) Delete(ctx context.Context, id string) error {
	res, err := k.st.DB.ExecContext(ctx, `DELETE FROM kb_articles WHERE id = ? OR slug = ?`, id, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrNotFound
	}
	return nil
}

// Get returns an article by id or slug.
func (k *KB) Get(ctx context.Context, ref string) (*Article, error) {
	a, err := scanArticle(k.st.DB.QueryRowContext(ctx, `SELECT `+articleColumns+` FROM kb_articles WHERE id = ? OR slug = ?`, ref, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.ErrNotFound
	}
	return a, err
}

// List returns articles by category and title; drafts only when asked.
func (k *KB) List(ctx context.Context, drafts bool) ([]*Article, error) {
	rows, err := k.st.DB.QueryContext(ctx, `SELECT `+articleColumns+` FROM kb_articles WHERE ? OR status = 'published' ORDER BY category, title`, drafts)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Hit is a search result.
type Hit struct {
	*Article
	Score float64 `json:"score"`
}

// Search ranks the published articles for a query: a word in the title
// counts most, then in the tags or category, then in the body; a word
// matches exactly, as a prefix (3+ letters), or with a typo (one edit for
// words of 4-7 letters, two from 8). Articles matching more of the
// query's words come first.
func (k *KB) Search(ctx context.Context, query string, limit int) ([]Hit, error) {
	terms := words(query)
	if len(terms) == 0 {
		return nil, nil
	}
	all, err := k.List(ctx, false)
	if err != nil {
		return nil, err
	}
	var hits []Hit
	for _, a := range all {
		if s := score(terms, a); s > 0 {
			hits = append(hits, Hit{Article: a, Score: s})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// stopwords are too common to mean anything in a support question.
var stopwords = map[string]bool{"the": true, "and": true, "for": true, "with": true, "not": true, "does": true,
	"how": true, "can": true, "what": true, "why": true, "when": true, "are": true, "you": true, "my": true, "is": true,
	"it": true, "to": true, "of": true, "in": true, "on": true, "an": true, "do": true, "i": true, "a": true, "me": true}

// words splits text into lower-case words without stop words.
func words(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) > 1 && !stopwords[w] && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// match says how well term matches any of the words: 1 exact, 0.7 a
// prefix, 0.5 a typo, 0 not at all.
func match(term string, ws []string) float64 {
	best := 0.0
	n := utf8.RuneCountInString(term)
	maxEdits := 0
	switch {
	case n >= 8:
		maxEdits = 2
	case n >= 4:
		maxEdits = 1
	}
	for _, w := range ws {
		switch {
		case w == term:
			return 1
		case n >= 3 && strings.HasPrefix(w, term):
			best = max(best, 0.7)
		case maxEdits > 0 && abs(utf8.RuneCountInString(w)-n) <= maxEdits && best < 0.5 && editDistance(term, w, maxEdits) <= maxEdits:
			best = 0.5
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Field weights: a title match outranks any body match.
const (
	titleWeight = 10.0
	tagWeight   = 5.0
	bodyWeight  = 2.0
)

func score(terms []string, a *Article) float64 {
	title := words(a.Title)
	tags := append(words(a.Category), words(strings.Join(a.Tags, " "))...)
	body := words(a.Body)
	total, matched := 0.0, 0
	for _, t := range terms {
		s := max(titleWeight*match(t, title), tagWeight*match(t, tags), bodyWeight*match(t, body))
		if s > 0 {
			matched++
		}
		total += s
	}
	if matched == 0 {
		return 0
	}
	// Coverage: all the words of the question beat some of them.
	return total * (0.5 + 0.5*float64(matched)/float64(len(terms)))
}

// editDistance is the optimal-string-alignment distance (a swap of two
// neighbouring letters is one typo), giving up past limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// Reader events recorded in kb_events; package metrics reads them (the
// self-service figures, docs/metrics.md).
const (
	EventView      = "view"       // an article was read (query: "suggest:<subject>" or "search:<query>" when opened from those)
	EventVote      = "vote"       // "did this help" (helpful)
	EventSuggested = "suggested"  // shown as a suggestion on the web form (query: the subject)
	EventSearch    = "search"     // a /kb search that found articles (article_id '')
	EventNoResults = "no_results" // a /kb search found nothing (article_id ''): a missing article
	EventLeft      = "left"       // the form was left after suggestions without being posted (the page's beacon)
	EventSubmitted = "submitted"  // the form of the session was posted and became a ticket (query: its number)
)

// ReaderEvent is one row of kb_events. Session is the web form visit it
// belongs to ("" outside the form).
type ReaderEvent struct {
	ArticleID, Kind, Query, Session string
	Helpful                         *bool
}

// Record notes a reader event.
func (k *KB) Record(ctx context.Context, e ReaderEvent) error {
	if r := []rune(e.Query); len(r) > 200 {
		e.Query = string(r[:200])
	}
	_, err := k.st.DB.ExecContext(ctx, `INSERT INTO kb_events (article_id, kind, helpful, query, session, occurred_at) VALUES (?, ?, ?, ?, ?, ?)`,
		e.ArticleID, e.Kind, e.Helpful, e.Query, e.Session, k.Now().UTC())
	return err
}

// RecordLeft notes that the requester left the form of a session after it
// showed suggestions: once per session, and only for a session that did
// show some (so that made-up ids record nothing).
func (k *KB) RecordLeft(ctx context.Context, session string) error {
	_, err := k.st.DB.ExecContext(ctx, `INSERT INTO kb_events (article_id, kind, query, session, occurred_at)
		SELECT '', ?, '', ?, ? WHERE EXISTS (SELECT 1 FROM kb_events WHERE session = ? AND kind = ?)
			AND NOT EXISTS (SELECT 1 FROM kb_events WHERE session = ? AND kind IN (?, ?))`,
		EventLeft, session, k.Now().UTC(), session, EventSuggested, session, EventLeft, EventSubmitted)
	return err
}
