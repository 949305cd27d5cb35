package ingest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the demo's business hours are in Europe/Berlin on any machine

	"github.com/google/uuid"

	"github.com/deskpulse/deskpulse/model"
	"github.com/deskpulse/deskpulse/store"
)

// DemoOptions shape the demo history; zero values take the defaults.
type DemoOptions struct {
	Tickets int       // default 20000
	Days    int       // default 180
	Seed    int64     // default 1
	End     time.Time // history ends here; zero = time.Now()
}

// DemoStats says what LoadDemo stored and how long it took.
type DemoStats struct {
	Tickets, Events int
	Elapsed         time.Duration
}

func (o DemoOptions) withDefaults() DemoOptions {
	if o.Tickets <= 0 {
		o.Tickets = 20000
	}
	if o.Days <= 0 {
		o.Days = 180
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	o.End = o.End.UTC().Truncate(time.Second)
	return o
}

// LoadDemo generates a demo history with Demo and stores it: the teams and
// agents with st.BulkPeople, the events with w.BulkLoad (which numbers the
// tickets after those already stored). Loading the same seed twice into
// one store fails, since the ticket ids repeat.
func LoadDemo(ctx context.Context, st *store.Store, w *Writer, opts DemoOptions) (DemoStats, error) {
	began := time.Now()
	events, teams, agents := Demo(opts)
	if err := st.BulkPeople(ctx, teams, agents); err != nil {
		return DemoStats{}, fmt.Errorf("demo teams and agents: %w", err)
	}
	if err := w.BulkLoad(ctx, events); err != nil {
		return DemoStats{}, fmt.Errorf("demo events: %w", err)
	}
	// The mark the demo sign-in looks for (package auth).
	if err := st.SetFlag(ctx, store.FlagDemoData, fmt.Sprintf("%d events", len(events)), time.Now().UTC()); err != nil {
		return DemoStats{}, fmt.Errorf("demo flag: %w", err)
	}
	stats := DemoStats{Events: len(events)}
	for _, e := range events {
		if e.Type == model.EventCreated {
			stats.Tickets++
		}
	}
	stats.Elapsed = time.Since(began)
	return stats, nil
}

// Demo builds a deterministic (for a seed and End) realistic helpdesk
// history of opts.Tickets tickets created over opts.Days days before End:
// creation follows weekday and hour-of-day seasonality in Europe/Berlin,
// agents answer within business hours (Mon-Fri 09:00-17:00, urgent tickets
// around the clock), tickets go through pending and on-hold periods, get
// resolved, sometimes reopened, closed four days after resolution and
// rated by about 30% of requesters. Recent tickets are still open at End.
// No event is later than End. Events come in time order; ticket numbers
// are left to the loader.
func Demo(opts DemoOptions) (events []*model.Event, teams []*model.Team, agents []*model.Agent) {
	opts = opts.withDefaults()
	g := &demoGen{
		r:     rand.New(rand.NewPCG(uint64(opts.Seed), 0x6465736b70756c73)),
		loc:   demoZone(),
		end:   opts.End,
		start: opts.End.Add(-time.Duration(opts.Days) * 24 * time.Hour),
	}
	teams, agents = g.people()
	g.requesters()
	times, spikes := g.arrivals(opts.Tickets)
	g.events = make([]*model.Event, 0, opts.Tickets*14)
	for i, at := range times {
		g.ticket(at, spikes[i])
	}
	// Stable: events of a ticket at the same instant keep their order.
	slices.SortStableFunc(g.events, func(a, b *model.Event) int { return a.At.Compare(b.At) })
	return g.events, teams, agents
}

var demoZone = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
})

// ---------------------------------------------------------------------------
// Reference data.

type demoCat struct {
	name      string
	weight    float64
	types     []model.TicketType
	typeW     []float64
	prio      []float64 // low, normal, high, urgent; nil: the default mix
	subjects  []string
	solutions []string
	tags      []string // tags a new ticket may carry
}

type demoTeamDef struct {
	name, description string
	weight            float64
	internal          bool      // requested by employees rather than customers
	channels          []float64 // weights in the order of demoChannels
	cats              []demoCat
	agents            []demoAgentDef // the first is the team lead
}

type demoAgentDef struct {
	name   string
	skills []string
}

var (
	demoChannels    = []model.Channel{model.ChannelEmail, model.ChannelWeb, model.ChannelChat, model.ChannelPhone, model.ChannelAPI}
	demoDefaultPrio = []float64{19, 56, 18, 7}
	demoInc         = []model.TicketType{model.TypeIncident, model.TypeProblem}
	demoReq         = []model.TicketType{model.TypeServiceRequest, model.TypeTask}
	demoQuestion    = []model.TicketType{model.TypeQuestion, model.TypeServiceRequest}
	demoTask        = []model.TicketType{model.TypeTask, model.TypeServiceRequest}
)

var demoTeams = []demoTeamDef{
	{
		name: "Customer Support", description: "First line for customers: accounts, bugs, how-to questions and integrations.",
		weight: 32, channels: []float64{35, 30, 25, 5, 5},
		agents: []demoAgentDef{
			{"Anna Wolf", []string{"account", "bug", "escalations"}},
			{"Noah Schröder", []string{"how_to", "integrations", "api"}},
			{"Clara Neumann", []string{"account", "how_to", "french"}},
			{"Elias Schwarz", []string{"bug", "integrations", "api"}},
			{"Marie Zimmermann", []string{"how_to", "feature_request", "spanish"}},
			{"Ben Braun", []string{"data", "account", "bug"}},
		},
		cats: []demoCat{
			{name: "account", weight: 20, types: []model.TicketType{model.TypeServiceRequest, model.TypeIncident}, typeW: []float64{6, 4},
				subjects:  []string{"Cannot reset my password", "Please change the account owner email", "Two-factor codes are not accepted", "Delete my account and all my data", "Merge two user accounts", "Locked out after too many login attempts", "Invitation email never arrived"},
				solutions: []string{"I've reset the login for your account; you can sign in again with the link I just sent.", "The account owner has been changed as requested.", "I've reset your two-factor setup; you'll be asked to enrol again at the next sign-in."},
				tags:      []string{"login", "2fa"}},
			{name: "bug", weight: 24, types: demoInc, typeW: []float64{8, 2},
				subjects:  []string{"Dashboard export to CSV is empty", "Error 500 when saving a report", "Mobile app crashes on startup", "Search results miss recent items", "Scheduled reports use the wrong time zone", "Attachment upload fails above 10 MB", "Charts do not load in Safari", "Notifications are sent twice"},
				solutions: []string{"Our developers shipped a fix for this today; please reload the page and try again.", "This was a known bug and is fixed in the latest release. Please update the app.", "We found a data issue on your account and corrected it; the error should be gone now."},
				tags:      []string{"bug", "regression", "mobile"}},
			{name: "how_to", weight: 24, types: demoQuestion, typeW: []float64{9, 1}, prio: []float64{38, 54, 7, 1},
				subjects:  []string{"How do I set up SSO with Azure AD?", "How can I invite external collaborators?", "Can I schedule reports weekly?", "Where do I find my API key?", "How do I bulk import contacts from CSV?", "How can I change the language of the interface?", "Can we restrict access by IP address?"},
				solutions: []string{"Here is the step-by-step guide from our help centre; the setting is under Admin > Security.", "You can do this under Settings > Team; I've attached a short guide.", "That's possible on your plan; I've linked the help article that walks you through it."},
				tags:      []string{"documentation", "onboarding"}},
			{name: "feature_request", weight: 11, types: []model.TicketType{model.TypeQuestion, model.TypeTask}, typeW: []float64{7, 3}, prio: []float64{45, 50, 5, 0},
				subjects:  []string{"Feature request: dark mode", "Please support Slack notifications", "Request: custom fields in exports", "Allow more than five dashboards", "Feature request: audit log export"},
				solutions: []string{"Thanks for the suggestion! I've added your vote to the feature request; our product team reviews these monthly.", "Good news: this is on our roadmap for next quarter. I've linked your account to the request so you hear when it ships."},
				tags:      []string{"feature-request", "product-feedback"}},
			{name: "data", weight: 8, types: demoReq, typeW: []float64{8, 2},
				subjects:  []string{"Export all our data (GDPR request)", "Restore an accidentally deleted project", "Data import stuck at 80%", "Please delete data of a former employee"},
				solutions: []string{"The export is ready; you'll find the download link in your admin area for the next 7 days.", "I've restored the project from last night's backup.", "The import job was stuck on a malformed row; I fixed it and the import completed."},
				tags:      []string{"gdpr", "backup"}},
			{name: "integrations", weight: 13, types: []model.TicketType{model.TypeIncident, model.TypeQuestion}, typeW: []float64{6, 4},
				subjects:  []string{"Webhook deliveries are failing", "Salesforce sync creates duplicate records", "API rate limit too low for our integration", "Zapier integration keeps disconnecting", "OAuth token expires after one hour"},
				solutions: []string{"The webhook endpoint was rejecting our certificate; after your team's update deliveries succeed again.", "I've raised the rate limit for your account and documented the change.", "We fixed the sync mapping; the duplicates have been merged."},
				tags:      []string{"api", "integration"}},
		},
	},
	{
		name: "IT Service Desk", description: "Laptops, software, accounts and email for all employees.",
		weight: 28, internal: true, channels: []float64{30, 37, 15, 14, 4},
		agents: []demoAgentDef{
			{"Jonas Weber", []string{"hardware", "software", "access", "itil"}},
			{"Mia Schneider", []string{"access", "email", "windows"}},
			{"Lukas Fischer", []string{"hardware", "printing", "macos"}},
			{"Emma Wagner", []string{"software", "email", "office365"}},
			{"Leon Becker", []string{"hardware", "software", "linux"}},
			{"Sofia Hoffmann", []string{"access", "software", "sap"}},
		},
		cats: []demoCat{
			{name: "hardware", weight: 24, types: []model.TicketType{model.TypeIncident, model.TypeServiceRequest}, typeW: []float64{7, 3},
				subjects:  []string{"Laptop won't boot after update", "External monitor not detected on docking station", "Laptop battery drains within an hour", "Several keys on my keyboard are broken", "Headset microphone not working in calls", "Need a replacement charger", "Laptop fan very loud and overheating"},
				solutions: []string{"We swapped the device; your replacement is ready at the IT desk.", "A docking station firmware update fixed it; please restart once more.", "The new part has been installed and tested."},
				tags:      []string{"laptop", "peripherals"}},
			{name: "software", weight: 25, types: []model.TicketType{model.TypeIncident, model.TypeServiceRequest}, typeW: []float64{6, 4},
				subjects:  []string{"Excel crashes when opening large files", "Cannot install the approved Zoom update", "Outlook keeps asking for my password", "Request: Adobe Acrobat Pro licence", "Teams notifications not showing", "Windows update stuck at 35%", "VS Code extensions blocked by proxy"},
				solutions: []string{"I reinstalled the application remotely; it starts normally now.", "The licence is assigned to you; the software appears in the company portal within the hour.", "Clearing the cached credentials fixed the password prompts."},
				tags:      []string{"windows", "macos", "licence"}},
			{name: "access", weight: 26, types: demoReq, typeW: []float64{9, 1},
				subjects:  []string{"Need access to the Finance shared drive", "Account locked after password change", "Please grant Jira admin rights", "Lost my MFA device, need a reset", "Access to Salesforce for my new role", "Cannot log in to the HR portal", "Request VPN access for contractor"},
				solutions: []string{"Access has been granted after your manager's approval; please sign out and back in.", "Your account is unlocked and the MFA method reset.", "The permissions are in place; it can take up to 15 minutes to sync."},
				tags:      []string{"permissions", "mfa"}},
			{name: "email", weight: 14, types: []model.TicketType{model.TypeIncident, model.TypeServiceRequest}, typeW: []float64{5, 5},
				subjects:  []string{"Shared mailbox not visible in Outlook", "Emails to an external partner bounce", "Please create a distribution list for the sales team", "Suspicious phishing email received", "Calendar delegation not working"},
				solutions: []string{"The mailbox permissions were missing; it shows up in Outlook now.", "The distribution list is created and you're its owner.", "Thanks for reporting! We blocked the sender and removed the message from all mailboxes."},
				tags:      []string{"outlook", "phishing"}},
			{name: "printing", weight: 11, types: []model.TicketType{model.TypeIncident}, typeW: []float64{1}, prio: []float64{35, 55, 9, 1},
				subjects:  []string{"Printer on 3rd floor shows paper jam", "Cannot print from Mac to office printer", "Scanner sends empty PDFs", "Toner low on the reception printer"},
				solutions: []string{"The printer was serviced and prints again.", "I installed the correct driver on your Mac; test page printed fine."},
				tags:      []string{"printer"}},
		},
	},
	{
		name: "Billing", description: "Invoices, payments, refunds and subscription changes.",
		weight: 18, channels: []float64{52, 30, 5, 10, 3},
		agents: []demoAgentDef{
			{"Hannah Schulz", []string{"invoice", "refund", "sepa"}},
			{"Paul Koch", []string{"payment", "subscription"}},
			{"Lea Richter", []string{"invoice", "subscription", "french"}},
			{"Felix Klein", []string{"refund", "payment"}},
		},
		cats: []demoCat{
			{name: "invoice", weight: 30, types: []model.TicketType{model.TypeServiceRequest, model.TypeQuestion}, typeW: []float64{6, 4},
				subjects:  []string{"Invoice shows the wrong VAT number", "Need a copy of last month's invoice", "Please add our PO number to the invoice", "Our billing address has changed", "We received the same invoice twice"},
				solutions: []string{"I've issued a corrected invoice; you'll find it in your billing area.", "Attached is the copy of the invoice you asked for.", "The billing address is updated and applies from the next invoice."},
				tags:      []string{"vat", "po-number"}},
			{name: "refund", weight: 15, types: demoReq, typeW: []float64{9, 1},
				subjects:  []string{"Refund for a double charge", "Requesting a refund after cancellation", "Refund not received yet", "Charged after the trial ended"},
				solutions: []string{"The refund has been issued and should reach your account within 5-7 business days.", "We reversed the duplicate charge today."},
				tags:      []string{"chargeback"}},
			{name: "payment", weight: 25, types: []model.TicketType{model.TypeIncident, model.TypeServiceRequest}, typeW: []float64{5, 5},
				subjects:  []string{"Credit card payment declined", "Switch payment method to SEPA direct debit", "Payment reminder although we paid", "Bank transfer not matched to invoice", "Update the card on file"},
				solutions: []string{"We matched your transfer to the invoice; the reminder can be ignored.", "SEPA direct debit is active from the next billing cycle.", "The payment went through on the second attempt; nothing else to do."},
				tags:      []string{"sepa", "credit-card"}},
			{name: "subscription", weight: 30, types: []model.TicketType{model.TypeServiceRequest, model.TypeQuestion}, typeW: []float64{7, 3}, prio: []float64{25, 60, 13, 2},
				subjects:  []string{"Upgrade from Team to Business plan", "Cancel subscription at end of term", "Add 10 more seats to our plan", "Question about annual billing discount", "Downgrade our plan next month"},
				solutions: []string{"Your plan has been changed; the difference is prorated on the next invoice.", "The cancellation is confirmed for the end of your current term.", "Annual billing saves 15%; I've sent you the offer."},
				tags:      []string{"upgrade", "churn-risk"}},
		},
	},
	{
		name: "Network Ops", description: "VPN, Wi-Fi, firewall and outages across all offices.",
		weight: 10, internal: true, channels: []float64{30, 25, 10, 15, 20},
		agents: []demoAgentDef{
			{"Maximilian Krüger", []string{"outage", "firewall", "cisco"}},
			{"Laura Hartmann", []string{"vpn", "wifi", "dns"}},
			{"David Lange", []string{"firewall", "outage", "vpn"}},
		},
		cats: []demoCat{
			{name: "vpn", weight: 30, types: []model.TicketType{model.TypeIncident, model.TypeServiceRequest}, typeW: []float64{8, 2},
				subjects:  []string{"VPN disconnects every few minutes", "Cannot connect to VPN from hotel Wi-Fi", "VPN client certificate expired", "Slow VPN throughput from home office"},
				solutions: []string{"We renewed your VPN certificate; please reconnect.", "Switching you to the TCP profile fixed the disconnects."},
				tags:      []string{"remote", "vpn"}},
			{name: "wifi", weight: 20, types: []model.TicketType{model.TypeIncident}, typeW: []float64{1},
				subjects:  []string{"Wi-Fi drops in meeting room Spree", "Guest Wi-Fi password not working", "Weak Wi-Fi signal on the 4th floor"},
				solutions: []string{"We replaced the access point in that area; coverage is fine again.", "The guest Wi-Fi password rotates weekly; the new one is on the reception screen."},
				tags:      []string{"wifi"}},
			{name: "outage", weight: 14, types: demoInc, typeW: []float64{7, 3}, prio: []float64{3, 22, 45, 30},
				subjects:  []string{"Internet outage at the Hamburg office", "File server unreachable", "Website down for all users", "Intermittent packet loss on core switch", "VoIP phones not working"},
				solutions: []string{"The ISP fixed the line fault; connectivity is back to normal.", "We failed over to the standby switch and replaced the faulty module.", "Service restored; a post-incident review follows."},
				tags:      []string{"major-incident", "customer-impact"}},
			{name: "dns", weight: 10, types: []model.TicketType{model.TypeServiceRequest, model.TypeIncident}, typeW: []float64{6, 4},
				subjects:  []string{"Internal hostname does not resolve", "Please add a DNS record for a new service", "Certificate warning on the intranet"},
				solutions: []string{"The DNS record is in place; allow a few minutes for caches to expire.", "The intranet certificate was renewed."},
				tags:      []string{"dns", "certificate"}},
			{name: "firewall", weight: 26, types: demoReq, typeW: []float64{8, 2}, prio: []float64{22, 60, 15, 3},
				subjects:  []string{"Open port 443 for new vendor server", "Firewall blocks video conferencing", "Whitelist partner IP range", "Site-to-site VPN with a supplier"},
				solutions: []string{"The firewall rule is live after change approval.", "We added the partner range to the allow list."},
				tags:      []string{"change-request", "security"}},
		},
	},
	{
		name: "Onboarding", description: "Joiners, movers and leavers: accounts, equipment and training.",
		weight: 12, internal: true, channels: []float64{40, 46, 5, 5, 4},
		agents: []demoAgentDef{
			{"Lina Werner", []string{"new_hire", "offboarding", "hr"}},
			{"Tim Krause", []string{"equipment", "new_hire"}},
			{"Julia Meier", []string{"training", "offboarding", "equipment"}},
		},
		cats: []demoCat{
			{name: "new_hire", weight: 40, types: demoTask, typeW: []float64{6, 4}, prio: []float64{15, 60, 22, 3},
				subjects:  []string{"New hire starting Monday: laptop and accounts", "Onboarding for our new sales manager", "Set up accounts for two interns", "New developer needs GitHub and AWS access"},
				solutions: []string{"Laptop, accounts and badge are ready; the welcome pack is at reception.", "All accounts are set up and the credentials were sent to the manager."},
				tags:      []string{"joiner"}},
			{name: "offboarding", weight: 20, types: demoTask, typeW: []float64{9, 1},
				subjects:  []string{"Offboarding: employee leaving end of month", "Disable accounts of a departed contractor", "Collect equipment from leaving employee"},
				solutions: []string{"Accounts are disabled and the equipment was returned.", "Offboarding checklist completed; mailbox forwarded to the manager."},
				tags:      []string{"leaver"}},
			{name: "equipment", weight: 25, types: demoReq, typeW: []float64{8, 2},
				subjects:  []string{"Second monitor for a new joiner", "Order a phone for our new team lead", "Desk setup for a new hire in Berlin"},
				solutions: []string{"The equipment has been delivered to the desk.", "The phone is ordered and arrives on Thursday."},
				tags:      []string{"equipment"}},
			{name: "training", weight: 15, types: []model.TicketType{model.TypeQuestion, model.TypeTask}, typeW: []float64{6, 4}, prio: []float64{40, 55, 5, 0},
				subjects:  []string{"Security awareness training not assigned", "Tool training for a new team", "Where is the onboarding checklist?"},
				solutions: []string{"The training is assigned now; you'll find it in the learning portal.", "Here's the onboarding checklist; I've also booked an intro session."},
				tags:      []string{"training"}},
		},
	},
}

var demoFirstNames = []string{
	"Alexander", "Amelie", "Andreas", "Aylin", "Birgit", "Carlos", "Charlotte", "Chen", "Daniel", "Elena",
	"Emil", "Fatima", "Florian", "Franziska", "Georg", "Greta", "Hamid", "Helena", "Ingrid", "Isabel",
	"Jan", "Johanna", "Julian", "Katharina", "Kerstin", "Lars", "Laura", "Lena", "Marco", "Markus",
	"Martina", "Mehmet", "Nadine", "Niklas", "Olga", "Oliver", "Petra", "Priya", "Rafael", "Sabine",
	"Samuel", "Sandra", "Sebastian", "Simone", "Stefan", "Svenja", "Thomas", "Ulrike", "Valentina", "Yusuf",
}

var demoLastNames = []string{
	"Albrecht", "Bauer", "Berger", "Böhm", "Costa", "Dietrich", "Engel", "Frank", "Friedrich", "Garcia",
	"Günther", "Haas", "Hahn", "Horn", "Jung", "Kaiser", "Keller", "Kuhn", "Lehmann", "Lorenz",
	"Ludwig", "Martin", "Mayer", "Möller", "Nowak", "Otto", "Peters", "Pohl", "Roth", "Sander",
	"Schmitt", "Schulze", "Seidel", "Sommer", "Stein", "Vogel", "Vogt", "Walter", "Weiß", "Winkler",
	"Wolff", "Yilmaz", "Ziegler", "Rossi", "Kowalski", "Nguyen", "Silva", "Jensen", "Dubois", "Öztürk",
}

type demoCompany struct{ name, domain string }

var demoCompanies = []demoCompany{
	{"Nordlicht Logistik GmbH", "nordlicht-logistik.example"}, {"Brightwater Health", "brightwater-health.example"},
	{"Kestrel Analytics", "kestrel-analytics.example"}, {"Elbe Maschinenbau AG", "elbe-maschinenbau.example"},
	{"Havel Software", "havel-software.example"}, {"Bluefin Retail", "bluefin-retail.example"},
	{"Alpenblick Hotels", "alpenblick-hotels.example"}, {"Copperleaf Media", "copperleaf.example"},
	{"Rheinpark Versicherung", "rheinpark.example"}, {"Silverline Mobility", "silverline-mobility.example"},
	{"Grünwald Foods", "gruenwald-foods.example"}, {"Harborview Legal", "harborview-legal.example"},
	{"Nova Fintech", "nova-fintech.example"}, {"Ostsee Energie", "ostsee-energie.example"},
	{"Pinecrest Education", "pinecrest.example"}, {"Quartz Robotics", "quartz-robotics.example"},
	{"Lindenhof Kliniken", "lindenhof-kliniken.example"}, {"Meridian Travel", "meridian-travel.example"},
	{"Fjord Consulting", "fjord-consulting.example"}, {"Sundial Games", "sundial-games.example"},
	{"Tannenberg Bau", "tannenberg-bau.example"}, {"Vantage Pharma", "vantage-pharma.example"},
	{"Wolkenweit Cloud", "wolkenweit.example"}, {"Zephyr Apparel", "zephyr-apparel.example"},
}

var (
	demoPlans      = []string{"Starter", "Team", "Business", "Enterprise"}
	demoPlanW      = []float64{25, 35, 28, 12}
	demoSites      = []string{"Berlin", "Hamburg", "Munich", "Remote"}
	demoSiteW      = []float64{48, 20, 14, 18}
	demoDepts      = []string{"Sales", "Engineering", "Marketing", "Finance", "Operations", "HR", "Customer Success"}
	demoProducts   = []string{"Web app", "Mobile app", "API"}
	demoProductW   = []float64{65, 22, 13}
	demoOS         = []string{"Windows 11", "macOS", "Ubuntu"}
	demoOSW        = []float64{68, 27, 5}
	demoRootCauses = []string{"ISP line fault", "Hardware failure", "Configuration change", "Capacity", "Software bug", "Expired certificate"}
	demoLaterTags  = []string{"follow-up", "known-issue", "customer-impact", "documentation", "needs-vendor", "training-needed"}
)

var demoDetails = []string{
	"It started this morning and I can't continue my work.",
	"It worked fine until yesterday.",
	"Several colleagues are affected as well.",
	"I already tried restarting, without success.",
	"Not urgent, but it would be great to have this sorted this week.",
	"Please let me know if you need more information.",
	"This is the second time this month.",
	"We need this before the end of the week.",
	"Screenshot attached.",
	"Could you please have a look as soon as possible?",
}

var demoFirstReplies = []string{
	"thanks for reaching out. I'm looking into this now and will update you shortly.",
	"thank you for the details. I've picked up your ticket and I'm checking it.",
	"sorry for the trouble! I'm on it and will get back to you as soon as I know more.",
	"thanks for your message. I have what I need for now and I'm working on it.",
}

var demoFirstAsk = []string{
	"thanks for reaching out, happy to help.",
	"thank you for your message. I've picked up your ticket.",
	"sorry for the trouble, let's get this sorted.",
}

var (
	demoAskFault = []string{
		"Could you tell us which browser and version you are using?",
		"Can you confirm whether this affects other colleagues as well?",
		"Could you send the exact error message or a screenshot?",
		"Could you try again after signing out and back in and tell us if it persists?",
		"Which device and operating system are you using?",
	}
	demoAskRequest = []string{
		"Could you confirm your manager's approval?",
		"Which cost centre should we use for this?",
		"Could you send us the exact details (names, dates, account)?",
		"Please let us know a good time to reach you by phone.",
		"Should this apply to your whole team or just to you?",
	}
	demoInfoFault = []string{
		"Here is the screenshot you asked for.",
		"It happens every morning since last week; my colleagues see it too.",
		"I tried that, unfortunately it still does not work.",
		"I'm using the latest Chrome on Windows 11.",
		"Attached the log file. Let me know if you need anything else.",
		"Only me so far, my colleagues are fine.",
	}
	demoInfoRequest = []string{
		"Sure, here are the details you asked for.",
		"My manager approved it, see the forwarded email.",
		"Please use cost centre 4711.",
		"Just for me for now, thanks.",
		"You can reach me at my desk phone after 2 pm.",
		"Yes, that's correct.",
	}
	demoUpdateFault = []string{
		"Quick update: we're still working on this and expect a fix by tomorrow.",
		"We've escalated this to our second-level team and will keep you posted.",
		"The vendor has confirmed the issue and is working on a fix.",
		"Thanks, that helps. I'm testing a fix now.",
	}
	demoUpdateRequest = []string{
		"Thanks, that's all we need. I'll get this done shortly.",
		"Quick update: this is in progress and should be done tomorrow.",
		"Thanks! I've passed it on for approval and will update you.",
	}
	demoReopenFault = []string{
		"Unfortunately the problem is back since this morning.",
		"This is still not working for me.",
		"The fix helped only for a day, same error again.",
	}
	demoReopenRequest = []string{
		"Sorry, one more question about this.",
		"This doesn't look done yet, could you check again?",
		"Something is still missing, see below.",
	}
	demoSelfSolvedFault = []string{
		"Never mind, it works again now. Thanks anyway!",
		"A colleague helped me out, you can close this.",
		"Restarting fixed it, sorry for the noise.",
	}
	demoSelfSolvedRequest = []string{
		"We sorted this out internally, you can close this.",
		"No longer needed, thanks!",
		"Found the setting myself, thanks!",
	}
)

var demoRequesterNudge = []string{
	"Any update on this? It's blocking my work.",
	"Just checking that you received my request.",
	"Hello? Is anybody looking at this?",
}

var demoThanks = []string{
	"Works now, thank you!",
	"Confirmed, all good on my side.",
	"Perfect, thanks for the quick help.",
	"Yes, that fixed it. You can close the ticket.",
}

var demoNotes = []string{
	"Checked the logs, looks like the same issue as last week.",
	"Escalating to second level.",
	"Reproduced it on staging.",
	"Requester called, quite impatient. Please prioritise.",
	"Linked to the known problem; workaround sent.",
	"Asked the team lead for approval.",
	"Waiting for the vendor's answer on their case.",
}

var demoHoldNotes = []string{
	"Waiting for the vendor; their case is open.",
	"Part ordered, delivery expected next week.",
	"Waiting for the manager's approval.",
	"Change scheduled for the next maintenance window.",
}

var demoCSATComments = [5][]string{
	{"Still not really fixed.", "Nobody answered for days.", "Very disappointing support."},
	{"Took far too long.", "I had to explain everything three times.", "Solved in the end, but slow."},
	{"OK, but I had to chase you.", "Fine.", "Solution works, communication could be better."},
	{"Solved, thanks.", "Good help, took a bit longer than expected.", "Friendly and competent."},
	{"Super fast, thank you!", "Great help, problem solved.", "Excellent service as always.", "Very friendly and quick."},
}

var (
	// Score distributions (1..5): good experiences and bad ones (breached
	// SLA, reopened, slow); about a quarter of ratings are bad, which gives
	// roughly 5: 45%, 4: 30%, 3: 12%, 2: 7%, 1: 6% overall.
	demoScoreGood = []float64{2, 3.7, 9.3, 31.7, 53.3}
	demoScoreBad  = []float64{18, 17, 20, 25, 20}
	// Creation seasonality by weekday (Sunday first) and local hour.
	demoDayW         = []float64{0.10, 1.30, 1.20, 1.08, 1.02, 0.88, 0.14}
	demoHourWeekday  = []float64{0.04, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.45, 0.95, 1.45, 1.55, 1.45, 1.05, 1.2, 1.35, 1.25, 1.05, 0.7, 0.42, 0.3, 0.24, 0.18, 0.12, 0.07}
	demoHourWeekend  = []float64{0.15, 0.1, 0.08, 0.06, 0.06, 0.08, 0.15, 0.3, 0.55, 0.85, 1.0, 1.05, 1.0, 0.95, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2}
	demoASCII        = strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "ß", "ss", "é", "e")
	demoRouter       = "router"
	demoAutomation   = "automation"
	demoBusinessDay  = 8 * time.Hour
	demoCloseAfter   = 96 * time.Hour
	demoPendingLimit = 7 * 24 * time.Hour
)

// ---------------------------------------------------------------------------
// Generator state.

type demoAgent struct {
	name, first, email string
	skills             []string
}

type demoTeam struct {
	def    *demoTeamDef
	agents []*demoAgent // agents[0] is the lead
	catW   []float64
}

type demoRequester struct {
	name, first, email string
	company, plan      string
	account            string
	vip                bool
}

type demoGen struct {
	r          *rand.Rand
	loc        *time.Location
	start, end time.Time
	events     []*model.Event
	teams      []*demoTeam
	teamW      []float64
	customers  []*demoRequester
	employees  []*demoRequester
	dayCount   map[int]int
	incidents  []string // the subjects of the incident spikes
	dayAvg     float64
}

func (g *demoGen) pick(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	u := g.r.Float64() * total
	for i, w := range weights {
		u -= w
		if u < 0 {
			return i
		}
	}
	return len(weights) - 1
}

func demoOne[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func (g *demoGen) chance(p float64) bool { return g.r.Float64() < p }

// logn draws a log-normally distributed duration with the given median.
func (g *demoGen) logn(median time.Duration, sigma float64) time.Duration {
	d := time.Duration(float64(median) * math.Exp(sigma*g.r.NormFloat64()))
	return min(max(d, 30*time.Second), 120*24*time.Hour)
}

func (g *demoGen) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)+1))
}

// newID makes a UUIDv7-shaped id from at and the seeded source, so that
// ids are time-ordered like NewID's yet reproducible.
func (g *demoGen) newID(at time.Time) string {
	var u uuid.UUID
	ms := uint64(at.UnixMilli())
	binary.BigEndian.PutUint64(u[0:8], ms<<16|g.r.Uint64()&0xffff)
	binary.BigEndian.PutUint64(u[8:16], g.r.Uint64())
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}

func demoEmail(name, domain string) string {
	parts := strings.Fields(strings.ToLower(demoASCII.Replace(name)))
	return strings.Join(parts, ".") + "@" + domain
}

func (g *demoGen) people() ([]*model.Team, []*model.Agent) {
	since := g.start.AddDate(0, 0, -30).Truncate(24 * time.Hour)
	var teams []*model.Team
	var agents []*model.Agent
	for i := range demoTeams {
		def := &demoTeams[i]
		t := &demoTeam{def: def}
		for _, c := range def.cats {
			t.catW = append(t.catW, c.weight)
		}
		teams = append(teams, &model.Team{Name: def.name, Description: def.description, CreatedAt: since})
		for j, a := range def.agents {
			ag := &demoAgent{name: a.name, first: strings.Fields(a.name)[0], email: demoEmail(a.name, "deskpulse.example"), skills: a.skills}
			t.agents = append(t.agents, ag)
			skills := slices.Clone(a.skills)
			if j == 0 {
				skills = append(skills, "team-lead")
			}
			m := &model.Agent{Email: ag.email, Name: ag.name, Teams: []string{def.name}, Skills: skills,
				CreatedAt: since.Add(time.Duration(j) * 24 * time.Hour)}
			if err := m.Validate(); err != nil {
				panic("demo agent: " + err.Error())
			}
			agents = append(agents, m)
		}
		g.teams = append(g.teams, t)
		g.teamW = append(g.teamW, def.weight)
	}
	return teams, agents
}

func (g *demoGen) requesters() {
	seen := map[string]bool{}
	plans := make([]string, len(demoCompanies))
	for i := range plans {
		plans[i] = demoPlans[g.pick(demoPlanW)]
	}
	add := func(internal bool) *demoRequester {
		for {
			first, last := demoOne(g.r, demoFirstNames), demoOne(g.r, demoLastNames)
			name := first + " " + last
			req := &demoRequester{name: name, first: first}
			if internal {
				req.email = demoEmail(name, "staff.deskpulse.example")
			} else {
				c := g.r.IntN(len(demoCompanies))
				req.email = demoEmail(name, demoCompanies[c].domain)
				req.company, req.plan = demoCompanies[c].name, plans[c]
				req.account = fmt.Sprintf("ACC-%05d", 10007+c*379)
				req.vip = req.plan == "Enterprise" && g.chance(0.5)
			}
			if !seen[req.email] {
				seen[req.email] = true
				return req
			}
		}
	}
	for range 320 {
		g.customers = append(g.customers, add(false))
	}
	for range 170 {
		g.employees = append(g.employees, add(true))
	}
}

// requester picks a requester with a skew, so that some write often.
func (g *demoGen) requester(internal bool) *demoRequester {
	pool := g.customers
	if internal {
		pool = g.employees
	}
	return pool[int(float64(len(pool))*math.Pow(g.r.Float64(), 2.2))]
}

func demoDayKey(l time.Time) int {
	y, m, d := l.Date()
	return y*10000 + int(m)*100 + d
}

func demoWeekend(l time.Time) bool { return l.Weekday() == time.Saturday || l.Weekday() == time.Sunday }

// arrivals draws n creation times with weekday and hour seasonality, a mild
// upward trend, day-to-day noise and a few incident spikes, sorted.
func (g *demoGen) arrivals(n int) ([]time.Time, []int) {
	type slot struct {
		from, to time.Time
		w        float64
		spike    int // 1 + index of the incident, 0 for none
		day      int
	}
	var slots []slot
	noise := map[int]float64{}
	span := float64(g.end.Sub(g.start))
	for s := g.start.Truncate(time.Hour); s.Before(g.end); s = s.Add(time.Hour) {
		from, to := s, s.Add(time.Hour)
		if from.Before(g.start) {
			from = g.start
		}
		if to.After(g.end) {
			to = g.end
		}
		if !from.Before(to) {
			continue
		}
		l := s.In(g.loc)
		day := demoDayKey(l)
		nz, ok := noise[day]
		if !ok {
			nz = math.Exp(0.15 * g.r.NormFloat64())
			noise[day] = nz
		}
		hours := demoHourWeekday
		if demoWeekend(l) {
			hours = demoHourWeekend
		}
		trend := 0.85 + 0.3*float64(from.Sub(g.start))/span
		w := demoDayW[l.Weekday()] * hours[l.Hour()] * nz * trend * float64(to.Sub(from)) / float64(time.Hour)
		slots = append(slots, slot{from: from, to: to, w: w, day: day})
	}
	// Incident spikes: a burst of tickets over three hours on a few weekdays.
	for range max(1, len(slots)/(24*40)) {
		for try := 0; try < 50; try++ {
			k := g.r.IntN(len(slots))
			l := slots[k].from.In(g.loc)
			if demoWeekend(l) || l.Hour() < 9 || l.Hour() > 13 || k+3 > len(slots) {
				continue
			}
			_, outage := g.outage()
			g.incidents = append(g.incidents, demoOne(g.r, outage.subjects))
			for j, f := range []float64{4, 2.5, 1.5} {
				slots[k+j].w *= f
				slots[k+j].spike = len(g.incidents)
			}
			break
		}
	}
	cum := make([]float64, len(slots))
	total := 0.0
	for i, s := range slots {
		total += s.w
		cum[i] = total
	}
	type arrival struct {
		at    time.Time
		spike int
	}
	all := make([]arrival, n)
	g.dayCount = map[int]int{}
	for i := range all {
		k, _ := slices.BinarySearch(cum, g.r.Float64()*total)
		k = min(k, len(slots)-1)
		s := slots[k]
		at := s.from.Add(time.Duration(g.r.Float64() * float64(s.to.Sub(s.from)))).Truncate(time.Second)
		if at.Before(g.start) {
			at = g.start
		}
		all[i] = arrival{at, s.spike}
		g.dayCount[s.day]++
	}
	slices.SortStableFunc(all, func(a, b arrival) int { return a.at.Compare(b.at) })
	// The average weekday volume, for the workload factor of reply times.
	weekdays, sum, last := 0, 0, 0
	for _, s := range slots {
		if s.day != last && !demoWeekend(s.from.In(g.loc)) {
			weekdays++
			sum += g.dayCount[s.day]
		}
		last = s.day
	}
	g.dayAvg = float64(sum) / float64(max(weekdays, 1))
	times := make([]time.Time, n)
	spikes := make([]int, n)
	for i, a := range all {
		times[i], spikes[i] = a.at, a.spike
	}
	return times, spikes
}

// load is how busy the ticket's creation day was compared with an average
// weekday: busy days answer more slowly.
func (g *demoGen) load(created time.Time) float64 {
	l := created.In(g.loc)
	if demoWeekend(l) || g.dayAvg == 0 {
		return 1
	}
	return min(max(float64(g.dayCount[demoDayKey(l)])/g.dayAvg, 0.75), 1.8)
}

// business returns the first instant at or after t within business hours
// (Mon-Fri 09:00-17:00 in the demo zone).
func (g *demoGen) business(t time.Time) time.Time {
	for {
		l := t.In(g.loc)
		y, m, d := l.Date()
		open := time.Date(y, m, d, 9, 0, 0, 0, g.loc)
		shut := time.Date(y, m, d, 17, 0, 0, 0, g.loc)
		switch {
		case demoWeekend(l) || !l.Before(shut):
			t = time.Date(y, m, d+1, 9, 0, 0, 0, g.loc)
		case l.Before(open):
			return open
		default:
			return t
		}
	}
}

// addBusiness adds d of business time to t.
func (g *demoGen) addBusiness(t time.Time, d time.Duration) time.Time {
	t = g.business(t)
	for {
		l := t.In(g.loc)
		y, m, dd := l.Date()
		shut := time.Date(y, m, dd, 17, 0, 0, 0, g.loc)
		left := shut.Sub(t)
		if d <= left {
			return t.Add(d)
		}
		d -= left
		t = g.business(shut)
	}
}

// awake moves t into the hours people write messages: 07:00-21:00, and
// employees (and most customers) not at weekends.
func (g *demoGen) awake(t time.Time, internal bool) time.Time {
	for range 4 {
		l := t.In(g.loc)
		y, m, d := l.Date()
		morning := g.between(0, 3*time.Hour)
		switch {
		case demoWeekend(l) && (internal || g.chance(0.6)):
			days := 1
			if l.Weekday() == time.Saturday {
				days = 2
			}
			t = time.Date(y, m, d+days, 7, 0, 0, 0, g.loc).Add(morning)
		case l.Hour() < 7:
			t = time.Date(y, m, d, 7, 0, 0, 0, g.loc).Add(morning)
		case l.Hour() >= 21:
			t = time.Date(y, m, d+1, 7, 0, 0, 0, g.loc).Add(morning)
		default:
			return t
		}
	}
	return t
}

// ---------------------------------------------------------------------------
// One ticket's life.

type demoTicket struct {
	g          *demoGen
	id         string
	created    time.Time
	channel    model.Channel
	subject    string // preset for reports of an incident
	asked      bool   // the last agent reply asked the requester something
	now        time.Time
	status     model.Status
	stopped    bool
	team       *demoTeam
	cat        *demoCat
	assignee   *demoAgent
	priority   model.Priority
	typ        model.TicketType
	tags       []string
	req        *demoRequester
	breached   bool
	reopened   bool
	resolvedAt time.Time
}

// ev appends an event at at (or the ticket's latest time, if later). Once
// an event would fall after End the ticket's history stops there: ev then
// returns a throwaway event.
func (t *demoTicket) ev(typ model.EventType, at time.Time, actor string, kind model.ActorKind) *model.Event {
	at = at.UTC().Truncate(time.Second)
	if at.Before(t.now) {
		at = t.now
	}
	if t.stopped || at.After(t.g.end) {
		t.stopped = true
		return &model.Event{}
	}
	t.now = at
	e := &model.Event{ID: t.g.newID(at), Ticket: t.id, Type: typ, At: at, Actor: actor, ActorKind: kind}
	t.g.events = append(t.g.events, e)
	return e
}

func (t *demoTicket) agentReply(at time.Time, body string) {
	e := t.ev(model.EventCommented, at, t.assignee.email, model.ActorAgent)
	e.Body, e.Public = model.Ptr(body), model.Ptr(true)
	if t.status == model.StatusNew {
		t.setStatus(t.now, model.StatusOpen, t.assignee.email, model.ActorAgent)
	}
}

// requesterReply posts a public reply of the requester with the follow-ups
// ingest.Comment makes: pending goes back to open, resolved is reopened.
func (t *demoTicket) requesterReply(at time.Time, body string) {
	e := t.ev(model.EventCommented, at, t.req.email, model.ActorRequester)
	e.Body, e.Public = model.Ptr(body), model.Ptr(true)
	switch t.status {
	case model.StatusPending:
		t.setStatus(t.now, model.StatusOpen, t.req.email, model.ActorRequester)
	case model.StatusResolved:
		t.ev(model.EventReopened, t.now, t.req.email, model.ActorRequester)
		t.status = model.StatusOpen
		t.reopened = true
	}
}

func (t *demoTicket) note(at time.Time, actor *demoAgent, body string) {
	e := t.ev(model.EventCommented, at, actor.email, model.ActorAgent)
	e.Body, e.Public = model.Ptr(body), model.Ptr(false)
}

func (t *demoTicket) setStatus(at time.Time, s model.Status, actor string, kind model.ActorKind) {
	if t.status == s || !t.status.Unresolved() {
		return
	}
	e := t.ev(model.EventStatusChanged, at, actor, kind)
	e.Status = model.Ptr(s)
	t.status = s
}

func (t *demoTicket) resolve(at time.Time, actor string, kind model.ActorKind) {
	if !t.status.Unresolved() {
		return
	}
	t.ev(model.EventResolved, at, actor, kind)
	t.status = model.StatusResolved
	t.resolvedAt = t.now
}

func (t *demoTicket) addTag(at time.Time, tag string, actor *demoAgent) {
	if slices.Contains(t.tags, tag) {
		return
	}
	t.tags = append(slices.Clone(t.tags), tag)
	slices.Sort(t.tags)
	e := t.ev(model.EventTagsChanged, at, actor.email, model.ActorAgent)
	e.Tags = slices.Clone(t.tags)
}

func (t *demoTicket) sign(body string) string {
	return fmt.Sprintf("Hi %s,\n\n%s\n\nBest regards,\n%s", t.req.first, body, t.assignee.first)
}

// agentNext is when the assignee answers a message that arrived at from.
func (t *demoTicket) agentNext(from time.Time) time.Time {
	g := t.g
	switch t.priority {
	case model.PriorityUrgent:
		return from.Add(g.logn(30*time.Minute, 0.8))
	case model.PriorityHigh:
		return g.addBusiness(from, g.logn(45*time.Minute, 0.9))
	case model.PriorityNormal:
		return g.addBusiness(from, g.logn(90*time.Minute, 0.9))
	default:
		return g.addBusiness(from, g.logn(3*time.Hour, 1.0))
	}
}

// work is when the assignee has a solution, starting at from.
func (t *demoTicket) work(from time.Time) time.Time {
	g := t.g
	f := 1.0
	if t.typ == model.TypeProblem || t.typ == model.TypeTask {
		f = 1.6
	}
	switch t.priority {
	case model.PriorityUrgent:
		return from.Add(g.logn(time.Duration(f*float64(90*time.Minute)), 0.8))
	case model.PriorityHigh:
		return g.addBusiness(from, g.logn(time.Duration(f*float64(2*time.Hour)), 0.9))
	case model.PriorityNormal:
		return g.addBusiness(from, g.logn(time.Duration(f*float64(3*time.Hour)), 1.0))
	default:
		return g.addBusiness(from, g.logn(time.Duration(f*float64(5*time.Hour)), 1.0))
	}
}

// requesterNext is when the requester answers a message sent at from.
func (t *demoTicket) requesterNext(from time.Time) time.Time {
	return t.g.awake(from.Add(t.g.logn(3*time.Hour, 1.3)), t.team.def.internal)
}

func (g *demoGen) chooseAgent(team *demoTeam, cat *demoCat, not *demoAgent) *demoAgent {
	w := make([]float64, len(team.agents))
	for i, a := range team.agents {
		w[i] = 1
		if i == 0 {
			w[i] = 0.5 // the lead also routes and reviews
		}
		if slices.Contains(a.skills, cat.name) {
			w[i] *= 2.5
		}
		if a == not {
			w[i] = 0
		}
	}
	return team.agents[g.pick(w)]
}

func (g *demoGen) fields(team *demoTeam, cat *demoCat, req *demoRequester, created time.Time) map[string]string {
	switch team.def.name {
	case "IT Service Desk":
		f := map[string]string{"site": demoSites[g.pick(demoSiteW)]}
		if cat.name == "hardware" || cat.name == "software" {
			f["os"] = demoOS[g.pick(demoOSW)]
		}
		return f
	case "Network Ops":
		return map[string]string{"site": demoSites[g.pick(demoSiteW)]}
	case "Onboarding":
		start := created.In(g.loc).AddDate(0, 0, 7+g.r.IntN(21))
		return map[string]string{"department": demoOne(g.r, demoDepts), "start_date": start.Format(time.DateOnly)}
	case "Billing":
		return map[string]string{"plan": req.plan, "account_id": req.account}
	default:
		return map[string]string{"plan": req.plan, "product": demoProducts[g.pick(demoProductW)]}
	}
}

// outage is where incident spikes go.
func (g *demoGen) outage() (*demoTeam, *demoCat) {
	team := g.teams[slices.IndexFunc(g.teams, func(t *demoTeam) bool { return t.def.name == "Network Ops" })]
	return team, &team.def.cats[slices.IndexFunc(team.def.cats, func(c demoCat) bool { return c.name == "outage" })]
}

// ticket generates one ticket's history; spike > 0 says it was created
// during incident spike-1, which makes it likely a report of that outage.
func (g *demoGen) ticket(created time.Time, spike int) {
	team := g.teams[g.pick(g.teamW)]
	cat := &team.def.cats[g.pick(team.catW)]
	prioW := demoDefaultPrio
	if cat.prio != nil {
		prioW = cat.prio
	}
	subject := ""
	if spike > 0 && g.chance(0.6) {
		team, cat = g.outage()
		prioW = []float64{0, 10, 50, 40}
		subject = g.incidents[spike-1]
	}
	t := &demoTicket{
		g: g, id: g.newID(created), created: created, now: created, status: model.StatusNew, team: team, cat: cat,
		channel:  demoChannels[g.pick(team.def.channels)],
		priority: model.Priorities[g.pick(prioW)], typ: cat.types[g.pick(cat.typeW)],
		req: g.requester(team.def.internal), subject: subject,
	}
	if t.channel == model.ChannelPhone && !g.business(created).Equal(created) {
		t.channel = model.ChannelEmail // the phone line is staffed in business hours
	}
	t.assignee = g.chooseAgent(team, cat, nil)
	t.create()
	t.assign()
	rounds := []int{0, 0, 0, 0, 1, 1, 1, 1, 2, 3}[g.r.IntN(10)]
	t.firstReply(rounds > 0 && g.chance(0.9))
	if t.stopped {
		return
	}
	t.triage()
	t.converse(rounds)
	if t.stopped {
		return
	}
	t.solve()
	t.reopen()
	if t.stopped {
		return
	}
	t.wrapUp()
}

// text picks a message fitting the ticket: about a fault (incidents and
// problems) or about a request (the other types).
func (t *demoTicket) text(fault, request []string) string {
	if t.typ == model.TypeIncident || t.typ == model.TypeProblem {
		return demoOne(t.g.r, fault)
	}
	return demoOne(t.g.r, request)
}

// create adds the created event: by the requester, or by the agent who
// took the phone call.
func (t *demoTicket) create() {
	g, r := t.g, t.g.r
	if g.chance(0.35) {
		t.tags = append(t.tags, demoOne(r, t.cat.tags))
	}
	if t.req.vip {
		t.tags = append(t.tags, "vip")
	}
	slices.Sort(t.tags)
	t.tags = slices.Compact(t.tags)
	if t.tags == nil {
		t.tags = []string{}
	}
	subject := t.subject
	if subject == "" {
		subject = demoOne(r, t.cat.subjects)
	}
	detail := demoOne(r, demoDetails)
	if g.chance(0.5) {
		detail += " " + demoOne(r, demoDetails)
	}
	sign := t.req.first
	if t.req.company != "" {
		sign += "\n" + t.req.company
	}
	description := fmt.Sprintf("Hi,\n\n%s\n\n%s\n\nThanks,\n%s", subject, detail, sign)
	creator, kind := t.req.email, model.ActorRequester
	if t.channel == model.ChannelPhone {
		creator, kind = t.assignee.email, model.ActorAgent
		description = fmt.Sprintf("Phone call with %s: %s. %s", t.req.name, strings.TrimRight(subject, "?."), detail)
	}
	e := t.ev(model.EventCreated, t.created, creator, kind)
	e.Subject, e.Description = model.Ptr(subject), model.Ptr(description)
	e.RequesterName, e.RequesterEmail = model.Ptr(t.req.name), model.Ptr(t.req.email)
	e.TicketType, e.Priority, e.Category, e.Channel = model.Ptr(t.typ), model.Ptr(t.priority), model.Ptr(t.cat.name), model.Ptr(t.channel)
	e.Tags, e.Fields = slices.Clone(t.tags), g.fields(t.team, t.cat, t.req, t.created)
}

// assign routes the ticket: by the router (system), sometimes via the team
// lead or after a detour through the wrong team; phone tickets are taken
// by the agent on the call.
func (t *demoTicket) assign() {
	g, r := t.g, t.g.r
	lead := t.team.agents[0]
	routed := t.created.Add(g.between(2*time.Second, 90*time.Second))
	switch u := r.Float64(); {
	case t.channel == model.ChannelPhone:
		a := t.ev(model.EventAssigned, t.created, t.assignee.email, model.ActorAgent)
		a.Team, a.Assignee = model.Ptr(t.team.def.name), model.Ptr(t.assignee.email)
	case u < 0.04:
		wrong := g.teams[(slices.Index(g.teams, t.team)+1+r.IntN(len(g.teams)-1))%len(g.teams)]
		a := t.ev(model.EventAssigned, routed, demoRouter, model.ActorSystem)
		a.Team = model.Ptr(wrong.def.name)
		moved := g.addBusiness(t.now, g.logn(40*time.Minute, 0.8))
		t.note(moved, wrong.agents[0], "Not ours, moving it to "+t.team.def.name+".")
		a = t.ev(model.EventAssigned, moved, wrong.agents[0].email, model.ActorAgent)
		a.Team = model.Ptr(t.team.def.name)
		a = t.ev(model.EventAssigned, g.addBusiness(t.now, g.logn(20*time.Minute, 0.8)), lead.email, model.ActorAgent)
		a.Assignee = model.Ptr(t.assignee.email)
	case u < 0.68:
		a := t.ev(model.EventAssigned, routed, demoRouter, model.ActorSystem)
		a.Team, a.Assignee = model.Ptr(t.team.def.name), model.Ptr(t.assignee.email)
	default:
		a := t.ev(model.EventAssigned, routed, demoRouter, model.ActorSystem)
		a.Team = model.Ptr(t.team.def.name)
		a = t.ev(model.EventAssigned, g.addBusiness(t.now, g.logn(25*time.Minute, 0.9)), lead.email, model.ActorAgent)
		a.Assignee = model.Ptr(t.assignee.email)
	}
}

// firstReply adds the first public agent reply: within business hours
// (urgent around the clock), slower on busy days, fast on chat and phone,
// and now and then far too slow for a high or urgent ticket.
func (t *demoTicket) firstReply(ask bool) {
	g, r := t.g, t.g.r
	var first time.Time
	if t.channel == model.ChannelPhone {
		first = t.created.Add(g.between(2*time.Minute, 20*time.Minute))
	} else {
		f := g.load(t.created)
		if t.channel == model.ChannelChat {
			f *= 0.15
		}
		if (t.priority == model.PriorityHigh || t.priority == model.PriorityUrgent) && g.chance(0.12) {
			f *= 4 + 6*r.Float64()
			t.breached = true
		}
		median, sigma := 150*time.Minute, 0.9
		switch t.priority {
		case model.PriorityUrgent:
			median, sigma = 20*time.Minute, 0.8
		case model.PriorityHigh:
			median = 50 * time.Minute
		case model.PriorityLow:
			median, sigma = 5*time.Hour, 1.0
		}
		d := g.logn(time.Duration(f*float64(median)), sigma)
		if t.priority == model.PriorityUrgent {
			first = t.created.Add(d)
		} else {
			first = g.addBusiness(t.created, d)
		}
	}
	if earliest := t.now.Add(g.between(time.Minute, 10*time.Minute)); first.Before(earliest) {
		first = earliest
	}
	if first.Sub(t.created) > 20*time.Hour && g.chance(0.3) {
		nudge := g.awake(t.created.Add(first.Sub(t.created)/2), t.team.def.internal)
		if nudge.After(t.now) && nudge.Before(first) {
			t.requesterReply(nudge, demoOne(r, demoRequesterNudge))
		}
	}
	if g.chance(0.12) {
		t.note(first.Add(-g.between(0, 20*time.Minute)), t.assignee, demoOne(r, demoNotes))
	}
	body := demoOne(r, demoFirstReplies)
	if ask {
		body = demoOne(r, demoFirstAsk) + " " + t.text(demoAskFault, demoAskRequest)
	}
	t.agentReply(first, t.sign(body))
	t.asked = ask
}

// triage adds the corrections after the first look: priority, category,
// type and tags.
func (t *demoTicket) triage() {
	g, r := t.g, t.g.r
	switch u := r.Float64(); {
	case u < 0.06 && t.priority != model.PriorityUrgent:
		at := t.now.Add(g.between(time.Minute, 2*time.Hour))
		t.priority = model.Priorities[t.priority.Rank()]
		t.ev(model.EventPriorityChanged, at, t.assignee.email, model.ActorAgent).Priority = model.Ptr(t.priority)
		t.addTag(t.now, "escalated", t.assignee)
	case u < 0.09 && t.priority != model.PriorityLow:
		t.priority = model.Priorities[t.priority.Rank()-2]
		t.ev(model.EventPriorityChanged, t.now.Add(g.between(time.Minute, 30*time.Minute)), t.assignee.email, model.ActorAgent).Priority = model.Ptr(t.priority)
	}
	if cats := t.team.def.cats; g.chance(0.03) && len(cats) > 1 {
		i := slices.IndexFunc(cats, func(c demoCat) bool { return c.name == t.cat.name })
		t.cat = &cats[(i+1+r.IntN(len(cats)-1))%len(cats)]
		t.ev(model.EventCategoryChanged, t.now.Add(g.between(time.Minute, time.Hour)), t.assignee.email, model.ActorAgent).Category = model.Ptr(t.cat.name)
	}
	if g.chance(0.02) && t.typ == model.TypeQuestion {
		t.typ = model.TypeIncident
		t.ev(model.EventFieldsChanged, t.now.Add(g.between(time.Minute, time.Hour)), t.assignee.email, model.ActorAgent).TicketType = model.Ptr(t.typ)
	}
	if g.chance(0.08) {
		t.addTag(t.now.Add(g.between(time.Minute, 3*time.Hour)), demoOne(r, demoLaterTags), t.assignee)
	}
}

// converse adds rounds of questions and answers, pending while the
// requester is asked, and now and then an on-hold period for a third party.
func (t *demoTicket) converse(rounds int) {
	g, r := t.g, t.g.r
	holdP := 0.05
	switch t.team.def.name {
	case "Network Ops":
		holdP = 0.16
	case "IT Service Desk", "Onboarding":
		holdP = 0.09
	}
	hold := -1
	if g.chance(holdP) {
		hold = r.IntN(rounds + 1)
	}
	for i := 0; i <= rounds && !t.stopped; i++ {
		if i < rounds {
			if t.asked && g.chance(0.85) {
				t.setStatus(t.now, model.StatusPending, t.assignee.email, model.ActorAgent)
			}
			t.requesterReply(t.requesterNext(t.now), t.text(demoInfoFault, demoInfoRequest))
			if g.chance(0.2) {
				t.note(t.agentNext(t.now), t.assignee, demoOne(r, demoNotes))
			}
			if g.chance(0.03) && len(t.team.agents) > 1 {
				t.assignee = g.chooseAgent(t.team, t.cat, t.assignee)
				a := t.ev(model.EventAssigned, g.addBusiness(t.now, g.logn(30*time.Minute, 0.8)), t.team.agents[0].email, model.ActorAgent)
				a.Assignee = model.Ptr(t.assignee.email)
			}
			t.asked = i+1 < rounds && g.chance(0.9)
			body := t.text(demoUpdateFault, demoUpdateRequest)
			if t.asked {
				body = t.text(demoAskFault, demoAskRequest)
			}
			t.agentReply(t.agentNext(t.now), t.sign(body))
		}
		if i == hold {
			t.note(t.now.Add(g.between(0, 10*time.Minute)), t.assignee, demoOne(r, demoHoldNotes))
			t.setStatus(t.now, model.StatusOnHold, t.assignee.email, model.ActorAgent)
			if t.team.def.name == "Network Ops" || g.chance(0.3) {
				t.addTag(t.now, "needs-vendor", t.assignee)
			}
			wait := g.logn(2*demoBusinessDay, 0.8)
			if g.chance(0.08) {
				wait = g.logn(20*demoBusinessDay, 0.6) // stuck for weeks
			}
			back := g.addBusiness(t.now, wait)
			t.setStatus(back, model.StatusOpen, t.assignee.email, model.ActorAgent)
			t.agentReply(back.Add(g.between(time.Minute, 15*time.Minute)), t.sign(t.text(demoUpdateFault, demoUpdateRequest)))
			t.asked = false
		}
	}
}

// reopen lets some requesters reply to the resolution before the
// automatic close, which reopens the ticket; it is then solved again.
func (t *demoTicket) reopen() {
	g := t.g
	if t.stopped || !g.chance(0.085) {
		return
	}
	at := g.awake(t.resolvedAt.Add(g.logn(18*time.Hour, 1.0)), t.team.def.internal)
	if !at.Before(t.resolvedAt.Add(demoCloseAfter - time.Hour)) {
		at = t.resolvedAt.Add(g.between(time.Hour, 80*time.Hour))
	}
	t.requesterReply(at, t.text(demoReopenFault, demoReopenRequest))
	if g.chance(0.3) {
		t.agentReply(t.agentNext(t.now), t.sign(t.text(demoAskFault, demoAskRequest)))
		t.setStatus(t.now, model.StatusPending, t.assignee.email, model.ActorAgent)
		t.requesterReply(t.requesterNext(t.now), t.text(demoInfoFault, demoInfoRequest))
	}
	t.solve()
}

// wrapUp closes the ticket by automation four days after the resolution;
// about 30% of requesters rate it, before or after the close.
func (t *demoTicket) wrapUp() {
	g, r := t.g, t.g.r
	closeAt := t.resolvedAt.Add(demoCloseAfter).Truncate(time.Hour).Add(time.Hour + g.between(0, 5*time.Minute))
	var rateAt time.Time
	if g.chance(0.30) {
		rateAt = g.awake(t.resolvedAt.Add(g.logn(5*time.Hour, 1.3)), t.team.def.internal)
	}
	rate := func() {
		bad := t.breached || t.reopened || t.resolvedAt.Sub(t.created) > 7*24*time.Hour
		w := demoScoreGood
		if bad {
			w = demoScoreBad
		}
		score := 1 + g.pick(w)
		e := t.ev(model.EventCSATRated, rateAt, t.req.email, model.ActorRequester)
		e.Score = model.Ptr(score)
		if g.chance(0.55) {
			e.Comment = model.Ptr(demoOne(r, demoCSATComments[score-1]))
		}
	}
	if !rateAt.IsZero() && rateAt.Before(closeAt) {
		rate()
	}
	t.ev(model.EventClosed, closeAt, demoAutomation, model.ActorSystem)
	t.status = model.StatusClosed
	if !rateAt.IsZero() && !rateAt.Before(closeAt) {
		rate()
	}
}

// solve ends the work on a ticket: a solution and a resolution, sometimes
// with the requester's confirmation, sometimes resolved by automation after
// the requester stayed silent, sometimes solved by the requester.
func (t *demoTicket) solve() {
	g, r := t.g, t.g.r
	solution := t.sign(demoOne(r, t.cat.solutions) + "\n\nI'm marking this ticket as solved; just reply if anything is still not right.")
	switch u := r.Float64(); {
	case u < 0.55:
		t.agentReply(t.work(t.now), solution)
		t.rootCause()
		t.resolve(t.now.Add(g.between(0, 3*time.Minute)), t.assignee.email, model.ActorAgent)
	case u < 0.80:
		t.agentReply(t.work(t.now), t.sign(demoOne(r, t.cat.solutions)+"\n\nCould you confirm that it works for you?"))
		t.setStatus(t.now, model.StatusPending, t.assignee.email, model.ActorAgent)
		t.requesterReply(t.requesterNext(t.now), demoOne(r, demoThanks))
		t.rootCause()
		t.resolve(g.addBusiness(t.now, g.logn(40*time.Minute, 0.8)), t.assignee.email, model.ActorAgent)
	case u < 0.87:
		t.agentReply(t.work(t.now), t.sign(demoOne(r, t.cat.solutions)+"\n\nCould you confirm that it works for you?"))
		t.setStatus(t.now, model.StatusPending, t.assignee.email, model.ActorAgent)
		pendingSince := t.now
		t.agentReply(g.addBusiness(t.now, 3*demoBusinessDay), t.sign("Just following up: did our last suggestion help? If we don't hear back, this ticket will be solved automatically in a few days."))
		t.resolve(pendingSince.Add(demoPendingLimit).Truncate(time.Hour).Add(time.Hour), demoAutomation, model.ActorSystem)
	default:
		t.requesterReply(t.requesterNext(t.now), t.text(demoSelfSolvedFault, demoSelfSolvedRequest))
		at := t.agentNext(t.now)
		if g.chance(0.5) {
			t.agentReply(at, t.sign("Great to hear, thanks for letting us know!"))
		}
		t.resolve(at, t.assignee.email, model.ActorAgent)
	}
}

// rootCause records a root cause on some resolved network incidents.
func (t *demoTicket) rootCause() {
	if t.team.def.name == "Network Ops" && (t.typ == model.TypeIncident || t.typ == model.TypeProblem) && t.g.chance(0.4) {
		e := t.ev(model.EventFieldsChanged, t.now, t.assignee.email, model.ActorAgent)
		e.Fields = map[string]string{"root_cause": demoOne(t.g.r, demoRootCauses)}
	}
}
