package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/deskpulse/deskpulse/internal/httpjson"
)

// maxBody is the largest JSON body a request may carry.
const maxBody = 1 << 20

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

// decode reads a strict JSON body into v: JSON content type, at most
// maxBody bytes, no unknown fields, one value. An empty body is allowed
// when optional.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
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
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
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
	return decodeError(err)
}

func decodeError(err error) error {
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
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes", maxBody)}
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
