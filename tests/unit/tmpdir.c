/* tmpdir.c - scratch directories for the unit tests (see tmpdir.h). */
#include "tmpdir.h"

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

void
pp_test_mkdtemp(const char *name, char *out, size_t cap)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, cap, "%s/pp-%s.XXXXXX", t && *t ? t : "/tmp", name);
	ck_assert_ptr_nonnull(mkdtemp(out));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
pp_test_rmtree(const char *dir)
{
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
