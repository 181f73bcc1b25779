/* The page's files (web/), embedded into the binary at build time by
 * cmake/embed.cmake, so the binary serves them from anywhere. */
#ifndef VG_APP_WEB_ASSETS_H
#define VG_APP_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
  const char *path;         /* "/index.html"; NULL ends the table */
  const char *content_type;
  const unsigned char *data;
  size_t len;
} vg_web_asset_t;

extern const vg_web_asset_t vg_web_assets[];

#endif
