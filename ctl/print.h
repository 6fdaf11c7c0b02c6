/* print.h - pingpongctl's answers, as lines for people or one JSON object
 * for scripts (--json). Nothing here ever sees a key. */
#ifndef PP_CTL_PRINT_H
#define PP_CTL_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "store.h"

void pp_ctl_print_inspect(FILE *f, bool json, const char *backend, const struct pp_policy *p,
                          const struct pp_store_view *v);
/* global: the global window was reset, else the key's. */
void pp_ctl_print_reset(FILE *f, bool json, const char *backend, bool global, bool found);
void pp_ctl_print_stats(FILE *f, bool json, const char *backend, const struct pp_store_stats *s);

#endif
