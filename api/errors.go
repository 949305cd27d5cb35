package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/deskpulse/deskpulse/internal/httpjson"
)

// Error is the JSON error body, {"error":{"code":..,"message":..,"field":..}},
// with its HTTP status: one type for every package that serves JSON.
type Error = httpjson.Error

// errorBody is the JSON error answer.
type errorBody = httpjson.ErrorBody

func badRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// writeError maps an error to its HTTP status and JSON body; not found
// and exists name the resource of the path.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	httpjson.WriteError(w, r, err, resourceName)
}

func resourceName(r *http.Request) string {
	switch {
	case strings.Contains(r.URL.Path, "/agents"):
		return "agent"
	case strings.Contains(r.URL.Path, "/teams"):
		return "team"
	default:
		return "ticket"
	}
}

// decode reads a strict JSON body into v (httpjson.Decode).
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	return httpjson.Decode(w, r, v, optional)
}
