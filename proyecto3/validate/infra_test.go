package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Zot host is one name everywhere: the kustomize images (ZotHost), the infra settings
// (private DNS + port) and the node containerd config built from them.
func TestZotHostMatchesInfra(t *testing.T) {
	overlays(t)
	b, err := os.ReadFile(filepath.Join(p3, "infra", "config.env"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	domain := regexp.MustCompile(`ZOT_DNS_DOMAIN="\$\{ZOT_DNS_DOMAIN:-([^}]+)\}"`).FindStringSubmatch(s)
	port := regexp.MustCompile(`(?m)^ZOT_PORT=(\d+)$`).FindStringSubmatch(s)
	if domain == nil || port == nil {
		t.Fatal("config.env: ZOT_DNS_DOMAIN or ZOT_PORT not found")
	}
	if got := "zot." + domain[1] + ":" + port[1] + "/"; got != ZotHost {
		t.Errorf("infra builds Zot host %q, the manifests use %q", got, ZotHost)
	}
	gke, _ := os.ReadFile(filepath.Join(p3, "infra", "10-gke-cluster.sh"))
	for _, want := range []string{`server: "${ZOT_HOST}"`, `host: "http://${ZOT_HOST}"`, "HOST_CAPABILITY_PULL", "--containerd-config-from-file", "--enable-dataplane-v2"} {
		if !strings.Contains(string(gke), want) {
			t.Errorf("10-gke-cluster.sh: missing %q", want)
		}
	}
}

// The Zot config written by the VM startup script is valid JSON with what the statement and
// the design need: htpasswd auth, docker2s2 compatibility, the UI and search extensions.
func TestZotConfig(t *testing.T) {
	overlays(t)
	b, err := os.ReadFile(filepath.Join(p3, "infra", "zot-startup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)cat > /etc/zot/config.json <<'JSON'\n(.*?)\nJSON\n`).FindSubmatch(b)
	if m == nil {
		t.Fatal("zot-startup.sh: config.json heredoc not found")
	}
	var cfg struct {
		HTTP struct {
			Port   string   `json:"port"`
			Compat []string `json:"compat"`
			Auth   struct {
				Htpasswd struct {
					Path string `json:"path"`
				} `json:"htpasswd"`
			} `json:"auth"`
			AccessControl map[string]any `json:"accessControl"`
		} `json:"http"`
		Extensions struct {
			Search struct {
				Enable bool `json:"enable"`
			} `json:"search"`
			UI struct {
				Enable bool `json:"enable"`
			} `json:"ui"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(m[1], &cfg); err != nil {
		t.Fatalf("config.json: %v", err)
	}
	if cfg.HTTP.Port != "5000" || !hasString(cfg.HTTP.Compat, "docker2s2") || cfg.HTTP.Auth.Htpasswd.Path == "" ||
		!cfg.Extensions.Search.Enable || !cfg.Extensions.UI.Enable || cfg.HTTP.AccessControl == nil {
		t.Errorf("zot config.json lacks port 5000, docker2s2, htpasswd, access control, search or ui: %+v", cfg)
	}
	if strings.Contains(string(m[1]), "anonymousPolicy") {
		t.Error("zot: anonymous access is not allowed")
	}
}
