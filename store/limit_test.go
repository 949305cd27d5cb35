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
	if n, err := st.MemoryLimit(context.Background()); err != nil || n < 299e6 || n > 301e6 {
		t.Fatalf("MemoryLimit = %d, %v; want 300MB (286.1 MiB, to its rounding)", n, err)
	}
	if err := st.Limit("lots", 0); err == nil || !strings.Contains(err.Error(), "duckdb.memory_limit") {
		t.Fatalf("bad limit: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"190.7 MiB": 199963443, "18.8 GiB": 20186346291, "512 bytes": 512, "2.0 KiB": 2048, "1 GB": 1e9} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "lots", "12 parsecs", "-1 MiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) took it", in)
		}
	}
}
