/* placeholder until the shared-memory metrics land */
#include "metrics.h"
int pp_metrics_open(const char *dir) { (void)dir; return 0; }
void pp_metrics_close(void) {}
void pp_metrics_request(int status, double seconds) { (void)status; (void)seconds; }
void pp_metrics_throttled(enum pp_limit_id which) { (void)which; }
void pp_metrics_store_error(void) {}
size_t pp_metrics_render(char *buf, size_t cap) { (void)buf; (void)cap; return 0; }
