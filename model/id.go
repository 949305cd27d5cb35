package model

import "github.com/google/uuid"

// NewID returns a new time-ordered unique id (UUIDv7) for a ticket, an
// event or any other record.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }
