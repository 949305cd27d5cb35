package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
)

// basePagePolicy is the Content-Security-Policy of pages: everything from
// deskpulse itself, nothing from other hosts. Inline scripts (go-echarts
// writes each chart's options as one) are allowed one by one by their
// SHA-256 hashes, added per response by cspWriter.
const basePagePolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

// inlineScript finds the bodies of <script> elements without src.
var inlineScript = regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>(.*?)</script>`)

// cspWriter holds back an HTML response to hash its inline scripts into
// the policy header; any other content passes straight through.
type cspWriter struct {
	http.ResponseWriter
	status int
	html   bool
	buf    bytes.Buffer
}

func (w *cspWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	w.html = strings.HasPrefix(w.Header().Get("Content-Type"), "text/html")
	if !w.html {
		w.Header().Set("Content-Security-Policy", basePagePolicy+"; script-src 'self'")
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *cspWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", http.DetectContentType(p))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.html {
		return w.buf.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// Flush passes streaming through for non-HTML responses.
func (w *cspWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.html && w.status != 0 {
		f.Flush()
	}
}

func (w *cspWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends a held-back HTML response with its script hashes.
func (w *cspWriter) finish() {
	if !w.html {
		if w.status == 0 {
			w.Header().Set("Content-Security-Policy", basePagePolicy+"; script-src 'self'")
		}
		return
	}
	policy := basePagePolicy + "; script-src 'self'"
	seen := map[string]bool{}
	for _, m := range inlineScript.FindAllSubmatch(w.buf.Bytes(), -1) {
		if strings.Contains(strings.ToLower(string(m[0][:bytes.IndexByte(m[0], '>')])), " src=") || len(bytes.TrimSpace(m[1])) == 0 {
			continue
		}
		sum := sha256.Sum256(m[1])
		h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !seen[h] {
			seen[h] = true
			policy += " " + h
		}
	}
	w.Header().Set("Content-Security-Policy", policy)
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(w.status)
	w.ResponseWriter.Write(w.buf.Bytes())
}
