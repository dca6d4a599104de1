package tweet

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new tweet id (UUIDv7: time-ordered, unique without coordination).
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidateID accepts only a canonical UUID, so ids used as Valkey keys are bounded and clean.
func ValidateID(id string) *FieldError {
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return fieldErr("id", "must be a canonical lower-case UUID")
	}
	return nil
}

// NowMs is the received-at clock: Unix time in milliseconds.
func NowMs() int64 { return time.Now().UnixMilli() }

// ParseMs parses a received-at value; it must be a positive integer.
func ParseMs(s string) (int64, *FieldError) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fieldErr("received_at_ms", "must be a positive Unix time in milliseconds")
	}
	return n, nil
}

// FormatMs is the inverse of ParseMs.
func FormatMs(ms int64) string { return strconv.FormatInt(ms, 10) }
