#!/bin/bash
# refusal-cache.sh - nginx repeats per-key 429s from its cache (the shipped
# conf/nginx/pingpong-refusal-cache*.conf, nginx_refusal_cache = yes) and the
# limiter stays exact: 16 connections on one key keep exact sliding windows,
# with most refusals answered by nginx (HIT) and none while the window had
# room; 200s are never stored; invalid requests against a refused key still
# get their own answers; two non-UTF-8 keys do not share an entry; no key is
# in clear in the cache directory; global-only refusals are not stored; the
# documented purge works; without a proper secret nothing is cached.
. "$(dirname "$0")/refusal-cache-lib.sh"
pp_setup
pp_cache_require
pp_require wrk

# 1. Exactness under 16 connections, the cache on.
pp_start_server db_map_size=128M per_key_limit=5 per_key_window=2s \
	global_limit=100000 global_window=1s nginx_refusal_cache=yes
pp_cache_flood one-hot-key
n=$(awk '$5 == "/ping" && $2 == 200 && $8 == "HIT"' "$PP_ACCESS_LOG" | wc -l)
[ "$n" -eq 0 ] || pp_fail "$n admissions (200) were answered from the cache"
grep -q 'one-hot-key' <(grep -raF one-hot-key "$PP_TMP/cache") && pp_fail "the key is in clear in the cache directory"
grep -E 'Requests/sec|Non-2xx|Socket errors' "$PP_TMP/wrk.out" | sed 's/^/# wrk: /' >&2

# 2. A refused key: what a cached answer shows, and invalid requests still
# get their own answer (never the cached 429). A long window: the checks
# below take a few seconds.
pp_stop_server
pp_start_server per_key_limit=2 per_key_window=60s global_limit=100000 nginx_refusal_cache=yes
key=refused-key
for i in 1 2 3 4 5; do pp_ping "$key"; done
pp_expect_status 429
pp_expect_api_framing
pp_expect_header Retry-After '(59|60)'
pp_expect_no_header X-Accel-Expires
[ "$(tail -n 1 "$PP_ACCESS_LOG" | awk '{print $8}')" = HIT ] ||
	pp_fail "the repeated refusal was not answered from the cache: $(tail -n 1 "$PP_ACCESS_LOG")"
ping() { pp_request POST "${1:-/ping}" -H "x-secret-key: $key" "${@:2}"; }
ping /ping -H 'Content-Type: application/json' --data-binary '{"request":'; pp_expect_status 400
ping /ping -H 'Content-Type: application/json' --data-binary '{"request":"pong"}'; pp_expect_status 400
ping /ping -H 'Content-Type: application/json' --data-binary '{"request":"ping","x":1}'; pp_expect_status 429
ping /ping -H 'Content-Type: text/plain' --data-binary '{"request":"ping"}'; pp_expect_status 415
ping /ping -H 'Content-Type: application/json' --data-binary "{\"request\":\"ping\",\"pad\":\"$(head -c 5000 /dev/zero | tr '\0' a)\"}"
pp_expect_status 413
pp_request GET /ping -H "x-secret-key: $key"; pp_expect_status 405
pp_request HEAD /ping -H "x-secret-key: $key" -I; pp_expect_status 405
ping /%70ing -H 'Content-Type: application/json' --data-binary '{"request":"ping"}'
[ "$PP_STATUS" != 429 ] || [ "$(tail -n 1 "$PP_ACCESS_LOG" | awk '{print $8}')" != HIT ] ||
	pp_fail "/%70ing was answered from the cache"
ping /nope -H 'Content-Type: application/json' --data-binary '{"request":"ping"}'; pp_expect_status 404
pp_request POST /ping -H 'Content-Type: application/json' --data-binary '{"request":"ping"}'; pp_expect_status 400
# Only the canonical ping (after the invalid ones) is a HIT again.
pp_ping "$key"; pp_expect_status 429
[ "$(tail -n 1 "$PP_ACCESS_LOG" | awk '{print $8}')" = HIT ] || pp_fail "canonical ping after invalid ones not a HIT"
n=$(awk '$5 == "/ping" && $8 == "HIT" && $2 != 429' "$PP_ACCESS_LOG" | wc -l)
[ "$n" -eq 0 ] || pp_fail "$n non-429 answers came from the cache"

# The documented purge (pingpong.service does it on every start): delete the
# cache's files; nginx then asks pingpong again (which still refuses).
find "$PP_TMP/cache" -mindepth 1 -type f -delete
pp_ping "$key"; pp_expect_status 429
[ "$(tail -n 1 "$PP_ACCESS_LOG" | awk '{print $8}')" != HIT ] || pp_fail "a purged entry was still a HIT"
pp_ping "$key"; pp_expect_status 429
[ "$(tail -n 1 "$PP_ACCESS_LOG" | awk '{print $8}')" = HIT ] || pp_fail "the refusal was not cached again after the purge"

# 3. Two keys that differ only in bytes that are not UTF-8: refusing one must
# not refuse the other (r.variables would map both to U+FFFD).
k1=$'nonutf8-\xff\xfe'
k2=$'nonutf8-\xfe\xff'
for i in 1 2 3 4 5; do pp_ping "$k1"; done
pp_expect_status 429
[ "$(tail -n 1 "$PP_ACCESS_LOG" | awk '{print $8}')" = HIT ] || pp_fail "first non-UTF-8 key's refusal not cached"
pp_ping "$k2"
pp_expect_status 200

# 4. No key in clear anywhere in the cache directory.
nfiles=$(find "$PP_TMP/cache" -type f | wc -l)
[ "$nfiles" -gt 0 ] || pp_fail "no cache file was written"
for k in one-hot-key refused-key "$k1" "$k2"; do
	grep -raqF -- "$k" "$PP_TMP/cache" && pp_fail "a key is in clear in the cache directory: $(printf %q "$k")"
done
pp_log "$nfiles cache files, none holds a key"

# 5. Global-only refusals are never stored.
pp_stop_server
rm -rf "$PP_TMP/cache" "$PP_TMP/db"
pp_start_server per_key_limit=100 per_key_window=10s global_limit=2 global_window=2s nginx_refusal_cache=yes
for i in 1 2 3 4 5 6; do pp_ping "g-key"; done
pp_expect_status 429
pp_expect_json .limit '"global"'
n=$(find "$PP_TMP/cache" -type f | wc -l)
[ "$n" -eq 0 ] || pp_fail "$n cache files after global-only refusals"
[ "$(pp_cache_count 429 HIT)" -eq 0 ] || pp_fail "a global-only refusal was answered from the cache"

# 6. The key off (the default): nothing is ever stored.
pp_stop_server
rm -rf "$PP_TMP/cache" "$PP_TMP/db"
pp_start_server per_key_limit=1 per_key_window=10s global_limit=1000
for i in 1 2 3 4; do pp_ping "off-key"; done
pp_expect_status 429
[ "$(find "$PP_TMP/cache" -type f | wc -l)" -eq 0 ] || pp_fail "cache files with nginx_refusal_cache = no"

# 7. No proper cache secret: the njs key would be empty for every key, so
# nothing is looked up or stored (one key's refusal must not answer another).
pp_stop_server
rm -rf "$PP_TMP/cache" "$PP_TMP/db"
echo 'set $pingpong_cache_secret short;' >"$PP_TMP/pingpong-cache-secret.conf"
pp_start_server per_key_limit=1 per_key_window=10s global_limit=1000 nginx_refusal_cache=yes
for i in 1 2 3 4; do pp_ping "nosecret-a"; done
pp_expect_status 429
pp_ping "nosecret-b"
pp_expect_status 200
[ "$(find "$PP_TMP/cache" -type f | wc -l)" -eq 0 ] || pp_fail "cache files without a proper secret"
pp_done
