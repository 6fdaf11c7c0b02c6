#!/bin/bash
# cases.sh - sends every tests/cases folder through nginx and the FastCGI
# workers; checks status, the "error" member, Allow, and the JSON framing.
. "$(dirname "$0")/../lib.sh"
pp_setup
# Limits high enough that no case is throttled: this test is about validation.
pp_start_server per_key_limit=100000 per_key_window=1s global_limit=100000 global_window=1s

cases=$PP_SRCDIR/tests/cases
n=0
for dir in "$cases"/*/; do
	dir=${dir%/}
	name=$(basename "$dir")
	[ -f "$dir/expect" ] || continue
	n=$((n + 1))
	method=$(head -n 1 "$dir/method")
	path=$(head -n 1 "$dir/path")
	args=()
	have_ct=
	if [ -f "$dir/headers" ]; then
		while IFS= read -r line || [ -n "$line" ]; do
			[ -n "$line" ] || continue
			hname=${line%%:*}
			value=${line#*:}
			value=${value#"${value%%[! ]*}"}
			[ "${hname,,}" = content-type ] && have_ct=1
			if [ -z "$value" ]; then
				args+=(-H "$hname;") # curl's form for "present, empty"
			else
				args+=(-H "$hname: $value")
			fi
		done <"$dir/headers"
	fi
	# curl adds a form Content-Type to bodies; a case without one sends none.
	[ -n "$have_ct" ] || args+=(-H 'Content-Type:')
	[ -f "$dir/body" ] && args+=(--data-binary "@$dir/body")

	pp_request "$method" "$path" "${args[@]}"
	PP_LAST="case $name ($method $path)"
	want_status=$(awk '$1 == "status" { print $2 }' "$dir/expect")
	want_error=$(awk '$1 == "error" { print $2 }' "$dir/expect")
	want_route=$(awk '$1 == "route" { print $2 }' "$dir/expect")
	want_allow=$(awk '$1 == "allow" { print $2 }' "$dir/expect")
	before=$PP_FAILS
	pp_expect_status "$want_status"
	pp_expect_api_framing
	if [ -n "$want_error" ]; then
		pp_expect_json .error "\"$want_error\""
		pp_expect_json_ok '.message | type == "string" and length > 0'
		[ "$want_status" = 415 ] && pp_expect_json_ok '.message | contains("application/json")'
	elif [ "$want_route" = ping ]; then
		pp_expect_json . '{"response":"pong"}'
	fi
	if [ -n "$want_allow" ]; then
		pp_expect_header Allow "$want_allow"
	fi
	[ "$PP_FAILS" -eq "$before" ] && echo "ok - $name"
done
[ "$n" -ge 50 ] || pp_fail "only $n cases found in $cases"
pp_done
