package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSignInMigrationDemotesTheDemoAdminAndEndsOldSessions upgrades a
// file from the schema before the sign-in migration, holding the old demo
// manager (an admin) with a live session: the demo manager becomes a
// manager, and the session, which cannot say which token opened it, ends.
func TestSignInMigrationDemotesTheDemoAdminAndEndsOldSessions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.duckdb")
	mine := -1
	for i, m := range migrations {
		if strings.Contains(m, "CREATE TABLE flags") {
			mine = i
		}
	}
	if mine < 0 {
		t.Fatal("no migration creates the flags table")
	}
	old, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.DB.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= mine; v++ {
		if _, err := old.DB.Exec(migrations[v-1]); err != nil {
			t.Fatalf("migration %d: %v", v, err)
		}
		if _, err := old.DB.Exec(`INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	for _, q := range []string{
		`INSERT INTO users (email, name, role, created_at) VALUES ('demo.manager@deskpulse.example', 'Demo manager', 'admin', now())`,
		`INSERT INTO users (email, name, role, created_at) VALUES ('root@example.com', 'Root', 'admin', now())`,
	} {
		if _, err := old.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := old.DB.Exec(`INSERT INTO sessions (hash, user_email, csrf, created_at, expires_at) VALUES ('h', 'demo.manager@deskpulse.example', 'c', ?, ?)`,
		now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	roles := map[string]string{}
	users, err := st.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		roles[u.Email] = string(u.Role)
	}
	if roles["demo.manager@deskpulse.example"] != "manager" || roles["root@example.com"] != "admin" {
		t.Fatalf("roles after the migration: %v", roles)
	}
	var sessions int
	st.DB.QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions)
	if sessions != 0 {
		t.Fatalf("%d sessions from before the migration survived it", sessions)
	}
}
