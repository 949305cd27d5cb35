package portal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// demoArticles are the demo knowledge base: answers to the demo history's
// most frequent requests, each with the questions requesters ask (the
// suggestions and searches of the demo reader events).
var demoArticles = []struct {
	title, category, body string
	tags, asks            []string
}{
	{"Reset your password", "account",
		"If you forgot your password:\n\n1. Open the sign-in page and choose **Forgot password**.\n2. Enter your work e-mail address.\n3. Follow the link in the e-mail within 30 minutes.\n\nStill locked out after too many attempts? Wait 15 minutes, or ask support to unlock the account.",
		[]string{"login", "password"}, []string{"Cannot reset my password", "Locked out after too many login attempts", "forgot password"}},
	{"Set up two-factor authentication again", "account",
		"Lost your phone or getting *invalid code*?\n\n- Check that your phone's clock is set automatically: codes depend on the time.\n- Use one of your backup codes to sign in, then enrol the new device under **Profile > Security**.\n\nWithout backup codes, support can reset two-factor for you after checking your identity.",
		[]string{"2fa", "mfa"}, []string{"Two-factor codes are not accepted", "Lost my MFA device, need a reset", "2fa codes"}},
	{"Connect to the VPN from home or a hotel", "network",
		"1. Start the VPN client and sign in with your work account.\n2. On hotel or guest Wi-Fi, open any web page first to accept the Wi-Fi's terms.\n3. If the client says *certificate expired*, run **Renew certificate** from its menu.\n\nDisconnects every few minutes usually mean a weak Wi-Fi signal: try a cable or move closer to the router.",
		[]string{"vpn", "remote"}, []string{"VPN disconnects every few minutes", "Cannot connect to VPN from hotel Wi-Fi", "VPN client certificate expired", "vpn"}},
	{"Print from a Mac to the office printers", "printing",
		"Add the printer under **System Settings > Printers & Scanners**, choose *IP*, and enter the printer's name from its label (for example `print-3f.office.local`). Use the *Generic PostScript* driver.\n\nPaper jam on the 3rd floor? Open tray 2 and the back door; the display shows where the sheet is.",
		[]string{"printer", "mac"}, []string{"Cannot print from Mac to office printer", "Printer on 3rd floor shows paper jam", "printer"}},
	{"Get a copy of an invoice or change billing details", "billing",
		"All invoices are under **Settings > Billing > Invoices**: download any month as PDF.\n\nTo change the billing address, VAT number or PO number, edit **Billing details**; the next invoice uses them. Ask support if an issued invoice must be corrected.",
		[]string{"invoice", "billing"}, []string{"Need a copy of last month's invoice", "Invoice shows the wrong VAT number", "Our billing address has changed", "invoice"}},
	{"Schedule a weekly report", "how_to",
		"Open the report, choose **Schedule**, pick the day and time and the recipients. Reports are sent in the time zone of your profile: check it under **Profile > Language and time zone** if they arrive at the wrong hour.",
		[]string{"reports", "schedule"}, []string{"Can I schedule reports weekly?", "Scheduled reports use the wrong time zone", "schedule report"}},
	{"Find your API key", "how_to",
		"Administrators find API keys under **Admin > Integrations > API keys**. Create one key per integration so that you can revoke one without breaking the others. Keys are shown once: store them in your password manager.",
		[]string{"api"}, []string{"Where do I find my API key?", "API rate limit too low for our integration", "api key"}},
	{"Outlook keeps asking for your password", "software",
		"1. Quit Outlook.\n2. Open **Credential Manager** and remove the entries that start with `MicrosoftOffice`.\n3. Start Outlook and sign in once.\n\nIf the prompt comes back, your password may have just changed: sign out of Office everywhere and in again.",
		[]string{"outlook", "email"}, []string{"Outlook keeps asking for my password", "Shared mailbox not visible in Outlook", "outlook password"}},
}

// demoMissing are searches the demo knowledge base has no answer for: the
// "most missing" list of the self-service figures.
var demoMissing = []string{"dark mode", "export audit log", "change company name", "delete workspace", "slack notifications"}

// SeedDemo writes the demo knowledge base, unless the store has articles:
// the articles above, published days before end, and reader events over
// those days, so that the self-service figures and the overview's panel
// show something: searches (some finding nothing), article views and votes,
// and web-form visits that saw suggestions and became a ticket, were left,
// or were left after reading an article (deflected).
func SeedDemo(ctx context.Context, kb *KB, end time.Time, days int, seed int64) error {
	var n int
	if err := kb.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM kb_articles`).Scan(&n); err != nil || n > 0 {
		return err
	}
	start := end.AddDate(0, 0, -days)
	now := kb.Now
	kb.Now = func() time.Time { return start }
	defer func() { kb.Now = now }()
	ids := make([]string, len(demoArticles))
	for i, d := range demoArticles {
		a := &Article{Title: d.title, Body: d.body, Category: d.category, Tags: d.tags, Status: Published, Author: "demo"}
		if err := kb.Create(ctx, a); err != nil {
			return fmt.Errorf("demo article %q: %w", d.title, err)
		}
		ids[i] = a.ID
	}

	tx, err := kb.st.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO kb_events (article_id, kind, helpful, query, session, occurred_at) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	r := rand.New(rand.NewPCG(uint64(seed), 0x6b62))
	var at time.Time
	add := func(article, kind string, helpful *bool, query, session string) error {
		at = at.Add(time.Duration(5+r.IntN(90)) * time.Second)
		_, err := ins.ExecContext(ctx, article, kind, helpful, query, session, at.UTC())
		return err
	}
	vote := func(article string) error {
		if r.Float64() < 0.55 {
			helpful := r.Float64() < 0.75
			return add(article, EventVote, &helpful, "", "")
		}
		return nil
	}
	session := 0
	for d := range days {
		day := start.AddDate(0, 0, d)
		weekend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
		visits, searches := 2+r.IntN(5), 3+r.IntN(8)
		if weekend {
			visits, searches = r.IntN(2), r.IntN(3)
		}
		for range searches {
			at = day.Add(time.Duration(7*60+r.IntN(11*60)) * time.Minute)
			if r.Float64() < 0.15 {
				if err := add("", EventNoResults, nil, demoMissing[r.IntN(len(demoMissing))], ""); err != nil {
					return err
				}
				continue
			}
			i := r.IntN(len(demoArticles))
			q := demoArticles[i].asks[len(demoArticles[i].asks)-1]
			if err := add("", EventSearch, nil, q, ""); err != nil {
				return err
			}
			if r.Float64() < 0.7 {
				if err := add(ids[i], EventView, nil, "search:"+q, ""); err != nil {
					return err
				}
				if err := vote(ids[i]); err != nil {
					return err
				}
			}
		}
		for range visits {
			session++
			sid := fmt.Sprintf("demo-%06d", session)
			at = day.Add(time.Duration(7*60+r.IntN(11*60)) * time.Minute)
			i := r.IntN(len(demoArticles))
			subject := demoArticles[i].asks[r.IntN(len(demoArticles[i].asks)-1)]
			if err := add(ids[i], EventSuggested, nil, subject, sid); err != nil {
				return err
			}
			switch p := r.Float64(); {
			case p < 0.35: // read the suggestion and went away: a ticket avoided
				if err := add(ids[i], EventView, nil, "suggest:"+subject, sid); err != nil {
					return err
				}
				if err := vote(ids[i]); err != nil {
					return err
				}
				if err := add("", EventLeft, nil, "", sid); err != nil {
					return err
				}
			case p < 0.55: // left without reading
				if err := add("", EventLeft, nil, "", sid); err != nil {
					return err
				}
			default: // asked anyway
				if err := add("", EventSubmitted, nil, "", sid); err != nil {
					return err
				}
			}
		}
	}
	return tx.Commit()
}
