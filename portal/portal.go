// Package portal is the requester side of deskpulse: the public web form
// at /support/new that opens a ticket without an account, and the secret
// status link that lets the requester follow it, reply and rate it. Every
// change goes through the single writer as the requester
// (model.ActorRequester), so the portal is just another channel ("web").
//
// Status links are unguessable random tokens; only their SHA-256 is stored
// (table portal_links), so a copy of the database does not reveal them, and
// a link can be revoked.
package portal

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/mail"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/deskpulse/deskpulse/auth"
	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
	"github.com/deskpulse/deskpulse/store"
)

//go:embed assets templates
var files embed.FS

// Limits of the web form.
const (
	maxSubject     = 200
	maxDescription = 20_000
	maxName        = 120
)

// Portal serves the public support pages.
type Portal struct {
	st  *store.Store
	w   *ingest.Writer
	dir string // attachments folder
	// KB is the knowledge base (public at /kb, managed at /api/v1/kb).
	KB *KB
	// Now is the clock (tests); default time.Now.
	Now func() time.Time

	mu      sync.Mutex
	limiter *auth.Limiter // posts per client address
	// csrf refuses cross-origin posts; see protect.
	csrf *http.CrossOriginProtection
}

// New makes the portal of a store and its writer. dbPath is the DuckDB
// file: attachments are kept in the folder "attachments" next to it (a
// temporary folder for an in-memory store).
func New(st *store.Store, w *ingest.Writer, dbPath string) *Portal {
	dir := ""
	if dbPath != "" {
		dir = filepath.Join(filepath.Dir(dbPath), "attachments")
	}
	p := &Portal{st: st, w: w, dir: dir, KB: NewKB(st), Now: time.Now, csrf: http.NewCrossOriginProtection()}
	p.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slog.Info("portal: cross-origin post refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		render(w, http.StatusForbidden, "refused.html", nil)
	}))
	p.SetRateLimit(time.Minute, 5)
	return p
}

// protect refuses posts that a browser made on behalf of another site
// (CSRF). The portal has no account or session to bind a token to, so it
// relies on what browsers say about a request's origin (Sec-Fetch-Site,
// else Origin against Host): forms keep working without JavaScript and
// without a cookie. Signed-in pages use auth's session token instead.
func (p *Portal) protect(h http.HandlerFunc) http.Handler { return p.csrf.Handler(h) }

// SetRateLimit allows each client IP a burst of posts (new tickets,
// replies, ratings), refilled one per every.
func (p *Portal) SetRateLimit(every time.Duration, burst int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limiter = auth.NewLimiter(rate.Every(every), burst)
}

// allow takes one token of the client's bucket; otherwise it says how
// many seconds to wait.
func (p *Portal) allow(r *http.Request) (bool, int) {
	p.mu.Lock()
	lim := p.limiter
	p.mu.Unlock()
	return lim.Allow(auth.ClientIP(r))
}

// Register mounts the portal's routes on mux and returns p.
func (p *Portal) Register(routes *route.Table) *Portal {
	routes.Func("GET", "/support", route.Anyone, "redirect to the web form", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/support/new", http.StatusFound)
	})
	routes.Func("GET", "/support/new", route.Anyone, "the requester web form", p.newForm)
	routes.Handle("POST", "/support/new", route.Anyone, "submit the web form (opens a ticket)", p.protect(p.create))
	routes.Handle("POST", "/support/new/left", route.Anyone, "the web form was left (self-service beacon)", p.protect(p.left))
	assets, _ := fs.Sub(files, "assets")
	routes.Handle("GET", "/static/portal/", route.Anyone, "the portal's script and styles", http.StripPrefix("/static/portal/", http.FileServerFS(assets)))
	p.registerStatus(routes)
	p.registerKB(routes)
	return p
}

// form is what the requester typed into /support/new, and the visit's
// form session (see session.go).
type form struct {
	Name, Email, Subject, Description, Category string
	Session                                     string
}

type formPage struct {
	Form        form
	Categories  []string
	Errors      map[string]string
	Notice      string
	Suggestions []suggestion
}

// newForm shows the form; a GET with a subject (the "Search help
// articles" button, or a link from the knowledge base) fills it in again
// and suggests matching articles.
func (p *Portal) newForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := form{Name: q.Get("name"), Email: q.Get("email"), Subject: strings.TrimSpace(q.Get("subject")),
		Description: q.Get("description"), Category: q.Get("category"), Session: formSession(q.Get("fs"))}
	if f.Session == "" {
		f.Session = newSession()
	}
	cats, err := p.categories(r.Context())
	if err != nil {
		slog.Warn("portal: categories", "err", err)
	}
	render(w, http.StatusOK, "new.html", formPage{Form: f, Categories: cats, Suggestions: p.suggestFor(r, f.Subject, f.Session)})
}

func (p *Portal) renderForm(w http.ResponseWriter, r *http.Request, status int, f form, errs map[string]string, notice string) {
	if f.Session == "" && r.PostForm != nil { // keep the visit's session when the post was read
		f.Session = formSession(r.PostForm.Get("fs"))
	}
	if f.Session == "" {
		f.Session = newSession()
	}
	cats, err := p.categories(r.Context())
	if err != nil {
		slog.Warn("portal: categories", "err", err)
	}
	render(w, status, "new.html", formPage{Form: f, Categories: cats, Errors: errs, Notice: notice})
}

// categories are those tickets already use, so the form offers what the
// helpdesk routes on.
func (p *Portal) categories(ctx context.Context) ([]string, error) {
	rows, err := p.st.DB.QueryContext(ctx, `SELECT DISTINCT category FROM tickets WHERE category <> '' ORDER BY category LIMIT 50`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// maxRequest bounds a form post, attachments included.
const maxRequest = 32 << 20

func (p *Portal) parse(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	err := r.ParseMultipartForm(1 << 20)
	if errors.Is(err, http.ErrNotMultipart) {
		err = nil
	}
	return err
}

func (p *Portal) create(w http.ResponseWriter, r *http.Request) {
	if ok, wait := p.allow(r); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		p.renderForm(w, r, http.StatusTooManyRequests, form{}, nil, "Too many requests from your network; please wait "+strconv.Itoa(wait)+" seconds and try again.")
		return
	}
	if err := p.parse(w, r); err != nil {
		p.renderForm(w, r, http.StatusRequestEntityTooLarge, form{}, nil, "The form could not be read (attachments too large?).")
		return
	}
	f := form{
		Name: strings.TrimSpace(r.PostFormValue("name")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Subject: strings.TrimSpace(r.PostFormValue("subject")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Category: strings.TrimSpace(r.PostFormValue("category")), Session: formSession(r.PostFormValue("fs")),
	}
	// The honeypot: people do not see the field, naive bots fill it in.
	// They get the same thanks page, without a ticket or a link.
	if r.PostFormValue("website") != "" {
		slog.Info("portal: honeypot filled, no ticket", "ip", r.RemoteAddr)
		render(w, http.StatusOK, "created.html", createdPage{})
		return
	}
	errs := p.validate(r.Context(), &f)
	uploads, uerr := p.uploads(r)
	if uerr != "" {
		errs["attachments"] = uerr
	}
	if len(errs) > 0 {
		p.renderForm(w, r, http.StatusUnprocessableEntity, f, errs, "")
		return
	}
	actor := model.Actor{Name: strings.ToLower(f.Email), Kind: model.ActorRequester}
	res, err := p.w.Do(r.Context(), &ingest.CreateTicket{
		Actor: actor, Subject: f.Subject, Description: f.Description,
		RequesterName: f.Name, RequesterEmail: actor.Name, Category: f.Category, Channel: model.ChannelWeb,
	})
	if err != nil {
		var ve *model.ValidationError
		if errors.As(err, &ve) {
			p.renderForm(w, r, http.StatusUnprocessableEntity, f, map[string]string{ve.Field: ve.Error()}, "")
			return
		}
		slog.Error("portal: create ticket", "err", err)
		p.renderForm(w, r, http.StatusInternalServerError, f, nil, "Your request could not be saved; please try again later.")
		return
	}
	t := res.Ticket
	if f.Session != "" {
		if err := p.KB.Record(r.Context(), ReaderEvent{Kind: EventSubmitted, Query: strconv.FormatInt(t.Number, 10), Session: f.Session}); err != nil {
			slog.Warn("portal: record submitted form", "err", err)
		}
	}
	if err := p.saveUploads(r.Context(), t.ID, actor.Name, uploads); err != nil {
		slog.Error("portal: attachments", "ticket", t.ID, "err", err)
	}
	token, err := p.NewLink(r.Context(), t.ID)
	if err != nil {
		slog.Error("portal: status link", "ticket", t.ID, "err", err)
	}
	// The acknowledgement e-mail (package notify) carries a link of its own.
	render(w, http.StatusCreated, "created.html", createdPage{Number: t.Number, Link: linkURL(r, token), Path: linkPath(token)})
}

type createdPage struct {
	Number     int64
	Link, Path string
}

func (p *Portal) validate(ctx context.Context, f *form) map[string]string {
	errs := map[string]string{}
	if utf8.RuneCountInString(f.Name) > maxName {
		errs["name"] = "Please shorten your name to " + strconv.Itoa(maxName) + " characters."
	}
	if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email || !strings.Contains(f.Email, ".") {
		errs["email"] = "Please enter an e-mail address like name@example.com."
	}
	switch n := utf8.RuneCountInString(f.Subject); {
	case n == 0:
		errs["subject"] = "Please say in a few words what it is about."
	case n > maxSubject:
		errs["subject"] = "Please shorten the subject to " + strconv.Itoa(maxSubject) + " characters."
	}
	switch n := utf8.RuneCountInString(f.Description); {
	case n == 0:
		errs["description"] = "Please describe your request."
	case n > maxDescription:
		errs["description"] = "Please shorten the description to " + strconv.Itoa(maxDescription) + " characters."
	}
	if f.Category != "" {
		cats, err := p.categories(ctx)
		found := false
		for _, c := range cats {
			found = found || c == f.Category
		}
		if err == nil && !found {
			errs["category"] = "Please choose one of the listed categories."
		}
	}
	return errs
}

// NewLink makes a new secret status link for a ticket and returns its
// token (shown once; only its hash is stored).
func (p *Portal) NewLink(ctx context.Context, ticketID string) (string, error) {
	return p.st.NewStatusLink(ctx, ticketID, p.Now())
}

// RevokeLinks revokes every status link of a ticket (agents' tool when a
// link leaked); the requester can revoke theirs on the status page.
func (p *Portal) RevokeLinks(ctx context.Context, ticketID string) error {
	_, err := p.st.DB.ExecContext(ctx, `UPDATE portal_links SET revoked_at = ? WHERE ticket_id = ? AND revoked_at IS NULL`, p.Now().UTC(), ticketID)
	return err
}

// ticketOf finds the ticket of a live link.
func (p *Portal) ticketOf(ctx context.Context, token string) (string, error) {
	return p.st.StatusLinkTicket(ctx, token)
}

func hashToken(token string) string { return store.HashStatusToken(token) }

func linkPath(token string) string {
	if token == "" {
		return ""
	}
	return "/support/t/" + token
}

func linkURL(r *http.Request, token string) string {
	if token == "" {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + linkPath(token)
}

var pages = map[string]*template.Template{}

func init() {
	funcs := template.FuncMap{
		"when":    func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
		"excerpt": excerpt,
		"seq": func(a, b int) []int {
			s := []int{}
			for i := a; i <= b; i++ {
				s = append(s, i)
			}
			return s
		},
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	entries, _ := files.ReadDir("templates")
	for _, e := range entries {
		if e.Name() == "layout.html" {
			continue
		}
		pages[e.Name()] = template.Must(template.Must(layout.Clone()).ParseFS(files, "templates/"+e.Name()))
	}
}

// render writes a page; templates are checked by the tests, so a failure
// here is a bug and is only logged.
func render(w http.ResponseWriter, status int, page string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages[page].ExecuteTemplate(w, "layout.html", data); err != nil {
		slog.Error("portal: render", "page", page, "err", err)
	}
}
