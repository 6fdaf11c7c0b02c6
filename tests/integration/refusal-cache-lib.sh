# tests/integration/refusal-cache-lib.sh - tests/lib.sh, with nginx running the
# shipped refusal cache (conf/nginx/pingpong-refusal-cache*.conf and the njs
# key) in front of the workers. Sourced by tests/integration/refusal-cache*.sh.
#
# Replaces pp_write_nginx_conf: the shipped snippets with their /etc and /var
# paths moved into $PP_TMP (pp_cache_snippets, also used by
# bench/refusal-cache.sh); "location = /ping" includes the location
# snippet. The access log gains $upstream_cache_status as field 8 (fields
# 1-7 stay lib.sh's, so pp_check_windows reads it as it is).
# PP_CACHE_DIR (default $PP_TMP/cache) moves the cache directory (a tmpfs).
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

PP_NJS_MODULE=${PP_NJS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}

# The njs module the cache key needs, or a skip naming its package.
pp_cache_require() {
	[ -f "$PP_NJS_MODULE" ] ||
		pp_skip libnginx-mod-http-js "njs module missing: install libnginx-mod-http-js (in scripts/packages)"
}

# pp_cache_snippets CACHE_DIR: the shipped cache snippets and njs key in
# $PP_TMP, pointing at CACHE_DIR and a fresh secret (written once).
pp_cache_snippets() {
	local cache=$1 c=$PP_SRCDIR/conf/nginx
	mkdir -p "$cache"
	if [ ! -s "$PP_TMP/pingpong-cache-secret.conf" ]; then
		(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' |
			sed 's/.*/set $pingpong_cache_secret &;\n/' >"$PP_TMP/pingpong-cache-secret.conf")
	fi
	sed -e "s|/var/cache/nginx/pingpong|$cache|" -e "s|/etc/nginx/|$PP_TMP/|" \
		"$c/pingpong-refusal-cache.conf" >"$PP_TMP/pingpong-refusal-cache.conf"
	sed -e "s|/etc/nginx/|$PP_TMP/|" \
		"$c/pingpong-refusal-cache-location.conf" >"$PP_TMP/pingpong-refusal-cache-location.conf"
	cp "$c/pingpong-cache-key.js" "$PP_TMP/pingpong-cache-key.js"
	PP_CACHE_MAIN="load_module $PP_NJS_MODULE;"
	PP_CACHE_HTTP="	include $PP_TMP/pingpong-refusal-cache.conf;"
	PP_CACHE_LOCATION="include $PP_TMP/pingpong-refusal-cache-location.conf;"
}

# lib.sh's writer with the cache in front of /ping (dynamic scope: the
# locals below are what pp_nginx_conf reads; a test's own PP_NGINX_MAIN and
# PP_NGINX_HTTP lines come after the cache's).
pp_write_nginx_conf() {
	pp_cache_snippets "${PP_CACHE_DIR:-$PP_TMP/cache}"
	local PP_NGINX_MAIN="$PP_CACHE_MAIN
${PP_NGINX_MAIN:-}" PP_NGINX_HTTP="$PP_CACHE_HTTP
${PP_NGINX_HTTP:-}"
	local PP_NGINX_LOG='$msec $status $request_time $request_method $uri $upstream_response_time $body_bytes_sent $upstream_cache_status'
	local PP_NGINX_EXTRA="		client_max_body_size 16k;
		location = /ping {
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$PP_TMP/fcgi.sock;
			$PP_CACHE_LOCATION
		}
${PP_NGINX_EXTRA:-}"
	pp_nginx_conf "$@"
}

# Counts access-log lines of /ping by status and cache status ("429 HIT").
pp_cache_count() {
	awk -v s="$1" -v c="$2" '$5 == "/ping" && $2 == s && $8 == c' "$PP_ACCESS_LOG" | wc -l
}

# pp_cache_flood KEY: 16 connections on one key for 5 s against a server
# with per_key_limit=5 per_key_window=2s: the windows stay exact
# (pp_check_windows), the load hammered (over 100 refusals) and nginx's
# cache answered most refusals. The HIT count in PP_CACHE_HITS.
pp_cache_flood() {
	PP_WRK_KEY=$1 pp_load 5 16
	pp_check_windows 5 2
	PP_CACHE_HITS=$(pp_cache_count 429 HIT)
	pp_log "flood: $PP_CACHE_HITS of ${PP_REFUSED:-0} refusals answered by nginx from its cache"
	[ "${PP_REFUSED:-0}" -gt 100 ] || pp_fail "only ${PP_REFUSED:-0} refusals: the load did not hammer"
	[ "$PP_CACHE_HITS" -gt $((${PP_REFUSED:-0} / 2)) ] ||
		pp_fail "only $PP_CACHE_HITS of ${PP_REFUSED:-0} refusals came from nginx's cache"
}
