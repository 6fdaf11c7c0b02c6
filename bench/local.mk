# rules for bench/ (see Makefile.am)
