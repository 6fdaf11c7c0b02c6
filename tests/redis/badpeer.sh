#!/bin/bash
# badpeer.sh - a bad peer never crashes a worker: redis_url pointing at a
# port that is not Redis (nginx), a Redis that refuses the script by ACL
# (NOPERM) and one that rejects the password; each is a 503 with one clear
# log line, and the workers live on.
. "$(dirname "$0")/lib.sh"
pp_redis_setup
pp_redis_start
secret=$(pp_key_secret)
export PP_WORKERS=2

check_alive() { # HOST: every worker that started is still running
	local pid
	for pid in $(pp_children "$(eval echo "\$PP_HOST_WORKERS_$1")"); do
		pp_check 'kill -0 '"$pid"' 2>/dev/null' "worker $pid of host $1 died"
	done
	pp_check '! grep -q "died\|Segmentation\|Aborted" "$PP_TMP/'"$1"'/workers.log"' "a worker of $1 died: $(tail -n 3 "$PP_TMP/$1/workers.log")"
}

# nginx as Redis: the first host's own HTTP port.
pp_host_start web per_key_limit=10
web_port=${PP_HOST_URL_web##*:}
pp_host_start np store=redis "redis_url=redis://127.0.0.1:$web_port/0" "key_secret_file=$secret" \
	redis_timeout=300ms redis_retry=200ms
PP_URL=$PP_HOST_URL_np
for i in 1 2 3 4 5 6; do
	pp_ping "np-$i"
	pp_expect_status 503
	sleep 0.1
done
pp_check 'grep -q "redis store lost: .*[Pp]rotocol" "$PP_TMP/np/workers.log"' "no 'protocol error' line: $(grep redis "$PP_TMP/np/workers.log" | head -n 2)"
lines=$(grep -c "redis store lost" "$PP_TMP/np/workers.log")
pp_check '[ "$lines" -le 2 ]' "$lines 'lost' lines from 2 workers for 6 failures"
check_alive np

# ACL: a user that may not run scripts; and a wrong password.
pp_redis_cli ACL SETUSER noscript on '>noscript-pw' '~*' '+@all' '-evalsha' '-eval' '-script' >/dev/null
printf 'noscript-pw\n' >"$PP_TMP/pw-ok"
printf 'wrong-pw\n' >"$PP_TMP/pw-bad"
chmod 600 "$PP_TMP/pw-ok" "$PP_TMP/pw-bad"
pp_host_start acl store=redis "redis_url=redis://noscript@127.0.0.1:$PP_REDIS_PORT/0" \
	"redis_password_file=$PP_TMP/pw-ok" "key_secret_file=$secret" redis_retry=200ms
PP_URL=$PP_HOST_URL_acl
pp_ping acl-key
pp_expect_status 503
pp_check 'grep -q "NOPERM" "$PP_TMP/acl/workers.log"' "no NOPERM in the log: $(grep redis "$PP_TMP/acl/workers.log" | head -n 2)"
check_alive acl

pp_host_start pw store=redis "redis_url=redis://noscript@127.0.0.1:$PP_REDIS_PORT/0" \
	"redis_password_file=$PP_TMP/pw-bad" "key_secret_file=$secret" redis_retry=200ms
PP_URL=$PP_HOST_URL_pw
pp_ping pw-key
pp_expect_status 503
pp_check 'grep -q "AUTH" "$PP_TMP/pw/workers.log"' "no AUTH failure in the log"
pp_check '! grep -q "wrong-pw" "$PP_TMP/pw/workers.log"' "the password is in the log"
check_alive pw
pp_done
