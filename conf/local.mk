# rules for conf/ (see Makefile.am)
