package portal

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/deskpulse/deskpulse/ingest"
	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/route"
)

func (p *Portal) registerStatus(routes *route.Table) {
	routes.Func("GET", "/support/t/{token}", route.Anyone, "a requester's status page (secret link)", p.statusPage)
	routes.Handle("POST", "/support/t/{token}/reply", route.Anyone, "the requester replies on the status page", p.protect(p.reply))
	routes.Handle("POST", "/support/t/{token}/rate", route.Anyone, "the requester rates the ticket", p.protect(p.rate))
	routes.Handle("POST", "/support/t/{token}/revoke", route.Anyone, "the requester revokes the status link", p.protect(p.revoke))
	p.registerAttachments(routes)
}

// entry is one line of the public conversation.
type entry struct {
	At      time.Time
	Who     string // "You" or "Support"
	Support bool
	Body    string
	Change  string // a status change, shown small
}

type statusPage struct {
	Ticket      *model.Ticket
	Path        string
	Entries     []entry
	Attachments []*Attachment
	Notice      string
	Error       string
	CanReply    bool
	CanRate     bool
	Score       int // preselected by a rating link of the resolution e-mail (?score=)
}

// conversation keeps what the requester may see: the request, public
// comments and lifecycle changes; never internal notes or who did what
// inside the team.
func conversation(t *model.Ticket, events []*model.Event) []entry {
	var out []entry
	for _, e := range events {
		mine := e.ActorKind == model.ActorRequester
		who := "Support"
		if mine {
			who = "You"
		}
		switch e.Type {
		case model.EventCreated:
			out = append(out, entry{At: e.At, Who: "You", Body: t.Description})
		case model.EventCommented:
			if e.Public == nil || !*e.Public || e.Body == nil {
				continue
			}
			out = append(out, entry{At: e.At, Who: who, Support: !mine, Body: *e.Body})
		case model.EventResolved:
			out = append(out, entry{At: e.At, Change: "Marked as resolved"})
		case model.EventReopened:
			out = append(out, entry{At: e.At, Change: "Reopened"})
		case model.EventClosed:
			out = append(out, entry{At: e.At, Change: "Closed"})
		case model.EventCSATRated:
			out = append(out, entry{At: e.At, Change: "You rated the support " + strconv.Itoa(*e.Score) + " of 5"})
		}
	}
	return out
}

func (p *Portal) statusPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	notice := map[string]string{"sent": "Your reply was added.", "rated": "Thank you for your rating."}[q.Get("done")]
	p.renderStatus(w, r, http.StatusOK, notice, "")
}

// preselected is the ?score= of a rating link (1-5), else 0. Opening the
// link only preselects: the rating is sent with the form.
func preselected(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("score"))
	if err != nil || n < 1 || n > 5 {
		return 0
	}
	return n
}

func (p *Portal) renderStatus(w http.ResponseWriter, r *http.Request, status int, notice, problem string) {
	ctx := r.Context()
	token := r.PathValue("token")
	id, err := p.ticketOf(ctx, token)
	if errors.Is(err, model.ErrNotFound) {
		render(w, http.StatusNotFound, "gone.html", nil)
		return
	}
	var t *model.Ticket
	var events []*model.Event
	var atts []*Attachment
	if err == nil {
		t, err = p.st.Ticket(ctx, id)
	}
	if err == nil {
		events, err = p.st.TicketEvents(ctx, id)
	}
	if err == nil {
		atts, err = p.attachments(ctx, id)
	}
	if err != nil {
		slog.Error("portal: status page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	render(w, status, "status.html", statusPage{
		Ticket: t, Path: linkPath(token), Entries: conversation(t, events), Attachments: atts,
		Notice: notice, Error: problem,
		CanReply: t.Status != model.StatusClosed, CanRate: !t.Status.Unresolved(), Score: preselected(r),
	})
}

// requester is the actor of the link's ticket: the requester themself.
func (p *Portal) requester(r *http.Request) (*model.Ticket, model.Actor, error) {
	id, err := p.ticketOf(r.Context(), r.PathValue("token"))
	if err != nil {
		return nil, model.Actor{}, err
	}
	t, err := p.st.Ticket(r.Context(), id)
	if err != nil {
		return nil, model.Actor{}, err
	}
	return t, model.Actor{Name: t.RequesterEmail, Kind: model.ActorRequester}, nil
}

// guard is the common start of the status page's posts: rate limit, form
// parsing and the link's ticket.
func (p *Portal) guard(w http.ResponseWriter, r *http.Request) (*model.Ticket, model.Actor, bool) {
	if ok, wait := p.allow(r); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		p.renderStatus(w, r, http.StatusTooManyRequests, "", "Too many requests from your network; please wait "+strconv.Itoa(wait)+" seconds.")
		return nil, model.Actor{}, false
	}
	if err := p.parse(w, r); err != nil {
		p.renderStatus(w, r, http.StatusRequestEntityTooLarge, "", "The form could not be read (attachments too large?).")
		return nil, model.Actor{}, false
	}
	t, actor, err := p.requester(r)
	if errors.Is(err, model.ErrNotFound) {
		render(w, http.StatusNotFound, "gone.html", nil)
		return nil, actor, false
	}
	if err != nil {
		slog.Error("portal: link", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil, actor, false
	}
	return t, actor, true
}

func (p *Portal) reply(w http.ResponseWriter, r *http.Request) {
	t, actor, ok := p.guard(w, r)
	if !ok {
		return
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	uploads, uerr := p.uploads(r)
	switch {
	case uerr != "":
		p.renderStatus(w, r, http.StatusUnprocessableEntity, "", uerr)
		return
	case body == "" && len(uploads) == 0:
		p.renderStatus(w, r, http.StatusUnprocessableEntity, "", "Please write a reply.")
		return
	case utf8.RuneCountInString(body) > maxDescription:
		p.renderStatus(w, r, http.StatusUnprocessableEntity, "", "Please shorten your reply to "+strconv.Itoa(maxDescription)+" characters.")
		return
	}
	if body == "" {
		body = "(attached files)"
	}
	if _, err := p.w.Do(r.Context(), &ingest.Comment{ID: t.ID, Actor: actor, Body: body, Public: true}); err != nil {
		p.failed(w, r, err)
		return
	}
	if err := p.saveUploads(r.Context(), t.ID, actor.Name, uploads); err != nil {
		slog.Error("portal: attachments", "ticket", t.ID, "err", err)
	}
	http.Redirect(w, r, linkPath(r.PathValue("token"))+"?done=sent", http.StatusSeeOther)
}

func (p *Portal) rate(w http.ResponseWriter, r *http.Request) {
	t, actor, ok := p.guard(w, r)
	if !ok {
		return
	}
	score, err := strconv.Atoi(r.PostFormValue("score"))
	if err != nil || score < 1 || score > 5 {
		p.renderStatus(w, r, http.StatusUnprocessableEntity, "", "Please choose a rating from 1 to 5.")
		return
	}
	comment := strings.TrimSpace(r.PostFormValue("comment"))
	if utf8.RuneCountInString(comment) > 2000 {
		p.renderStatus(w, r, http.StatusUnprocessableEntity, "", "Please shorten your comment to 2000 characters.")
		return
	}
	if _, err := p.w.Do(r.Context(), &ingest.RateCSAT{ID: t.ID, Actor: actor, Score: score, Comment: comment}); err != nil {
		p.failed(w, r, err)
		return
	}
	http.Redirect(w, r, linkPath(r.PathValue("token"))+"?done=rated", http.StatusSeeOther)
}

func (p *Portal) revoke(w http.ResponseWriter, r *http.Request) {
	_, _, ok := p.guard(w, r)
	if !ok {
		return
	}
	_, err := p.st.DB.ExecContext(r.Context(), `UPDATE portal_links SET revoked_at = ? WHERE token_hash = ?`, p.Now().UTC(), hashToken(r.PathValue("token")))
	if err != nil {
		slog.Error("portal: revoke", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	render(w, http.StatusOK, "gone.html", map[string]bool{"Revoked": true})
}

// failed shows a refused change (e.g. a reply to a closed ticket) on the
// status page.
func (p *Portal) failed(w http.ResponseWriter, r *http.Request, err error) {
	var te *model.TransitionError
	var ve *model.ValidationError
	switch {
	case errors.As(err, &te):
		p.renderStatus(w, r, http.StatusConflict, "", "This is not possible any more: the request is "+string(te.Status)+".")
	case errors.As(err, &ve):
		p.renderStatus(w, r, http.StatusUnprocessableEntity, "", ve.Error())
	default:
		slog.Error("portal: change", "err", err)
		p.renderStatus(w, r, http.StatusInternalServerError, "", "Your change could not be saved; please try again later.")
	}
}
