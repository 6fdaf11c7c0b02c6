# pingpongctl: the operator's tool (inspect, reset, stats), installed to sbin
# with its man page. It links libpingpong.a, so it reads the configuration and
# opens the store exactly as pingpong-fcgi does.
sbin_PROGRAMS += pingpongctl
pingpongctl_SOURCES = ctl/main.c ctl/key.c ctl/key.h ctl/print.c ctl/print.h
pingpongctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
pingpongctl_LDADD = $(PP_CORE_LIBS)

man/pingpongctl.8: $(srcdir)/man/pingpongctl.8.in Makefile
	$(AM_V_GEN)$(MKDIR_P) man && $(pp_edit) $(srcdir)/man/pingpongctl.8.in > $@.tmp && mv $@.tmp $@
nodist_man_MANS += man/pingpongctl.8
all-local: man/pingpongctl.8
CLEANFILES += man/pingpongctl.8
EXTRA_DIST += man/pingpongctl.8.in
