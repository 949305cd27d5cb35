package reports

import (
	"context"
	"fmt"
	"html"
	"os"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/deskpulse/deskpulse/mailer"
)

// attachment is a file to attach.
type attachment struct {
	path, name, contentType string
}

// message builds the report e-mail: an HTML body (inline styles only,
// tables for layout, no scripts or images) with the KPI table and the
// change vs the previous period, a plain-text alternative, and the files
// attached.
func (s *Service) message(d *Definition, info *Info, files []attachment, messageID string) (*mail.Msg, error) {
	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := m.From(s.smtp.From); err != nil {
		return nil, fmt.Errorf("smtp.from %q: %w", s.smtp.From, err)
	}
	if err := m.To(d.Recipients...); err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	loc := info.Query.TZ
	period := periodLabel(info.Summary.Range.From, info.Summary.Range.To, loc)
	m.Subject(fmt.Sprintf("Helpdesk report %s: %s", d.Name, period))
	m.SetUserAgent("deskpulse")
	m.SetDate()
	if messageID != "" {
		m.SetMessageIDWithValue(messageID)
	} else {
		m.SetMessageID()
	}
	m.SetBodyString(mail.TypeTextPlain, textBody(d, info, files))
	m.AddAlternativeString(mail.TypeTextHTML, htmlBody(d, info, files))
	for _, f := range files {
		m.AttachFile(f.path, mail.WithFileName(f.name), mail.WithFileContentType(mail.ContentType(f.contentType)))
	}
	return m, nil
}

// send delivers m over the configured SMTP server (package mailer).
func (s *Service) send(ctx context.Context, m *mail.Msg) error { return mailer.Send(ctx, s.smtp, m) }

func textBody(d *Definition, info *Info, files []attachment) string {
	sum := info.Summary
	loc := info.Query.TZ
	var b strings.Builder
	fmt.Fprintf(&b, "Helpdesk report: %s\n", d.Name)
	fmt.Fprintf(&b, "Period: %s (%s)\n", periodLabel(sum.Range.From, sum.Range.To, loc), loc)
	fmt.Fprintf(&b, "Compared with: %s\n", periodLabel(sum.Previous.From, sum.Previous.To, loc))
	fmt.Fprintf(&b, "Tickets: %s\n\n", FilterLabel(info.Query))
	fmt.Fprintf(&b, "%-42s %14s %14s %14s\n", "KPI", "This period", "Previous", "Change")
	fmt.Fprintf(&b, "%s\n", strings.Repeat("-", 87))
	for _, k := range KPIs(sum) {
		fmt.Fprintf(&b, "%-42s %14s %14s %14s\n", k.Label, k.Kind.format(k.Cur), k.Kind.format(k.Prev), k.Kind.formatChange(k.Change()))
	}
	for _, n := range info.Notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	if len(files) > 0 {
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = f.name
		}
		fmt.Fprintf(&b, "\nAttached: %s (%s tickets, %s events).\n", strings.Join(names, ", "), thousands(info.Tickets), thousands(info.Events))
	}
	fmt.Fprintf(&b, "\nData as of %s. Sent by deskpulse.\n", sum.Range.AsOf.In(loc).Format("2006-01-02 15:04 MST"))
	return b.String()
}

// htmlBody is the HTML part. Mail clients drop <style> blocks and
// scripts, so every style is inline and the layout is tables.
func htmlBody(d *Definition, info *Info, files []attachment) string {
	sum := info.Summary
	loc := info.Query.TZ
	e := html.EscapeString
	var b strings.Builder
	font := "font-family:Segoe UI,Helvetica,Arial,sans-serif;"
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>`)
	b.WriteString(e("Helpdesk report " + d.Name))
	b.WriteString(`</title></head><body style="margin:0;padding:0;background:#f3f4f6;">`)
	fmt.Fprintf(&b, `<table role="presentation" width="100%%" cellpadding="0" cellspacing="0" style="background:#f3f4f6;"><tr><td align="center" style="padding:24px 12px;">`)
	fmt.Fprintf(&b, `<table role="presentation" width="640" cellpadding="0" cellspacing="0" style="width:640px;max-width:100%%;background:#ffffff;border:1px solid #e5e7eb;%s">`, font)
	fmt.Fprintf(&b, `<tr><td style="background:#1f3864;color:#ffffff;padding:20px 24px;%s"><div style="font-size:20px;font-weight:bold;">Helpdesk report</div><div style="font-size:14px;opacity:0.9;margin-top:4px;">%s</div></td></tr>`,
		font, e(d.Name))
	fmt.Fprintf(&b, `<tr><td style="padding:16px 24px 4px 24px;font-size:14px;color:#374151;%s"><b>%s</b> (%s)<br><span style="color:#6b7280;">compared with %s &middot; %s</span></td></tr>`,
		font, e(periodLabel(sum.Range.From, sum.Range.To, loc)), e(loc.String()), e(periodLabel(sum.Previous.From, sum.Previous.To, loc)), e(FilterLabel(info.Query)))
	b.WriteString(`<tr><td style="padding:12px 24px 8px 24px;">`)
	b.WriteString(`<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;font-size:14px;">`)
	th := `style="text-align:%s;padding:8px 6px;border-bottom:2px solid #1f3864;color:#1f3864;font-size:12px;text-transform:uppercase;` + font + `"`
	fmt.Fprintf(&b, `<tr><th `+th+`>KPI</th><th `+th+`>This period</th><th `+th+`>Previous</th><th `+th+`>Change</th></tr>`, "left", "right", "right", "right")
	for i, k := range KPIs(sum) {
		bg := "#ffffff"
		if i%2 == 1 {
			bg = "#f9fafb"
		}
		color := "#6b7280"
		switch k.Trend() {
		case 1:
			color = "#047857"
		case -1:
			color = "#b91c1c"
		}
		td := `style="padding:7px 6px;border-bottom:1px solid #e5e7eb;background:` + bg + `;` + font
		fmt.Fprintf(&b, `<tr><td %scolor:#111827;">%s</td><td %stext-align:right;font-weight:bold;color:#111827;">%s</td><td %stext-align:right;color:#6b7280;">%s</td><td %stext-align:right;color:%s;">%s</td></tr>`,
			td, e(k.Label), td, e(k.Kind.format(k.Cur)), td, e(k.Kind.format(k.Prev)), td, color, e(k.Kind.formatChange(k.Change())))
	}
	b.WriteString(`</table></td></tr>`)
	for _, n := range info.Notes {
		fmt.Fprintf(&b, `<tr><td style="padding:4px 24px;font-size:13px;color:#9c5700;%s">%s</td></tr>`, font, e(n))
	}
	if len(files) > 0 {
		names := make([]string, len(files))
		for i, f := range files {
			names[i] = e(f.name)
		}
		fmt.Fprintf(&b, `<tr><td style="padding:12px 24px;font-size:13px;color:#374151;%s">Attached: <b>%s</b> &middot; %s tickets, %s events. The workbook has every ticket and event of the period, daily series and the agent and team tables.</td></tr>`,
			font, strings.Join(names, ", "), thousands(info.Tickets), thousands(info.Events))
	}
	fmt.Fprintf(&b, `<tr><td style="padding:12px 24px 20px 24px;font-size:12px;color:#9ca3af;border-top:1px solid #e5e7eb;%s">Green is better than the previous period, red is worse. Data as of %s. Sent by deskpulse.</td></tr>`,
		font, e(sum.Range.AsOf.In(loc).Format("2006-01-02 15:04 MST")))
	b.WriteString(`</table></td></tr></table></body></html>`)
	return b.String()
}

// tempFile makes a file for an attachment; the caller removes it.
func tempFile(pattern string) (*os.File, error) { return os.CreateTemp("", pattern) }

// messageID is the scheduled run's Message-ID: the same report and
// period give the same ID, so a mail system that sees a duplicate can
// drop it.
func messageID(report string, from, to time.Time) string {
	return fmt.Sprintf("report.%s.%s.%s@deskpulse", strings.ReplaceAll(report, "@", "_"), from.UTC().Format("20060102T150405Z"), to.UTC().Format("20060102T150405Z"))
}
