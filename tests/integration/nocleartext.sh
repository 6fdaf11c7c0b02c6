#!/bin/bash
# nocleartext.sh - the secret key never reaches the LMDB files or the logs in
# clear, even at log_level = debug and for refused or invalid requests.
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_start_server per_key_limit=2 per_key_window=60s global_limit=1000 global_window=1s log_level=debug

KEY=CANARY-secret-9d41c7e2
for i in 1 2 3 4; do pp_ping "$KEY"; done
pp_expect_status 429
pp_ping "$KEY" '{"request":'
pp_expect_status 400
pp_request POST /ping -H 'Content-Type: application/json' -H "$(printf 'x-secret-key: %s\001x' "$KEY")" --data-binary '{"request":"ping"}'
pp_expect_status 400
pp_request POST /ping -H 'Content-Type: application/json' -H "x-secret-key: $KEY$(head -c 300 /dev/zero | tr '\0' z)" --data-binary '{"request":"ping"}'
pp_expect_status 400
pp_stop_server # flushes and closes everything

ls "$PP_TMP"/db/*.mdb >/dev/null 2>&1 || pp_fail "no LMDB files in $PP_TMP/db"
[ -s "$PP_TMP/db/data.mdb" ] || pp_fail "empty data.mdb"
for f in "$PP_TMP"/db/* "$PP_TMP/workers.log" "$PP_TMP/error.log" "$PP_TMP/access.log"; do
	[ -f "$f" ] || continue
	n=$(grep -c -a -F CANARY-secret "$f")
	[ "$n" -eq 0 ] || pp_fail "$(basename "$f"): the secret key appears $n time(s) in clear"
done
# The search itself works on these files: a string the server must have
# logged is found the same way.
grep -q -a -F "$PP_TMP/db" "$PP_TMP/workers.log" || pp_fail "start-up line naming the store path missing"
pp_done
