package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// selfServiceFixture writes reader events as the portal records them into
// a real store: the range of the tests is [2026-03-01, 2026-03-08) UTC.
func selfServiceFixture(t *testing.T) *Engine {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "kb.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range [][2]string{{"a1", "Reset your password"}, {"a2", "Connect to the VPN"}} { // a3 was deleted
		_, err := st.DB.Exec(`INSERT INTO kb_articles (id, slug, title, body, tags, status, created_at, updated_at)
			VALUES (?, ?, ?, '', []::VARCHAR[], 'published', now(), now())`, a[0], a[0], a[1])
		if err != nil {
			t.Fatal(err)
		}
	}
	yes, no := true, false
	ev := func(at, article, kind string, helpful *bool, query, session string) {
		t.Helper()
		_, err := st.DB.Exec(`INSERT INTO kb_events (article_id, kind, helpful, query, session, occurred_at) VALUES (?, ?, ?, ?, ?, ?)`,
			article, kind, helpful, query, session, ts(at))
		if err != nil {
			t.Fatal(err)
		}
	}
	// Before the range: not counted, nor is session s0 (first suggestion before).
	ev("2026-02-28T10:00:00Z", "a1", "view", nil, "", "")
	ev("2026-02-28T10:01:00Z", "a1", "vote", &yes, "", "")
	ev("2026-02-28T11:00:00Z", "a1", "suggested", nil, "password", "s0")
	ev("2026-03-01T09:00:00Z", "", "left", nil, "", "s0")

	// s1: two suggestions, reads a1 from them, leaves: abandoned, deflected.
	ev("2026-03-01T10:00:00Z", "a1", "suggested", nil, "password", "s1")
	ev("2026-03-01T10:00:00Z", "a2", "suggested", nil, "password", "s1")
	ev("2026-03-01T10:05:00Z", "a1", "view", nil, "suggest:password", "s1")
	ev("2026-03-01T10:06:00Z", "", "left", nil, "", "s1")
	// s2: suggestion, then posted.
	ev("2026-03-02T08:00:00Z", "a2", "suggested", nil, "vpn", "s2")
	ev("2026-03-02T08:03:00Z", "", "submitted", nil, "17", "s2")
	// s3: suggestion, left without reading: abandoned, not deflected.
	ev("2026-03-03T08:00:00Z", "a1", "suggested", nil, "login", "s3")
	ev("2026-03-03T08:02:00Z", "", "left", nil, "", "s3")
	// s4: reads the suggestion but posts the form after the range: submitted.
	ev("2026-03-04T08:00:00Z", "a2", "suggested", nil, "vpn slow", "s4")
	ev("2026-03-04T08:01:00Z", "a2", "view", nil, "suggest:vpn slow", "s4")
	ev("2026-03-09T08:00:00Z", "", "submitted", nil, "18", "s4")
	// s5: a suggestion and nothing else yet (still typing, or no JavaScript):
	// no sign that it was left.
	ev("2026-03-05T08:00:00Z", "a1", "suggested", nil, "pass", "s5")
	// s6: suggested in the range, article read after it: abandoned, deflected
	// (the view itself is not a view of the range).
	ev("2026-03-07T23:00:00Z", "a2", "suggested", nil, "vpn", "s6")
	ev("2026-03-08T01:00:00Z", "a2", "view", nil, "suggest:vpn", "s6")
	// s7: after the range.
	ev("2026-03-08T02:00:00Z", "a1", "suggested", nil, "x", "s7")

	// Searches: "reset password" twice with one click; "wifi guest" twice
	// without results; "vpn" once with two clicks (answered); "printer ink"
	// once without results.
	ev("2026-03-02T09:00:00Z", "", "search", nil, "reset password", "")
	ev("2026-03-02T09:10:00Z", "", "search", nil, "Reset Password", "")
	ev("2026-03-02T09:11:00Z", "a1", "view", nil, "search:Reset password ", "")
	ev("2026-03-03T09:00:00Z", "", "no_results", nil, "Wifi Guest", "")
	ev("2026-03-04T09:00:00Z", "", "no_results", nil, "wifi guest", "")
	ev("2026-03-05T09:00:00Z", "", "search", nil, "vpn", "")
	ev("2026-03-05T09:01:00Z", "a2", "view", nil, "search:vpn", "")
	ev("2026-03-05T09:02:00Z", "a2", "view", nil, "search:vpn", "")
	ev("2026-03-06T09:00:00Z", "", "no_results", nil, "printer ink", "")
	ev("2026-03-06T10:00:00Z", "a3", "view", nil, "", "")

	// Votes: a1 2 yes 1 no, a2 1 yes 2 no.
	ev("2026-03-02T10:00:00Z", "a1", "vote", &yes, "", "")
	ev("2026-03-03T10:00:00Z", "a1", "vote", &yes, "", "")
	ev("2026-03-03T11:00:00Z", "a1", "vote", &no, "", "")
	ev("2026-03-04T10:00:00Z", "a2", "vote", &yes, "", "")
	ev("2026-03-04T11:00:00Z", "a2", "vote", &no, "", "")
	ev("2026-03-05T11:00:00Z", "a2", "vote", &no, "", "")

	e, err := New(st, Config{Now: func() time.Time { return ts("2026-03-20T12:00:00Z") }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func ptrf(v float64) *float64 { return &v }

func dump(v any) string { b, _ := json.MarshalIndent(v, "", " "); return string(b) }

func TestSelfService(t *testing.T) {
	e := selfServiceFixture(t)
	ctx := context.Background()
	q := Query{From: ts("2026-03-01T00:00:00Z"), To: ts("2026-03-08T00:00:00Z")}
	got, err := e.SelfService(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := &SelfService{
		Range:        Range{From: q.From, To: q.To, TZ: "UTC", AsOf: ts("2026-03-20T12:00:00Z")},
		ArticleViews: 6, // s1, s4, one from "reset password", two from "vpn", a3
		HelpfulVotes: 3, NotHelpfulVotes: 3, HelpfulPct: ptrf(50),
		Searches: 6, SearchesNoResults: 3, NoResultsPct: ptrf(50),
		SuggestionsShown:  7, // s1 x2, s2..s6 one each
		FormSessions:      6, // s1..s6
		Submitted:         2, // s2, s4
		Abandoned:         3, // s1, s3, s6
		Deflected:         2, // s1, s6
		DeflectionRatePct: ptrf(33.33),
		TopArticles: []ArticleUse{
			{ID: "a1", Title: "Reset your password", Views: 2, ViewsFromForm: 1, Suggested: 3, Helpful: 2, NotHelpful: 1, HelpfulPct: ptrf(66.67)},
			{ID: "a2", Title: "Connect to the VPN", Views: 3, ViewsFromForm: 1, Suggested: 4, Helpful: 1, NotHelpful: 2, HelpfulPct: ptrf(33.33)},
			{ID: "a3", Title: "", Views: 1},
		},
		MissingQueries: []MissingQuery{
			{Query: "wifi guest", Searches: 2, NoResults: 2, Unanswered: 2},
			{Query: "reset password", Searches: 2, Clicks: 1, Unanswered: 1},
			{Query: "printer ink", Searches: 1, NoResults: 1, Unanswered: 1},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("self-service\n got %s\nwant %s", dump(got), dump(want))
	}

	// As of the morning after the range, s6's read and s4's post are not
	// known yet: s4 (read, not posted) counts as deflected, s6 as neither.
	q.AsOf = ts("2026-03-08T00:30:00Z")
	got, err = e.SelfService(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if got.FormSessions != 6 || got.Submitted != 1 || got.Abandoned != 3 || got.Deflected != 2 || *got.DeflectionRatePct != 33.33 {
		t.Fatalf("as of: %+v", got)
	}

	// An empty range: zeros, null percentages, empty lists.
	got, err = e.SelfService(ctx, Query{From: ts("2025-01-01T00:00:00Z"), To: ts("2025-02-01T00:00:00Z")})
	if err != nil || got.FormSessions != 0 || got.HelpfulPct != nil || got.DeflectionRatePct != nil || len(got.TopArticles) != 0 || got.MissingQueries == nil {
		t.Fatalf("empty range: %+v %v", got, err)
	}

	// Ticket filters do not apply.
	_, err = e.SelfService(ctx, Query{From: q.From, To: q.To, Team: []string{"IT"}})
	var ve *model.ValidationError
	if !errors.As(err, &ve) || ve.Field != "team" {
		t.Fatalf("team filter: %v", err)
	}
}
