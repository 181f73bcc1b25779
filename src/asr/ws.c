#include "asr/engine_internal.h"
static int c(const char *a, const vg_asr_options_t *o, void **i, char *err, size_t cap) { (void)a; (void)o; (void)i; vg_asr_set_err(err, cap, "todo"); return VG_EUNSUPPORTED; }
const vg_asr_ops_t vg_ws_ops = { .name = "ws", .engine_create = c };
