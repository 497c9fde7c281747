#!/bin/sh
# gen.sh N BASE_URL [KEYS]: writes to standard output a configuration of N
# stores of one fake Whatalo (cmd/whatalo-fake, which serves the demo store
# under every key it is given). Store i is named store-i, reads with API key
# wk_live_manystores_i and answers WAzion token token-store-i. With KEYS
# below N, stores share keys round robin (store i uses key i mod KEYS), to
# measure stores that share a rate limit.
#
# The fake must accept the keys: print them comma-separated, for
# WHATALO_FAKE_API_KEYS, with
#   KEYS_ONLY=1 gen.sh N BASE_URL [KEYS]
set -eu
n=$1
base=$2
keys=${3:-$n}
if [ "${KEYS_ONLY:-}" = 1 ]; then
	i=0
	sep=
	while [ "$i" -lt "$keys" ]; do
		printf '%swk_live_manystores_%d' "$sep" "$i"
		sep=,
		i=$((i + 1))
	done
	echo
	exit 0
fi
echo "listen: 127.0.0.1:0"
echo "log_level: warn"
echo "stores:"
i=0
while [ "$i" -lt "$n" ]; do
	printf '  - name: store-%d\n    api_key: wk_live_manystores_%d\n    base_url: %s\n    tokens: [token-store-%d]\n' \
		"$i" $((i % keys)) "$base" "$i"
	i=$((i + 1))
done
