# The server: all logic in libpingpong.a so pingpong-fcgi and the tests link
# the very same code; only fcgi.c (in the binary) knows libfcgi.
noinst_LIBRARIES += libpingpong.a
libpingpong_a_SOURCES = \
	src/limiter.c src/limiter.h \
	src/config.c src/config.h \
	src/log.c src/log.h \
	src/clock.c src/clock.h \
	src/validate.c src/validate.h \
	src/response.c src/response.h \
	src/request.c src/request.h \
	src/store.c src/store.h src/store_lmdb.c src/store_lmdb.h \
	src/store_lmdb_env.c src/store_lmdb_open.c src/store_lmdb_files.c \
	src/store_lmdb_size.c src/store_lmdb_slots.c src/store_lmdb_sweep.c \
	src/store_lmdb_ctl.c \
	src/metrics.c src/metrics.h \
	src/handler.c src/handler.h
libpingpong_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS) $(HIREDIS_CFLAGS)
PP_CORE_LIBS = libpingpong.a $(JANSSON_LIBS) $(LMDB_LIBS) $(SODIUM_LIBS) $(HIREDIS_LIBS)

bin_PROGRAMS += pingpong-fcgi
pingpong_fcgi_SOURCES = src/main.c src/fcgi.c src/fcgi.h
pingpong_fcgi_LDADD = $(PP_CORE_LIBS) $(FCGI_LIBS)

# ---- Redis store (redis branch) ----
# decide.lua is embedded as a C string literal (PP_DECIDE_LUA) by sed: no xxd.
libpingpong_a_SOURCES += src/redis_conn.c src/redis_conn.h \
	src/redis_script.c src/redis_script.h \
	src/refusal_cache.c src/refusal_cache.h \
	src/metrics_store.c src/metrics_store.h \
	src/store_redis.c
nodist_libpingpong_a_SOURCES = src/decide_lua.h
CLEANFILES += src/decide_lua.h
libpingpong_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/src
# The generated header must exist before the first compile (no BUILT_SOURCES).
src/libpingpong_a-redis_script.$(OBJEXT): src/decide_lua.h
EXTRA_DIST += src/decide.lua
src/decide_lua.h: src/decide.lua
	$(AM_V_GEN)$(MKDIR_P) src && { \
	  echo '/* Generated from src/decide.lua by src/local.mk: do not edit. */'; \
	  echo '#define PP_DECIDE_LUA \'; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/	"/' -e 's/$$/\\n" \\/' $(srcdir)/src/decide.lua; \
	  echo '	""'; \
	} > $@.tmp && mv $@.tmp $@
