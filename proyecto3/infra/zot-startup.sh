#!/usr/bin/env bash
# Startup script of the Zot VM (Debian 12), run as root by the guest agent on every boot.
# Installs the pinned Zot release, writes /etc/zot/config.json (htpasswd auth, docker2s2
# compatibility, UI + search extensions) and runs it under systemd on port 5000.
# Inputs come from instance metadata (set by 20-zot-vm.sh): zot-version and the bcrypt-hashed
# htpasswd file (zot-htpasswd) - no clear-text password reaches the VM.
set -euo pipefail

md() {
  curl -fsS -H 'Metadata-Flavor: Google' \
    "http://metadata.google.internal/computeMetadata/v1/instance/attributes/$1"
}

version="$(md zot-version)"
bin=/usr/local/bin/zot

if ! id zot >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/zot --shell /usr/sbin/nologin zot
fi
install -d -o zot -g zot -m 0750 /var/lib/zot
install -d -o root -g zot -m 0750 /etc/zot

if [[ ! -x "${bin}" ]] || [[ "$(cat /etc/zot/version 2>/dev/null || true)" != "${version}" ]]; then
  echo "installing zot ${version}"
  curl -fsSL -o "${bin}.new" "https://github.com/project-zot/zot/releases/download/${version}/zot-linux-amd64"
  chmod 0755 "${bin}.new"
  mv "${bin}.new" "${bin}"
  echo "${version}" > /etc/zot/version
fi

md zot-htpasswd > /etc/zot/htpasswd.new
chown root:zot /etc/zot/htpasswd.new
chmod 0640 /etc/zot/htpasswd.new
mv /etc/zot/htpasswd.new /etc/zot/htpasswd

cat > /etc/zot/config.json <<'JSON'
{
  "distSpecVersion": "1.1.1",
  "storage": {
    "rootDirectory": "/var/lib/zot",
    "dedupe": true,
    "gc": true
  },
  "http": {
    "address": "0.0.0.0",
    "port": "5000",
    "compat": ["docker2s2"],
    "auth": {
      "htpasswd": { "path": "/etc/zot/htpasswd" },
      "failDelay": 1
    },
    "accessControl": {
      "repositories": {
        "**": {
          "policies": [
            { "users": ["ci"], "actions": ["read", "create", "update"] }
          ],
          "defaultPolicy": ["read"]
        }
      },
      "adminPolicy": {
        "users": ["admin"],
        "actions": ["read", "create", "update", "delete"]
      }
    }
  },
  "log": { "level": "info" },
  "extensions": {
    "search": { "enable": true },
    "ui": { "enable": true }
  }
}
JSON
chown root:zot /etc/zot/config.json
chmod 0640 /etc/zot/config.json
"${bin}" verify /etc/zot/config.json

cat > /etc/systemd/system/zot.service <<'UNIT'
[Unit]
Description=zot OCI registry
Documentation=https://zotregistry.dev
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=zot
Group=zot
ExecStart=/usr/local/bin/zot serve /etc/zot/config.json
Restart=on-failure
RestartSec=5
LimitNOFILE=500000
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=/var/lib/zot
PrivateTmp=true

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
systemctl enable zot.service
systemctl restart zot.service
echo "zot ${version} listening on :5000"
