// Package auth decides who is calling and what they may do: users with
// roles, API tokens (stored hashed), browser sessions with CSRF protection,
// the route policy, and the audit trail of administrative changes.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Service manages users, tokens and sessions in the store.
type Service struct {
	store *store.Store
	now   func() time.Time
	// SessionIdle ends a session unused for that long, SessionMax any
	// session that old (config auth.session_idle, auth.session_max).
	SessionIdle, SessionMax time.Duration
	// realUserSeen caches store.FlagRealSignIn, checked on every request.
	realUserSeen atomic.Bool
}

// New returns the service over st.
func New(st *store.Store) *Service {
	return &Service{store: st, now: time.Now, SessionIdle: 12 * time.Hour, SessionMax: 720 * time.Hour}
}

// tokenPrefix marks deskpulse tokens so they are recognisable in configs
// and secret scanners.
const tokenPrefix = "dp_"

// newSecret returns 32 random bytes, base64url encoded.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hash is how secrets are stored: tokens and session ids are long random
// strings, so a fast hash suffices (passwords use bcrypt).
func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ErrUnauthenticated says the credentials are missing or wrong.
var ErrUnauthenticated = errors.New("unauthenticated")

// AddUser creates a user and a first API token, returned once in plain text.
func (s *Service) AddUser(ctx context.Context, actor string, u *model.User) (string, error) {
	if err := u.Validate(); err != nil {
		return "", err
	}
	u.CreatedAt = s.now().UTC()
	if err := s.store.CreateUser(ctx, u); err != nil {
		return "", err
	}
	s.audit(ctx, actor, "user.created", u.Email, "role "+string(u.Role))
	return s.NewToken(ctx, actor, u.Email, "first token")
}

// NewToken issues another API token for a user; the secret is shown once.
func (s *Service) NewToken(ctx context.Context, actor, email, label string) (string, error) {
	return s.issueToken(ctx, actor, email, label, tokenPrefix+newSecret())
}

func (s *Service) issueToken(ctx context.Context, actor, email, label, secret string) (string, error) {
	if _, _, err := s.store.User(ctx, email); err != nil {
		return "", err
	}
	t := &store.Token{Prefix: secret[:min(len(secret), len(tokenPrefix)+8)], UserEmail: email, Label: label, CreatedAt: s.now().UTC()}
	if err := s.store.CreateToken(ctx, hash(secret), t); err != nil {
		return "", err
	}
	s.audit(ctx, actor, "token.created", t.Prefix, "for "+email)
	return secret, nil
}

// RevokeToken revokes the token with that prefix and ends the browser
// sessions signed in with it.
func (s *Service) RevokeToken(ctx context.Context, actor, prefix string) error {
	if err := s.store.RevokeToken(ctx, prefix, s.now().UTC()); err != nil {
		return err
	}
	s.audit(ctx, actor, "token.revoked", prefix, "its sessions ended")
	return nil
}

// DisableUser stops a user from signing in and ends all their tokens and
// sessions at once; the last active admin cannot be disabled
// (store.ErrLastAdmin).
func (s *Service) DisableUser(ctx context.Context, actor, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := s.store.DisableUser(ctx, email, s.now().UTC()); err != nil {
		return err
	}
	s.audit(ctx, actor, "user.disabled", email, "tokens revoked, sessions ended")
	return nil
}

// EnableUser lets a disabled user sign in again, with a password or a new
// token (the old ones stay revoked).
func (s *Service) EnableUser(ctx context.Context, actor, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := s.store.EnableUser(ctx, email); err != nil {
		return err
	}
	s.audit(ctx, actor, "user.enabled", email, "")
	return nil
}

// SetPassword sets a user's password for browser sign-in (bcrypt).
func (s *Service) SetPassword(ctx context.Context, actor, email, password string) error {
	if len(password) < 10 || len(password) > 72 {
		return model.Invalid("password", "must be 10 to 72 characters")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	if err := s.store.SetPasswordHash(ctx, email, string(h)); err != nil {
		return err
	}
	s.audit(ctx, actor, "user.password_set", email, "")
	return nil
}

// Bootstrap makes sure someone can sign in: with no users at all, it
// creates admin@localhost with the token given (DESKPULSE_ADMIN_TOKEN) or a
// new one, which it returns so that the caller can print it once.
func (s *Service) Bootstrap(ctx context.Context, givenToken string) (email, token string, err error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", "", err
	}
	u := &model.User{Email: "admin@localhost", Name: "Administrator", Role: model.RoleAdmin}
	if err := u.Validate(); err != nil {
		return "", "", err
	}
	u.CreatedAt = s.now().UTC()
	if err := s.store.CreateUser(ctx, u); err != nil {
		return "", "", err
	}
	s.audit(ctx, "system", "user.created", u.Email, "first start: bootstrap administrator")
	if givenToken != "" {
		if len(givenToken) < 16 {
			return "", "", model.Invalid("DESKPULSE_ADMIN_TOKEN", "must be at least 16 characters")
		}
		_, err = s.issueToken(ctx, "system", u.Email, "DESKPULSE_ADMIN_TOKEN", givenToken)
		return u.Email, "", err
	}
	token, err = s.NewToken(ctx, "system", u.Email, "bootstrap")
	return u.Email, token, err
}

// UserByToken authenticates an API token.
func (s *Service) UserByToken(ctx context.Context, token string) (*model.User, error) {
	if !strings.HasPrefix(token, tokenPrefix) && len(token) < 16 {
		return nil, ErrUnauthenticated
	}
	u, err := s.store.UserByTokenHash(ctx, hash(token))
	if errors.Is(err, model.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	return u, err
}

// SignIn checks an email with a token or a password and opens a session;
// it returns the cookie value and the session.
func (s *Service) SignIn(ctx context.Context, email, secret string) (string, *store.Session, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, pwHash, err := s.store.User(ctx, email)
	if errors.Is(err, model.ErrNotFound) {
		return "", nil, ErrUnauthenticated
	}
	if err != nil {
		return "", nil, err
	}
	// The session remembers the token it was opened with, so that revoking
	// the token ends it.
	tokenHash := ""
	if tu, err := s.UserByToken(ctx, secret); err == nil && tu.Email == u.Email {
		tokenHash = hash(secret)
	} else if pwHash == "" || bcrypt.CompareHashAndPassword([]byte(pwHash), []byte(secret)) != nil {
		return "", nil, ErrUnauthenticated
	}
	if err := s.noteRealUser(ctx, u); err != nil {
		return "", nil, err
	}
	return s.openSession(ctx, u, tokenHash)
}

func (s *Service) openSession(ctx context.Context, u *model.User, tokenHash string) (string, *store.Session, error) {
	cookie, csrf := newSecret(), newSecret()
	now := s.now().UTC()
	sess := &store.Session{User: u, CSRF: csrf, ExpiresAt: now.Add(s.SessionMax), LastSeenAt: now}
	err := s.store.CreateSession(ctx, store.NewSession{Hash: hash(cookie), UserEmail: u.Email, TokenHash: tokenHash,
		CSRF: csrf, CreatedAt: now, ExpiresAt: sess.ExpiresAt})
	if err != nil {
		return "", nil, err
	}
	return cookie, sess, nil
}

// Session returns the live session of a cookie value: within its
// absolute and idle limits, of an active user and a live token.
func (s *Service) Session(ctx context.Context, cookie string) (*store.Session, error) {
	now := s.now().UTC()
	sess, err := s.store.SessionByHash(ctx, hash(cookie), now, now.Add(-s.SessionIdle))
	if errors.Is(err, model.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	// Record use, at most every minute (or tenth of the idle limit): a
	// write per page view is not needed to keep the idle limit.
	if now.Sub(sess.LastSeenAt) >= min(time.Minute, s.SessionIdle/10) {
		if err := s.store.TouchSession(ctx, hash(cookie), now); err != nil {
			return nil, err
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, cookie string) error {
	return s.store.DeleteSession(ctx, hash(cookie))
}

// audit records an administrative change; a failure to record is logged
// by the caller's request log, never fatal to the change itself.
func (s *Service) audit(ctx context.Context, actor, action, target, detail string) {
	s.store.Audit(ctx, model.NewID(), store.AuditEntry{At: s.now().UTC(), Actor: actor, Action: action, Target: target, Detail: detail})
}
