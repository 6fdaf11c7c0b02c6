# rules for cli/ (see Makefile.am)
