package portal

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/internal/testtools"
	"github.com/deskpulse/deskpulse/metrics"
)

// TestSeedDemo: the demo knowledge base is published, its reader events
// add up in the self-service figures (every form visit ends one way), a
// second seed adds nothing, and the same seed gives the same history.
func TestSeedDemo(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	figures := func(name string) *metrics.SelfService {
		st, _ := testtools.Store(t, filepath.Join(t.TempDir(), name))
		kb := NewKB(st)
		for range 2 {
			if err := SeedDemo(ctx, kb, end, 60, 1); err != nil {
				t.Fatal(err)
			}
		}
		list, err := kb.List(ctx, false)
		if err != nil || len(list) != len(demoArticles) {
			t.Fatalf("%d published articles (%v), want %d", len(list), err, len(demoArticles))
		}
		eng, err := metrics.New(st, metrics.Config{})
		if err != nil {
			t.Fatal(err)
		}
		ss, err := eng.SelfService(ctx, metrics.Query{From: end.AddDate(0, 0, -61), To: end, TZ: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	ss := figures("a.duckdb")
	if ss.FormSessions < 100 || ss.Submitted+ss.Abandoned != ss.FormSessions || ss.Deflected == 0 || ss.Deflected >= ss.Abandoned {
		t.Fatalf("form sessions %d = submitted %d + abandoned %d (deflected %d)?", ss.FormSessions, ss.Submitted, ss.Abandoned, ss.Deflected)
	}
	if ss.Searches == 0 || ss.SearchesNoResults == 0 || ss.ArticleViews == 0 || ss.HelpfulVotes == 0 ||
		len(ss.TopArticles) == 0 || len(ss.MissingQueries) == 0 {
		t.Fatalf("figures %+v", ss)
	}
	if again := figures("b.duckdb"); again.FormSessions != ss.FormSessions || again.ArticleViews != ss.ArticleViews || again.Deflected != ss.Deflected {
		t.Fatalf("the same seed gave another history: %+v vs %+v", again, ss)
	}
}
