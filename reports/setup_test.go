package reports

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/metrics"
	"github.com/deskpulse/deskpulse/store"
)

// testEnd is when the demo history ends; the engine's "now" is a day later.
var testEnd = time.Date(2026, 4, 1, 6, 0, 0, 0, time.UTC)

type env struct {
	st  *store.Store
	w   *ingest.Writer
	eng *metrics.Engine
	dir string
}

// demoFile is one demo store built once per test binary and copied for
// each test that needs its own.
var demoFile struct {
	once sync.Once
	path string
	err  error
}

// newEnv opens a copy of a store with 1,500 demo tickets over 60 days
// and an engine reporting in Europe/Berlin.
func newEnv(t testing.TB) *env {
	t.Helper()
	demoFile.once.Do(func() {
		dir, err := os.MkdirTemp("", "deskpulse-reports-test-")
		if err != nil {
			demoFile.err = err
			return
		}
		path := filepath.Join(dir, "demo.duckdb")
		ctx := context.Background()
		st, err := store.Open(ctx, path)
		if err != nil {
			demoFile.err = err
			return
		}
		w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
		if err != nil {
			demoFile.err = err
			return
		}
		_, demoFile.err = ingest.LoadDemo(ctx, st, w, ingest.DemoOptions{Tickets: 1500, Days: 60, Seed: 7, End: testEnd})
		w.Close()
		st.Close()
		demoFile.path = path
	})
	if demoFile.err != nil {
		t.Fatal(demoFile.err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "store.duckdb")
	data, err := os.ReadFile(demoFile.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return openEnv(t, path)
}

func openEnv(t testing.TB, path string) *env {
	t.Helper()
	return openEnvAt(t, path, testEnd.Add(24*time.Hour))
}

// openEnvAt opens the store at path with an engine whose "now" is now.
func openEnvAt(t testing.TB, path string, now time.Time) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := ingest.NewWriter(ctx, st, ingest.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := metrics.DefaultConfig()
	cfg.Timezone = "Europe/Berlin"
	cfg.Now = func() time.Time { return now }
	eng, err := metrics.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, w: w, eng: eng, dir: filepath.Dir(path)}
	t.Cleanup(func() { e.close() })
	return e
}

func (e *env) close() {
	if e.w != nil {
		e.w.Close()
		e.st.Close()
		e.w = nil
	}
}
