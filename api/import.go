package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/deskpulse/deskpulse/ingest"
)

// maxImportBody bounds one import request; larger histories go through
// `deskpulse import`.
const maxImportBody = 1 << 30

// SetImportMaxInflated sets what the compressed files of one import may
// inflate to in all (import.max_inflated_bytes; 0: the ingest default).
// An upload keeps to maxImportBody as well, compressed or not.
func (s *Server) SetImportMaxInflated(n int64) { s.importMaxInflated = n }

// maxReportedRows bounds the bad rows listed in one answer.
const maxReportedRows = 1000

// importEvents is POST /api/v1/import: the body is one file (NDJSON, CSV
// for ?profile=, Parquet; plain, gzip or zip), read as it streams in.
// Query: format, profile, tz, on_error=abort|skip, dry_run=true, name (the
// file name used in reports). Several files, or a CSV with its mapping,
// are sent as multipart/form-data: an optional part "mapping" (the YAML)
// first, then one or more parts "file", imported together as one import
// (as `deskpulse import A B`). Answers with the import summary; with
// on_error=abort (the default) bad rows give a 400 listing each with file,
// line and reason, and nothing is stored.
func (s *Server) importEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := ingest.ImportOptions{Format: q.Get("format"), Profile: q.Get("profile")}
	opts.MaxInflated = maxImportBody
	if s.importMaxInflated > 0 {
		opts.MaxInflated = min(s.importMaxInflated, maxImportBody)
	}
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
	inputs := []ingest.Input{{Name: name, R: body}}
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media == "multipart/form-data" {
		var err error
		r.Body = body
		if inputs, err = multipartInputs(r, &opts); err != nil {
			if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
				writeTooLarge(w, r)
			} else {
				writeError(w, r, err)
			}
			return
		}
		defer removeSpooled(inputs)
	}
	sum, err := s.writer.Import(r.Context(), inputs, opts)
	var ie *ingest.ImportError
	var tooLarge *http.MaxBytesError
	var inflated *ingest.InflatedTooLargeError
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
		writeTooLarge(w, r)
		return
	case errors.As(err, &inflated):
		writeError(w, r, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "file",
			Message: fmt.Sprintf("%s inflates past %d bytes, the limit of one import (import.max_inflated_bytes, at most %d over the API); nothing imported",
				inflated.File, inflated.Limit, int64(maxImportBody))})
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

// multipartInputs reads a multipart import body: an optional part
// "mapping" first, then one or more parts "file". The files are spooled to
// temporary files (the caller removes them), since the parts of one body
// can only be read in order and the import reads its inputs one by one.
func multipartInputs(r *http.Request, opts *ingest.ImportOptions) (inputs []ingest.Input, err error) {
	defer func() {
		if err != nil {
			removeSpooled(inputs)
			inputs = nil
		}
	}()
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("", "malformed multipart body: %v", err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return inputs, err
		}
		if err != nil {
			return inputs, badRequest("", "malformed multipart body: %v", err)
		}
		switch part.FormName() {
		case "mapping":
			if len(inputs) > 0 {
				return inputs, badRequest("mapping", "the mapping part must come before the file parts")
			}
			data, err := io.ReadAll(io.LimitReader(part, 1<<20))
			if err == nil {
				opts.Mapping, err = ingest.ParseMapping(data)
			}
			if err != nil {
				return inputs, badRequest("mapping", "%v", err)
			}
		case "file":
			name := part.FileName()
			if name == "" {
				name = fmt.Sprintf("file%d", len(inputs)+1)
			}
			f, err := os.CreateTemp("", "deskpulse-import-*")
			if err != nil {
				return inputs, err
			}
			inputs = append(inputs, ingest.Input{Name: filepath.Base(name), R: f, Path: f.Name()})
			if _, err := io.Copy(f, part); err != nil {
				if errors.As(err, &tooLarge) {
					return inputs, err
				}
				return inputs, badRequest("file", "reading part %s: %v", name, err)
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return inputs, err
			}
		default:
			return inputs, badRequest(part.FormName(), "unknown part %q: send an optional part mapping, then parts file", part.FormName())
		}
	}
	if len(inputs) == 0 {
		return nil, badRequest("file", "the multipart body needs at least one part named file (after the mapping part, if any)")
	}
	return inputs, nil
}

// removeSpooled closes and deletes the temporary files of multipartInputs.
func removeSpooled(inputs []ingest.Input) {
	for _, in := range inputs {
		in.R.(*os.File).Close()
		os.Remove(in.Path)
	}
}

func writeTooLarge(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes; use `deskpulse import`", maxImportBody)})
}
