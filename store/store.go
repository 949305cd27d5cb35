// Package store keeps deskpulse's data in one embedded DuckDB file: the
// append-only events table, which is the truth, and the tickets projection
// derived from it. It opens the file, migrates the schema and offers the
// queries the rest of deskpulse builds on. Writes of events go through
// package ingest, which serialises them; this package only executes them.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// Store is an open DuckDB file.
type Store struct {
	DB        *sql.DB
	connector *duckdb.Connector
	path      string
}

// Open opens (creating if needed) the DuckDB file at path and migrates it to
// the current schema. An empty path opens an in-memory database.
func Open(ctx context.Context, path string) (*Store, error) {
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create folder for %s: %w", path, err)
		}
	}
	s, err := openRaw(path)
	if err != nil {
		return nil, err
	}
	// DuckDB's allocator returns freed memory on background threads
	// instead of the query that frees it: after a full metrics build the
	// first summaries otherwise paid 200-300 ms each for the build's memory
	// (docs/benchmarks.md, Harness); steady-state queries are the same.
	if _, err := s.DB.ExecContext(ctx, `SET allocator_background_threads = true`); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return s, nil
}

// openRaw opens the file without migrating it.
func openRaw(path string) (*Store, error) {
	connector, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (is another deskpulse using it?)", path, err)
	}
	return &Store{DB: sql.OpenDB(connector), connector: connector, path: path}, nil
}

// Limit bounds DuckDB's memory ("" leaves its default, 80% of RAM; DuckDB
// spills big sorts and joins to disk past it) and threads (0: one per
// CPU). The settings hold for the whole database instance.
func (s *Store) Limit(memory string, threads int) error {
	if memory != "" {
		if _, err := s.DB.Exec(`SET memory_limit = ?`, memory); err != nil {
			return fmt.Errorf("duckdb.memory_limit %q: %w", memory, err)
		}
	}
	if threads > 0 {
		if _, err := s.DB.Exec(`SET threads = ?`, threads); err != nil {
			return fmt.Errorf("duckdb.threads %d: %w", threads, err)
		}
	}
	return nil
}

// MemoryLimit is DuckDB's memory limit in bytes: duckdb.memory_limit, or
// DuckDB's default.
func (s *Store) MemoryLimit(ctx context.Context) (int64, error) {
	var setting string
	if err := s.DB.QueryRowContext(ctx, `SELECT current_setting('memory_limit')`).Scan(&setting); err != nil {
		return 0, err
	}
	return ParseSize(setting)
}

// ParseSize reads a size as DuckDB shows one ("190.7 MiB", "18.8 GiB").
func ParseSize(s string) (int64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), " ")
	v, err := strconv.ParseFloat(num, 64)
	scale, known := map[string]float64{"": 1, "bytes": 1, "B": 1,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
	if err != nil || !known || v < 0 {
		return 0, fmt.Errorf("size %q: want a number and a unit such as MiB", s)
	}
	return int64(v * scale), nil
}

// Path is the file the store lives in ("" in memory).
func (s *Store) Path() string { return s.path }

// Close checkpoints and closes the file.
func (s *Store) Close() error {
	_, cpErr := s.DB.Exec("CHECKPOINT")
	err := errors.Join(s.DB.Close(), s.connector.Close())
	if err == nil && cpErr != nil && s.path != "" {
		err = cpErr
	}
	return err
}

// Conn reserves one connection, e.g. for the single writer.
func (s *Store) Conn(ctx context.Context) (*sql.Conn, error) { return s.DB.Conn(ctx) }

// WithAppender runs fn with a DuckDB appender for table on conn, within
// whatever transaction conn has open; the appender is flushed at the end.
func WithAppender(conn *sql.Conn, table string, fn func(*duckdb.Appender) error) error {
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(*duckdb.Conn), "", table)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			a.Close()
			return err
		}
		return a.Close()
	})
}
