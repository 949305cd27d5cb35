// Package httpjson writes deskpulse's JSON answers and its one error body,
// {"error":{"code":..,"message":..,"field":..}}, for every package that
// serves JSON (api, reports, sqlbox), so that an error looks the same
// wherever it comes from.
package httpjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

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

// MaxBody is the largest JSON body a request may carry.
const MaxBody = 1 << 20

// Decode reads a strict JSON body into v: JSON content type, at most
// MaxBody bytes, no unknown fields, one value. An empty body is allowed
// when optional.
func Decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if r.ContentLength == 0 && optional {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" || !optional {
		media, _, err := mime.ParseMediaType(ct)
		if err != nil || (media != "application/json" && !strings.HasSuffix(media, "+json")) {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Message: "send the body as JSON with Content-Type: application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && optional {
		return nil
	}
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	return DecodeError(err)
}

// DecodeError maps a JSON decoding error to the 4xx answer that names
// the field or the byte at fault.
func DecodeError(err error) error {
	if err == nil {
		return nil
	}
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes", MaxBody)}
	case errors.As(err, &syntax):
		return badRequest("", "malformed JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typeErr):
		return badRequest(typeErr.Field, "%s must be a JSON %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "unknown field %q", field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "malformed JSON: the body is empty or cut short")
	default:
		return badRequest("", "malformed JSON: %v", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "int32", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "map", "struct":
		return "object"
	case "ptr":
		return "value of the documented type"
	default:
		return goKind
	}
}

func badRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}
