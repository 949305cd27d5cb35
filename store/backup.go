package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Backup writes a consistent snapshot of the whole database into dir
// (which must not exist or be empty) as Parquet files plus the schema,
// while the store keeps serving: EXPORT DATABASE reads one transaction's
// snapshot.
func (s *Store) Backup(ctx context.Context, dir string) error {
	if err := emptyDir(dir); err != nil {
		return err
	}
	_, err := s.DB.ExecContext(ctx, fmt.Sprintf(`EXPORT DATABASE %s (FORMAT parquet, COMPRESSION zstd)`, Literal(dir)))
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dir, err)
	}
	return nil
}

// Restore creates the database file path from a backup folder. path must
// not exist yet: restoring over live data is the caller's explicit choice
// (move the old file away first).
func Restore(ctx context.Context, dir, path string) error {
	if _, err := os.Stat(filepath.Join(dir, "schema.sql")); err != nil {
		return fmt.Errorf("%s is not a deskpulse backup (no schema.sql)", dir)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: move it away first, restore never overwrites a database", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	s, err := openRaw(path)
	if err != nil {
		return err
	}
	_, err = s.DB.ExecContext(ctx, fmt.Sprintf(`IMPORT DATABASE %s`, Literal(dir)))
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		os.Remove(path + ".wal")
		return fmt.Errorf("restore from %s: %w", dir, err)
	}
	return nil
}

func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: choose a new folder for the backup", dir)
	}
	return nil
}
