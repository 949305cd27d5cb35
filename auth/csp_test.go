package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/deskpulse/deskpulse/route"
)

// wantPagePolicy is the exact policy of every page: scripts from this
// server's files only, no inline script allowed in any way.
const wantPagePolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'; script-src 'self'"

// TestPagePolicyIgnoresResponseContent: whatever scripts a response
// carries (a stored value that closed its element and opened a script,
// or a page's own inline script), the policy the gate sends is the fixed
// one: no hash, nonce or 'unsafe-inline' derived from the content.
func TestPagePolicyIgnoresResponseContent(t *testing.T) {
	const injected = `</script><script>window.__pwned=1</script>`
	page := `<html><script src="/static/dashboards/app.js"></script><script type="application/json">{}</script>` +
		injected + `<script type="text/javascript">var chart = 1;</script></html>`
	g := &Gate{}
	for _, path := range []string{"/kb/article", "/support/new", "/signin", "/", "/dashboards/volume", "/tickets/1"} {
		rt := route.NewTable()
		rt.Func("GET", path, route.Anyone, "a page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(page))
		})
		h := g.Wrap(rt, rt)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		csp := rec.Header().Get("Content-Security-Policy")
		if csp != wantPagePolicy {
			t.Errorf("%s (%d): policy %q, want %q", path, rec.Code, csp, wantPagePolicy)
		}
		for _, bad := range []string{"sha256-", "sha384-", "sha512-", "nonce-", "unsafe-inline'; script", "unsafe-eval", "unsafe-hashes"} {
			if strings.Contains(csp, bad) {
				t.Errorf("%s: policy allows inline scripts (%s): %q", path, bad, csp)
			}
		}
		if rec.Code == http.StatusOK && rec.Body.String() != page {
			t.Errorf("%s: body changed: %q", path, rec.Body.String())
		}
	}
}

// TestHandlerPolicyIsKept: a handler that sends its own, stricter policy
// (attachments: default-src 'none'; sandbox) keeps it; the page policy
// does not replace it.
func TestHandlerPolicyIsKept(t *testing.T) {
	const sandbox = "default-src 'none'; sandbox"
	for _, ctype := range []string{"text/plain; charset=utf-8", "image/svg+xml", "text/html; charset=utf-8"} {
		rt := route.NewTable()
		rt.Func("GET", "/support/attachments/{id}", route.Anyone, "an attachment", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Security-Policy", sandbox)
			w.Write([]byte("<svg><script>alert(1)</script></svg>"))
		})
		h := (&Gate{}).Wrap(rt, rt)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/support/attachments/x", nil))
		if csp := rec.Header().Values("Content-Security-Policy"); len(csp) != 1 || csp[0] != sandbox {
			t.Errorf("%s: policy %q, want only %q", ctype, csp, sandbox)
		}
	}
}
