package metrics

import (
	"context"
	"strconv"

	"github.com/deskpulse/deskpulse/model"
)

// Self-service figures: what requesters did with the knowledge base, from
// the reader events the portal records in kb_events (package portal):
//
//	view        an article was read; query "suggest:<subject>" when opened
//	            from a form suggestion (session: the form's), "search:<q>"
//	            from a /kb search result
//	vote        "did this help?", helpful true or false
//	search      a /kb search that found articles
//	no_results  a /kb search that found nothing
//	suggested   an article shown as a suggestion on /support/new
//	left        the form page was left after suggestions, without posting
//	submitted   the form was posted and became a ticket
//
// A form session is one visit to /support/new (kb_events.session).

// SelfService is GET /api/v1/metrics/self-service. Counts are of events in
// [from, to); form sessions count in the range of their first suggestion,
// with what became of them known as of the query's knowledge instant.
type SelfService struct {
	Range Range `json:"range"`

	ArticleViews    int64    `json:"article_views"`
	HelpfulVotes    int64    `json:"helpful_votes"`
	NotHelpfulVotes int64    `json:"not_helpful_votes"`
	HelpfulPct      *float64 `json:"helpful_pct"` // helpful / all votes x 100

	Searches          int64    `json:"searches"`            // /kb searches, with or without results
	SearchesNoResults int64    `json:"searches_no_results"` // of which found nothing
	NoResultsPct      *float64 `json:"no_results_pct"`      // searches_no_results / searches x 100

	SuggestionsShown int64 `json:"suggestions_shown"` // articles shown as suggestions (one per article per lookup)
	// FormSessions are the form visits that showed at least one
	// suggestion; Submitted of them were posted (tickets), Abandoned were
	// left without posting (the leave beacon, or an article opened from a
	// suggestion), and Deflected are the abandoned ones in which the
	// requester read a suggested article: tickets avoided.
	FormSessions      int64    `json:"form_sessions"`
	Submitted         int64    `json:"submitted"`
	Abandoned         int64    `json:"abandoned"`
	Deflected         int64    `json:"deflected"`
	DeflectionRatePct *float64 `json:"deflection_rate_pct"` // deflected / form_sessions x 100

	TopArticles    []ArticleUse   `json:"top_articles"`    // most useful first
	MissingQueries []MissingQuery `json:"missing_queries"` // most missing first
}

// ArticleUse is one article's reader figures in the range.
type ArticleUse struct {
	ID            string   `json:"id"`
	Title         string   `json:"title"` // "" when the article was deleted since
	Views         int64    `json:"views"`
	ViewsFromForm int64    `json:"views_from_form"` // opened from a form suggestion
	Suggested     int64    `json:"suggested"`
	Helpful       int64    `json:"helpful"`
	NotHelpful    int64    `json:"not_helpful"`
	HelpfulPct    *float64 `json:"helpful_pct"`
}

// MissingQuery is a search, lower-cased and trimmed, that did not find an
// answer: Unanswered = searches without results + searches with results
// that led to no article view (searches with results - clicks, at least 0).
type MissingQuery struct {
	Query      string `json:"query"`
	Searches   int64  `json:"searches"`
	NoResults  int64  `json:"no_results"`
	Clicks     int64  `json:"clicks"`
	Unanswered int64  `json:"unanswered"`
}

// topN bounds the article and query lists.
const topN = 10

// SelfService computes the self-service figures over q's range. The
// ticket filters do not apply to knowledge-base events and are refused.
func (e *Engine) SelfService(ctx context.Context, q Query) (*SelfService, error) {
	if err := q.validate(); err != nil {
		return nil, err
	}
	for name, f := range map[string][]string{"team": q.Team, "agent": q.Agent, "priority": q.Priority,
		"category": q.Category, "channel": q.Channel, "type": q.Type} {
		if len(f) > 0 {
			return nil, model.Invalid(name, "does not apply to self-service metrics (knowledge-base events have no ticket)")
		}
	}
	k := q.AsOf
	if k.IsZero() {
		k = e.now()
	}
	res := &SelfService{Range: Range{From: q.From, To: q.To, TZ: q.TZ.String(), AsOf: k},
		TopArticles: []ArticleUse{}, MissingQueries: []MissingQuery{}}
	db := e.st.DB
	// known: the events as of k; inRange: those of [from, to).
	const known = `kb_events WHERE occurred_at <= $3`
	const inRange = `(SELECT * FROM kb_events WHERE occurred_at <= $3 AND occurred_at >= $1 AND occurred_at < $2)`
	args := []any{q.From, q.To, k}

	err := db.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE kind = 'view'),
			count(*) FILTER (WHERE kind = 'vote' AND helpful),
			count(*) FILTER (WHERE kind = 'vote' AND NOT helpful),
			count(*) FILTER (WHERE kind IN ('search', 'no_results')),
			count(*) FILTER (WHERE kind = 'no_results'),
			count(*) FILTER (WHERE kind = 'suggested')
		FROM `+inRange, args...).Scan(&res.ArticleViews, &res.HelpfulVotes, &res.NotHelpfulVotes,
		&res.Searches, &res.SearchesNoResults, &res.SuggestionsShown)
	if err != nil {
		return nil, err
	}
	res.HelpfulPct = pct(res.HelpfulVotes, res.HelpfulVotes+res.NotHelpfulVotes)
	res.NoResultsPct = pct(res.SearchesNoResults, res.Searches)

	// A session's fate is known from all its events up to k, also those
	// after the range (a form left today and posted tomorrow was posted).
	err = db.QueryRowContext(ctx, `WITH s AS (
			SELECT session,
				min(occurred_at) FILTER (WHERE kind = 'suggested') AS first_suggested,
				bool_or(kind = 'submitted') AS submitted,
				bool_or(kind = 'left') AS left_page,
				bool_or(kind = 'view') AS viewed
			FROM `+known+` AND session <> '' GROUP BY session)
		SELECT count(*),
			count(*) FILTER (WHERE submitted),
			count(*) FILTER (WHERE NOT submitted AND (left_page OR viewed)),
			count(*) FILTER (WHERE NOT submitted AND viewed)
		FROM s WHERE first_suggested >= $1 AND first_suggested < $2`, args...).Scan(
		&res.FormSessions, &res.Submitted, &res.Abandoned, &res.Deflected)
	if err != nil {
		return nil, err
	}
	res.DeflectionRatePct = pct(res.Deflected, res.FormSessions)

	rows, err := db.QueryContext(ctx, `SELECT e.article_id, coalesce(any_value(a.title), ''),
			count(*) FILTER (WHERE kind = 'view') AS views,
			count(*) FILTER (WHERE kind = 'view' AND query LIKE 'suggest:%'),
			count(*) FILTER (WHERE kind = 'suggested'),
			count(*) FILTER (WHERE kind = 'vote' AND helpful) AS helpful,
			count(*) FILTER (WHERE kind = 'vote' AND NOT helpful) AS not_helpful
		FROM `+inRange+` e LEFT JOIN kb_articles a ON a.id = e.article_id
		WHERE e.article_id <> ''
		GROUP BY e.article_id
		HAVING views + helpful + not_helpful > 0
		ORDER BY helpful DESC, views DESC, not_helpful, 2, 1
		LIMIT `+strconv.Itoa(topN), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a ArticleUse
		if err := rows.Scan(&a.ID, &a.Title, &a.Views, &a.ViewsFromForm, &a.Suggested, &a.Helpful, &a.NotHelpful); err != nil {
			return nil, err
		}
		a.HelpfulPct = pct(a.Helpful, a.Helpful+a.NotHelpful)
		res.TopArticles = append(res.TopArticles, a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows2, err := db.QueryContext(ctx, `WITH q AS (
			SELECT lower(trim(query)) AS query, count(*) AS searches, count(*) FILTER (WHERE kind = 'no_results') AS no_results
			FROM `+inRange+` WHERE kind IN ('search', 'no_results') GROUP BY 1),
		c AS (
			SELECT lower(trim(substr(query, 8))) AS query, count(*) AS clicks
			FROM `+inRange+` WHERE kind = 'view' AND query LIKE 'search:%' GROUP BY 1),
		m AS (
			SELECT q.query, searches, no_results, coalesce(clicks, 0) AS clicks,
				no_results + greatest(searches - no_results - coalesce(clicks, 0), 0) AS unanswered
			FROM q LEFT JOIN c USING (query))
		SELECT * FROM m WHERE unanswered > 0 ORDER BY unanswered DESC, searches DESC, query
		LIMIT `+strconv.Itoa(topN), args...)
	if err != nil {
		return nil, err
	}
	defer rows2.Close()
	for rows2.Next() {
		var m MissingQuery
		if err := rows2.Scan(&m.Query, &m.Searches, &m.NoResults, &m.Clicks, &m.Unanswered); err != nil {
			return nil, err
		}
		res.MissingQueries = append(res.MissingQueries, m)
	}
	return res, rows2.Err()
}
