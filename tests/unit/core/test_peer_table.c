#include <stdio.h>
#include <string.h>

#include "core/peer_table.h"
#include "core/stun.h"
#include "vgtest.h"

static int build_request(uint8_t *out, size_t cap, const char *username) {
  uint8_t txid[12] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, cap, VG_STUN_BINDING_REQUEST, txid);
  vg_stun_add_username(&b, username, strlen(username));
  vg_stun_add_message_integrity(&b, (const uint8_t *)"password", 8);
  vg_stun_add_fingerprint(&b);
  return vg_stun_build_end(&b);
}

static void test_routes_stun_by_local_ufrag(void) {
  vg_peer_table_t *t;
  CHECK(vg_peer_table_create(&t) == VG_OK);
  int a = 1, b = 2;
  CHECK_EQ(vg_peer_table_add(t, "ufragA", &a), VG_OK);
  CHECK_EQ(vg_peer_table_add(t, "ufragB", &b), VG_OK);
  CHECK_EQ(vg_peer_table_add(t, "ufragA", &b), VG_EEXIST);
  CHECK_EQ(vg_peer_table_add(t, "", &b), VG_EINVAL);
  uint8_t req[256];
  vg_addr_t from;
  CHECK(vg_addr_parse(&from, "198.51.100.1", 5000, VG_TRANSPORT_UDP) == VG_OK);
  /* RFC 8445 §7.2.2: USERNAME is "<receiver ufrag>:<sender ufrag>" */
  int n = build_request(req, sizeof req, "ufragB:browser");
  CHECK(n > 0);
  CHECK(vg_peer_table_route(t, &from, req, (size_t)n) == &b);
  n = build_request(req, sizeof req, "ufragA:x");
  CHECK(vg_peer_table_route(t, &from, req, (size_t)n) == &a);
  /* a prefix or an unknown ufrag routes nowhere */
  n = build_request(req, sizeof req, "ufrag:x");
  CHECK(vg_peer_table_route(t, &from, req, (size_t)n) == NULL);
  n = build_request(req, sizeof req, "ufragAA:x");
  CHECK(vg_peer_table_route(t, &from, req, (size_t)n) == NULL);
  vg_peer_table_destroy(t);
}

static void test_routes_media_by_bound_address(void) {
  vg_peer_table_t *t;
  CHECK(vg_peer_table_create(&t) == VG_OK);
  int a = 1, b = 2;
  CHECK_EQ(vg_peer_table_add(t, "aaaa", &a), VG_OK);
  CHECK_EQ(vg_peer_table_add(t, "bbbb", &b), VG_OK);
  vg_addr_t pa, pb, tcp_pa;
  CHECK(vg_addr_parse(&pa, "198.51.100.1", 5000, VG_TRANSPORT_UDP) == VG_OK);
  CHECK(vg_addr_parse(&pb, "2001:db8::5", 5000, VG_TRANSPORT_UDP) == VG_OK);
  tcp_pa = pa;
  tcp_pa.transport = VG_TRANSPORT_TCP;
  const uint8_t dtls[] = {22, 0xfe, 0xfd, 0, 0};
  const uint8_t rtp[] = {0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(vg_peer_table_route(t, &pa, dtls, sizeof dtls) == NULL); /* not bound yet */
  CHECK_EQ(vg_peer_table_bind(t, &pa, &a), VG_OK);
  CHECK_EQ(vg_peer_table_bind(t, &pb, &b), VG_OK);
  CHECK(vg_peer_table_route(t, &pa, dtls, sizeof dtls) == &a);
  CHECK(vg_peer_table_route(t, &pb, rtp, sizeof rtp) == &b);
  /* same IP and port over TCP is another path */
  CHECK(vg_peer_table_route(t, &tcp_pa, rtp, sizeof rtp) == NULL);
  /* a STUN response (no USERNAME) goes by address */
  const uint8_t resp[20] = {0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42};
  CHECK(vg_peer_table_route(t, &pa, resp, sizeof resp) == &a);
  /* rebinding moves an address to the newest peer */
  CHECK_EQ(vg_peer_table_bind(t, &pa, &b), VG_OK);
  CHECK(vg_peer_table_route(t, &pa, rtp, sizeof rtp) == &b);
  /* removal forgets the ufrag and every address */
  vg_peer_table_remove(t, &b);
  CHECK(vg_peer_table_route(t, &pa, rtp, sizeof rtp) == NULL);
  CHECK(vg_peer_table_route(t, &pb, rtp, sizeof rtp) == NULL);
  CHECK(vg_peer_table_find_ufrag(t, "bbbb", 4) == NULL);
  CHECK(vg_peer_table_find_ufrag(t, "aaaa", 4) == &a);
  CHECK_EQ(vg_peer_table_count(t), 1);
  vg_peer_table_destroy(t);
}

static void test_many_peers_grow_and_churn(void) {
  enum { N = 5000 };
  static int peers[N];
  vg_peer_table_t *t;
  CHECK(vg_peer_table_create(&t) == VG_OK);
  char u[32];
  vg_addr_t addr;
  /* open and close sessions in waves, as a busy server does */
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < N; i++) {
      snprintf(u, sizeof u, "u%d", i);
      CHECK_EQ(vg_peer_table_add(t, u, &peers[i]), VG_OK);
      vg_addr_set_v4(&addr, 0xC6336400u + (uint32_t)i, (uint16_t)(1024 + round), VG_TRANSPORT_UDP);
      CHECK_EQ(vg_peer_table_bind(t, &addr, &peers[i]), VG_OK);
    }
    CHECK_EQ(vg_peer_table_count(t), N);
    for (int i = 0; i < N; i++) {
      snprintf(u, sizeof u, "u%d", i);
      CHECK(vg_peer_table_find_ufrag(t, u, strlen(u)) == &peers[i]);
      vg_addr_set_v4(&addr, 0xC6336400u + (uint32_t)i, (uint16_t)(1024 + round), VG_TRANSPORT_UDP);
      CHECK(vg_peer_table_find_addr(t, &addr) == &peers[i]);
    }
    for (int i = 0; i < N; i++) vg_peer_table_remove(t, &peers[i]);
    CHECK_EQ(vg_peer_table_count(t), 0);
  }
  vg_peer_table_destroy(t);
}

VGT_MAIN(VGT_CASE(test_routes_stun_by_local_ufrag), VGT_CASE(test_routes_media_by_bound_address),
         VGT_CASE(test_many_peers_grow_and_churn))
