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
	src/store.c src/store.h src/store_lmdb.c \
	src/metrics.c src/metrics.h \
	src/handler.c src/handler.h
libpingpong_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LMDB_CFLAGS) $(SODIUM_CFLAGS) $(HIREDIS_CFLAGS)
PP_CORE_LIBS = libpingpong.a $(JANSSON_LIBS) $(LMDB_LIBS) $(SODIUM_LIBS) $(HIREDIS_LIBS)

bin_PROGRAMS += pingpong-fcgi
pingpong_fcgi_SOURCES = src/main.c src/fcgi.c src/fcgi.h
pingpong_fcgi_LDADD = $(PP_CORE_LIBS) $(FCGI_LIBS)
