#!/usr/bin/env bash
# tests/deploy/alerts.sh - the alerting rules and the Grafana dashboard that
# ship in conf/: promtool accepts the rules and their test cases
# (tests/deploy/alerts.test.yml) pass, with a firing and a quiet case for
# every alert; the dashboard is valid Grafana JSON whose queries name only
# metrics pingpong-fcgi exports, cover every metric it always exports, parse
# as PromQL and return data over the series a real /metrics page holds.
. "$PP_SRCDIR/tests/deploy/common.sh"
command -v promtool >/dev/null || fail "promtool missing (Debian package prometheus)"
command -v jq >/dev/null || fail "jq missing (Debian package jq)"
rules=$S/conf/prometheus/pingpong-rules.yml
dash=$S/conf/grafana/pingpong.json

# --- the rules -------------------------------------------------------------
out=$(promtool check rules "$rules" 2>&1) || fail "promtool check rules: $out"
echo "ok   promtool check rules"
out=$(cd "$S/tests/deploy" && promtool test rules alerts.test.yml 2>&1) || fail "promtool test rules: $out"
echo "ok   promtool test rules tests/deploy/alerts.test.yml"
# Every alert has a case where it fires and one where it stays quiet.
alerts=$(sed -n 's/^ *- alert: *//p' "$rules")
[ "$(echo "$alerts" | wc -w)" -ge 4 ] || fail "fewer than 4 alerts in $rules: $alerts"
cases=$(awk '/alertname:/ { a = $2; next } a && /exp_alerts: *\[\]/ { print a, "quiet"; a = ""; next }
	a && /exp_alerts:/ { print a, "fires"; a = "" }' "$S/tests/deploy/alerts.test.yml" | sort -u)
for a in $alerts; do
	for c in fires quiet; do
		grep -qx "$a $c" <<< "$cases" || fail "alerts.test.yml has no case where $a $c"
	done
done
echo "ok   a firing and a quiet case for each of: $(echo $alerts)"

# --- what pingpong-fcgi exports ---------------------------------------------
# Every family any backend can export, from the # TYPE lines of the sources
# (a histogram also has _bucket, _sum and _count) ...
families=$(grep -ho '# TYPE pingpong_[a-z0-9_]* [a-z]*' "$S"/src/*.c | sort -u)
exported=$(echo "$families" | awk '{ print $3; if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" } }')
[ "$(echo "$exported" | wc -l)" -ge 5 ] || fail "could not read the metric families from src/: $families"
# ... and a real exposition, rendered by src/metrics.c after traffic of every
# kind (what every build exports, whatever the store).
PP_METRICS_DUMP=$tmp/metrics.txt "$B/tests/unit/test_metrics" >/dev/null 2>&1 ||
	fail "tests/unit/test_metrics could not render the exposition"
# The LMDB map gauges are read at scrape time by handler.c (metrics.sh
# checks them on a real worker), not kept in the counter files: plausible
# lines stand in for them here, so the dashboard's map panels are judged too.
for g in used:3145728 size:16777216; do
	printf '# TYPE pingpong_store_map_%s_bytes gauge\npingpong_store_map_%s_bytes %s\n' \
		"${g%%:*}" "${g%%:*}" "${g#*:}" >> "$tmp/metrics.txt"
done
always=$(sed -n 's/^# TYPE \(pingpong_[a-z0-9_]*\) .*/\1/p' "$tmp/metrics.txt")
for f in $always; do grep -qx "$f" <<< "$exported" || fail "the grep of src/ missed $f"; done

# The rules name exported metrics; the gauges a store adds are notes until
# a build exports them (their rules cannot fire before).
pending=""
for m in $(grep -v '^ *#' "$rules" | grep -o 'pingpong_[a-z0-9_]*' | sort -u); do
	grep -qx "$m" <<< "$exported" && continue
	case " $pending " in
	*" $m "*) echo "note: $m is not exported by this build; its alert cannot fire until a store exports it" ;;
	*) fail "$rules names $m, which pingpong-fcgi does not export" ;;
	esac
done
echo "ok   the rules name only exported metrics (or the notes above)"

# --- the dashboard ------------------------------------------------------------
jq empty "$dash" 2>/dev/null || fail "$dash is not valid JSON: $(jq empty "$dash" 2>&1)"
# Grafana's model: a titled dashboard with a uid and schemaVersion; panels
# with unique ids, a known type and a place on the 24-column grid; every
# query panel's targets have a refId and an expr on the Prometheus
# datasource variable, which the templating defines.
problems=$(jq -r '
	def panels: .panels[] | ., (.panels[]? // empty);
	(if (.title | type) != "string" or (.uid | type) != "string" or (.schemaVersion | type) != "number"
	 then "dashboard: title, uid and schemaVersion required" else empty end),
	(if ([.templating.list[] | select(.type == "datasource" and .query == "prometheus" and .name == "datasource")]
	     | length) != 1 then "templating: no Prometheus datasource variable named datasource" else empty end),
	([panels | .id] | if length != (unique | length) then "panel ids are not unique" else empty end),
	(panels | select((.type | IN("row", "timeseries", "stat", "table", "gauge", "bargauge", "heatmap")) | not)
	 | "panel \(.id): unknown type \(.type)"),
	(panels | select((.gridPos | (.x >= 0 and .y >= 0 and .w >= 1 and .h >= 1 and .x + .w <= 24)) | not)
	 | "panel \(.id): gridPos outside the 24-column grid"),
	(panels | select(.type != "row") | select((.targets | length) == 0) | "panel \(.id): no query"),
	(panels | select(.type != "row") | .id as $id | .targets[]
	 | select((.refId | type) != "string" or (.expr | type) != "string" or .datasource.uid != "${datasource}")
	 | "panel \($id): a target without refId, expr or the datasource variable")' "$dash")
[ -z "$problems" ] || fail "$dash: $problems"
jq -r '(.panels[] | ., (.panels[]? // empty) | .targets[]?.expr), (.templating.list[] | select(.type == "query") | .definition)' \
	"$dash" > "$tmp/exprs"
n=$(grep -c . "$tmp/exprs")
[ "$n" -ge 8 ] || fail "only $n queries in $dash"
echo "ok   $dash: Grafana dashboard JSON, $(jq '[.panels[] | select(.type != "row")] | length' "$dash") panels, $n queries"

used=$(grep -o 'pingpong_[a-z0-9_]*' "$tmp/exprs" | sort -u)
for m in $used; do grep -qx "$m" <<< "$exported" || fail "the dashboard queries $m, which pingpong-fcgi does not export"; done
# Every family any backend exports has a panel: the store's gauges and the
# Redis call metrics as much as the request counters (the alerts use them).
for f in $(echo "$families" | awk '{ print $3 }'); do
	grep -q "^${f}\(_bucket\|_sum\|_count\)\?$" <<< "$used" || fail "the dashboard shows nothing of $f"
done
echo "ok   the dashboard names only exported metrics and shows every one: $(echo "$families" | awk '{ print $3 }' | xargs)"

# Every query parses as PromQL and returns data over the exposition above
# (wrong label names or values would return nothing): the exposition becomes
# promtool input series (counters growing by their value per minute), each
# query an alert on count(query) > 0 that must fire.
{
	echo "groups:"; echo "  - name: dashboard"; echo "    rules:"
	i=0
	while IFS= read -r e; do
		i=$((i + 1))
		e=${e//\$__rate_interval/5m}; e=${e//\$job/.*}
		case $e in label_values\(*) e=${e#label_values(}; e=${e%%,*} ;; esac
		printf '      - alert: q%d\n        expr: %s\n' "$i" "$(jq -Rn --arg e "count($e) > 0" '$e')"
	done < "$tmp/exprs"
} > "$tmp/dash-rules.yml"
out=$(promtool check rules "$tmp/dash-rules.yml" 2>&1) || fail "a dashboard query is not PromQL: $out"
{
	echo "rule_files: [dash-rules.yml]"; echo "evaluation_interval: 1m"; echo "tests:"
	echo "  - interval: 1m"; echo "    input_series:"
	grep '^pingpong_' "$tmp/metrics.txt" | while read -r series value; do
		case $series in *"}") labels=${series%\}},job=\"pingpong\",instance=\"a\"} ;;
		*) labels="$series{job=\"pingpong\",instance=\"a\"}" ;; esac
		case $series in pingpong_build_info*) v="1x20" ;; *) v="0+${value%%.*}x20" ;; esac
		printf "      - series: '%s'\n        values: '%s'\n" "$labels" "$v"
	done
	echo "    alert_rule_test:"
	for q in $(seq 1 "$n"); do printf '      - eval_time: 10m\n        alertname: q%d\n        exp_alerts: [{}]\n' "$q"; done
} > "$tmp/dash-test.yml"
out=$(cd "$tmp" && promtool test rules dash-test.yml 2>&1) ||
	fail "a dashboard query returns nothing over a real exposition: $out"
echo "ok   every dashboard query parses and returns data over the exported series"
echo "ok: alerts and dashboard check out"
