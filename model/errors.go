package model

import (
	"errors"
	"fmt"
)

// ValidationError says that a value is malformed or out of range. Field
// names the offending input field as the API spells it.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Invalid builds a ValidationError.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// TransitionError says that an event is well formed but not allowed in the
// ticket's current state (for example resolving a resolved ticket).
type TransitionError struct {
	Event  EventType
	Status Status
	Reason string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot apply %s to a %s ticket: %s", e.Event, e.Status, e.Reason)
}

// ErrNotFound says that a ticket, agent or team does not exist.
var ErrNotFound = errors.New("not found")
