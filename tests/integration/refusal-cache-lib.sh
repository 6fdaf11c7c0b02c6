# tests/integration/refusal-cache-lib.sh - lib.sh, with nginx running the
# shipped refusal cache (conf/nginx/pingpong-refusal-cache*.conf and the njs
# key) in front of the workers. Sourced by tests/integration/refusal-cache*.sh.
#
# Overrides pp_write_nginx_conf: the shipped snippets with their /etc and
# /var paths moved into $PP_TMP; "location = /ping" includes the location
# snippet. The access log gains $upstream_cache_status as field 8 (fields 1-7
# stay lib.sh's, so pp_check_windows reads it as it is).
# PP_CACHE_DIR (default $PP_TMP/cache) moves the cache directory (a tmpfs).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PP_NJS_MODULE=${PP_NJS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}

pp_cache_require() {
	[ -f "$PP_NJS_MODULE" ] || pp_skip "njs module missing: install libnginx-mod-http-js"
}

pp_write_nginx_conf() {
	local port=$1 user= cache=${PP_CACHE_DIR:-$PP_TMP/cache} c=$PP_SRCDIR/conf/nginx
	[ "$(id -u)" -eq 0 ] && user="user root;"
	mkdir -p "$PP_TMP/nginx" "$cache"
	if [ ! -s "$PP_TMP/pingpong-cache-secret.conf" ]; then
		(umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' |
			sed 's/.*/set $pingpong_cache_secret &;\n/' >"$PP_TMP/pingpong-cache-secret.conf")
	fi
	sed -e "s|/var/cache/nginx/pingpong|$cache|" -e "s|/etc/nginx/|$PP_TMP/|" \
		"$c/pingpong-refusal-cache.conf" >"$PP_TMP/pingpong-refusal-cache.conf"
	sed -e "s|/etc/nginx/|$PP_TMP/|" \
		"$c/pingpong-refusal-cache-location.conf" >"$PP_TMP/pingpong-refusal-cache-location.conf"
	cp "$c/pingpong-cache-key.js" "$PP_TMP/pingpong-cache-key.js"
	cat >"$PP_TMP/nginx.conf" <<EOF2
# written by tests/integration/refusal-cache-lib.sh
load_module $PP_NJS_MODULE;
$user
worker_processes 1;
pid $PP_TMP/nginx.pid;
error_log $PP_TMP/error.log warn;
events { worker_connections 512; }
http {
	log_format pp '\$msec \$status \$request_time \$request_method \$uri \$upstream_response_time \$body_bytes_sent \$upstream_cache_status';
	access_log $PP_TMP/access.log pp;
	client_body_temp_path $PP_TMP/nginx/client_body;
	fastcgi_temp_path $PP_TMP/nginx/fastcgi;
	proxy_temp_path $PP_TMP/nginx/proxy;
	uwsgi_temp_path $PP_TMP/nginx/uwsgi;
	scgi_temp_path $PP_TMP/nginx/scgi;
	keepalive_timeout 60s;
	keepalive_requests 1000000;
	include $PP_TMP/pingpong-refusal-cache.conf;
	server {
		listen 127.0.0.1:$port;
		server_name localhost;
		client_max_body_size 16k;
		location = /ping {
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$PP_TMP/fcgi.sock;
			include $PP_TMP/pingpong-refusal-cache-location.conf;
		}
		location / {
			include /etc/nginx/fastcgi_params;
			fastcgi_pass unix:$PP_TMP/fcgi.sock;
		}
	}
}
EOF2
}

# Counts access-log lines of /ping by status and cache status ("429 HIT").
pp_cache_count() {
	awk -v s="$1" -v c="$2" '$5 == "/ping" && $2 == s && $8 == c' "$PP_ACCESS_LOG" | wc -l
}
