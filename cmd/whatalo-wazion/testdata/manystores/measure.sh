#!/bin/sh
# measure.sh WAZION_BINARY FAKE_BINARY [N [KEYS]]: starts one fake Whatalo
# and the service with N stores (default 1000) of it on KEYS API keys
# (default N: one key per store), and prints the service's
# RSS and peak RSS, the time until every store's phone index is ready, the
# fake's upstream call count at that point, and the /metrics line count
# before and after one request per store on two endpoints.
set -eu
[ -n "${TRACE:-}" ] && set -x
bin=$1
fakebin=$2
n=${3:-1000}
keys=${4:-$n}
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
fakeport=${FAKE_PORT:-18090}
port=${PORT:-18080}
KEYS_ONLY=1 "$here/gen.sh" "$n" x "$keys" > "$dir/keys"
WHATALO_FAKE_API_KEYS=$(cat "$dir/keys") "$fakebin" --listen 127.0.0.1:$fakeport > "$dir/fake.out" 2>&1 &
fakepid=$!
trap 'kill $pid $fakepid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
"$here/gen.sh" "$n" "http://127.0.0.1:$fakeport/v1" "$keys" > "$dir/stores.yaml"
until curl -s -o /dev/null "http://127.0.0.1:$fakeport/_fake/stats"; do sleep 0.1; done
start=$(date +%s.%N)
LISTEN_ADDR=127.0.0.1:$port "$bin" serve --config "$dir/stores.yaml" > "$dir/service.log" 2>&1 &
pid=$!
base=http://127.0.0.1:$port
until curl -s -o /dev/null "$base/healthz"; do sleep 0.05; done
# Ready: every store's index reports "ready" in /metrics.
while :; do
	ready=$(curl -s "$base/metrics" | grep -c '^whatalo_wazion_index_state{state="ready",.*} 1' || true)
	[ "$ready" -ge "$n" ] && break
	sleep 0.25
done
end=$(date +%s.%N)
calls=$(curl -s "http://127.0.0.1:$fakeport/_fake/stats" | sed -n 's/.*"total": *\([0-9]*\).*/\1/p')
echo "stores: $n"
echo "ready_seconds: $(echo "$end - $start" | bc)"
echo "startup_upstream_calls: $calls"
echo "metrics_lines_before_traffic: $(curl -s "$base/metrics" | wc -l)"
grep -E '^(VmRSS|VmHWM)' /proc/$pid/status | sed 's/^/at_ready_/'
: > "$dir/curl.cfg"
i=0
while [ "$i" -lt "$n" ]; do
	echo "url = \"$base/wazion/sidePanel_CustomerInfo?token=token-store-$i&phone=%2B18095551234\"" >> "$dir/curl.cfg"
	echo "output = /dev/null" >> "$dir/curl.cfg"
	echo "url = \"$base/wazion/globalSearch?token=token-store-$i&query=ana\"" >> "$dir/curl.cfg"
	echo "output = /dev/null" >> "$dir/curl.cfg"
	i=$((i + 1))
done
echo "url = \"$base/wazion/sidePanel_CustomerInfo?token=wrong-token&phone=%2B18095551234\"" >> "$dir/curl.cfg"
echo "output = /dev/null" >> "$dir/curl.cfg"
curl -s --config "$dir/curl.cfg"
echo "metrics_lines_after_traffic: $(curl -s "$base/metrics" | wc -l)"
echo "upstream_calls_after_traffic: $(curl -s "http://127.0.0.1:$fakeport/_fake/stats" | sed -n 's/.*"total": *\([0-9]*\).*/\1/p')"
grep -E '^(VmRSS|VmHWM)' /proc/$pid/status | sed 's/^/after_traffic_/'
echo "goroutines: $(curl -s "$base/metrics" | sed -n 's/^go_goroutines \(.*\)/\1/p')"
