# long_pause.sh - a hint of months is a pause of a day at most, from
# RateLimit t as from Retry-After, and a pause is printed as a person reads
# it: "pausing 24 h 0 min, until 2026-12-01 14:02:45" (a date: it ends on
# another day), never "pausing 1e+06 s". Stopped with SIGINT at once.
. "$(dirname "$0")/nginx.sh"
cli_setup

cli_stub '
		location = /ping {
			default_type application/json;
			add_header RateLimit "\"per-key\";r=0;t=999999" always;
			return 200 "{\"response\":\"pong\"}";
		}
		location = /refuse/ping {
			default_type application/json;
			add_header Retry-After 999999 always;
			return 429 "{\"message\":\"You have exceeded your request-limits.\",\"limit\":\"global\"}";
		}
		location = /hour/ping {
			default_type application/json;
			add_header Retry-After 3600 always;
			return 503 "{\"error\":\"store_unavailable\",\"message\":\"retry later\"}";
		}'

# A date is printed when the pause ends on another local day; a day-long
# pause always does.
date_re='[0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\} [0-9]\{2\}:[0-9]\{2\}:[0-9]\{2\}'

# 1. RateLimit r=0 with t=999999 after a pong: a day, in words, with a date.
cli_run 2 "$PP_TMP/quota.out" --url "$CLI_BASE/ping"
pp_check '[ "$CLI_RC" -eq 130 ]' "SIGINT should give 130, got $CLI_RC"
pp_check 'grep -q "per-key quota used up: pausing 24 h 0 min, until $date_re$" "$PP_TMP/quota.out"' \
	"want 'pausing 24 h 0 min, until <date> <time>': $(grep pausing "$PP_TMP/quota.out")"
cli_run 2 "$PP_TMP/quota.json" --url "$CLI_BASE/ping" --json
pp_check 'grep -q "\"event\":\"pause\",.*\"resume_in\":86400\.0" "$PP_TMP/quota.json"' \
	"--json: resume_in 86400 (a day): $(grep '"pause"' "$PP_TMP/quota.json")"

# 2. Retry-After 999999 on a 429: the same cap, the same words.
cli_run 2 "$PP_TMP/refuse.out" --url "$CLI_BASE/refuse/ping"
pp_check '[ "$CLI_RC" -eq 130 ]' "SIGINT should give 130, got $CLI_RC"
pp_check 'grep -q "throttled by the global limit (HTTP 429): pausing 24 h 0 min, until $date_re$" "$PP_TMP/refuse.out"' \
	"want 'pausing 24 h 0 min, until <date>': $(grep throttled "$PP_TMP/refuse.out")"

# 3. An hour (Retry-After on a 503): "1 h 0 min", the date only when the
#    hour ends after midnight (TZ=UTC0 here, so the test knows which).
TZ=UTC0 cli_run 2 "$PP_TMP/hour.out" --url "$CLI_BASE/hour/ping"
if [ "$(TZ=UTC0 date +%Y%m%d)" = "$(TZ=UTC0 date -d '+3601 seconds' +%Y%m%d)" ]; then
	at='[0-9]\{2\}:[0-9]\{2\}:[0-9]\{2\}'
else
	at=$date_re
fi
pp_check 'grep -q "error: HTTP 503 store_unavailable: retry later; retrying in 1 h 0 min, at $at$" "$PP_TMP/hour.out"' \
	"want 'retrying in 1 h 0 min, at ...': $(grep error "$PP_TMP/hour.out")"
n=$(grep -c ' POST /\(refuse/\|hour/\)\?ping$' "$PP_TMP/access.log")
pp_check '[ "$n" -eq 4 ]' "one request per run, nothing sent during a pause: nginx saw $n"
pp_done
