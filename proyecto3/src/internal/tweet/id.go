package tweet

import (
	"strconv"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new tweet id (UUIDv7: time-ordered, unique without coordination).
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidateID accepts only a canonical UUID (36 characters, lower-case hex in groups of 8, 4, 4, 4
// and 12 joined by dashes), so ids used as Valkey keys are bounded and clean. Every stage checks
// every tweet's id, so it reads the bytes instead of parsing and formatting a uuid.UUID.
func ValidateID(id string) *FieldError {
	if !isCanonicalUUID(id) {
		return fieldErr("id", "must be a canonical lower-case UUID")
	}
	return nil
}

func isCanonicalUUID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
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
