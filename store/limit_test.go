package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestLimit(t *testing.T) {
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "limit.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Limit("300MB", 1); err != nil {
		t.Fatal(err)
	}
	var mem string
	var threads int
	st.DB.QueryRow(`SELECT current_setting('memory_limit'), current_setting('threads')`).Scan(&mem, &threads)
	if !strings.HasPrefix(mem, "286.1 MiB") && !strings.HasPrefix(mem, "300") || threads != 1 {
		t.Fatalf("memory_limit %q, threads %d", mem, threads)
	}
	if err := st.Limit("lots", 0); err == nil || !strings.Contains(err.Error(), "duckdb.memory_limit") {
		t.Fatalf("bad limit: %v", err)
	}
}
