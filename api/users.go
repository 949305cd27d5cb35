package api

import (
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

// AdminRoutes adds user, token and audit management (admin only, by the
// auth policy).
func (s *Server) AdminRoutes(svc *auth.Service) {
	m := s.table
	m.Func("GET", "/api/v1/users", route.Need(model.PermAdmin), "list users", func(w http.ResponseWriter, r *http.Request) {
		users, err := s.store.Users(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"users": users})
	})
	m.Func("POST", "/api/v1/users", route.Need(model.PermAdmin), "add a user", func(w http.ResponseWriter, r *http.Request) {
		var u model.User
		if err := decode(w, r, &u, false); err != nil {
			writeError(w, r, err)
			return
		}
		if u.DisabledAt != nil {
			writeError(w, r, badRequest("disabled_at", "cannot be set here: POST /api/v1/users/{email}/disable disables a user"))
			return
		}
		token, err := svc.AddUser(r.Context(), s.actor(r).Name, &u)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"user": u, "token": token, "note": "the token is shown only now"})
	})
	m.Func("POST", "/api/v1/users/{email}/tokens", route.Need(model.PermAdmin), "mint an API token for a user", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Label string `json:"label"`
		}
		if err := decode(w, r, &in, true); err != nil {
			writeError(w, r, err)
			return
		}
		token, err := svc.NewToken(r.Context(), s.actor(r).Name, r.PathValue("email"), in.Label)
		if err != nil {
			writeError(w, r, notFoundAs(err, "user"))
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"token": token, "note": "the token is shown only now"})
	})
	m.Func("GET", "/api/v1/tokens", route.Need(model.PermAdmin), "list API tokens", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := s.store.Tokens(r.Context(), r.URL.Query().Get("user"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": tokens})
	})
	m.Func("DELETE", "/api/v1/tokens/{prefix}", route.Need(model.PermAdmin), "revoke an API token (ends the sessions signed in with it)", func(w http.ResponseWriter, r *http.Request) {
		if err := svc.RevokeToken(r.Context(), s.actor(r).Name, r.PathValue("prefix")); err != nil {
			writeError(w, r, notFoundAs(err, "live token"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"revoked": r.PathValue("prefix"), "note": "its browser sessions ended too"})
	})
	// Disabling ends every token and session of the user at once.
	m.Func("POST", "/api/v1/users/{email}/disable", route.Need(model.PermAdmin), "disable a user (ends their tokens and sessions)", func(w http.ResponseWriter, r *http.Request) {
		err := svc.DisableUser(r.Context(), s.actor(r).Name, r.PathValue("email"))
		if errors.Is(err, store.ErrLastAdmin) {
			err = &Error{Status: http.StatusConflict, Code: "last_admin", Message: err.Error() + ": make another user admin first"}
		}
		if err != nil {
			writeError(w, r, notFoundAs(err, "active user"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"disabled": r.PathValue("email"), "note": "its tokens are revoked and its sessions ended"})
	})
	m.Func("POST", "/api/v1/users/{email}/enable", route.Need(model.PermAdmin), "enable a disabled user", func(w http.ResponseWriter, r *http.Request) {
		if err := svc.EnableUser(r.Context(), s.actor(r).Name, r.PathValue("email")); err != nil {
			writeError(w, r, notFoundAs(err, "disabled user"))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"enabled": r.PathValue("email"), "note": "old tokens stay revoked: issue a new one"})
	})
	m.Func("GET", "/api/v1/audit", route.Need(model.PermAdmin), "the audit trail of administrative changes", s.audit)
	m.Func("POST", "/api/v1/backup", route.Need(model.PermAdmin), "write a backup of the store", s.backup)
}

func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: q.Get("actor"), Action: q.Get("type"), Limit: 100}
	for _, b := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(b.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				writeError(w, r, badRequest(b.name, "must be a date (2026-01-31) or an RFC 3339 time"))
				return
			}
			*b.dst = t
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, r, badRequest("limit", "must be a whole number from 1 to 1000"))
			return
		}
		f.Limit = n
	}
	entries, err := s.store.AuditTrail(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// backup writes a consistent snapshot of the store to a folder on the
// server while it keeps serving (admin).
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Dir string `json:"dir"`
	}
	if err := decode(w, r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	if !filepath.IsAbs(in.Dir) {
		writeError(w, r, badRequest("dir", "must be an absolute path of a new or empty folder on the server"))
		return
	}
	start := time.Now()
	if err := s.store.Backup(r.Context(), in.Dir); err != nil {
		writeError(w, r, badRequest("dir", "%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dir": in.Dir, "seconds": time.Since(start).Seconds()})
}

// notFoundAs names the missing thing in a 404 (writeError's default
// names tickets).
func notFoundAs(err error, what string) error {
	if errors.Is(err, model.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such " + what}
	}
	return err
}

// audited records a management change (rules, webhooks, agents, teams) in
// the audit trail under the signed-in user; the change is already made, so
// a failure to record is logged, not returned.
func (s *Server) audited(r *http.Request, action, target, detail string) {
	err := s.store.Audit(r.Context(), model.NewID(), store.AuditEntry{At: time.Now().UTC(), Actor: s.actor(r).Name,
		Action: action, Target: target, Detail: detail})
	if err != nil {
		slog.Error("audit", "action", action, "target", target, "err", err)
	}
}
