package metrics

import (
	"fmt"
	"github.com/deskpulse/deskpulse/store"
	"strings"
	"time"
)

// pipelineVersion changes whenever ticketSQL's output or the table's
// layout changes, so that a stored metrics_tickets table built by an older
// deskpulse is rebuilt. 6: tickets still open stored last.
const pipelineVersion = 6

// ticketSQL is the one definition of every per-ticket figure: it replays
// the events selected by filter (a condition on the events table) and
// returns one row per ticket with its dimensions, timestamps, durations
// (calendar and business minutes) and SLA clocks under cfg's policies.
//
// Business minutes follow the dbt_zendesk idea of a schedule table, made
// DST-exact and cheap to query: the calendar's weekly hours are expanded
// into one row per open interval (span) per local day between lo and hi,
// converted to instants in the calendar's zone (so a day with a DST change
// has its real length), minus holidays, with the running total of business
// minutes before each span. The business-minute clock of an instant t is
// then F(t) = cum + min(t - span.start, span.len) of the last span starting
// at or before t, found with an ASOF join; the business minutes between a
// and b are F(b) - F(a), and the inverse (the instant a target is due) is an
// ASOF join on cum. A 24x7 policy uses F(t) = epoch minutes.
//
// Besides the figures, each row keeps what the range aggregates need
// about its lifecycle events, so that no aggregate reads the events table:
// simple (no reopen, at most one resolution, not before creation: then
// first_resolved_at is its only resolution), and for the other tickets the
// lists res_ats and reopen_ats; its assignments as asg_at, asg_team,
// asg_assignee when it has exactly one, else the list assigns. Every
// instant of a ticket that a range aggregate looks at (its events, its SLA
// decisions) is in [first_at, last_at], so a range query can first keep
// the tickets overlapping the range, which the zone maps make cheap. After
// open_until (null: never) a ticket is in no backlog and has no undecided
// SLA target, so an aggregate at an instant reads only the tickets with
// open_until null or later.
//
// horizon, when set, ends the last status segment of unfinished tickets so
// that their elapsed SLA time up to then is known (TicketSLA); the stored
// table has no horizon and keeps only what does not depend on "now": an
// unfinished target's projected breach instant (breach_at), which a query
// compares with its own instant.
func ticketSQL(cfg *Config, filter string, horizon *time.Time, lo, hi time.Time) string {
	h := "NULL::TIMESTAMPTZ"
	if horizon != nil {
		h = tsLit(*horizon)
	}
	r := strings.NewReplacer(
		"{HOURS}", hoursSQL(cfg), "{HOLIDAYS}", holidaysSQL(cfg), "{POLICIES}", policiesSQL(cfg),
		"{POLICY_CASE}", policyCaseSQL(cfg), "{FILTER}", filter, "{H}", h,
		"{LO}", lo.Format(time.DateOnly), "{HI}", hi.Format(time.DateOnly),
	)
	return r.Replace(ticketSQLTemplate)
}

const ticketSQLTemplate = `
WITH hours AS ({HOURS}),
holidays AS ({HOLIDAYS}),
policies AS ({POLICIES}),
spans AS (
	SELECT cal, s, (epoch(e) - epoch(s)) / 60.0 AS len,
		coalesce(sum((epoch(e) - epoch(s)) / 60.0) OVER (PARTITION BY cal ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS cum
	FROM (
		SELECT h.cal, timezone(h.tz, r.d + to_minutes(h.start_min)) AS s, timezone(h.tz, r.d + to_minutes(h.end_min)) AS e
		FROM hours h JOIN range(TIMESTAMP '{LO}', TIMESTAMP '{HI}', INTERVAL 1 DAY) r(d) ON isodow(r.d) = h.dow
		WHERE NOT EXISTS (SELECT 1 FROM holidays x WHERE x.cal = h.cal AND x.d = r.d::DATE)
	)
),
ev AS (
	SELECT ticket_id, seq, type, occurred_at AS ev_at, actor_kind, public, status, priority, team, assignee,
		category, channel, ticket_type, score
	FROM events WHERE {FILTER}
),
st AS (
	SELECT ticket_id, seq, ev_at,
		last_value(CASE WHEN type IN ('created', 'priority_changed') THEN priority END IGNORE NULLS) OVER w AS priority,
		last_value(CASE WHEN type IN ('created', 'fields_changed') THEN ticket_type END IGNORE NULLS) OVER w AS type,
		last_value(CASE WHEN type IN ('created', 'category_changed') THEN category END IGNORE NULLS) OVER w AS category,
		coalesce(last_value(CASE WHEN type IN ('created', 'assigned') THEN team END IGNORE NULLS) OVER w, '') AS team,
		coalesce(last_value(CASE WHEN type IN ('created', 'assigned') THEN assignee END IGNORE NULLS) OVER w, '') AS assignee,
		last_value(CASE WHEN type = 'created' THEN channel END IGNORE NULLS) OVER w AS channel
	FROM ev
	WHERE type IN ('created', 'assigned', 'priority_changed', 'category_changed', 'fields_changed')
	WINDOW w AS (PARTITION BY ticket_id ORDER BY ev_at, seq ROWS UNBOUNDED PRECEDING)
),
pl AS (
	SELECT *, max(CASE WHEN pidx IS DISTINCT FROM prev THEN ev_at END)
			OVER (PARTITION BY ticket_id ORDER BY ev_at, seq ROWS UNBOUNDED PRECEDING) AS since
	FROM (SELECT *, lag(pidx) OVER (PARTITION BY ticket_id ORDER BY ev_at, seq) AS prev
		FROM (SELECT *, {POLICY_CASE} AS pidx FROM st))
),
ss AS (
	SELECT * FROM (
		SELECT ticket_id, seq, ev_at,
			CASE type WHEN 'created' THEN 'new' WHEN 'status_changed' THEN status WHEN 'resolved' THEN 'resolved'
				WHEN 'reopened' THEN 'open' WHEN 'closed' THEN 'closed' END AS new_status
		FROM ev WHERE type IN ('created', 'status_changed', 'resolved', 'reopened', 'closed'))
	WHERE new_status IS NOT NULL
),
tk AS (
	SELECT ticket_id,
		min(ev_at) FILTER (type = 'created') AS created_at,
		min(ev_at) FILTER (type = 'commented' AND public AND actor_kind = 'agent') AS first_reply_at,
		count(*) FILTER (type = 'commented' AND public AND actor_kind = 'agent') AS agent_replies,
		min(ev_at) FILTER (type = 'resolved') AS first_resolved_at,
		max(ev_at) FILTER (type = 'resolved') AS last_resolved_at,
		count(*) FILTER (type = 'reopened') AS reopens,
		arg_max(score, (ev_at, seq)) FILTER (type = 'csat_rated') AS csat_score,
		max(ev_at) FILTER (type = 'csat_rated') AS csat_at,
		max(ev_at) AS last_event_at,
		min(ev_at) AS first_event_at,
		count(*) FILTER (type = 'resolved') AS n_resolved,
		list_sort(list(ev_at) FILTER (type = 'resolved')) AS res_list,
		list_sort(list(ev_at) FILTER (type = 'reopened')) AS reopen_list,
		count(*) FILTER (type = 'assigned') AS n_assigned,
		list_sort(list({'at': ev_at, 'team': team, 'assignee': assignee}) FILTER (type = 'assigned')) AS asg_list
	FROM ev GROUP BY ticket_id
),
fin AS (
	SELECT * FROM (SELECT ticket_id, arg_max(new_status, (ev_at, seq)) AS status FROM ss GROUP BY ticket_id)
	JOIN (SELECT ticket_id,
		arg_max({'priority': priority, 'type': type, 'category': category, 'team': team, 'assignee': assignee, 'channel': channel}, (ev_at, seq)) AS d
		FROM pl GROUP BY ticket_id) USING (ticket_id)
),
t1 AS (
	SELECT tk.*, fin.status, fin.d.priority AS priority, fin.d.type AS type, fin.d.category AS category,
		fin.d.team AS team, fin.d.assignee AS assignee, fin.d.channel AS channel,
		least(tk.first_reply_at, tk.first_resolved_at) AS fr_end,
		CASE WHEN fin.status IN ('resolved', 'closed') THEN tk.last_resolved_at END AS resolved_at
	FROM tk JOIN fin USING (ticket_id)
	WHERE tk.created_at IS NOT NULL
),
pick AS (
	SELECT t.ticket_id,
		arg_max_null(p.pidx, (p.ev_at, p.seq)) FILTER (t.fr_end IS NULL OR p.ev_at <= t.fr_end) AS fr_pidx,
		arg_max_null(p.since, (p.ev_at, p.seq)) FILTER (t.fr_end IS NULL OR p.ev_at <= t.fr_end) AS fr_since,
		arg_max_null(p.pidx, (p.ev_at, p.seq)) FILTER (t.resolved_at IS NULL OR p.ev_at <= t.resolved_at) AS res_pidx,
		arg_max_null(p.since, (p.ev_at, p.seq)) FILTER (t.resolved_at IS NULL OR p.ev_at <= t.resolved_at) AS res_since
	FROM t1 t JOIN pl p USING (ticket_id) GROUP BY t.ticket_id
),
t2 AS (
	SELECT t1.*,
		pf.policy AS fr_policy, coalesce(pf.cal, '') AS fr_cal, pf.fr_target, pick.fr_since,
		pr.policy AS res_policy, coalesce(pr.cal, '') AS res_cal, pr.res_target, pick.res_since
	FROM t1 JOIN pick USING (ticket_id)
	LEFT JOIN policies pf ON pf.pidx = pick.fr_pidx
	LEFT JOIN policies pr ON pr.pidx = pick.res_pidx
),
seg AS (
	SELECT ticket_id, i, status, s, e, e IS NULL AS is_last FROM (
		SELECT ticket_id, new_status AS status, ev_at AS s,
			lead(ev_at) OVER (PARTITION BY ticket_id ORDER BY ev_at, seq) AS e,
			row_number() OVER (PARTITION BY ticket_id ORDER BY ev_at, seq) AS i
		FROM ss)
	UNION ALL
	SELECT ticket_id, 1000000, 'horizon', {H}, NULL, false FROM t1 WHERE {H} IS NOT NULL
),
pts AS (
	SELECT seg.ticket_id, 's' AS k, seg.i, t2.res_cal AS cal, seg.s AS t FROM seg JOIN t2 USING (ticket_id)
	UNION ALL SELECT ticket_id, 'c', 0, fr_cal, created_at FROM t2
	UNION ALL SELECT ticket_id, 'f', 0, fr_cal, coalesce(fr_end, {H}) FROM t2 WHERE coalesce(fr_end, {H}) IS NOT NULL
	UNION ALL SELECT ticket_id, 'r', 0, fr_cal, first_reply_at FROM t2 WHERE first_reply_at IS NOT NULL
),
fv AS (
	SELECT ticket_id, k, i, t, epoch(t) / 60.0 AS f FROM pts WHERE cal = ''
	UNION ALL
	SELECT pts.ticket_id, pts.k, pts.i, pts.t,
		coalesce(sp.cum + least(greatest((epoch(pts.t) - epoch(sp.s)) / 60.0, 0), sp.len), 0) AS f
	FROM (SELECT * FROM pts WHERE cal <> '') pts ASOF LEFT JOIN spans sp ON pts.cal = sp.cal AND pts.t >= sp.s
),
sf AS (
	SELECT *, coalesce(sum(bl) FILTER (running) OVER (PARTITION BY ticket_id ORDER BY i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
	FROM (
		SELECT ticket_id, i, status, status IN ('new', 'open') AS running, is_last, s, f AS fs,
			(epoch(lead(t) OVER w) - epoch(s)) / 60.0 AS cl,
			lead(f) OVER w - f AS bl
		FROM (SELECT seg.*, fv.f, fv.t FROM seg JOIN fv ON fv.ticket_id = seg.ticket_id AND fv.k = 's' AND fv.i = seg.i)
		WINDOW w AS (PARTITION BY ticket_id ORDER BY i)
	)
),
sagg AS (
	SELECT sf.ticket_id,
		min(fs) FILTER (i = 1) AS f_created,
		min(fs) FILTER (status = 'resolved') AS f_first_resolved,
		max(fs) FILTER (status = 'resolved') AS f_last_resolved,
		sum(cl) FILTER (status IN ('new', 'open', 'on_hold')) AS requester_wait_min,
		sum(bl) FILTER (status IN ('new', 'open', 'on_hold')) AS requester_wait_bmin,
		sum(cl) FILTER (status = 'pending') AS agent_wait_min,
		sum(bl) FILTER (status = 'pending') AS agent_wait_bmin,
		sum(cl) FILTER (status = 'on_hold') AS on_hold_min,
		sum(bl) FILTER (status = 'on_hold') AS on_hold_bmin,
		sum(cl) FILTER (status IN ('new', 'open')) AS agent_work_min,
		sum(bl) FILTER (status IN ('new', 'open')) AS agent_work_bmin,
		CASE WHEN bool_or(running AND bl IS NULL) THEN NULL ELSE coalesce(sum(bl) FILTER (running), 0) END AS res_elapsed,
		bool_or(running AND is_last) AS res_running,
		min(fs + t2.res_target - before) FILTER (running AND before < t2.res_target AND (is_last OR before + bl >= t2.res_target)) AS res_x
	FROM sf JOIN (SELECT ticket_id, res_target FROM t2) t2 USING (ticket_id)
	GROUP BY sf.ticket_id
),
fagg AS (
	SELECT ticket_id,
		min(f) FILTER (k = 'c') AS f_c, min(f) FILTER (k = 'f') AS f_f, min(f) FILTER (k = 'r') AS f_r
	FROM fv WHERE k <> 's' GROUP BY ticket_id
),
t3 AS (
	SELECT t2.*, sagg.* EXCLUDE (ticket_id), fagg.* EXCLUDE (ticket_id),
		fagg.f_c + t2.fr_target AS fr_x
	FROM t2 JOIN sagg USING (ticket_id) JOIN fagg USING (ticket_id)
),
invq AS (
	SELECT ticket_id, 'fr' AS k, fr_cal AS cal, fr_x AS x FROM t3 WHERE fr_x IS NOT NULL
	UNION ALL SELECT ticket_id, 'res', res_cal, res_x FROM t3 WHERE res_x IS NOT NULL
),
inv AS (
	SELECT ticket_id, k, to_timestamp(x * 60) AS ev_at FROM invq WHERE cal = ''
	UNION ALL
	SELECT q.ticket_id, q.k,
		CASE WHEN q.x <= sp.cum + sp.len THEN sp.s + to_microseconds(round((q.x - sp.cum) * 60e6)::BIGINT) END AS ev_at
	FROM (SELECT * FROM invq WHERE cal <> '') q
	ASOF LEFT JOIN spans sp ON q.cal = sp.cal AND q.x > sp.cum
),
t4 AS (
	SELECT t3.*,
		(SELECT ev_at FROM inv WHERE inv.ticket_id = t3.ticket_id AND inv.k = 'fr') AS fr_due,
		(SELECT ev_at FROM inv WHERE inv.ticket_id = t3.ticket_id AND inv.k = 'res') AS res_due,
		t3.f_f - t3.f_c AS fr_elapsed
	FROM t3
)
SELECT ticket_id, created_at, status, priority, type, category, team, assignee, channel,
	first_reply_at, first_resolved_at, resolved_at, reopens::INTEGER AS reopens, agent_replies::INTEGER AS agent_replies,
	csat_score, csat_at, last_event_at,
	(epoch(first_reply_at) - epoch(created_at)) / 60.0 AS frt_min,
	f_r - f_c AS frt_bmin,
	(epoch(first_resolved_at) - epoch(created_at)) / 60.0 AS first_res_min,
	f_first_resolved - f_created AS first_res_bmin,
	CASE WHEN resolved_at IS NOT NULL THEN (epoch(resolved_at) - epoch(created_at)) / 60.0 END AS res_min,
	CASE WHEN resolved_at IS NOT NULL THEN f_last_resolved - f_created END AS res_bmin,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(requester_wait_min, 0) END AS requester_wait_min,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(requester_wait_bmin, 0) END AS requester_wait_bmin,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(agent_wait_min, 0) END AS agent_wait_min,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(agent_wait_bmin, 0) END AS agent_wait_bmin,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(on_hold_min, 0) END AS on_hold_min,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(on_hold_bmin, 0) END AS on_hold_bmin,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(agent_work_min, 0) END AS agent_work_min,
	CASE WHEN resolved_at IS NOT NULL THEN coalesce(agent_work_bmin, 0) END AS agent_work_bmin,
	fr_policy, fr_cal AS fr_calendar, fr_target,
	CASE WHEN fr_policy IS NOT NULL THEN fr_end END AS fr_fulfilled_at,
	CASE WHEN fr_policy IS NOT NULL THEN fr_elapsed END AS fr_elapsed,
	CASE WHEN fr_policy IS NOT NULL AND fr_end IS NOT NULL THEN
		CASE WHEN fr_elapsed <= fr_target THEN 'achieved' ELSE 'breached' END END AS fr_outcome,
	CASE WHEN fr_policy IS NOT NULL AND (fr_end IS NULL OR fr_elapsed > fr_target) AND fr_due IS NOT NULL THEN greatest(fr_due, fr_since) END AS fr_breach_at,
	res_policy, res_cal AS res_calendar, res_target,
	CASE WHEN res_policy IS NOT NULL THEN resolved_at END AS res_fulfilled_at,
	CASE WHEN res_policy IS NOT NULL THEN res_elapsed END AS res_elapsed,
	CASE WHEN res_policy IS NOT NULL AND resolved_at IS NOT NULL THEN
		CASE WHEN res_elapsed <= res_target THEN 'achieved' ELSE 'breached' END END AS res_outcome,
	CASE WHEN res_policy IS NOT NULL AND (resolved_at IS NULL OR res_elapsed > res_target) AND res_due IS NOT NULL THEN greatest(res_due, res_since) END AS res_breach_at,
	coalesce(res_running, false) AND resolved_at IS NULL AS res_running,
	simple, n_resolved::INTEGER AS n_resolved,
	CASE WHEN NOT simple THEN res_list END AS res_ats,
	CASE WHEN NOT simple THEN reopen_list END AS reopen_ats,
	n_assigned::INTEGER AS n_assigned,
	CASE WHEN n_assigned = 1 THEN asg_list[1].at END AS asg_at,
	CASE WHEN n_assigned = 1 THEN asg_list[1].team END AS asg_team,
	CASE WHEN n_assigned = 1 THEN asg_list[1].assignee END AS asg_assignee,
	CASE WHEN n_assigned > 1 THEN asg_list END AS assigns,
	CASE WHEN fr_outcome = 'achieved' THEN fr_fulfilled_at ELSE fr_breach_at END AS fr_dec_at,
	CASE WHEN res_outcome = 'achieved' THEN res_fulfilled_at ELSE res_breach_at END AS res_dec_at,
	CASE WHEN NOT simple OR first_resolved_at IS NULL OR (fr_policy IS NOT NULL AND fr_dec_at IS NULL) OR (res_policy IS NOT NULL AND res_dec_at IS NULL) THEN NULL
		ELSE greatest(first_resolved_at, fr_dec_at, res_dec_at) END AS open_until,
	first_event_at AS first_at,
	greatest(last_event_at, fr_breach_at, res_breach_at) AS last_at
FROM (SELECT *, reopens = 0 AND n_resolved <= 1 AND coalesce(first_resolved_at >= created_at, true) AS simple FROM t4)`

// hoursSQL lists every calendar's open intervals: (cal, tz, dow, start_min, end_min).
func hoursSQL(cfg *Config) string {
	var rows []string
	for _, name := range sortedKeys(cfg.Calendars) {
		cal := cfg.Calendars[name]
		for _, day := range sortedKeys(cal.Hours) {
			spans, err := parseDay(cal.Hours[day])
			if err != nil {
				continue // Validate reports it
			}
			for _, s := range spans {
				rows = append(rows, fmt.Sprintf("(%s, %s, %d, %d, %d)", store.Literal(name), store.Literal(cal.Timezone),
					weekdays[strings.ToLower(day)], s.start, s.end))
			}
		}
	}
	if len(rows) == 0 {
		return `SELECT NULL::VARCHAR AS cal, NULL::VARCHAR AS tz, NULL::INTEGER AS dow, NULL::INTEGER AS start_min, NULL::INTEGER AS end_min WHERE false`
	}
	return `SELECT * FROM (VALUES ` + strings.Join(rows, ", ") + `) v(cal, tz, dow, start_min, end_min)`
}

// holidaysSQL lists (cal, d) for every holiday.
func holidaysSQL(cfg *Config) string {
	var rows []string
	for _, name := range sortedKeys(cfg.Calendars) {
		for _, d := range cfg.Calendars[name].Holidays {
			if _, err := time.Parse(time.DateOnly, d); err == nil {
				rows = append(rows, fmt.Sprintf("(%s, DATE '%s')", store.Literal(name), d))
			}
		}
	}
	if len(rows) == 0 {
		return `SELECT NULL::VARCHAR AS cal, NULL::DATE AS d WHERE false`
	}
	return `SELECT * FROM (VALUES ` + strings.Join(rows, ", ") + `) v(cal, d)`
}

// policiesSQL lists (pidx, policy, cal, fr_target, res_target) in minutes.
func policiesSQL(cfg *Config) string {
	var rows []string
	for i, p := range cfg.SLA.Policies {
		cal := "NULL"
		if p.Calendar != "" {
			cal = store.Literal(p.Calendar)
		}
		rows = append(rows, fmt.Sprintf("(%d, %s, %s, %s::DOUBLE, %s::DOUBLE)", i, store.Literal(p.Name), cal,
			minutesLit(p.FirstResponse), minutesLit(p.Resolution)))
	}
	if len(rows) == 0 {
		return `SELECT NULL::INTEGER AS pidx, NULL::VARCHAR AS policy, NULL::VARCHAR AS cal, NULL::DOUBLE AS fr_target, NULL::DOUBLE AS res_target WHERE false`
	}
	return `SELECT * FROM (VALUES ` + strings.Join(rows, ", ") + `) v(pidx, policy, cal, fr_target, res_target)`
}

// policyCaseSQL is the index of the first policy that matches the row's
// current priority, type, team, category and channel (NULL: none).
func policyCaseSQL(cfg *Config) string {
	if len(cfg.SLA.Policies) == 0 {
		return "NULL::INTEGER"
	}
	var b strings.Builder
	b.WriteString("CASE")
	for i, p := range cfg.SLA.Policies {
		conds := []string{"true"}
		for _, key := range sortedKeys(p.Match) {
			values := p.Match[key]
			if len(values) == 0 {
				continue
			}
			quoted := make([]string, len(values))
			for j, v := range values {
				quoted[j] = store.Literal(v)
			}
			col := map[string]string{"priority": "priority", "type": "type", "team": "team", "category": "coalesce(category, '')", "channel": "channel"}[key]
			if col == "" {
				continue
			}
			conds = append(conds, fmt.Sprintf("%s IN (%s)", col, strings.Join(quoted, ", ")))
		}
		fmt.Fprintf(&b, " WHEN %s THEN %d", strings.Join(conds, " AND "), i)
	}
	b.WriteString(" END")
	return b.String()
}

func minutesLit(d time.Duration) string {
	return fmt.Sprintf("%g", d.Minutes())
}

func tsLit(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "+00'"
}
