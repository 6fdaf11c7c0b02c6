#!/bin/bash
# probes.sh - /healthz and /readyz answer 200 on a healthy server, framed like
# every other answer, and consume no quota.
. "$(dirname "$0")/../lib.sh"
pp_setup
pp_start_server per_key_limit=1 per_key_window=60s global_limit=1 global_window=60s
for path in /healthz /readyz /healthz /readyz; do
	pp_request GET "$path"
	pp_expect_status 200
	pp_expect_api_framing
done
# Probes take no quota: the single global place is still free.
pp_ping probe-key
pp_expect_status 200
pp_request GET /readyz
pp_expect_status 200
pp_done
