package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/deskpulse/deskpulse/model"
)

// ErrExists says that a team or agent with that key already exists.
var ErrExists = errors.New("already exists")

// CreateTeam stores a new team.
func (s *Store) CreateTeam(ctx context.Context, t *model.Team) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO teams (name, description, created_at) VALUES (?, ?, ?)`, t.Name, t.Description, t.CreatedAt)
	return uniqueErr(err)
}

// Teams lists all teams by name.
func (s *Store) Teams(ctx context.Context) ([]*model.Team, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT name, description, created_at FROM teams ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*model.Team{}
	for rows.Next() {
		var t model.Team
		if err := rows.Scan(&t.Name, &t.Description, &t.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// CreateAgent stores a new agent.
func (s *Store) CreateAgent(ctx context.Context, a *model.Agent) error {
	if a.Availability == "" {
		a.Availability = "available"
	}
	_, err := s.DB.ExecContext(ctx, `INSERT INTO agents (email, name, teams, skills, created_at, availability, calendar) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.Email, a.Name, a.Teams, a.Skills, a.CreatedAt, a.Availability, a.Calendar)
	return uniqueErr(err)
}

const agentColumns = `email, name, teams, skills, created_at, coalesce(availability, 'available'), coalesce(calendar, '')`

func scanAgent(row scanner) (*model.Agent, error) {
	var a model.Agent
	var teams, skills any
	if err := row.Scan(&a.Email, &a.Name, &teams, &skills, &a.CreatedAt, &a.Availability, &a.Calendar); err != nil {
		return nil, err
	}
	a.Teams, a.Skills = stringList(teams), stringList(skills)
	return &a, nil
}

// Agents lists all agents by email.
func (s *Store) Agents(ctx context.Context) ([]*model.Agent, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+agentColumns+` FROM agents ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*model.Agent{}
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Agent returns the agent with this e-mail address, or model.ErrNotFound.
func (s *Store) Agent(ctx context.Context, email string) (*model.Agent, error) {
	a, err := scanAgent(s.DB.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE email = ?`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, model.ErrNotFound
	}
	return a, err
}

// UpdateAgent saves an agent's name, teams, skills, availability and
// calendar; model.ErrNotFound if there is no such agent.
func (s *Store) UpdateAgent(ctx context.Context, a *model.Agent) error {
	res, err := s.DB.ExecContext(ctx, `UPDATE agents SET name = ?, teams = ?, skills = ?, availability = ?, calendar = ? WHERE email = ?`,
		a.Name, a.Teams, a.Skills, a.Availability, a.Calendar, a.Email)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return model.ErrNotFound
	}
	return nil
}

// BulkPeople stores teams and agents with the appender (demo and import),
// skipping ones that exist.
func (s *Store) BulkPeople(ctx context.Context, teams []*model.Team, agents []*model.Agent) error {
	existingTeams, err := s.Teams(ctx)
	if err != nil {
		return err
	}
	existingAgents, err := s.Agents(ctx)
	if err != nil {
		return err
	}
	for _, t := range teams {
		if !slices.ContainsFunc(existingTeams, func(x *model.Team) bool { return x.Name == t.Name }) {
			if err := s.CreateTeam(ctx, t); err != nil {
				return err
			}
		}
	}
	for _, a := range agents {
		if !slices.ContainsFunc(existingAgents, func(x *model.Agent) bool { return x.Email == a.Email }) {
			if err := s.CreateAgent(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

func uniqueErr(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeConstraint || err != nil && strings.Contains(err.Error(), "Duplicate key") {
		return ErrExists
	}
	return err
}

// HasDemoData reports whether the demo history was written into this
// store: the flag ingest.LoadDemo sets, never guessed from the data (any
// manager can add an agent with a demo-looking address).
func (s *Store) HasDemoData(ctx context.Context) (bool, error) {
	return s.Flag(ctx, FlagDemoData)
}
