# rules for cli/ (see Makefile.am): the pingpong(1) client.
# The pure parts (header parser, schedule, backoff, plan, body, options) live
# in libppcli.a, which the binary and the unit tests both link.
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
CLI_CHECK_CPPFLAGS = $(AM_CPPFLAGS) $(CLI_CPPFLAGS)
CLI_CHECK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JANSSON_CFLAGS)
CLI_CHECK_LDADD = cli/libppcli.a $(CHECK_LIBS) $(JANSSON_LIBS) -lm

check_PROGRAMS += tests/cli/check_ratelimit tests/cli/check_schedule
tests_cli_check_ratelimit_SOURCES = tests/cli/check_ratelimit.c
tests_cli_check_ratelimit_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_check_ratelimit_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_check_ratelimit_LDADD = $(CLI_CHECK_LDADD)
tests_cli_check_schedule_SOURCES = tests/cli/check_schedule.c
tests_cli_check_schedule_CPPFLAGS = $(CLI_CHECK_CPPFLAGS)
tests_cli_check_schedule_CFLAGS = $(CLI_CHECK_CFLAGS)
tests_cli_check_schedule_LDADD = $(CLI_CHECK_LDADD)

CLI_UNIT_TESTS = tests/cli/check_ratelimit tests/cli/check_schedule
CLI_SHELL_TESTS = \
	tests/cli/backoff.sh \
	tests/cli/server_down.sh \
	tests/cli/html502.sh \
	tests/cli/quota_hint.sh \
	tests/cli/slow.sh \
	tests/cli/rejected.sh \
	tests/cli/server.sh
TESTS += $(CLI_UNIT_TESTS) $(CLI_SHELL_TESTS)
UNIT_TESTS += $(CLI_UNIT_TESTS)
EXTRA_DIST += $(CLI_SHELL_TESTS) tests/cli/nginx.sh
