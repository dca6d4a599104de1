package config

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The flags of the services (and so their environment variables, which the Kubernetes
// manifests set and proyecto3/validate checks against docs/contracts.md) must be exactly the
// ones docs/contracts.md documents.
func TestFlagsMatchTheContract(t *testing.T) {
	src := filepath.Join("..", "..")
	files := []string{"cmd/gateway/main.go", "cmd/writer/main.go", "cmd/consumer/main.go",
		"internal/broker/open/open.go", "internal/config/config.go"}
	flagDef := regexp.MustCompile(`fs\.(?:String|Duration|Int64|Int|Bool|Float64)Var\(&[^,]+,\s*"([a-z0-9-]+)"`)
	code := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range flagDef.FindAllStringSubmatch(string(b), -1) {
			code[m[1]] = true
		}
	}
	if len(code) < 20 {
		t.Fatalf("found only %d flags in the sources: the pattern no longer matches the code", len(code))
	}
	doc, err := os.ReadFile(filepath.Join(src, "..", "docs", "contracts.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i := strings.Index(s, "## Configuration")
	j := strings.Index(s[i+3:], "\n## ")
	if i < 0 || j < 0 {
		t.Fatal("contracts.md: no Configuration section")
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`--([a-z0-9-]+)`").FindAllStringSubmatch(s[i:i+3+j], -1) {
		documented[m[1]] = true
	}
	var missing, stale []string
	for f := range code {
		if !documented[f] {
			missing = append(missing, f)
		}
	}
	for f := range documented {
		if !code[f] {
			stale = append(stale, f)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 || len(stale) > 0 {
		t.Fatalf("docs/contracts.md Configuration: undocumented flags %v; documented flags no service has %v", missing, stale)
	}
}
