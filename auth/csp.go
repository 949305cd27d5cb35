package auth

// PagePolicy is the Content-Security-Policy of every response outside
// /api/: everything from deskpulse itself, nothing from other hosts, and
// scripts only from the files this server serves. It is fixed: no page
// has an inline script (the dashboards write their chart options as JSON
// data blocks that dashboards/assets/app.js reads), so the policy allows
// none, by hash, nonce or otherwise, and nothing a response carries,
// stored ticket data included, can add a script it allows. A handler may
// send a stricter policy of its own (attachments: sandbox); the gate sets
// this one first, so the handler's replaces it.
const PagePolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'; script-src 'self'"
