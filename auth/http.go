package auth

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

type ctxKey struct{}

// UserFrom returns the signed-in user of a request (nil when anonymous).
func UserFrom(ctx context.Context) *model.User {
	u, _ := ctx.Value(ctxKey{}).(*model.User)
	return u
}

type csrfKey struct{}

// CSRFFrom returns the CSRF token of a browser session, for pages that
// post forms (field "csrf"); "" for token-authenticated requests.
func CSRFFrom(ctx context.Context) string {
	s, _ := ctx.Value(csrfKey{}).(string)
	return s
}

// WithUser returns ctx carrying u.
func WithUser(ctx context.Context, u *model.User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

const (
	sessionCookie = "deskpulse_session"
	csrfCookie    = "deskpulse_csrf" // double-submit token of the sign-in form
)

// Gate wraps the whole server: security headers, authentication (Bearer
// token or session cookie), CSRF checks for cookie-authenticated changes,
// role checks by Policy, and per-token rate limits.
type Gate struct {
	svc *Service
	// Demo, when set and true, allows the demo sign-in (config demo.signin
	// and a loopback listener); each request must also pass the checks of
	// demoOffered.
	Demo func() bool
	// TrustedProxies may say who the client is in X-Forwarded-For.
	TrustedProxies TrustedProxies
	// Home, when set, is where a user lands: after a sign-in that names
	// no other page, and instead of a 403 when they open / without the
	// access it needs (an agent lands on the workspace's inbox).
	Home      func(*model.User) string
	perToken  *Limiter
	perSignIn *Limiter
}

// NewGate returns a gate; tokenRate is the steady requests per second
// allowed per user (burst 2x), 0 for no limit.
func NewGate(svc *Service, tokenRate float64) *Gate {
	g := &Gate{svc: svc, perSignIn: NewLimiter(rate.Every(6*time.Second), 5)}
	if tokenRate > 0 {
		g.perToken = NewLimiter(rate.Limit(tokenRate), int(2*tokenRate))
	}
	return g
}

// Routes registers the sign-in pages on mux.
func (g *Gate) Routes(routes *route.Table) {
	routes.Func("GET", "/signin", route.Anyone, "the sign-in page", g.signInPage)
	routes.Func("POST", "/signin", route.Anyone, "sign in with e-mail and token or password", g.signIn)
	routes.Func("POST", "/signin/demo", route.Anyone, "the demo sign-in (loopback, demo data only)", g.demoSignIn)
	routes.Func("POST", "/signout", route.Anyone, "sign out", g.signOut)
}

// Wrap puts the gate in front of next, which serves the routes of t: each
// request is checked against the access its route declares (a path no
// route serves needs a signed-in user, who then gets a 404).
func (g *Gate) Wrap(t *route.Table, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		} else {
			h.Set("Content-Security-Policy", PagePolicy)
		}

		// Worked out once here: the sign-in and portal limits key on it.
		r = r.WithContext(withClientIP(r.Context(), g.TrustedProxies.clientIP(r)))
		user, viaCookie, csrf, err := g.authenticate(r)
		if err == nil && user != nil {
			err = g.svc.noteRealUser(r.Context(), user) // a real user ends the demo sign-in
		}
		if err != nil && !errors.Is(err, ErrUnauthenticated) {
			slog.Error("authentication failed", "err", err)
			deny(w, r, http.StatusInternalServerError, "internal", "internal error")
			return
		}
		access, machine := route.AnyUser, strings.HasPrefix(r.URL.Path, "/api/")
		if rt, ok := t.Match(r); ok {
			access, machine = rt.Access, rt.ForMachines()
		}
		if user != nil {
			ctx := WithUser(r.Context(), user)
			if viaCookie {
				ctx = context.WithValue(ctx, csrfKey{}, csrf)
			}
			r = r.WithContext(ctx)
		}
		if access.Public {
			next.ServeHTTP(w, r)
			return
		}
		if user == nil {
			// Programs (the API, a Prometheus scrape) get a 401 to act on;
			// browsers on a page are sent to sign in.
			if machine || r.Method != http.MethodGet {
				h.Set("WWW-Authenticate", `Bearer realm="deskpulse"`)
				deny(w, r, http.StatusUnauthorized, "unauthenticated", "sign in: send Authorization: Bearer <token> (deskpulse user add prints one)")
				return
			}
			http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if viaCookie && !safeMethod(r.Method) {
			sent := r.Header.Get("X-CSRF-Token")
			if sent == "" {
				sent = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(sent), []byte(csrf)) != 1 {
				deny(w, r, http.StatusForbidden, "csrf", "missing or wrong CSRF token")
				return
			}
		}
		if !access.SignedIn && !user.Role.Can(access.Perm) {
			// A browser's / is the landing page; a token client gets the 403.
			if home := g.home(user); viaCookie && r.Method == http.MethodGet && r.URL.Path == "/" && home != "/" {
				http.Redirect(w, r, home, http.StatusSeeOther)
				return
			}
			deny(w, r, http.StatusForbidden, "forbidden", "the "+string(user.Role)+" role may not do this (needs "+string(access.Perm)+" access)")
			return
		}
		if g.perToken != nil {
			if ok, wait := g.perToken.Allow(user.Email); !ok {
				h.Set("Retry-After", strconv.Itoa(wait))
				deny(w, r, http.StatusTooManyRequests, "rate_limited", "too many requests; retry after "+strconv.Itoa(wait)+" s")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate finds the caller: a Bearer token wins over a cookie.
func (g *Gate) authenticate(r *http.Request) (user *model.User, viaCookie bool, csrf string, err error) {
	if authz := r.Header.Get("Authorization"); authz != "" {
		token, ok := strings.CutPrefix(authz, "Bearer ")
		if !ok {
			return nil, false, "", ErrUnauthenticated
		}
		u, err := g.svc.UserByToken(r.Context(), strings.TrimSpace(token))
		return u, false, "", err
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false, "", ErrUnauthenticated
	}
	sess, err := g.svc.Session(r.Context(), c.Value)
	if err != nil {
		return nil, false, "", err
	}
	return sess.User, true, sess.CSRF, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// deny answers JSON on the API and a short page elsewhere.
func deny(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "json") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTmpl.Execute(w, pageData{Title: http.StatusText(status), Error: msg})
}

// Limiter is a set of token buckets by key (a user, a client address):
// the rate limits of sign-in, API tokens and the public portal.
type Limiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

// NewLimiter allows each key a burst, refilled at every per second.
func NewLimiter(every rate.Limit, burst int) *Limiter {
	return &Limiter{every: every, burst: burst, m: map[string]*rate.Limiter{}}
}

// Allow takes one token for key; when none is left it says how many
// seconds to wait (for Retry-After).
func (l *Limiter) Allow(key string) (bool, int) {
	l.mu.Lock()
	lim := l.m[key]
	if lim == nil {
		if len(l.m) > 100_000 {
			l.m = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return false, int(d.Seconds()) + 1
	}
	return true, 0
}

//go:embed signin.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

type pageData struct {
	Title, Error, Next, CSRF, Email string
	Demo                            bool
}

func (g *Gate) signInPage(w http.ResponseWriter, r *http.Request) {
	g.renderSignIn(w, r, http.StatusOK, "", "")
}

func (g *Gate) renderSignIn(w http.ResponseWriter, r *http.Request, status int, errMsg, email string) {
	token := newSecret()
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: token, Path: "/signin", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: 3600})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTmpl.Execute(w, pageData{Title: "Sign in", Error: errMsg, Next: safeNext(r.FormValue("next")),
		CSRF: token, Email: email, Demo: g.demoOffered(r)})
}

// demoOffered says whether this request may have the demo sign-in (see
// demo.go for why each check is there).
func (g *Gate) demoOffered(r *http.Request) bool {
	if g.Demo == nil || !g.Demo() || !directLoopback(r) {
		return false
	}
	open, err := g.svc.DemoOpen(r.Context())
	if err != nil {
		slog.Error("demo sign-in", "err", err)
	}
	return open && err == nil
}

// formCSRF checks the double-submit token of the sign-in forms.
func formCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	return err == nil && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

func (g *Gate) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if ok, wait := g.perSignIn.Allow(ClientIP(r)); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		g.renderSignIn(w, r, http.StatusTooManyRequests, "Too many sign-in attempts; wait "+strconv.Itoa(wait)+" seconds.", "")
		return
	}
	if !formCSRF(r) {
		g.renderSignIn(w, r, http.StatusForbidden, "The form expired; please try again.", "")
		return
	}
	email := r.PostFormValue("email")
	cookie, sess, err := g.svc.SignIn(r.Context(), email, r.PostFormValue("secret"))
	if err != nil {
		status := http.StatusUnauthorized
		if !errors.Is(err, ErrUnauthenticated) {
			status = http.StatusInternalServerError
		}
		g.renderSignIn(w, r, status, "Wrong email, token or password.", email)
		return
	}
	g.startSession(w, r, cookie, sess)
}

func (g *Gate) demoSignIn(w http.ResponseWriter, r *http.Request) {
	if !g.demoOffered(r) || !formCSRF(r) {
		g.renderSignIn(w, r, http.StatusForbidden, "The demo sign-in is not available here.", "")
		return
	}
	u, err := g.svc.DemoUser(r.Context())
	var cookie string
	var sess *store.Session
	if err == nil {
		cookie, sess, err = g.svc.openSession(r.Context(), u, "")
	}
	if err != nil {
		slog.Error("demo sign-in", "err", err)
		g.renderSignIn(w, r, http.StatusInternalServerError, "The demo sign-in failed; see the server log.", "")
		return
	}
	g.startSession(w, r, cookie, sess)
}

// startSession sets the session cookie and goes to the page the sign-in
// was for, or the user's home when it was for none (or for /).
func (g *Gate) startSession(w http.ResponseWriter, r *http.Request, cookie string, sess *store.Session) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: cookie, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, Expires: sess.ExpiresAt})
	next := safeNext(r.PostFormValue("next"))
	if next == "/" {
		next = g.home(sess.User)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (g *Gate) home(u *model.User) string {
	if g.Home == nil || u == nil {
		return "/"
	}
	return safeNext(g.Home(u))
}

func (g *Gate) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if sess, err := g.svc.Session(r.Context(), c.Value); err == nil && subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.CSRF)) == 1 {
			g.svc.SignOut(r.Context(), c.Value)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext keeps redirects on this site: only a clean local path (and
// query) passes, anything else goes to /. Browsers drop tabs and newlines
// inside a URL and read a backslash as a slash, so "/<tab>/evil.example"
// and "/<backslash>evil.example" both mean //evil.example, another site:
// refuse every byte outside printable ASCII, every backslash and "//".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.Contains(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if next[i] <= ' ' || next[i] >= 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return template.URLQueryEscaper(s) }
