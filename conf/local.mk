# conf/local.mk - the deployment side: sample configs and their installation,
# man pages, and the deploy tests (tests/deploy/).

# --- files made from templates (paths as configured) -------------------------
pp_edit = sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' -e 's|@docdir[@]|$(docdir)|g'
conf/pingpong.conf: $(srcdir)/conf/pingpong.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && $(pp_edit) $(srcdir)/conf/pingpong.conf.in > $@.tmp && mv $@.tmp $@
conf/systemd/pingpong.service: $(srcdir)/conf/systemd/pingpong.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf/systemd && $(pp_edit) $(srcdir)/conf/systemd/pingpong.service.in > $@.tmp && mv $@.tmp $@
man/pingpong-fcgi.8: $(srcdir)/man/pingpong-fcgi.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(pp_edit) $(srcdir)/man/pingpong-fcgi.8.in > $@.tmp && mv $@.tmp $@
man/pingpong.conf.5: $(srcdir)/man/pingpong.conf.5.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(pp_edit) $(srcdir)/man/pingpong.conf.5.in > $@.tmp && mv $@.tmp $@
pp_generated = conf/pingpong.conf conf/systemd/pingpong.service man/pingpong-fcgi.8 man/pingpong.conf.5
all-local: $(pp_generated)
check-local: $(pp_generated)
CLEANFILES += $(pp_generated)
EXTRA_DIST += conf/pingpong.conf.in conf/systemd/pingpong.service.in \
	man/pingpong-fcgi.8.in man/pingpong.conf.5.in

# Man pages of the server (the paths in them are the configured ones).
nodist_man_MANS = man/pingpong-fcgi.8 man/pingpong.conf.5

# --- installation: the config (kept if present), examples, man pages ---------
pingpongconfdir = $(sysconfdir)/pingpong
install-data-local: conf/pingpong.conf
	$(MKDIR_P) '$(DESTDIR)$(pingpongconfdir)'
	@if test -f '$(DESTDIR)$(pingpongconfdir)/pingpong.conf'; then \
	  echo "keeping the existing $(DESTDIR)$(pingpongconfdir)/pingpong.conf"; \
	else \
	  echo " $(INSTALL_DATA) conf/pingpong.conf '$(DESTDIR)$(pingpongconfdir)/pingpong.conf'"; \
	  $(INSTALL_DATA) conf/pingpong.conf '$(DESTDIR)$(pingpongconfdir)/pingpong.conf'; \
	fi
uninstall-local:
	rm -f '$(DESTDIR)$(pingpongconfdir)/pingpong.conf'

# Samples keep their conf/ layout: nginx and lighttpd both have a pingpong.conf.
examplesdir = $(docdir)/examples
nobase_examples_DATA = conf/pingpong.conf conf/systemd/pingpong.service
nobase_dist_examples_DATA = conf/nginx/pingpong.conf conf/lighttpd/pingpong.conf \
	conf/systemd/pingpong.socket conf/spawn-fcgi/pingpong-spawn-fcgi.sh \
	conf/container/nginx.conf conf/container/entrypoint \
	conf/prometheus/pingpong-rules.yml conf/grafana/pingpong.json
EXTRA_DIST += Dockerfile .dockerignore kubernetes docs/DEPLOY.md

# --- deploy tests --------------------------------------------------------------
TESTS += tests/deploy/metrics-format.sh tests/deploy/metrics.sh tests/deploy/lighttpd.sh \
	tests/deploy/container.sh tests/deploy/manifests.sh tests/deploy/docs.sh \
	tests/deploy/nginx-json.sh tests/deploy/alerts.sh
EXTRA_DIST += tests/deploy/common.sh tests/deploy/metrics-format.sh tests/deploy/metrics.sh \
	tests/deploy/lighttpd.sh tests/deploy/container.sh tests/deploy/manifests.sh tests/deploy/docs.sh \
	tests/deploy/nginx-json.sh tests/deploy/alerts.sh tests/deploy/alerts.test.yml \
	tests/deploy/check-manifests.mjs tests/deploy/kustomize.mjs tests/deploy/package.json tests/deploy/package-lock.json \
	tests/deploy/.npmrc tests/deploy/tsconfig.json tests/deploy/yamllint.yml

# --- nginx refusal cache (opt-in: nginx_refusal_cache = yes) ------------------
# The snippets and the njs cache key ship with the nginx site; the tests run
# them in front of real workers (tests/integration/refusal-cache-lib.sh).
nobase_dist_examples_DATA += conf/nginx/pingpong-refusal-cache.conf \
	conf/nginx/pingpong-refusal-cache-location.conf conf/nginx/pingpong-cache-key.js
nobase_dist_examples_DATA += conf/systemd/pingpong-cache-purge.service conf/systemd/pingpong-cache-purge.timer
check_PROGRAMS += tests/unit/test_accel_expires
tests_unit_test_accel_expires_SOURCES = tests/unit/test_accel_expires.c
tests_unit_test_accel_expires_CFLAGS = $(PP_TEST_CFLAGS)
tests_unit_test_accel_expires_LDADD = $(PP_TEST_LIBS)
UNIT_TESTS += tests/unit/test_accel_expires
TESTS += tests/unit/test_accel_expires
TESTS += tests/integration/refusal-cache.sh tests/integration/refusal-cache-phase.sh \
	tests/integration/refusal-cache-full.sh tests/integration/refusal-cache-redis.sh
EXTRA_DIST += tests/integration/refusal-cache-lib.sh tests/integration/refusal-cache.sh \
	tests/integration/refusal-cache-phase.sh tests/integration/refusal-cache-full.sh \
	tests/integration/refusal-cache-redis.sh
# A one-key flood: floor, limit_req, pingpong, pingpong behind the refusal
# cache (figures for bench/README.md, never asserted).
bench-refusal-cache: all
	PP_BUILDDIR='$(abs_top_builddir)' PP_SRCDIR='$(abs_top_srcdir)' \
		$(SHELL) $(srcdir)/bench/refusal-cache.sh
.PHONY: bench-refusal-cache
EXTRA_DIST += bench/refusal-cache.sh
