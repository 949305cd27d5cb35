package testtools

import (
	"context"
	"testing"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/store"
)

// Store opens a real store in the DuckDB file path (its folder created)
// with its single writer; both close when the test ends, after whatever
// the test registers later (servers using them).
func Store(t testing.TB, path string) (*store.Store, *ingest.Writer) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		st.Close()
	})
	return st, w
}
