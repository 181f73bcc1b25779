/* Reads an offer on stdin and writes voxgate's answer to it on stdout (exit
 * 0), or the reason it cannot answer on stderr (exit 1). Used by
 * capture.sh verify to hand our answer to real browsers. The candidates are
 * fixed: 10.203.117.2:18900 over UDP and TCP (the capture namespace's peer,
 * where nothing listens: only setRemoteDescription is being tested). */
#include <stdio.h>
#include <stdlib.h>

#include "core/sdp.h"

int main(void) {
  static char in[1 << 16], out[8192];
  size_t n = fread(in, 1, sizeof in, stdin);
  vg_sdp_t *offer = malloc(sizeof *offer);
  const char *why = NULL;
  if (!offer) return 1;
  if (vg_sdp_parse(offer, in, n, &why) < 0) {
    fprintf(stderr, "parse: %s\n", why);
    return 1;
  }
  vg_sdp_local_candidate_t c[2] = {{.priority = 2130706431, .foundation = "1"},
                                   {.priority = 1694498815, .foundation = "2"}};
  if (vg_addr_parse(&c[0].addr, "10.203.117.2", 18900, VG_TRANSPORT_UDP) < 0 ||
      vg_addr_parse(&c[1].addr, "10.203.117.2", 18900, VG_TRANSPORT_TCP) < 0)
    return 1;
  vg_sdp_answer_params_t p = {
      .ice_ufrag = "vxg1",
      .ice_pwd = "voxgateanswerpassword0",
      .fingerprint_alg = "sha-256",
      .fingerprint = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"
                     "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
      .ice_lite = true,
      .candidates = c,
      .n_candidates = 2,
      .ssrc = 0x12345678,
      .cname = "voxgate",
      .msid = "voxgate echo",
      .session_id = 1,
  };
  vg_sdp_answer_info_t info;
  int r = vg_sdp_build_answer(offer, &p, out, sizeof out, &info, &why);
  if (r < 0) {
    fprintf(stderr, "answer: %s\n", why);
    return 1;
  }
  fwrite(out, 1, (size_t)r, stdout);
  free(offer);
  return 0;
}
