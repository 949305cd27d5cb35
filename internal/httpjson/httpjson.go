// Package httpjson writes deskpulse's JSON answers and its one error body,
// {"error":{"code":..,"message":..,"field":..}}, for every package that
// serves JSON (api, reports, sqlbox), so that an error looks the same
// wherever it comes from.
package httpjson

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// Error is an error with the HTTP status and the body it answers with.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// ErrorBody is the JSON error answer.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Write answers with v as JSON (not HTML-escaped: API clients read it).
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// Of maps err to its answer: an *Error as it is, a validation error 400
// naming its field, a forbidden transition 409, not found 404 and an
// existing key 409 (with the messages the resource function gives, when
// not nil), anything else 500, logged, without its details.
func Of(r *http.Request, err error, resource func(*http.Request) string) *Error {
	var (
		e  *Error
		ve *model.ValidationError
		te *model.TransitionError
	)
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &ve):
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: ve.Error(), Field: ve.Field}
	case errors.As(err, &te):
		return &Error{Status: http.StatusConflict, Code: "transition_not_allowed", Message: te.Error()}
	case errors.Is(err, model.ErrNotFound):
		msg := err.Error()
		if resource != nil {
			msg = "no such " + resource(r)
		}
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: msg}
	case errors.Is(err, store.ErrExists):
		msg := err.Error()
		if resource != nil {
			msg = resource(r) + " already exists"
		}
		return &Error{Status: http.StatusConflict, Code: "exists", Message: msg}
	}
	slog.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; the server log has details"}
}

// WriteError answers err (see Of).
func WriteError(w http.ResponseWriter, r *http.Request, err error, resource func(*http.Request) string) {
	e := Of(r, err, resource)
	Write(w, e.Status, ErrorBody{*e})
}
