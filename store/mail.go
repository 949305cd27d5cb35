package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/deskpulse/deskpulse/model"
)

// Directions of a mail_messages row.
const (
	MailIn  = "in"  // received by the inbound listener (package mailin)
	MailOut = "out" // sent to the requester (package notify)
)

// AddMailMessage records that the e-mail with this Message-ID (angle
// brackets optional) belongs to a ticket. A Message-ID seen before keeps
// its first ticket; the result says whether it was new.
func (s *Store) AddMailMessage(ctx context.Context, messageID, ticketID, direction string, at time.Time) (bool, error) {
	id := CleanMessageID(messageID)
	if id == "" {
		return false, nil
	}
	res, err := s.DB.ExecContext(ctx, `INSERT INTO mail_messages (message_id, ticket_id, direction, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, id, ticketID, direction, at.UTC())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteMailMessage forgets a Message-ID (a received e-mail whose ticket
// could not be written after all).
func (s *Store) DeleteMailMessage(ctx context.Context, messageID string) error {
	_, err := s.DB.ExecContext(ctx, `DELETE FROM mail_messages WHERE message_id = ?`, CleanMessageID(messageID))
	return err
}

// MailTicket returns the ticket of the first of the Message-IDs it knows
// ("" when none): a reply's In-Reply-To and References, most specific first.
func (s *Store) MailTicket(ctx context.Context, messageIDs []string) (string, error) {
	for _, m := range messageIDs {
		id := CleanMessageID(m)
		if id == "" {
			continue
		}
		var ticket string
		err := s.DB.QueryRowContext(ctx, `SELECT ticket_id FROM mail_messages WHERE message_id = ?`, id).Scan(&ticket)
		if err == nil {
			return ticket, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	return "", nil
}

// MailThread returns a ticket's thread: root is its first Message-ID (the
// requester's original e-mail when the ticket came by e-mail, else the
// first one deskpulse sent), last the newest one received from the
// requester ("" when none).
func (s *Store) MailThread(ctx context.Context, ticketID string) (root, last string, err error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT message_id, direction FROM mail_messages WHERE ticket_id = ? ORDER BY created_at, message_id`, ticketID)
	if err != nil {
		return "", "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id, dir string
		if err := rows.Scan(&id, &dir); err != nil {
			return "", "", err
		}
		if root == "" {
			root = id
		}
		if dir == MailIn {
			last = id
		}
	}
	return root, last, rows.Err()
}

// CleanMessageID is a Message-ID without its angle brackets and spaces.
func CleanMessageID(id string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
}

// NewStatusLink makes a new secret status link for a ticket (the
// requester's page /support/t/{token}, package portal) and returns its
// token, shown once: only its hash is stored, so a copy of the database
// does not reveal working links. The portal and the requester e-mails
// (package notify) both mint links with it.
func (s *Store) NewStatusLink(ctx context.Context, ticketID string, at time.Time) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	_, err := s.DB.ExecContext(ctx, `INSERT INTO portal_links (token_hash, ticket_id, created_at) VALUES (?, ?, ?)`,
		HashStatusToken(token), ticketID, at.UTC())
	return token, err
}

// StatusLinkTicket returns the ticket of a live (not revoked) status link.
func (s *Store) StatusLinkTicket(ctx context.Context, token string) (string, error) {
	if len(token) != 43 {
		return "", model.ErrNotFound
	}
	var id string
	err := s.DB.QueryRowContext(ctx, `SELECT ticket_id FROM portal_links WHERE token_hash = ? AND revoked_at IS NULL`, HashStatusToken(token)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", model.ErrNotFound
	}
	return id, err
}

// HashStatusToken is what portal_links keeps of a token: its SHA-256.
func HashStatusToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// SentMailTicket returns the ticket of the first of the Message-IDs that
// deskpulse itself sent ("" when none): a reply's In-Reply-To and
// References. Message-IDs received from outside do not count, since
// anyone can quote them.
func (s *Store) SentMailTicket(ctx context.Context, messageIDs []string) (string, error) {
	for _, m := range messageIDs {
		id := CleanMessageID(m)
		if id == "" {
			continue
		}
		var ticket string
		err := s.DB.QueryRowContext(ctx, `SELECT ticket_id FROM mail_messages WHERE message_id = ? AND direction = ?`, id, MailOut).Scan(&ticket)
		if err == nil {
			return ticket, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	return "", nil
}

// ReplyToken returns a ticket's secret reply token, made on first use:
// 20 random bytes in lower-case base32 (32 characters, safe in an
// address's local part, which relays may lower-case).
func (s *Store) ReplyToken(ctx context.Context, ticketID string, at time.Time) (string, error) {
	b := make([]byte, 20)
	rand.Read(b)
	fresh := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	if _, err := s.DB.ExecContext(ctx, `INSERT INTO mail_reply_tokens (ticket_id, token, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		ticketID, fresh, at.UTC()); err != nil {
		return "", err
	}
	var token string
	err := s.DB.QueryRowContext(ctx, `SELECT token FROM mail_reply_tokens WHERE ticket_id = ?`, ticketID).Scan(&token)
	return token, err
}

// ReplyTokenTicket returns the ticket of a reply token ("" when none).
func (s *Store) ReplyTokenTicket(ctx context.Context, token string) (string, error) {
	if len(token) != replyTokenLen {
		return "", nil
	}
	var ticket string
	err := s.DB.QueryRowContext(ctx, `SELECT ticket_id FROM mail_reply_tokens WHERE token = ?`, token).Scan(&ticket)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return ticket, err
}

const replyTokenLen = 32

// ReplyAddress is a ticket's reply address: the support address with
// "+token" added to its local part (support+<token>@help.example.com).
func ReplyAddress(supportAddress, token string) string {
	at := strings.LastIndexByte(supportAddress, '@')
	if at < 0 || token == "" {
		return supportAddress
	}
	return supportAddress[:at] + "+" + token + supportAddress[at:]
}

// AddressReplyToken returns the reply token an address carries after the
// last "+" of its local part ("" when it has none of the right shape),
// and the address's domain, lower-cased.
func AddressReplyToken(address string) (token, domain string) {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return "", ""
	}
	local, domain := address[:at], strings.ToLower(address[at+1:])
	plus := strings.LastIndexByte(local, '+')
	if plus < 0 {
		return "", domain
	}
	token = strings.ToLower(local[plus+1:])
	if len(token) != replyTokenLen || strings.Trim(token, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		return "", domain
	}
	return token, domain
}
