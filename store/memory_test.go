package store_test

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/deskpulse/deskpulse/store"
)

// TestLeanMemory: while an export holds LeanMemory, DuckDB's allocator
// keeps no freed pages; when the last holder lets go, its default (DuckDB
// sets one second) is back.
func TestLeanMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("DuckDB bundles jemalloc on Linux only")
	}
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "lean.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := store.AllocatorDecay(); got != 1000 {
		t.Fatalf("default decay %d ms, want DuckDB's 1000", got)
	}
	restoreA := store.LeanMemory()
	restoreB := store.LeanMemory()
	if got := store.AllocatorDecay(); got != 0 {
		t.Fatalf("decay while lean %d ms, want 0", got)
	}
	if _, err := st.DB.Exec(`CREATE TABLE x AS SELECT range AS i, repeat('x', 100) AS s FROM range(200000)`); err != nil {
		t.Fatal(err)
	}
	restoreA()
	restoreA() // twice is once
	if got := store.AllocatorDecay(); got != 0 {
		t.Fatalf("decay with one holder left %d ms, want 0", got)
	}
	restoreB()
	if got := store.AllocatorDecay(); got != 1000 {
		t.Fatalf("decay after the last holder %d ms, want 1000", got)
	}
}
