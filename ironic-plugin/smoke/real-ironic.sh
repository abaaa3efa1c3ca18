#!/usr/bin/env bash
# Smoke test with the REAL Ironic 29 (Debian trixie) and this plugin: starts a BMC emulator (idrac9), the
# bmc-console agent and Ironic (API + conductor + noVNC proxy in one process, in localhost/bmc-console-ironic),
# enrolls a redfish node, enables its console through Ironic's REST API and checks that
#  - the plugin's start request reached the agent (without a VNC password: Ironic's proxy speaks RFB None only),
#  - Ironic's console URL opens through Ironic's own noVNC proxy and (podman provider) shows the emulated KVM,
#  - the BMC password is in no log and not in `podman inspect`,
#  - disabling the console and stopping the conductor stop the console through the agent.
# Usage (root, from the repository): bash ironic-plugin/smoke/real-ironic.sh
# Env: PROVIDER=podman|fake (default podman: needs localhost/bmc-console:latest, scripts/image-build.sh),
#      TRANSPORT=unix|tcp (default unix; tcp = agent on 127.0.0.1 with its API key), KEEP=1 leaves it running.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/scripts/lib.sh"
PROVIDER=${PROVIDER:-podman}
TRANSPORT=${TRANSPORT:-unix}
W=$(mktemp -d /var/tmp/bmc-console-ironic-smoke.XXXXXX)
chmod 700 "$W"
NAME=bmc-console-ironic-smoke-$$
AGENT_HOST=ironic-smoke-$$
pids=()
say() { printf '==> %s\n' "$*" >&2; }
ok() { printf 'PASS %s\n' "$*"; }
die() { printf 'FAIL %s\n' "$*"; exit 1; }
cleanup() {
  local rc=$?
  if [ "${KEEP:-0}" = 1 ]; then say "KEEP=1: left running (work dir $W, container $NAME, pids ${pids[*]})"; return; fi
  podman stop -t 30 "$NAME" >/dev/null 2>&1 || true
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "$rc" = 0 ] && rm -rf "$W" || say "logs kept in $W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port); VNC_PORT=$(free_port); AGENT_PORT=$(free_port)
H='X-OpenStack-Ironic-API-Version: 1.96'
API=http://127.0.0.1:$API_PORT
t0=$(date +%s)

IMAGE=$(bash "$ROOT/scripts/ironic-image.sh" 2>"$W/image-build.log") || { tail -30 "$W/image-build.log" >&2; die "image build failed"; }
grep '^==>' "$W/image-build.log" >&2 || true
if [ "$PROVIDER" = podman ] && ! podman image exists localhost/bmc-console:latest; then
  die "PROVIDER=podman needs localhost/bmc-console:latest (bash scripts/image-build.sh), or run with PROVIDER=fake"
fi

# 1. The BMC emulator, on an address both Ironic (host network) and a console container (slirp4netns) reach.
BMC_HOST=$(ip -4 -o route get 192.0.2.255 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
[ -n "$BMC_HOST" ] || BMC_HOST=$(hostname -I | awk '{print $1}')
[ "$PROVIDER" = fake ] && BMC_HOST=127.0.0.1
BMC_EMULATOR_PASSWORD=$(head -c 12 /dev/urandom | base64 | tr -d '/+=') \
  node --conditions=source --import tsx "$ROOT/bmc-emulator/src/cli.ts" --vendor idrac9 --node ironic-smoke \
  --listen "$BMC_HOST:0" >"$W/emulator.out" 2>"$W/emulator.err" &
pids+=($!)
for _ in $(seq 1 60); do [ -s "$W/emulator.out" ] && break; sleep 0.5; done
read -r BMC_URL BMC_USER BMC_PASS MARKER < <(python3 -c 'import json,sys; e=json.loads(open(sys.argv[1]).readline()); print(e["url"], e["username"], e["password"], e["markerColor"])' "$W/emulator.out")
say "emulator $BMC_URL"

# 2. The agent: API on a unix socket (mounted into the Ironic container) or on TCP with its API key.
mkdir -p "$W/agent-state" "$W/sock" "$W/etc" "$W/lib"; chmod 700 "$W/agent-state"
if [ "$TRANSPORT" = tcp ]; then
  LISTEN=tcp://127.0.0.1:$AGENT_PORT
  AGENT_URL=http://127.0.0.1:$AGENT_PORT
  CRED="credential_file = /etc/bmc-console/agent-api-key"
else
  LISTEN=unix:$W/sock/agent.sock
  AGENT_URL=unix:/run/bmc-console-agent/agent.sock
  CRED=""
fi
cat >"$W/agent.yaml" <<YAML
container_provider: $PROVIDER
agent_host: $AGENT_HOST
state_dir: $W/agent-state
api_listen: $LISTEN
public_url: http://127.0.0.1:$VNC_PORT/
YAML
node --conditions=source --import tsx "$ROOT/host-agent/src/cli.ts" --config "$W/agent.yaml" serve >"$W/agent.out" 2>"$W/agent.err" &
pids+=($!)
for _ in $(seq 1 60); do grep -q '"listening"' "$W/agent.out" 2>/dev/null && break; sleep 0.5; done
grep -q '"listening"' "$W/agent.out" || { cat "$W/agent.err" >&2; die "agent did not start"; }
say "agent $(grep -o '"listening":"[^"]*"' "$W/agent.out")"

# 3. Ironic: one process (API, conductor, noVNC proxy), sqlite, no auth, the bmc-console console provider.
cat >"$W/etc/ironic.conf" <<CONF
[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = $AGENT_HOST
enabled_hardware_types = redfish
enabled_power_interfaces = redfish
enabled_management_interfaces = redfish
enabled_console_interfaces = redfish-graphical,no-console
enabled_boot_interfaces = redfish-virtual-media
enabled_deploy_interfaces = direct,ramdisk
enabled_inspect_interfaces = no-inspect
enabled_network_interfaces = noop
enabled_raid_interfaces = no-raid
enabled_rescue_interfaces = no-rescue
enabled_vendor_interfaces = no-vendor
enabled_bios_interfaces = no-bios
enabled_firmware_interfaces = no-firmware
enabled_storage_interfaces = noop
log_file = /var/lib/ironic/ironic.log
debug = True

[api]
host_ip = 127.0.0.1
port = $API_PORT

[database]
connection = sqlite:////var/lib/ironic/ironic.sqlite

[oslo_concurrency]
lock_path = /var/lib/ironic/locks

[vnc]
enabled = True
host_ip = 127.0.0.1
port = $VNC_PORT
public_url = http://127.0.0.1:$VNC_PORT/vnc_lite.html
container_provider = bmc-console

[bmc_console]
agent_url = $AGENT_URL
$CRED
vnc_password = False
timeout = 60
CONF
mounts=(-v "$W/etc:/etc/ironic:ro" -v "$W/lib:/var/lib/ironic")
[ "$TRANSPORT" = tcp ] && mounts+=(-v "$W/agent-state/api.key:/etc/bmc-console/agent-api-key:ro") \
                       || mounts+=(-v "$W/sock:/run/bmc-console-agent")
podman run -d --name "$NAME" --network host "${mounts[@]}" "$IMAGE" bash -c \
  'mkdir -p /var/lib/ironic/locks && { [ -f /var/lib/ironic/ironic.sqlite ] || ironic-dbsync --config-file /etc/ironic/ironic.conf create_schema >/dev/null 2>&1; } && exec ironic --config-file /etc/ironic/ironic.conf' >/dev/null
for _ in $(seq 1 120); do curl -sf "$API/" >/dev/null && break; sleep 1; done
curl -sf "$API/" >/dev/null || { podman logs "$NAME" 2>&1 | tail -20 >&2; die "Ironic API did not come up"; }
ok "Ironic 29 API up after $(( $(date +%s) - t0 )) s"
for _ in $(seq 1 30); do grep -q 'bmc-console agent stopped all consoles' "$W/lib/ironic.log" && break; sleep 1; done
grep -q 'bmc-console agent stopped all consoles' "$W/lib/ironic.log" && ok "conductor start: stop_all_containers went through the agent" \
  || die "conductor start did not call the agent"

# 4. Enroll a redfish node (the password only in a 0600 file, never in argv).
(umask 077; python3 - "$BMC_URL" "$BMC_USER" >"$W/node.json" <<PY
import json, sys
print(json.dumps({"name": "ironic-smoke", "driver": "redfish", "console_interface": "redfish-graphical",
  "driver_info": {"redfish_address": sys.argv[1], "redfish_system_id": "/redfish/v1/Systems/System.Embedded.1",
                  "redfish_username": sys.argv[2], "redfish_password": json.loads(open("$W/emulator.out").readline())["password"],
                  "redfish_verify_ca": False}}))
PY
)
NODE=$(curl -sf -H "$H" -H 'Content-Type: application/json' -d @"$W/node.json" "$API/v1/nodes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["uuid"])')
curl -sf -H "$H" "$API/v1/nodes/$NODE/validate" | python3 -c '
import json, sys
d = json.load(sys.stdin)
bad = {k: d[k] for k in ("power", "management", "console") if not d[k]["result"]}
sys.exit(f"validate: {bad}" if bad else 0)'
ok "node $NODE enrolled, power/management/console validate"

# 5. Enable the console through Ironic's REST API.
s0=$(date +%s.%N)
curl -sf -X PUT -H "$H" -H 'Content-Type: application/json' -d '{"enabled": true}' "$API/v1/nodes/$NODE/states/console"
for _ in $(seq 1 90); do
  st=$(curl -sf -H "$H" "$API/v1/nodes/$NODE?fields=console_enabled,last_error")
  echo "$st" | grep -q '"console_enabled": true' && break
  echo "$st" | grep -q '"last_error": "' && die "enable failed: $st"
  sleep 0.5
done
echo "$st" | grep -q '"console_enabled": true' || die "console not enabled: $st"
ok "console enabled through Ironic in $(python3 -c "import time; print(round(time.time() - $s0, 1))") s"
grep "\"node\":\"$NODE\"" "$W/agent.out" | grep -q '"withVncPassword":false' && ok "agent got the start without a VNC password" \
  || die "the agent did not log a start without VNC password"
URL=$(curl -sf -H "$H" "$API/v1/nodes/$NODE/states/console" | python3 -c 'import json,sys; print(json.load(sys.stdin)["console_info"]["url"])')
ok "Ironic console URL ${URL%%token*}token=..."
if [ "$PROVIDER" = podman ]; then
  python3 "$ROOT/ironic-plugin/smoke/rfb_ws.py" "$URL" --expect-color "$MARKER" --timeout 60 --screenshot "$W/screen.ppm" \
    && ok "the emulated iDRAC's KVM is on the screen through Ironic's noVNC proxy (RFB security None)" \
    || die "no KVM through Ironic's noVNC proxy"
  if [ "${BROWSER:-1}" = 1 ] && [ -x /usr/bin/chromium ]; then
    # A real noVNC in a browser: Ironic serves Debian's noVNC (vnc_lite.html connects by itself); a fresh URL.
    URL2=$(curl -sf -H "$H" "$API/v1/nodes/$NODE/states/console" | python3 -c 'import json,sys; print(json.load(sys.stdin)["console_info"]["url"])')
    (cd "$ROOT" && node ironic-plugin/smoke/browser-check.mjs "$URL2" "$MARKER" "$W/browser.png") \
      && ok "Chromium on Ironic's console URL (noVNC vnc_lite.html via ironic-novncproxy) shows the emulated KVM" \
      || die "the browser does not show the KVM (screenshot $W/browser.png)"
  fi
  insp=$(podman inspect "bmc-console-$NODE")
  [[ "$insp" != *"$BMC_PASS"* ]] && ok "BMC password not in podman inspect" || die "BMC password in podman inspect"
fi

# 6. No BMC password in any log.
for f in "$W/lib/ironic.log" "$W/agent.out" "$W/agent.err"; do
  if grep -qF -- "$BMC_PASS" "$f"; then die "BMC password in $f"; fi
done
ok "BMC password in no log (ironic.log, agent)"

# 7. Disable, then stop the conductor.
curl -sf -X PUT -H "$H" -H 'Content-Type: application/json' -d '{"enabled": false}' "$API/v1/nodes/$NODE/states/console"
for _ in $(seq 1 60); do grep -q "\"node\":\"$NODE\",\"msg\":\"console stopped\"" "$W/agent.out" && break; sleep 0.5; done
grep -q "\"node\":\"$NODE\",\"msg\":\"console stopped\"" "$W/agent.out" || die "disable did not stop the console"
if [ "$PROVIDER" = podman ] && podman container exists "bmc-console-$NODE"; then die "console container still there"; fi
ok "console disabled through Ironic: the agent stopped it"
n=$(grep -c '"msg":"all consoles stopped"' "$W/agent.out" || true)
podman stop -t 30 "$NAME" >/dev/null
[ "$(grep -c '"msg":"all consoles stopped"' "$W/agent.out")" -gt "$n" ] && ok "conductor shutdown: stop_all_containers went through the agent" \
  || die "conductor shutdown did not call the agent"
ok "all checks ($PROVIDER provider, $TRANSPORT agent API) in $(( $(date +%s) - t0 )) s"
