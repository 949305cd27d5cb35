package notify

import (
	htmltemplate "html/template"
	"slices"
	"strings"
	"text/template"

	"github.com/deskpulse/deskpulse/model"
)

// Data is what templates see.
type Data struct {
	Ticket    *model.Ticket
	StatusURL string // the requester's link to the ticket
	RatingURL string // the status page's rating form (resolved tickets)
	// RatingLinks open the rating form with a score preselected, 1 to 5.
	RatingLinks []RatingLink
	Actor       string            // who caused the event
	Body        string            // the reply or note
	Reason      string            // why a ticket was assigned (routing)
	Rule        string            // the rule that sent it, if any
	Extra       map[string]string // a rule's data: due_at, target, since
}

// RatingLink is one score's link in the resolution e-mail.
type RatingLink struct {
	Score int
	URL   string
}

// A template has a subject line and a text part (text/template) and an
// HTML part (html/template, which escapes what the ticket contains).
type tmpl struct {
	subject, text *template.Template
	html          *htmltemplate.Template
}

// layout wraps every HTML part: inline styles only, as mail clients drop
// style blocks.
const layout = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>{{template "subject" .}}</title></head>
<body style="margin:0;padding:24px;background:#f3f4f6;font-family:Segoe UI,Helvetica,Arial,sans-serif;color:#111827;">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="width:600px;max-width:100%;background:#ffffff;border:1px solid #e5e7eb;">
<tr><td style="background:#1f3864;color:#ffffff;padding:16px 24px;font-size:18px;font-weight:bold;">{{template "subject" .}}</td></tr>
<tr><td style="padding:16px 24px;font-size:14px;line-height:1.5;">{{template "content" .}}</td></tr>
<tr><td style="padding:12px 24px;font-size:12px;color:#6b7280;border-top:1px solid #e5e7eb;">Sent by deskpulse{{if .Rule}} (rule {{.Rule}}){{end}}.</td></tr>
</table></body></html>`

// sources are the templates: subject, text and HTML content.
var sources = map[string][3]string{
	"ticket_created": {
		`[#{{.Ticket.Number}}] We received your request: {{.Ticket.Subject}}`,
		"Hello{{with .Ticket.RequesterName}} {{.}}{{end}},\n\nwe received your request and it has the number #{{.Ticket.Number}}.\n\nSubject: {{.Ticket.Subject}}\nStatus: {{.Ticket.Status}}\n{{with .StatusURL}}Follow it here: {{.}}\n{{end}}\nReply to this e-mail to add to it.\n",
		`<p>Hello{{with .Ticket.RequesterName}} {{.}}{{end}},</p><p>we received your request and it has the number <b>#{{.Ticket.Number}}</b>.</p>
<p>Subject: {{.Ticket.Subject}}<br>Status: {{.Ticket.Status}}</p>{{with .StatusURL}}<p><a href="{{.}}" style="color:#1f3864;">Follow your request</a></p>{{end}}`,
	},
	"reply": {
		`[#{{.Ticket.Number}}] New reply: {{.Ticket.Subject}}`,
		"{{.Actor}} replied to your request #{{.Ticket.Number}}:\n\n{{.Body}}\n\nReply to this e-mail to answer.\n{{with .StatusURL}}Follow it here: {{.}}\n{{end}}",
		`<p>{{.Actor}} replied to your request <b>#{{.Ticket.Number}}</b>:</p><blockquote style="margin:0;padding:8px 12px;border-left:3px solid #1f3864;white-space:pre-wrap;">{{.Body}}</blockquote><p>Reply to this e-mail to answer.</p>{{with .StatusURL}}<p><a href="{{.}}" style="color:#1f3864;">Follow your request</a></p>{{end}}`,
	},
	"resolved": {
		`[#{{.Ticket.Number}}] Resolved: {{.Ticket.Subject}}`,
		"Your request #{{.Ticket.Number}} ({{.Ticket.Subject}}) is resolved.\nIf the problem persists, reply to this e-mail and it is reopened.\n{{with .StatusURL}}See the request: {{.}}\n{{end}}{{with .RatingURL}}\nHow did we do? Rate the support from 1 to 5: {{.}}\n{{end}}",
		`<p>Your request <b>#{{.Ticket.Number}}</b> ({{.Ticket.Subject}}) is resolved.</p><p>If the problem persists, reply to this e-mail and it is reopened.</p>{{with .StatusURL}}<p><a href="{{.}}" style="color:#1f3864;">See the request</a></p>{{end}}{{with .RatingURL}}<p style="margin-bottom:6px;">How did we do? Rate the support from 1 (poor) to 5 (excellent):</p>
<p>{{range $.RatingLinks}}<a href="{{.URL}}" style="display:inline-block;width:36px;padding:8px 0;margin-right:6px;text-align:center;border:1px solid #1f3864;border-radius:4px;color:#1f3864;font-weight:bold;text-decoration:none;">{{.Score}}</a>{{end}}</p>
<p style="font-size:12px;color:#6b7280;">Or open <a href="{{.}}" style="color:#6b7280;">the rating form</a>.</p>{{end}}`,
	},
	"assigned": {
		`[#{{.Ticket.Number}}] Assigned to you: {{.Ticket.Subject}}`,
		"Ticket #{{.Ticket.Number}} is assigned to you{{with .Actor}} by {{.}}{{end}}.\n\nSubject: {{.Ticket.Subject}}\nPriority: {{.Ticket.Priority}}\nTeam: {{.Ticket.Team}}\n{{with .Reason}}Why: {{.}}\n{{end}}",
		`<p>Ticket <b>#{{.Ticket.Number}}</b> is assigned to you{{with .Actor}} by {{.}}{{end}}.</p><p>Subject: {{.Ticket.Subject}}<br>Priority: {{.Ticket.Priority}}<br>Team: {{.Ticket.Team}}</p>{{with .Reason}}<p style="color:#6b7280;">Why: {{.}}</p>{{end}}`,
	},
	"mentioned": {
		`[#{{.Ticket.Number}}] {{.Actor}} mentioned you: {{.Ticket.Subject}}`,
		"{{.Actor}} mentioned you in an internal note on ticket #{{.Ticket.Number}} ({{.Ticket.Subject}}):\n\n{{.Body}}\n",
		`<p>{{.Actor}} mentioned you in an internal note on ticket <b>#{{.Ticket.Number}}</b> ({{.Ticket.Subject}}):</p><blockquote style="margin:0;padding:8px 12px;border-left:3px solid #9c5700;white-space:pre-wrap;">{{.Body}}</blockquote>`,
	},
	"escalated": {
		`[#{{.Ticket.Number}}] Escalated: {{.Ticket.Subject}}`,
		"Ticket #{{.Ticket.Number}} ({{.Ticket.Subject}}) was escalated{{with .Rule}} by rule {{.}}{{end}}.\nPriority: {{.Ticket.Priority}}, assignee: {{.Ticket.Assignee}}\n{{with index .Extra \"due_at\"}}SLA due: {{.}}\n{{end}}",
		`<p>Ticket <b>#{{.Ticket.Number}}</b> ({{.Ticket.Subject}}) was escalated{{with .Rule}} by rule {{.}}{{end}}.</p><p>Priority: {{.Ticket.Priority}}, assignee: {{.Ticket.Assignee}}</p>{{with index .Extra "due_at"}}<p>SLA due: {{.}}</p>{{end}}`,
	},
}

var templates = func() map[string]*tmpl {
	out := map[string]*tmpl{}
	for name, src := range sources {
		t := &tmpl{
			subject: template.Must(template.New(name).Option("missingkey=zero").Parse(src[0])),
			text:    template.Must(template.New(name).Option("missingkey=zero").Parse(src[1])),
			html: htmltemplate.Must(htmltemplate.Must(htmltemplate.New(name).Parse(layout)).
				New("subject").Parse(src[0])),
		}
		htmltemplate.Must(t.html.New("content").Parse(src[2]))
		out[name] = t
	}
	return out
}()

// Templates lists the template names (the e-mail action's template).
func Templates() []string {
	var out []string
	for name := range sources {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// Render makes an e-mail's subject, text part and HTML part.
func Render(name string, d *Data) (subject, text, html string, err error) {
	t := templates[name]
	if t == nil {
		return "", "", "", model.Invalid("template", "unknown e-mail template %q (one of: %s)", name, strings.Join(Templates(), ", "))
	}
	var b strings.Builder
	if err = t.subject.Execute(&b, d); err != nil {
		return
	}
	subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err = t.text.Execute(&b, d); err != nil {
		return
	}
	text = b.String()
	b.Reset()
	if err = t.html.ExecuteTemplate(&b, name, d); err != nil {
		return
	}
	return subject, text, b.String(), nil
}
