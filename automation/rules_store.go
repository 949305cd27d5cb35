package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// ErrNameTaken says another rule already has that name.
var ErrNameTaken = errors.New("a rule with that name exists")

// definition is what the rules table keeps as JSON besides its columns.
type definition struct {
	Description string      `json:"description,omitempty"`
	Enabled     bool        `json:"enabled"`
	Trigger     Trigger     `json:"trigger"`
	Match       string      `json:"match"`
	Conditions  []Condition `json:"conditions"`
	Actions     []Action    `json:"actions"`
}

func (e *Engine) loadRules(ctx context.Context) error {
	rows, err := e.st.DB.QueryContext(ctx, `SELECT id, name, source, definition, created_at, updated_at
		FROM automation_rules WHERE deleted_at IS NULL ORDER BY position, created_at`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var rules []*Rule
	for rows.Next() {
		var r Rule
		var def string
		if err := rows.Scan(&r.ID, &r.Name, &r.Source, &def, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return err
		}
		var d definition
		if err := json.Unmarshal([]byte(def), &d); err != nil {
			return fmt.Errorf("rule %s: %w", r.Name, err)
		}
		r.Description, r.Enabled, r.Trigger, r.Match, r.Conditions, r.Actions = d.Description, d.Enabled, d.Trigger, d.Match, d.Conditions, d.Actions
		if err := r.Validate(); err != nil {
			return fmt.Errorf("stored rule %s: %w", r.Name, err)
		}
		rules = append(rules, &r)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	e.rules = rules
	e.mu.Unlock()
	return nil
}

// seed stores the config's rules whose names the table has never seen
// (a rule deleted over the API stays deleted).
func (e *Engine) seed(ctx context.Context, rules []*Rule) error {
	for _, r := range rules {
		var n int
		if err := e.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM automation_rules WHERE name = ?`, r.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		c := *r
		c.Source = "config"
		if _, err := e.insert(ctx, &c); err != nil {
			return err
		}
	}
	return nil
}

func (r *Rule) definitionJSON() (string, error) {
	b, err := json.Marshal(definition{r.Description, r.Enabled, r.Trigger, r.Match, r.Conditions, r.Actions})
	return string(b), err
}

func (e *Engine) insert(ctx context.Context, r *Rule) (*Rule, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := e.nameFree(ctx, r.Name, ""); err != nil {
		return nil, err
	}
	def, err := r.definitionJSON()
	if err != nil {
		return nil, err
	}
	r.ID = model.NewID()
	r.CreatedAt = e.now().UTC().Truncate(time.Microsecond)
	r.UpdatedAt = r.CreatedAt
	if r.Source == "" {
		r.Source = "api"
	}
	_, err = e.st.DB.ExecContext(ctx, `INSERT INTO automation_rules (id, name, position, source, definition, created_at, updated_at)
		VALUES (?, ?, (SELECT coalesce(max(position), 0) + 1 FROM automation_rules), ?, ?, ?, ?)`,
		r.ID, r.Name, r.Source, def, r.CreatedAt, r.UpdatedAt)
	return r, err
}

func (e *Engine) nameFree(ctx context.Context, name, except string) error {
	var n int
	err := e.st.DB.QueryRowContext(ctx, `SELECT count(*) FROM automation_rules WHERE lower(name) = lower(?) AND deleted_at IS NULL AND id <> ?`, name, except).Scan(&n)
	if err == nil && n > 0 {
		return ErrNameTaken
	}
	return err
}

// Rules lists the rules in evaluation order.
func (e *Engine) Rules() []*Rule {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return append([]*Rule(nil), e.rules...)
}

// Rule returns one rule by id (or by name); model.ErrNotFound if none.
func (e *Engine) Rule(id string) (*Rule, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, r := range e.rules {
		if r.ID == id || strings.EqualFold(r.Name, id) {
			return r, nil
		}
	}
	return nil, model.ErrNotFound
}

// CreateRule validates and stores a new rule; it applies at once.
func (e *Engine) CreateRule(ctx context.Context, r *Rule) (*Rule, error) {
	r.Source = "api"
	out, err := e.insert(ctx, r)
	if err != nil {
		return nil, err
	}
	return out, e.loadRules(ctx)
}

// UpdateRule replaces a rule's definition (id, source and creation stay).
func (e *Engine) UpdateRule(ctx context.Context, id string, r *Rule) (*Rule, error) {
	old, err := e.Rule(id)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := e.nameFree(ctx, r.Name, old.ID); err != nil {
		return nil, err
	}
	def, err := r.definitionJSON()
	if err != nil {
		return nil, err
	}
	r.ID, r.Source, r.CreatedAt = old.ID, old.Source, old.CreatedAt
	r.UpdatedAt = e.now().UTC().Truncate(time.Microsecond)
	if _, err := e.st.DB.ExecContext(ctx, `UPDATE automation_rules SET name = ?, definition = ?, updated_at = ? WHERE id = ?`,
		r.Name, def, r.UpdatedAt, r.ID); err != nil {
		return nil, err
	}
	return r, e.loadRules(ctx)
}

// DeleteRule removes a rule. Its row is kept (deleted_at) so that a rule
// from config.yaml is not seeded again at the next start.
func (e *Engine) DeleteRule(ctx context.Context, id string) error {
	r, err := e.Rule(id)
	if err != nil {
		return err
	}
	if _, err := e.st.DB.ExecContext(ctx, `UPDATE automation_rules SET deleted_at = ? WHERE id = ?`, e.now().UTC(), r.ID); err != nil {
		return err
	}
	return e.loadRules(ctx)
}

// state reads a key of automation_state.
func (e *Engine) state(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := e.st.DB.QueryRowContext(ctx, `SELECT value FROM automation_state WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

func (e *Engine) setState(ctx context.Context, key, value string) error {
	_, err := e.st.DB.ExecContext(ctx, `INSERT INTO automation_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// claim records that rule acted on ticket for an episode; false when it
// already had.
func (e *Engine) claim(ctx context.Context, rule, ticket, episode string, at time.Time) (bool, error) {
	res, err := e.st.DB.ExecContext(ctx, `INSERT INTO automation_episodes (rule_id, ticket_id, episode, acted_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		rule, ticket, episode, at)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
