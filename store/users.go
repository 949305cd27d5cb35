package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// Token is an API token as listed: never the secret, only its prefix.
type Token struct {
	Prefix    string     `json:"prefix"`
	UserEmail string     `json:"user_email"`
	Label     string     `json:"label"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// CreateUser stores a new user.
func (s *Store) CreateUser(ctx context.Context, u *model.User) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO users (email, name, role, created_at) VALUES (?, ?, ?, ?)`,
		u.Email, u.Name, string(u.Role), u.CreatedAt)
	return uniqueErr(err)
}

// CountUsers says how many users exist.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// User returns one user and their password hash ("" when none is set).
func (s *Store) User(ctx context.Context, email string) (*model.User, string, error) {
	var u model.User
	var role, hash string
	err := s.DB.QueryRowContext(ctx, `SELECT email, name, role, created_at, password_hash FROM users WHERE email = ? AND disabled_at IS NULL`, email).
		Scan(&u.Email, &u.Name, &role, &u.CreatedAt, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", model.ErrNotFound
	}
	u.Role = model.Role(role)
	return &u, hash, err
}

// Users lists every user by email, disabled ones included (with their
// DisabledAt).
func (s *Store) Users(ctx context.Context) ([]*model.User, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT email, name, role, created_at, disabled_at FROM users ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*model.User{}
	for rows.Next() {
		var u model.User
		var role string
		var disabled sql.NullTime
		if err := rows.Scan(&u.Email, &u.Name, &role, &u.CreatedAt, &disabled); err != nil {
			return nil, err
		}
		u.Role = model.Role(role)
		u.DisabledAt = timePtr(disabled)
		out = append(out, &u)
	}
	return out, rows.Err()
}

// ErrLastAdmin refuses to disable the only active administrator, which
// would leave nobody able to manage users.
var ErrLastAdmin = errors.New("the last active administrator cannot be disabled")

// DisableUser disables a user and, in the same transaction, revokes
// every live token of theirs and ends every session.
func (s *Store) DisableUser(ctx context.Context, email string, at time.Time) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var role string
	err = tx.QueryRowContext(ctx, `SELECT role FROM users WHERE email = ? AND disabled_at IS NULL`, email).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return model.ErrNotFound
	}
	if err != nil {
		return err
	}
	if model.Role(role) == model.RoleAdmin {
		var admins int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL`).Scan(&admins); err != nil {
			return err
		}
		if admins <= 1 {
			return ErrLastAdmin
		}
	}
	for _, q := range []string{
		`UPDATE users SET disabled_at = ? WHERE email = ?`,
		`UPDATE tokens SET revoked_at = ? WHERE user_email = ? AND revoked_at IS NULL`,
	} {
		if _, err := tx.ExecContext(ctx, q, at, email); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_email = ?`, email); err != nil {
		return err
	}
	return tx.Commit()
}

// EnableUser lets a disabled user sign in again; their old tokens stay
// revoked (issue a new one).
func (s *Store) EnableUser(ctx context.Context, email string) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE users SET disabled_at = NULL WHERE email = ? AND disabled_at IS NOT NULL`, email)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrNotFound
	}
	return nil
}

// SetPasswordHash replaces a user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, email, hash string) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE email = ?`, hash, email)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrNotFound
	}
	return nil
}

// CreateToken stores a token by the hash of its secret.
func (s *Store) CreateToken(ctx context.Context, hash string, t *Token) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO tokens (hash, prefix, user_email, label, created_at) VALUES (?, ?, ?, ?, ?)`,
		hash, t.Prefix, t.UserEmail, t.Label, t.CreatedAt)
	return err
}

// UserByTokenHash returns the user owning a live token.
func (s *Store) UserByTokenHash(ctx context.Context, hash string) (*model.User, error) {
	// One query: every API request authenticates through here.
	var u model.User
	var role string
	err := s.DB.QueryRowContext(ctx, `SELECT u.email, u.name, u.role, u.created_at
		FROM tokens t JOIN users u ON u.email = t.user_email
		WHERE t.hash = ? AND t.revoked_at IS NULL AND u.disabled_at IS NULL`, hash).
		Scan(&u.Email, &u.Name, &role, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.ErrNotFound
	}
	u.Role = model.Role(role)
	return &u, err
}

// Tokens lists tokens (prefix only), optionally of one user.
func (s *Store) Tokens(ctx context.Context, email string) ([]*Token, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT prefix, user_email, label, created_at, revoked_at FROM tokens
		WHERE ? = '' OR user_email = ? ORDER BY created_at`, email, email)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Token{}
	for rows.Next() {
		var t Token
		var revoked sql.NullTime
		if err := rows.Scan(&t.Prefix, &t.UserEmail, &t.Label, &t.CreatedAt, &revoked); err != nil {
			return nil, err
		}
		t.RevokedAt = timePtr(revoked)
		out = append(out, &t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the live token with that prefix and, in the same
// transaction, ends the browser sessions opened with it.
func (s *Store) RevokeToken(ctx context.Context, prefix string, at time.Time) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash IN
		(SELECT hash FROM tokens WHERE prefix = ? AND revoked_at IS NULL)`, prefix); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL`, at, prefix)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrNotFound
	}
	return tx.Commit()
}

// Session is a signed-in browser.
type Session struct {
	User       *model.User
	CSRF       string
	ExpiresAt  time.Time // the absolute limit
	LastSeenAt time.Time // the idle limit counts from here
}

// NewSession is what a sign-in stores: the hash of the cookie, and of the
// token it was opened with ("" for a password or the demo sign-in).
type NewSession struct {
	Hash, UserEmail, TokenHash, CSRF string
	CreatedAt, ExpiresAt             time.Time
}

// CreateSession stores a browser session by the hash of its cookie.
func (s *Store) CreateSession(ctx context.Context, n NewSession) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO sessions (hash, user_email, token_hash, csrf, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, n.Hash, n.UserEmail, n.TokenHash, n.CSRF, n.CreatedAt, n.CreatedAt, n.ExpiresAt)
	return err
}

// SessionByHash returns a live session: before its absolute expiry, used
// after idleSince, of an active user, and opened with a password or a
// token that is still live.
func (s *Store) SessionByHash(ctx context.Context, hash string, now, idleSince time.Time) (*Session, error) {
	// One query: every signed-in page view authenticates through here.
	var u model.User
	var role string
	sess := Session{User: &u}
	err := s.DB.QueryRowContext(ctx, `SELECT u.email, u.name, u.role, u.created_at, s.csrf, s.expires_at, s.last_seen_at
		FROM sessions s JOIN users u ON u.email = s.user_email
		WHERE s.hash = ? AND s.expires_at > ? AND s.last_seen_at > ? AND u.disabled_at IS NULL
		  AND (s.token_hash = '' OR EXISTS (SELECT 1 FROM tokens t WHERE t.hash = s.token_hash AND t.revoked_at IS NULL))`,
		hash, now, idleSince).
		Scan(&u.Email, &u.Name, &role, &u.CreatedAt, &sess.CSRF, &sess.ExpiresAt, &sess.LastSeenAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.Role = model.Role(role)
	return &sess, nil
}

// TouchSession records that a session was used (for its idle limit).
func (s *Store) TouchSession(ctx context.Context, hash string, at time.Time) error {
	_, err := s.DB.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE hash = ?`, at, hash)
	return err
}

// DeleteSession signs a browser out.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}

// DeleteSessionsOf signs every browser of a user out.
func (s *Store) DeleteSessionsOf(ctx context.Context, email string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE user_email = ?`, email)
	return err
}

// Flags are one-off facts about this store, set once and never unset.
const (
	// FlagDemoData: the demo history was written here (ingest.LoadDemo).
	FlagDemoData = "demo_data"
	// FlagRealSignIn: a user other than the demo manager signed in or
	// used a token, which ends the demo sign-in for good.
	FlagRealSignIn = "real_sign_in"
)

// SetFlag records a flag the first time; later calls keep the first.
func (s *Store) SetFlag(ctx context.Context, name, detail string, at time.Time) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO flags (name, set_at, detail) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, name, at, detail)
	return err
}

// Flag says whether a flag is set.
func (s *Store) Flag(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM flags WHERE name = ?`, name).Scan(&n)
	return n > 0, err
}

// AuditEntry is one administrative change or ticket event in the trail.
type AuditEntry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"` // e.g. user.created, token.revoked, or a ticket event type
	Target string    `json:"target"` // the user, token prefix or ticket id
	Detail string    `json:"detail,omitempty"`
}

// Audit appends an administrative change to the trail.
func (s *Store) Audit(ctx context.Context, id string, e AuditEntry) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO audit (id, occurred_at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		id, e.At, e.Actor, e.Action, e.Target, e.Detail)
	return err
}

// AuditFilter selects audit entries; empty fields do not filter.
type AuditFilter struct {
	Actor, Action string
	From, To      time.Time
	Limit         int
}

// AuditTrail returns administrative changes and ticket events, newest
// first: who did what, when.
func (s *Store) AuditTrail(ctx context.Context, f AuditFilter) ([]*AuditEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.To.IsZero() {
		f.To = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	rows, err := s.DB.QueryContext(ctx, `
		SELECT * FROM (
			SELECT occurred_at, actor, action, target, detail FROM audit
			UNION ALL
			SELECT occurred_at, actor, type, ticket_id, '' FROM events
		) WHERE (? = '' OR actor = ?) AND (? = '' OR action = ?) AND occurred_at >= ? AND occurred_at < ?
		ORDER BY occurred_at DESC LIMIT ?`,
		f.Actor, f.Actor, f.Action, f.Action, f.From, f.To, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		if err := rows.Scan(&e.At, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, err
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}
