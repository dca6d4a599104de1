package tweet

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// canonicalByUUID is the definition ValidateID implements: what uuid.Parse reads and
// formats back to the same string.
func canonicalByUUID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

func TestValidateID(t *testing.T) {
	id := NewID()
	for s, want := range map[string]bool{
		id:                                     true,
		"00000000-0000-0000-0000-000000000000": true,
		"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b": true,
		strings.ToUpper(id):                    false,
		"urn:uuid:" + id:                       false,
		"{" + id + "}":                         false,
		strings.ReplaceAll(id, "-", ""):        false,
		id[:35]:                                false,
		id + "0":                               false,
		"0190a1b2-c3d4-7e5f-8a9b_0c1d2e3f4a5b": false,
		"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g": false,
		"":                                     false,
	} {
		if got := ValidateID(s) == nil; got != want || got != canonicalByUUID(s) {
			t.Errorf("ValidateID(%q) accepts: %v, want %v (uuid: %v)", s, got, want, canonicalByUUID(s))
		}
	}
}

// FuzzValidateID holds ValidateID to uuid's reading of a canonical UUID on any string.
func FuzzValidateID(f *testing.F) {
	f.Add(NewID())
	f.Add("0190A1B2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	f.Add("urn:uuid:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidateID(s) == nil, canonicalByUUID(s); got != want {
			t.Fatalf("ValidateID(%q) accepts: %v, uuid: %v", s, got, want)
		}
	})
}
