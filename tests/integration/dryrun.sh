#!/bin/bash
# dryrun.sh - dry_run = yes through nginx: a 3-per-minute key sent 8 times
# gets 8 pongs with the real quota headers, /metrics counts the 5 it would
# have refused under dry_run="true", the debug log says so (without the key),
# and the store recorded exactly what enforcing records: once dry_run is off,
# the same key is refused at once.
. "$(dirname "$0")/../lib.sh"
pp_setup

limits=(per_key_limit=3 per_key_window=60s global_limit=5 global_window=60s)
pp_start_server "${limits[@]}" dry_run=yes log_level=debug
grep -q 'DRY RUN' "$PP_TMP/workers.log" || pp_fail "the start-up line does not say DRY RUN"

T='(4[0-9]|5[0-9]|60)' # seconds left of the 60 s windows, on a slow machine too
for i in 1 2 3 4 5 6 7 8; do
	pp_ping dry-key-secret
	pp_expect_status 200
	pp_expect_json .response '"pong"'
	pp_expect_api_framing
	pp_expect_no_header Retry-After
	r=$(( i <= 3 ? 3 - i : 0 ))
	pp_expect_header RateLimit "\"per-key\";r=$r;t=$T, \"global\";r=$(( 5 - (i <= 3 ? i : 3) ));t=$T"
done
# Two more keys fill the global window; two after them would be refused by it.
for k in g1 g2 g3 g4; do pp_ping "dry-global-$k"; pp_expect_status 200; done
pp_expect_header RateLimit "\"per-key\";r=3;t=0, \"global\";r=0;t=$T"

pp_request GET /metrics
metric() { awk -v n="$1" '$1 == n { print $2 }' "$PP_BODY"; }
pp_check '[ "$(metric "pingpong_throttled_total{limit=\"per-key\",dry_run=\"true\"}")" = 5 ]' \
	"per-key dry-run refusals: $(metric 'pingpong_throttled_total{limit="per-key",dry_run="true"}'), want 5"
pp_check '[ "$(metric "pingpong_throttled_total{limit=\"global\",dry_run=\"true\"}")" = 2 ]' \
	"global dry-run refusals: $(metric 'pingpong_throttled_total{limit="global",dry_run="true"}'), want 2"
pp_check '[ "$(metric "pingpong_throttled_total{limit=\"per-key\"}")" = 0 ]' "dry run counted a real refusal"
pp_check '[ "$(metric "pingpong_requests_total{code=\"429\"}")" = 0 ]' "dry run answered a 429"
n=$(pp_access_lines /ping | awk '$2 == 200' | wc -l)
pp_check '[ "$n" = 12 ]' "$n pongs in the access log, want 12"

n=$(grep -c 'dry run: would throttle by per-key' "$PP_TMP/workers.log")
pp_check '[ "$n" = 5 ]' "$n per-key dry-run debug lines, want 5"
n=$(grep -c 'dry run: would throttle by global' "$PP_TMP/workers.log")
pp_check '[ "$n" = 2 ]' "$n global dry-run debug lines, want 2"
grep -q 'dry-key-secret' "$PP_TMP/workers.log" && pp_fail "the key appears in the log"

# Enforcing on the same store: the dry run recorded the 3 admissions of the
# key and the 5 of the global window, and nothing for the refusals.
pp_stop_workers
pp_write_config "${limits[@]}"
pp_start_workers
pp_wait_healthz || pp_die "workers did not come back"
pp_ping dry-key-secret
pp_expect_status 429
pp_expect_json .limit '"per-key"'
pp_ping dry-fresh-key
pp_expect_status 429
pp_expect_json .limit '"global"'
pp_done
