package store

import (
	"context"
	"database/sql"
	"fmt"
)

// projectionSQL computes the tickets projection from events, set-based.
// It must agree with model.Ticket.Apply event for event; a test replays the
// same events both ways and compares. Events are ordered by (occurred_at,
// seq), the order in which Apply saw them. %s is an extra WHERE condition on
// events (e.g. restricting to some tickets).
const projectionSQL = `
WITH ev AS (
	SELECT *,
		(occurred_at, seq) AS ord,
		CASE type WHEN 'created' THEN 'new' WHEN 'status_changed' THEN status
			WHEN 'resolved' THEN 'resolved' WHEN 'reopened' THEN 'open' WHEN 'closed' THEN 'closed' END AS new_status
	FROM events WHERE %s
), field_values AS (
	SELECT ticket_id, k, arg_max(v, ord) AS v FROM (
		SELECT ticket_id, ord, unnest(map_keys(fields)) AS k, unnest(map_values(fields)) AS v
		FROM ev WHERE fields IS NOT NULL AND type IN ('created', 'fields_changed')
	) GROUP BY ticket_id, k
), custom AS (
	SELECT ticket_id, map(list(k ORDER BY k), list(v ORDER BY k)) AS fields
	FROM field_values WHERE v <> '' GROUP BY ticket_id
), projected AS (
	SELECT
		ticket_id AS id,
		max(number) FILTER (type = 'created') AS number,
		arg_max(subject, ord) FILTER (type IN ('created', 'fields_changed') AND subject IS NOT NULL) AS subject,
		arg_max(description, ord) FILTER (type IN ('created', 'fields_changed') AND description IS NOT NULL) AS description,
		max(requester_name) FILTER (type = 'created') AS requester_name,
		max(requester_email) FILTER (type = 'created') AS requester_email,
		arg_max(ticket_type, ord) FILTER (type IN ('created', 'fields_changed') AND ticket_type IS NOT NULL) AS type,
		arg_max(category, ord) FILTER (type IN ('created', 'category_changed')) AS category,
		arg_max(tags, ord) FILTER (type IN ('created', 'tags_changed')) AS tags,
		arg_max(priority, ord) FILTER (type IN ('created', 'priority_changed')) AS priority,
		arg_max(new_status, ord) FILTER (new_status IS NOT NULL) AS status,
		max(channel) FILTER (type = 'created') AS channel,
		coalesce(arg_max(team, ord) FILTER (type IN ('created', 'assigned') AND team IS NOT NULL), '') AS team,
		coalesce(arg_max(assignee, ord) FILTER (type IN ('created', 'assigned') AND assignee IS NOT NULL), '') AS assignee,
		min(occurred_at) FILTER (type = 'created') AS created_at,
		max(occurred_at) AS updated_at,
		min(occurred_at) FILTER (type = 'commented' AND public AND actor_kind = 'agent') AS first_response_at,
		arg_max_null(CASE WHEN type = 'resolved' THEN occurred_at END, ord) FILTER (type IN ('resolved', 'reopened')) AS resolved_at,
		max(occurred_at) FILTER (type = 'closed') AS closed_at,
		arg_max(score, ord) FILTER (type = 'csat_rated') AS csat_score,
		coalesce(arg_max(coalesce(comment, ''), ord) FILTER (type = 'csat_rated'), '') AS csat_comment,
		count(*) FILTER (type = 'reopened')::INTEGER AS reopens,
		count(*) FILTER (type = 'commented' AND public AND actor_kind = 'agent')::INTEGER AS agent_replies
	FROM ev GROUP BY ticket_id
)
SELECT p.id, p.number, p.subject, p.description, p.requester_name, p.requester_email, p.type,
	p.category, p.tags, p.priority, p.status, p.channel, p.team, p.assignee,
	coalesce(c.fields, map()::MAP(VARCHAR, VARCHAR)), p.created_at, p.updated_at,
	p.first_response_at, p.resolved_at, p.closed_at, p.csat_score, p.csat_comment, p.reopens, p.agent_replies
FROM projected p LEFT JOIN custom c ON c.ticket_id = p.id
WHERE p.created_at IS NOT NULL`

// ProjectionQuery returns the set-based projection of all tickets, for
// comparing with the stored one.
func ProjectionQuery() string { return fmt.Sprintf(projectionSQL, "true") }

// RebuildTickets recomputes the whole tickets projection from events inside
// conn's open transaction.
func RebuildTickets(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `DELETE FROM tickets`); err != nil {
		return err
	}
	_, err := conn.ExecContext(ctx, `INSERT INTO tickets `+ProjectionQuery())
	return err
}

// RebuildSomeTickets recomputes the projection of the tickets in the
// temporary table named by idsTable (one column ticket_id), e.g. those an
// import touched, inside conn's open transaction.
func RebuildSomeTickets(ctx context.Context, conn *sql.Conn, idsTable string) error {
	if _, err := conn.ExecContext(ctx, `DELETE FROM tickets WHERE id IN (SELECT ticket_id FROM `+idsTable+`)`); err != nil {
		return err
	}
	cond := `ticket_id IN (SELECT ticket_id FROM ` + idsTable + `)`
	_, err := conn.ExecContext(ctx, `INSERT INTO tickets `+fmt.Sprintf(projectionSQL, cond))
	return err
}

// ProjectionDiff counts the rows in which the stored projection and a fresh
// rebuild differ (0 means identical).
func (s *Store) ProjectionDiff(ctx context.Context) (int64, error) {
	q := ProjectionQuery()
	var n int64
	err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM (
		(SELECT * FROM tickets EXCEPT ALL (`+q+`))
		UNION ALL
		((`+q+`) EXCEPT ALL SELECT * FROM tickets))`).Scan(&n)
	return n, err
}
