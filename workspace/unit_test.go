package workspace

import (
	"testing"
	"time"
)

func TestUntilAndAgo(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	l := layout{now: now, loc: time.UTC}
	for d, want := range map[time.Duration]string{
		-time.Minute: "overdue", 25 * time.Minute: "in 25 min", 3*time.Hour + 10*time.Minute: "in 3 h 10 min",
		7 * time.Hour: "in 7 h", 39*time.Hour + 5*time.Minute: "in 39 h", 100 * time.Hour: "in 4 d",
	} {
		if got := l.Until(now.Add(d)); got != want {
			t.Errorf("Until(+%s) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 5 * time.Minute: "5 min ago", 3 * time.Hour: "3 h ago", 50 * time.Hour: "2 d ago",
		40 * 24 * time.Hour: "23 Oct 2026",
	} {
		if got := l.Ago(now.Add(-d)); got != want {
			t.Errorf("Ago(-%s) = %q, want %q", d, got, want)
		}
	}
}
