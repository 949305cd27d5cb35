package metrics

import (
	"fmt"
	"time"
)

// Generated benchmark data (GenerateSQL): the tickets are spread over the
// year before GeneratedEnd, and every event is before GeneratedNow. The
// metrics benchmarks (bench_test.go) and `deskpulse bench` use it.
var (
	GeneratedEnd = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	GeneratedNow = time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)
)

// GenerateSQL is one INSERT into the events table of an empty store that
// writes n tickets of 10 events each: created, assigned, an internal note,
// the first agent reply with open, a pending spell (40%) or a requester
// comment, a resolution (95%), CSAT (40% of resolved) and a close;
// unresolved tickets get comments instead.
func GenerateSQL(n int) string {
	return fmt.Sprintf(`
INSERT INTO events (seq, event_id, ticket_id, type, occurred_at, actor, actor_kind, number, subject, description,
	requester_name, requester_email, ticket_type, priority, category, channel, tags, team, assignee, status, public, body, score)
WITH base AS (
	SELECT i, 't' || i AS tid,
		TIMESTAMPTZ '2025-04-01 00:00:00+00' + to_microseconds((i * (365 * 86400e6 / %[1]d))::BIGINT) AS t0,
		(hash(i) %% 1000000007)::BIGINT AS h1, (hash(i + 1000000007) %% 1000000007)::BIGINT AS h2, (hash(i * 7 + 3) %% 1000000007)::BIGINT AS h3
	FROM range(%[1]d) r(i)
), b AS (
	SELECT *, t0 + to_minutes((5 + h2 %% 900)::BIGINT) AS t1,
		h1 %% 10 < 4 AS pend,
		(h2 %% 20 = 0 OR t0 > TIMESTAMPTZ '2026-03-29 00:00:00+00') AS u,
		to_minutes((10 + h3 %% 1440)::BIGINT) AS p,
		to_minutes((30 + h1 %% 3000)::BIGINT) AS w
	FROM base
), ev AS (
	SELECT tid, i, 0 AS k, 'created' AS type, t0 AS ev_at, 'requester' AS kind, h1, NULL::VARCHAR AS status, NULL::BOOLEAN AS public FROM b
	UNION ALL SELECT tid, i, 1, 'assigned', t0 + INTERVAL 1 MINUTE, 'agent', h1, NULL, NULL FROM b
	UNION ALL SELECT tid, i, 2, 'commented', t0 + INTERVAL 2 MINUTE, 'agent', h1, NULL, false FROM b
	UNION ALL SELECT tid, i, 3, 'commented', t1, 'agent', h1, NULL, true FROM b
	UNION ALL SELECT tid, i, 4, 'status_changed', t1, 'agent', h1, 'open', NULL FROM b
	UNION ALL SELECT tid, i, 5, CASE WHEN pend THEN 'status_changed' ELSE 'commented' END, t1 + INTERVAL 30 MINUTE,
		CASE WHEN pend THEN 'agent' ELSE 'requester' END, h1, CASE WHEN pend THEN 'pending' END, CASE WHEN pend THEN NULL ELSE true END FROM b
	UNION ALL SELECT tid, i, 6, CASE WHEN pend THEN 'status_changed' ELSE 'commented' END, t1 + INTERVAL 30 MINUTE + p,
		'agent', h1, CASE WHEN pend THEN 'open' END, CASE WHEN pend THEN NULL ELSE true END FROM b
	UNION ALL SELECT tid, i, 7, CASE WHEN u THEN 'commented' ELSE 'resolved' END, t1 + INTERVAL 60 MINUTE + p + w,
		'agent', h1, NULL, CASE WHEN u THEN true END FROM b
	UNION ALL SELECT tid, i, 8, CASE WHEN u OR h3 %% 10 >= 4 THEN 'commented' ELSE 'csat_rated' END, t1 + INTERVAL 120 MINUTE + p + w,
		CASE WHEN u OR h3 %% 10 >= 4 THEN 'agent' ELSE 'requester' END, h1, NULL, CASE WHEN u OR h3 %% 10 >= 4 THEN false END FROM b
	UNION ALL SELECT tid, i, 9, CASE WHEN u OR t1 + p + w > TIMESTAMPTZ '2026-03-25 00:00:00+00' THEN 'commented' ELSE 'closed' END,
		t1 + INTERVAL 4 DAY + p + w, 'system', h1, NULL, CASE WHEN u OR t1 + p + w > TIMESTAMPTZ '2026-03-25 00:00:00+00' THEN false END FROM b
)
SELECT row_number() OVER (ORDER BY ev_at, i, k), tid || '-' || k, tid, type, ev_at,
	CASE kind WHEN 'requester' THEN 'r' || (h1 %% 100000) || '@example.com' WHEN 'agent' THEN 'agent' || (h1 %% 50) || '@example.com' ELSE 'system' END,
	CASE WHEN type = 'closed' THEN 'system' ELSE kind END,
	CASE WHEN k = 0 THEN i + 1 END,
	CASE WHEN k = 0 THEN 'Ticket ' || i END, CASE WHEN k = 0 THEN '' END, CASE WHEN k = 0 THEN '' END, CASE WHEN k = 0 THEN '' END,
	CASE WHEN k = 0 THEN ['incident', 'service_request', 'question', 'problem', 'task'][1 + h1 %% 5] END,
	CASE WHEN k = 0 THEN ['low', 'normal', 'normal', 'normal', 'high', 'urgent'][1 + (h1 // 7) %% 6] END,
	CASE WHEN k = 0 THEN ['billing', 'network', 'hardware', 'access', 'other'][1 + (h1 // 11) %% 5] END,
	CASE WHEN k = 0 THEN ['email', 'web', 'chat', 'phone', 'api'][1 + (h1 // 13) %% 5] END,
	CASE WHEN k = 0 THEN []::VARCHAR[] END,
	CASE WHEN k = 1 THEN ['Support', 'IT', 'Billing', 'Ops'][1 + (h1 // 17) %% 4] END,
	CASE WHEN k = 1 THEN 'agent' || (h1 %% 50) || '@example.com' END,
	status, public,
	CASE WHEN type = 'commented' THEN 'text' END,
	CASE WHEN type = 'csat_rated' THEN (1 + (h1 // 19) %% 5)::INTEGER END
FROM ev ORDER BY ev_at, i, k`, n)
}
