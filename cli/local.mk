# rules for cli/ (see Makefile.am): the pingpong(1) client.
# The pure parts (header parser, schedule, backoff, plan, body, options, time
# formats) live in libppcli.a, which the binary and the unit tests both link.
CLI_CPPFLAGS = -I$(top_srcdir)/cli -DPP_VERSION='"$(PACKAGE_VERSION)"'

noinst_LIBRARIES += cli/libppcli.a
cli_libppcli_a_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS)
cli_libppcli_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
cli_libppcli_a_SOURCES = \
	cli/ratelimit.c cli/ratelimit.h \
	cli/schedule.c cli/schedule.h \
	cli/body.c cli/body.h \
	cli/plan.c cli/plan.h \
	cli/history.c cli/history.h \
	cli/timefmt.c cli/timefmt.h \
	cli/options.c cli/options.h

bin_PROGRAMS += pingpong
pingpong_SOURCES = cli/main.c cli/transfer.c cli/transfer.h \
	cli/output.c cli/output.h cli/now.h
pingpong_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS)
pingpong_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
pingpong_LDADD = cli/libppcli.a $(CURL_LIBS) $(JANSSON_LIBS) -lm

dist_man_MANS += man/pingpong.1
EXTRA_DIST += docs/CLIENT.md

# Tests (tests/cli/): Check unit tests of the pure parts, shell tests of the
# binary against a real nginx.
CLI_CHECK_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS) -I$(top_srcdir)/tests/unit
CLI_CHECK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
CLI_CHECK_LDADD = cli/libppcli.a tests/unit/libpptest.a $(CHECK_LIBS) $(JANSSON_LIBS) -lm

CLI_UNIT_TESTS = tests/cli/test_ratelimit tests/cli/test_body tests/cli/test_schedule \
	tests/cli/test_history tests/cli/test_plan tests/cli/test_options tests/cli/test_timefmt
check_PROGRAMS += $(CLI_UNIT_TESTS)
tests_cli_test_ratelimit_SOURCES = tests/cli/test_ratelimit.c
tests_cli_test_ratelimit_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_test_ratelimit_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_test_ratelimit_LDADD = $(CLI_CHECK_LDADD)
tests_cli_test_body_SOURCES = tests/cli/test_body.c
tests_cli_test_body_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_test_body_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_test_body_LDADD = $(CLI_CHECK_LDADD)
tests_cli_test_schedule_SOURCES = tests/cli/test_schedule.c
tests_cli_test_schedule_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_test_schedule_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_test_schedule_LDADD = $(CLI_CHECK_LDADD)
tests_cli_test_history_SOURCES = tests/cli/test_history.c
tests_cli_test_history_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_test_history_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_test_history_LDADD = $(CLI_CHECK_LDADD)
tests_cli_test_plan_SOURCES = tests/cli/test_plan.c
tests_cli_test_plan_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_test_plan_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_test_plan_LDADD = $(CLI_CHECK_LDADD)
tests_cli_test_options_SOURCES = tests/cli/test_options.c
tests_cli_test_options_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_test_options_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_test_options_LDADD = $(CLI_CHECK_LDADD)
tests_cli_test_timefmt_SOURCES = tests/cli/test_timefmt.c
tests_cli_test_timefmt_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_test_timefmt_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_test_timefmt_LDADD = $(CLI_CHECK_LDADD)

CLI_SHELL_TESTS = \
	tests/cli/backoff.sh \
	tests/cli/server_down.sh \
	tests/cli/html502.sh \
	tests/cli/quota_hint.sh \
	tests/cli/slow.sh \
	tests/cli/rejected.sh \
	tests/cli/server.sh \
	tests/cli/pipe.sh \
	tests/cli/long_pause.sh
TESTS += $(CLI_UNIT_TESTS) $(CLI_SHELL_TESTS)
UNIT_TESTS += $(CLI_UNIT_TESTS)
EXTRA_DIST += $(CLI_SHELL_TESTS) tests/cli/nginx.sh

# Several --urls, round-robin (fleet branch).
CLI_SHELL_TESTS += tests/cli/several_urls.sh
