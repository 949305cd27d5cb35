package portal

import (
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
)

// A form session is one visit to /support/new: a random id in a hidden
// field ("fs") that the page's suggestions, the articles opened from them,
// the leave beacon and the post carry, so that kb_events can tell a form
// left after a suggestion (abandoned; deflected when an article was read)
// from one that became a ticket. It identifies a visit, not a person, and
// needs no cookie.

const sessionLen = 22 // 16 random bytes, base64url

func newSession() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// formSession returns s when it is a session id as newSession makes them,
// else "" (ids come back from the browser; anything else is not stored).
func formSession(s string) string {
	if len(s) != sessionLen {
		return ""
	}
	if _, err := base64.RawURLEncoding.DecodeString(s); err != nil {
		return ""
	}
	return s
}

// left is the beacon suggest.js sends when the requester leaves the form
// page (pagehide) after it showed suggestions, without posting it.
func (p *Portal) left(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	s := formSession(r.PostFormValue("fs"))
	if s == "" {
		http.Error(w, "fs: not a form session", http.StatusBadRequest)
		return
	}
	if err := p.KB.RecordLeft(r.Context(), s); err != nil {
		slog.Warn("portal: record left form", "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
}
