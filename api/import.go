package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
)

// maxImportBody bounds one import request; larger histories go through
// `deskpulse import`.
const maxImportBody = 1 << 30

// maxReportedRows bounds the bad rows listed in one answer.
const maxReportedRows = 1000

// importEvents is POST /api/v1/import: the body is one file (NDJSON, CSV
// for ?profile=, Parquet; plain, gzip or zip), read as it streams in.
// Query: format, profile, tz, on_error=abort|skip, dry_run=true, name (the
// file name used in reports). A CSV with a mapping is sent as
// multipart/form-data: a part "mapping" (the YAML) then a part "file". Answers with the import summary; with
// on_error=abort (the default) bad rows give a 400 listing each with file,
// line and reason, and nothing is stored.
func (s *Server) importEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := ingest.ImportOptions{Format: q.Get("format"), Profile: q.Get("profile")}
	switch opts.Format {
	case "", "ndjson", "csv", "parquet":
	default:
		writeError(w, r, badRequest("format", "format must be ndjson, csv or parquet"))
		return
	}
	if opts.Profile != "" && !validProfile(opts.Profile) {
		writeError(w, r, badRequest("profile", "unknown profile %q (known: %v)", opts.Profile, ingest.ProfileNames()))
		return
	}
	switch q.Get("on_error") {
	case "", "abort":
	case "skip":
		opts.Skip = true
	default:
		writeError(w, r, badRequest("on_error", "on_error must be abort or skip"))
		return
	}
	if v := q.Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, r, badRequest("dry_run", "dry_run must be true or false"))
			return
		}
		opts.DryRun = b
	}
	opts.TZ = time.UTC
	if tz := q.Get("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			writeError(w, r, badRequest("tz", "unknown time zone %q", tz))
			return
		}
		opts.TZ = loc
	}
	name := q.Get("name")
	if name == "" {
		name = "body"
	}
	body := http.MaxBytesReader(w, r.Body, maxImportBody)
	input := ingest.Input{Name: name, R: body}
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media == "multipart/form-data" {
		// A CSV with its mapping: part "mapping" (YAML) first, then part "file".
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, r, badRequest("", "malformed multipart body: %v", err))
			return
		}
		for input.R = nil; input.R == nil; {
			part, err := mr.NextPart()
			if err != nil {
				writeError(w, r, badRequest("file", "the multipart body needs a part named file (after the mapping part, if any)"))
				return
			}
			switch part.FormName() {
			case "mapping":
				data, err := io.ReadAll(io.LimitReader(part, 1<<20))
				if err == nil {
					opts.Mapping, err = ingest.ParseMapping(data)
				}
				if err != nil {
					writeError(w, r, badRequest("mapping", "%v", err))
					return
				}
			case "file":
				input.R = part
				if fn := part.FileName(); fn != "" && q.Get("name") == "" {
					input.Name = fn
				}
			}
		}
	}
	sum, err := s.writer.Import(r.Context(), []ingest.Input{input}, opts)
	var ie *ingest.ImportError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &ie):
		rows := ie.Rows[:min(len(ie.Rows), maxReportedRows)]
		first := rows[0]
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"code":    "bad_rows",
			"message": fmt.Sprintf("%d bad rows, nothing imported (on_error=skip imports the rest); first: %s", len(ie.Rows), first),
			"file":    first.File, "line": first.Line, "reason": first.Reason,
			"rows": rows, "total": len(ie.Rows),
		}})
		return
	case errors.As(err, &tooLarge):
		writeError(w, r, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes; use `deskpulse import`", maxImportBody)})
		return
	case err != nil:
		writeError(w, r, badRequest("", "import failed: %v", err))
		return
	}
	if len(sum.Rejects) > maxReportedRows {
		sum.Rejects = sum.Rejects[:maxReportedRows]
	}
	writeJSON(w, http.StatusOK, sum)
}

func validProfile(name string) bool {
	for _, p := range ingest.ProfileNames() {
		if p == name {
			return true
		}
	}
	return false
}
