package api_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"mime/multipart"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportRefusesDecompressionBombOverHTTP: with import.max_inflated_bytes
// at 1 MiB, a small gzip or zip upload that inflates past it (an event,
// then newlines) answers 413 naming the file, as the body, as a multipart
// part or zipped, and stores nothing.
func TestImportRefusesDecompressionBombOverHTTP(t *testing.T) {
	e := start(t, filepath.Join(t.TempDir(), "import.duckdb"))
	e.api.SetImportMaxInflated(1 << 20)
	srv, st := e.srv, e.st

	bomb := `{"id":"z1","ticket":"Z-1","type":"created","at":"2026-02-01T09:00:00Z","actor":"x@example.com","actor_kind":"requester","subject":"ok"}` + "\n" +
		strings.Repeat("\n", 8<<20)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(bomb))
	zw.Close()
	var zipped bytes.Buffer
	za := zip.NewWriter(&zipped)
	f, _ := za.Create("bomb.ndjson")
	f.Write([]byte(bomb))
	za.Close()
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	part, _ := mw.CreateFormFile("file", "part.ndjson.gz")
	part.Write(gz.Bytes())
	mw.Close()

	for _, tc := range []struct {
		query, contentType, file string
		body                     []byte
	}{
		{"?name=bomb.ndjson.gz", "application/gzip", "bomb.ndjson.gz", gz.Bytes()},
		{"?name=bomb.zip", "application/zip", "bomb.zip", zipped.Bytes()},
		{"", mw.FormDataContentType(), "part.ndjson.gz", form.Bytes()},
	} {
		resp, err := srv.Client().Post(srv.URL+"/api/v1/import"+tc.query, tc.contentType, bytes.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		e := decodeResp(t, resp, 413)["error"].(map[string]any)
		want := tc.file + " inflates past 1048576 bytes, the limit of one import (import.max_inflated_bytes, at most 1073741824 over the API); nothing imported"
		if e["code"] != "too_large" || e["field"] != "file" || e["message"] != want {
			t.Fatalf("%s: %v, want %q", tc.file, e, want)
		}
		var n int
		if err := st.DB.QueryRow(`SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM tickets)`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s: %d rows stored (%v)", tc.file, n, err)
		}
	}
}
