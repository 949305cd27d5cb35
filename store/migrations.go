package store

import (
	"context"
	"fmt"
)

// migrations is the schema history, applied in order; append only, never
// edit a released entry. Version i+1 is migrations[i].
var migrations = []string{
	// 1: events (the truth) and the tickets projection.
	`CREATE TABLE events (
		seq             BIGINT NOT NULL,
		event_id        VARCHAR NOT NULL,
		ticket_id       VARCHAR NOT NULL,
		type            VARCHAR NOT NULL,
		occurred_at     TIMESTAMPTZ NOT NULL,
		actor           VARCHAR NOT NULL,
		actor_kind      VARCHAR NOT NULL,
		number          BIGINT,
		subject         VARCHAR,
		description     VARCHAR,
		requester_name  VARCHAR,
		requester_email VARCHAR,
		ticket_type     VARCHAR,
		priority        VARCHAR,
		category        VARCHAR,
		channel         VARCHAR,
		tags            VARCHAR[],
		fields          MAP(VARCHAR, VARCHAR),
		team            VARCHAR,
		assignee        VARCHAR,
		status          VARCHAR,
		public          BOOLEAN,
		body            VARCHAR,
		score           INTEGER,
		comment         VARCHAR
	);
	CREATE TABLE tickets (
		id                VARCHAR PRIMARY KEY,
		number            BIGINT NOT NULL,
		subject           VARCHAR NOT NULL,
		description       VARCHAR NOT NULL,
		requester_name    VARCHAR NOT NULL,
		requester_email   VARCHAR NOT NULL,
		type              VARCHAR NOT NULL,
		category          VARCHAR NOT NULL,
		tags              VARCHAR[] NOT NULL,
		priority          VARCHAR NOT NULL,
		status            VARCHAR NOT NULL,
		channel           VARCHAR NOT NULL,
		team              VARCHAR NOT NULL,
		assignee          VARCHAR NOT NULL,
		fields            MAP(VARCHAR, VARCHAR) NOT NULL,
		created_at        TIMESTAMPTZ NOT NULL,
		updated_at        TIMESTAMPTZ NOT NULL,
		first_response_at TIMESTAMPTZ,
		resolved_at       TIMESTAMPTZ,
		closed_at         TIMESTAMPTZ,
		csat_score        INTEGER,
		csat_comment      VARCHAR NOT NULL,
		reopens           INTEGER NOT NULL,
		agent_replies     INTEGER NOT NULL
	);`,
	// 2: the people and teams that work tickets.
	`CREATE TABLE teams (
		name        VARCHAR PRIMARY KEY,
		description VARCHAR NOT NULL DEFAULT '',
		created_at  TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE agents (
		email      VARCHAR PRIMARY KEY,
		name       VARCHAR NOT NULL,
		teams      VARCHAR[] NOT NULL,
		skills     VARCHAR[] NOT NULL,
		created_at TIMESTAMPTZ NOT NULL
	);`,
	// 3: who may sign in (users, hashed API tokens, browser sessions) and the
	// audit trail of administrative changes.
	`CREATE TABLE users (
		email         VARCHAR PRIMARY KEY,
		name          VARCHAR NOT NULL,
		role          VARCHAR NOT NULL,
		password_hash VARCHAR NOT NULL DEFAULT '',
		created_at    TIMESTAMPTZ NOT NULL,
		disabled_at   TIMESTAMPTZ
	);
	CREATE TABLE tokens (
		hash       VARCHAR PRIMARY KEY,
		prefix     VARCHAR NOT NULL,
		user_email VARCHAR NOT NULL,
		label      VARCHAR NOT NULL DEFAULT '',
		created_at TIMESTAMPTZ NOT NULL,
		revoked_at TIMESTAMPTZ
	);
	CREATE TABLE sessions (
		hash       VARCHAR PRIMARY KEY,
		user_email VARCHAR NOT NULL,
		csrf       VARCHAR NOT NULL,
		created_at TIMESTAMPTZ NOT NULL,
		expires_at TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE audit (
		id          VARCHAR NOT NULL,
		occurred_at TIMESTAMPTZ NOT NULL,
		actor       VARCHAR NOT NULL,
		action      VARCHAR NOT NULL,
		target      VARCHAR NOT NULL,
		detail      VARCHAR NOT NULL DEFAULT ''
	);`,
	// 4: scheduled report runs (package reports): one row per run, and per
	// scheduled report the instant the scheduler first saw it, so that a
	// restart runs the fires it missed but never a period twice.
	`CREATE TABLE report_runs (
		id           VARCHAR PRIMARY KEY,
		report       VARCHAR NOT NULL,
		trigger      VARCHAR NOT NULL,
		period       VARCHAR NOT NULL,
		period_from  TIMESTAMPTZ NOT NULL,
		period_to    TIMESTAMPTZ NOT NULL,
		timezone     VARCHAR NOT NULL,
		scheduled_at TIMESTAMPTZ,
		started_at   TIMESTAMPTZ NOT NULL,
		finished_at  TIMESTAMPTZ,
		status       VARCHAR NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		error        VARCHAR NOT NULL DEFAULT '',
		recipients   VARCHAR[] NOT NULL,
		formats      VARCHAR[] NOT NULL
	);
	CREATE TABLE report_schedules (
		report   VARCHAR PRIMARY KEY,
		armed_at TIMESTAMPTZ NOT NULL
	);`,
	// 5: workflow automation (package automation): the rules (config ones
	// seeded once, then managed over the API; deleted ones kept so they are
	// not seeded again), the condition episodes time and SLA rules acted on
	// (so a rule acts once per episode, across restarts) and the engine's
	// cursor over the events.
	`CREATE TABLE automation_rules (
		id         VARCHAR PRIMARY KEY,
		name       VARCHAR NOT NULL,
		position   INTEGER NOT NULL,
		source     VARCHAR NOT NULL,
		definition VARCHAR NOT NULL,
		created_at TIMESTAMPTZ NOT NULL,
		updated_at TIMESTAMPTZ NOT NULL,
		deleted_at TIMESTAMPTZ
	);
	CREATE TABLE automation_episodes (
		rule_id   VARCHAR NOT NULL,
		ticket_id VARCHAR NOT NULL,
		episode   VARCHAR NOT NULL,
		acted_at  TIMESTAMPTZ NOT NULL,
		PRIMARY KEY (rule_id, ticket_id, episode)
	);
	CREATE TABLE automation_state (
		key   VARCHAR PRIMARY KEY,
		value VARCHAR NOT NULL
	);`,
	// 6: auto-assignment (package automation): agents' availability and
	// optional calendar, and per team the agent round-robin gave the last
	// ticket to.
	`ALTER TABLE agents ADD COLUMN availability VARCHAR DEFAULT 'available';
	ALTER TABLE agents ADD COLUMN calendar VARCHAR DEFAULT '';
	CREATE TABLE routing_state (
		team       VARCHAR PRIMARY KEY,
		last_agent VARCHAR NOT NULL,
		updated_at TIMESTAMPTZ NOT NULL
	);`,
	// 7: webhooks (package automation): subscriptions, and the outbound
	// deliveries, kept as a durable queue and log (pending until delivered
	// or failed after the last retry).
	`CREATE TABLE webhooks (
		id          VARCHAR PRIMARY KEY,
		url         VARCHAR NOT NULL,
		secret      VARCHAR NOT NULL,
		events      VARCHAR[] NOT NULL,
		description VARCHAR NOT NULL DEFAULT '',
		created_at  TIMESTAMPTZ NOT NULL,
		deleted_at  TIMESTAMPTZ
	);
	CREATE TABLE webhook_deliveries (
		id           VARCHAR PRIMARY KEY,
		webhook_id   VARCHAR NOT NULL,
		url          VARCHAR NOT NULL,
		secret       VARCHAR NOT NULL,
		event_id     VARCHAR NOT NULL,
		event_type   VARCHAR NOT NULL,
		ticket_id    VARCHAR NOT NULL,
		payload      VARCHAR NOT NULL,
		status       VARCHAR NOT NULL,
		attempts     INTEGER NOT NULL DEFAULT 0,
		next_at      TIMESTAMPTZ NOT NULL,
		last_status  INTEGER,
		last_error   VARCHAR NOT NULL DEFAULT '',
		created_at   TIMESTAMPTZ NOT NULL,
		delivered_at TIMESTAMPTZ
	);`,
	// 8: notification e-mails (package notify): the durable outbound
	// queue, rendered when queued, pending until sent or failed after the
	// last retry.
	`CREATE TABLE mail_outbox (
		id         VARCHAR PRIMARY KEY,
		template   VARCHAR NOT NULL,
		ticket_id  VARCHAR NOT NULL DEFAULT '',
		recipients VARCHAR[] NOT NULL,
		subject    VARCHAR NOT NULL,
		text_body  VARCHAR NOT NULL,
		html_body  VARCHAR NOT NULL,
		status     VARCHAR NOT NULL,
		attempts   INTEGER NOT NULL DEFAULT 0,
		next_at    TIMESTAMPTZ NOT NULL,
		last_error VARCHAR NOT NULL DEFAULT '',
		created_at TIMESTAMPTZ NOT NULL,
		sent_at    TIMESTAMPTZ
	);`,
	// 9: the requester portal (package portal): secret status links (only
	// the SHA-256 of the token is kept), attachments (files on disk by
	// content hash, metadata here), knowledge-base articles and what
	// readers did with them (views, "did this help" votes, suggestions
	// shown on the web form), for self-service deflection figures.
	`CREATE TABLE portal_links (
		token_hash VARCHAR PRIMARY KEY,
		ticket_id  VARCHAR NOT NULL,
		created_at TIMESTAMPTZ NOT NULL,
		revoked_at TIMESTAMPTZ
	);
	CREATE TABLE attachments (
		id           VARCHAR PRIMARY KEY,
		ticket_id    VARCHAR NOT NULL,
		sha256       VARCHAR NOT NULL,
		filename     VARCHAR NOT NULL,
		content_type VARCHAR NOT NULL,
		size         BIGINT NOT NULL,
		uploaded_by  VARCHAR NOT NULL,
		created_at   TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE kb_articles (
		id         VARCHAR PRIMARY KEY,
		slug       VARCHAR NOT NULL UNIQUE,
		title      VARCHAR NOT NULL,
		body       VARCHAR NOT NULL,
		category   VARCHAR NOT NULL DEFAULT '',
		tags       VARCHAR[] NOT NULL,
		status     VARCHAR NOT NULL,
		author     VARCHAR NOT NULL DEFAULT '',
		created_at TIMESTAMPTZ NOT NULL,
		updated_at TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE kb_events (
		article_id  VARCHAR NOT NULL,
		kind        VARCHAR NOT NULL,
		helpful     BOOLEAN,
		query       VARCHAR NOT NULL DEFAULT '',
		occurred_at TIMESTAMPTZ NOT NULL
	);`,
	// 10: the web form's visits (package portal): the kb_events of one
	// visit to /support/new (suggestions shown, articles opened from them,
	// the page left, the form posted) share a random session id, so the
	// self-service metrics can tell a form left after a suggestion from
	// one that became a ticket. '' for events outside the form.
	`ALTER TABLE kb_events ADD COLUMN session VARCHAR DEFAULT ''`,
	// 11: the e-mail channel (packages mailin and notify): every
	// Message-ID deskpulse received or sent for a ticket, so that a reply's
	// In-Reply-To or References finds its ticket, and the threading
	// headers of queued e-mails.
	`CREATE TABLE mail_messages (
		message_id VARCHAR PRIMARY KEY,
		ticket_id  VARCHAR NOT NULL,
		direction  VARCHAR NOT NULL,
		created_at TIMESTAMPTZ NOT NULL
	);
	ALTER TABLE mail_outbox ADD COLUMN in_reply_to VARCHAR DEFAULT '';
	ALTER TABLE mail_outbox ADD COLUMN refs VARCHAR DEFAULT '';
	ALTER TABLE mail_outbox ADD COLUMN reply_to VARCHAR DEFAULT '';`,
	// 12: inbound mail security (packages mailin and notify): each
	// ticket's secret reply address token (support+<token>@domain, the
	// Reply-To of its e-mails), the capability that lets a mail add to the
	// ticket.
	`CREATE TABLE mail_reply_tokens (
		ticket_id  VARCHAR PRIMARY KEY,
		token      VARCHAR NOT NULL UNIQUE,
		created_at TIMESTAMPTZ NOT NULL
	);`,
	// 13: sign-in hardening (package auth). A session keeps the hash of
	// the token it was opened with (revoking the token ends it; '' for a
	// password or the demo) and when it was last used (the idle limit);
	// sessions from before cannot say which token opened them, so the
	// table starts afresh (everyone signs in again). flags are one-off
	// facts: demo data was written here, a real user signed in. The demo
	// manager was an admin; it becomes a manager.
	`DROP TABLE sessions;
	CREATE TABLE sessions (
		hash         VARCHAR PRIMARY KEY,
		user_email   VARCHAR NOT NULL,
		token_hash   VARCHAR NOT NULL DEFAULT '',
		csrf         VARCHAR NOT NULL,
		created_at   TIMESTAMPTZ NOT NULL,
		last_seen_at TIMESTAMPTZ NOT NULL,
		expires_at   TIMESTAMPTZ NOT NULL
	);
	CREATE TABLE flags (
		name   VARCHAR PRIMARY KEY,
		set_at TIMESTAMPTZ NOT NULL,
		detail VARCHAR NOT NULL DEFAULT ''
	);
	UPDATE users SET role = 'manager' WHERE email = 'demo.manager@deskpulse.example' AND role = 'admin';`,
	// 14: exactly-once automation (docs/automation.md, After a crash):
	// the keys of the commands the writer applied (a rule's actions for
	// one triggering event), stored in the transaction of their events
	// with what is still to do after the commit (the rule's e-mail and
	// webhook actions), and a unique key on each queued e-mail and webhook
	// delivery, so that replaying events after a crash repeats nothing.
	// NULL keys (e-mails queued by other parts) do not collide.
	`CREATE TABLE applied_commands (
		key        VARCHAR PRIMARY KEY,
		ticket_id  VARCHAR NOT NULL,
		record     VARCHAR NOT NULL DEFAULT '',
		applied_at TIMESTAMPTZ NOT NULL
	);
	ALTER TABLE mail_outbox ADD COLUMN effect_key VARCHAR;
	CREATE UNIQUE INDEX mail_outbox_effect_key ON mail_outbox (effect_key);
	ALTER TABLE webhook_deliveries ADD COLUMN effect_key VARCHAR;
	CREATE UNIQUE INDEX webhook_deliveries_effect_key ON webhook_deliveries (effect_key);`,
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	var current int
	if err := s.DB.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("the file has schema version %d but this deskpulse knows only %d: upgrade deskpulse", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		tx, err := s.DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}
