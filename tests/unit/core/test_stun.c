/* STUN parser, checks and builder against the RFC 5769 test vectors, and
 * malformed input. */
#include <openssl/evp.h>

#include "base/addr.h"
#include "base/bytes.h"
#include "core/stun.h"
#include "vgtest.h"

/* RFC 5769 §2: the password of the short-term credential vectors. */
static const char PASSWORD[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 §2.1: sample request. */
static const uint8_t REQ[] = {
    0x00, 0x01, 0x00, 0x58, /* Request type and message length */
    0x21, 0x12, 0xa4, 0x42, /* Magic cookie */
    0xb7, 0xe7, 0xa7, 0x01, /* } */
    0xbc, 0x34, 0xd6, 0x86, /* }  Transaction ID */
    0xfa, 0x87, 0xdf, 0xae, /* } */
    0x80, 0x22, 0x00, 0x10, /* SOFTWARE attribute header */
    0x53, 0x54, 0x55, 0x4e, /* } */
    0x20, 0x74, 0x65, 0x73, /* }  User-agent... */
    0x74, 0x20, 0x63, 0x6c, /* }  ...name */
    0x69, 0x65, 0x6e, 0x74, /* } */
    0x00, 0x24, 0x00, 0x04, /* PRIORITY attribute header */
    0x6e, 0x00, 0x01, 0xff, /* ICE priority value */
    0x80, 0x29, 0x00, 0x08, /* ICE-CONTROLLED attribute header */
    0x93, 0x2f, 0xf9, 0xb1, /* }  Pseudo-random tie breaker... */
    0x51, 0x26, 0x3b, 0x36, /* }   ...for ICE control */
    0x00, 0x06, 0x00, 0x09, /* USERNAME attribute header */
    0x65, 0x76, 0x74, 0x6a, /* } */
    0x3a, 0x68, 0x36, 0x76, /* }  Username (9 bytes) and padding (3 bytes) */
    0x59, 0x20, 0x20, 0x20, /* } */
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY attribute header */
    0x9a, 0xea, 0xa7, 0x0c, /* } */
    0xbf, 0xd8, 0xcb, 0x56, /* } */
    0x78, 0x1e, 0xf2, 0xb5, /* }  HMAC-SHA1 fingerprint */
    0xb2, 0xd3, 0xf2, 0x49, /* } */
    0xc1, 0xb5, 0x71, 0xa2, /* } */
    0x80, 0x28, 0x00, 0x04, /* FINGERPRINT attribute header */
    0xe5, 0x7a, 0x3b, 0xcf, /* CRC32 fingerprint */
};

/* RFC 5769 §2.2: sample IPv4 response. */
static const uint8_t RESP4[] = {
    0x01, 0x01, 0x00, 0x3c, /* Response type and message length */
    0x21, 0x12, 0xa4, 0x42, /* Magic cookie */
    0xb7, 0xe7, 0xa7, 0x01, /* } */
    0xbc, 0x34, 0xd6, 0x86, /* }  Transaction ID */
    0xfa, 0x87, 0xdf, 0xae, /* } */
    0x80, 0x22, 0x00, 0x0b, /* SOFTWARE attribute header */
    0x74, 0x65, 0x73, 0x74, /* } */
    0x20, 0x76, 0x65, 0x63, /* }  UTF-8 server name */
    0x74, 0x6f, 0x72, 0x20, /* } */
    0x00, 0x20, 0x00, 0x08, /* XOR-MAPPED-ADDRESS attribute header */
    0x00, 0x01, 0xa1, 0x47, /* Address family (IPv4) and xor'd mapped port number */
    0xe1, 0x12, 0xa6, 0x43, /* Xor'd mapped IPv4 address */
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY attribute header */
    0x2b, 0x91, 0xf5, 0x99, /* } */
    0xfd, 0x9e, 0x90, 0xc3, /* } */
    0x8c, 0x74, 0x89, 0xf9, /* }  HMAC-SHA1 fingerprint */
    0x2a, 0xf9, 0xba, 0x53, /* } */
    0xf0, 0x6b, 0xe7, 0xd7, /* } */
    0x80, 0x28, 0x00, 0x04, /* FINGERPRINT attribute header */
    0xc0, 0x7d, 0x4c, 0x96, /* CRC32 fingerprint */
};

/* RFC 5769 §2.3: sample IPv6 response. */
static const uint8_t RESP6[] = {
    0x01, 0x01, 0x00, 0x48, /* Response type and message length */
    0x21, 0x12, 0xa4, 0x42, /* Magic cookie */
    0xb7, 0xe7, 0xa7, 0x01, /* } */
    0xbc, 0x34, 0xd6, 0x86, /* }  Transaction ID */
    0xfa, 0x87, 0xdf, 0xae, /* } */
    0x80, 0x22, 0x00, 0x0b, /* SOFTWARE attribute header */
    0x74, 0x65, 0x73, 0x74, /* } */
    0x20, 0x76, 0x65, 0x63, /* }  UTF-8 server name */
    0x74, 0x6f, 0x72, 0x20, /* } */
    0x00, 0x20, 0x00, 0x14, /* XOR-MAPPED-ADDRESS attribute header */
    0x00, 0x02, 0xa1, 0x47, /* Address family (IPv6) and xor'd mapped port number */
    0x01, 0x13, 0xa9, 0xfa, /* } */
    0xa5, 0xd3, 0xf1, 0x79, /* }  Xor'd mapped IPv6 address */
    0xbc, 0x25, 0xf4, 0xb5, /* } */
    0xbe, 0xd2, 0xb9, 0xd9, /* } */
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY attribute header */
    0xa3, 0x82, 0x95, 0x4e, /* } */
    0x4b, 0xe6, 0x7b, 0xf1, /* } */
    0x17, 0x84, 0xc9, 0x7c, /* }  HMAC-SHA1 fingerprint */
    0x82, 0x92, 0xc2, 0x75, /* } */
    0xbf, 0xe3, 0xed, 0x41, /* } */
    0x80, 0x28, 0x00, 0x04, /* FINGERPRINT attribute header */
    0xc8, 0xfb, 0x0b, 0x4c, /* CRC32 fingerprint */
};

/* RFC 5769 §2.4: sample request with long-term authentication. */
static const uint8_t REQ_LT[] = {
    0x00, 0x01, 0x00, 0x60, /* Request type and message length */
    0x21, 0x12, 0xa4, 0x42, /* Magic cookie */
    0x78, 0xad, 0x34, 0x33, /* } */
    0xc6, 0xad, 0x72, 0xc0, /* }  Transaction ID */
    0x29, 0xda, 0x41, 0x2e, /* } */
    0x00, 0x06, 0x00, 0x12, /* USERNAME attribute header */
    0xe3, 0x83, 0x9e, 0xe3, /* } */
    0x83, 0x88, 0xe3, 0x83, /* } */
    0xaa, 0xe3, 0x83, 0x83, /* }  Username value (18 bytes) and padding (2 bytes) */
    0xe3, 0x82, 0xaf, 0xe3, /* } */
    0x82, 0xb9, 0x00, 0x00, /* } */
    0x00, 0x15, 0x00, 0x1c, /* NONCE attribute header */
    0x66, 0x2f, 0x2f, 0x34, /* } */
    0x39, 0x39, 0x6b, 0x39, /* } */
    0x35, 0x34, 0x64, 0x36, /* } */
    0x4f, 0x4c, 0x33, 0x34, /* }  Nonce value */
    0x6f, 0x4c, 0x39, 0x46, /* } */
    0x53, 0x54, 0x76, 0x79, /* } */
    0x36, 0x34, 0x73, 0x41, /* } */
    0x00, 0x14, 0x00, 0x0b, /* REALM attribute header */
    0x65, 0x78, 0x61, 0x6d, /* } */
    0x70, 0x6c, 0x65, 0x2e, /* }  Realm value (11 bytes) and padding (1 byte) */
    0x6f, 0x72, 0x67, 0x00, /* } */
    0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY attribute header */
    0xf6, 0x70, 0x24, 0x65, /* } */
    0x6d, 0xd6, 0x4a, 0x3e, /* } */
    0x02, 0xb8, 0xe0, 0x71, /* }  HMAC-SHA1 fingerprint */
    0x2e, 0x85, 0xc9, 0xa2, /* } */
    0x8c, 0xa8, 0x96, 0x66, /* } */
};

static const uint8_t TXID[VG_STUN_TXID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                               0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

static const uint8_t *pw(void) { return (const uint8_t *)PASSWORD; }
static size_t pw_len(void) { return sizeof PASSWORD - 1; }

static int parse(vg_stun_msg_t *m, const uint8_t *buf, size_t len) {
  const char *why = NULL;
  int n = vg_stun_parse(m, buf, len, &why);
  if (n < 0 && !why) return -1000; /* every failure must say why */
  return n;
}

static bool text_is(const uint8_t *p, size_t n, const char *want) {
  return p && n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Starts the RFC 5769 §2.1 request in `out` up to its MESSAGE-INTEGRITY:
 * its attributes in the vector's order, padded with spaces as it is. */
static void begin_req(vg_stun_builder_t *b, uint8_t *out, size_t cap) {
  vg_stun_build_begin(b, out, cap, VG_STUN_BINDING_REQUEST, TXID);
  vg_stun_build_set_padding(b, 0x20);
  vg_stun_add_software(b, "STUN test client");
  vg_stun_add_priority(b, 0x6e0001ff);
  vg_stun_add_ice_controlled(b, 0x932ff9b151263b36ull);
  vg_stun_add_username(b, "evtj:h6vY", 9);
}

static void test_crc32_check_value(void) {
  /* The CRC-32/ISO-HDLC check value. */
  CHECK_EQ(vg_stun_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
  CHECK_EQ(vg_stun_crc32(NULL, 0), 0);
}

static void test_rfc5769_request(void) {
  vg_stun_msg_t m;
  CHECK_EQ(parse(&m, REQ, sizeof REQ), sizeof REQ);
  CHECK_EQ(m.type, VG_STUN_BINDING_REQUEST);
  CHECK_EQ(m.method, VG_STUN_METHOD_BINDING);
  CHECK_EQ(m.cls, VG_STUN_CLASS_REQUEST);
  CHECK_MEM(m.txid, TXID, sizeof TXID);
  CHECK(text_is(m.software, m.software_len, "STUN test client"));
  CHECK(text_is(m.username, m.username_len, "evtj:h6vY"));
  CHECK(m.has_priority);
  CHECK_EQ(m.priority, 0x6e0001ffu);
  CHECK(m.has_ice_controlled);
  CHECK(m.ice_controlled == 0x932ff9b151263b36ull);
  CHECK(!m.has_ice_controlling && !m.use_candidate && !m.has_xor_mapped);
  CHECK_EQ(m.unknown_count, 0);
  CHECK_EQ(m.integrity_off, 76);
  CHECK_EQ(m.fingerprint_off, 100);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_OK);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_OK);

  /* Rebuild byte for byte (the vectors pad with spaces). */
  uint8_t out[256];
  vg_stun_builder_t b;
  begin_req(&b, out, sizeof out);
  vg_stun_add_message_integrity(&b, pw(), pw_len());
  vg_stun_add_fingerprint(&b);
  CHECK_EQ(vg_stun_build_end(&b), sizeof REQ);
  CHECK_MEM(out, REQ, sizeof REQ);
}

static void check_response(const uint8_t *vec, size_t len, const char *ip) {
  vg_stun_msg_t m;
  CHECK_EQ(parse(&m, vec, len), len);
  CHECK_EQ(m.type, VG_STUN_BINDING_SUCCESS);
  CHECK_EQ(m.cls, VG_STUN_CLASS_SUCCESS);
  CHECK(text_is(m.software, m.software_len, "test vector"));
  CHECK(m.has_xor_mapped);
  vg_addr_t want;
  CHECK_EQ(vg_addr_parse(&want, ip, 32853, VG_TRANSPORT_UDP), VG_OK);
  CHECK(vg_addr_equal(&m.xor_mapped, &want));
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_OK);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_OK);

  uint8_t out[256];
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_SUCCESS, TXID);
  vg_stun_build_set_padding(&b, 0x20);
  vg_stun_add_software(&b, "test vector");
  vg_stun_add_xor_mapped_address(&b, &want);
  vg_stun_add_message_integrity(&b, pw(), pw_len());
  vg_stun_add_fingerprint(&b);
  CHECK_EQ(vg_stun_build_end(&b), len);
  CHECK_MEM(out, vec, len);
}

static void test_rfc5769_ipv4_response(void) {
  check_response(RESP4, sizeof RESP4, "192.0.2.1");
}

static void test_rfc5769_ipv6_response(void) {
  check_response(RESP6, sizeof RESP6, "2001:db8:1234:5678:11:2233:4455:6677");
}

/* RFC 5769 §2.4. Long-term credentials are not used by ICE, so the library
 * has no key derivation; the test derives the key itself (RFC 8489 §9.2.2:
 * MD5(username ":" realm ":" SASLprep(password)), where the vector's
 * password SASLprep's to "TheMatrIX") to exercise the HMAC path. */
static void test_rfc5769_long_term_request(void) {
  vg_stun_msg_t m;
  CHECK_EQ(parse(&m, REQ_LT, sizeof REQ_LT), sizeof REQ_LT);
  CHECK_EQ(m.type, VG_STUN_BINDING_REQUEST);
  /* "マトリックス" in UTF-8. */
  CHECK(text_is(m.username, m.username_len,
                "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9"));
  CHECK(text_is(m.nonce, m.nonce_len, "f//499k954d6OL34oL9FSTvy64sA"));
  CHECK(text_is(m.realm, m.realm_len, "example.org"));
  CHECK_EQ(m.fingerprint_off, 0);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_ENOTFOUND);

  char input[128];
  int n = snprintf(input, sizeof input, "%.*s:example.org:TheMatrIX", (int)m.username_len,
                   (const char *)m.username);
  CHECK(n > 0);
  uint8_t key[16];
  unsigned key_len = 0;
  CHECK(EVP_Digest(input, (size_t)n, key, &key_len, EVP_md5(), NULL) == 1);
  CHECK_EQ(vg_stun_check_integrity(&m, key, key_len), VG_OK);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_EAUTH);
}

static void test_tampered_vectors_fail(void) {
  uint8_t buf[sizeof REQ];
  vg_stun_msg_t m;

  /* One username byte changed: both checks fail. */
  memcpy(buf, REQ, sizeof buf);
  buf[64] ^= 0x01;
  CHECK_EQ(parse(&m, buf, sizeof buf), sizeof buf);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_EAUTH);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_EAUTH);

  /* The HMAC changed: integrity fails, and so does the CRC over it. */
  memcpy(buf, REQ, sizeof buf);
  buf[90] ^= 0x80;
  CHECK_EQ(parse(&m, buf, sizeof buf), sizeof buf);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_EAUTH);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_EAUTH);

  /* Only the CRC changed: integrity still holds. */
  memcpy(buf, REQ, sizeof buf);
  buf[sizeof buf - 1] ^= 0xff;
  CHECK_EQ(parse(&m, buf, sizeof buf), sizeof buf);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_OK);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_EAUTH);

  /* The right message with the wrong password. */
  CHECK_EQ(parse(&m, RESP6, sizeof RESP6), sizeof RESP6);
  CHECK_EQ(vg_stun_check_integrity(&m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBT", 22),
           VG_EAUTH);
  /* The mapped address changed. */
  uint8_t b6[sizeof RESP6];
  memcpy(b6, RESP6, sizeof b6);
  b6[50] ^= 0x10;
  CHECK_EQ(parse(&m, b6, sizeof b6), sizeof b6);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_EAUTH);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_EAUTH);
}

static void test_malformed_inputs(void) {
  uint8_t buf[sizeof REQ + 16];
  vg_stun_msg_t m;
  const char *why;

  /* Truncated: inside the header, and inside the body. */
  why = NULL;
  CHECK_EQ(vg_stun_parse(&m, REQ, 19, &why), VG_EAGAIN);
  CHECK(why != NULL);
  why = NULL;
  CHECK_EQ(vg_stun_parse(&m, REQ, sizeof REQ - 1, &why), VG_EAGAIN);
  CHECK(why != NULL);
  CHECK_EQ(vg_stun_parse(&m, NULL, 0, NULL), VG_EAGAIN);

  /* Length not a multiple of 4. */
  memcpy(buf, REQ, sizeof REQ);
  buf[3] = 0x57;
  CHECK_EQ(parse(&m, buf, sizeof REQ), VG_EPROTO);
  /* Length shorter than the attributes: the last one overruns. */
  buf[3] = 0x4c;
  CHECK_EQ(parse(&m, buf, sizeof REQ), VG_EPROTO);
  /* Bad cookie. */
  memcpy(buf, REQ, sizeof REQ);
  buf[7] = 0x43;
  why = NULL;
  CHECK_EQ(vg_stun_parse(&m, buf, sizeof REQ, &why), VG_EPROTO);
  CHECK_STR(why, "magic cookie is not 0x2112A442");
  /* Top bits set: RTP-like first byte. */
  memcpy(buf, REQ, sizeof REQ);
  buf[0] = 0x80;
  CHECK_EQ(parse(&m, buf, sizeof REQ), VG_EPROTO);
  /* USERNAME length overruns the message. */
  memcpy(buf, REQ, sizeof REQ);
  buf[63] = 0x40;
  CHECK_EQ(parse(&m, buf, sizeof REQ), VG_EPROTO);
  /* Fixed-size attributes with the wrong size: PRIORITY of 8 bytes. */
  memcpy(buf, REQ, sizeof REQ);
  buf[43] = 0x08;
  CHECK_EQ(parse(&m, buf, sizeof REQ), VG_EPROTO);

  /* An attribute after FINGERPRINT. */
  memcpy(buf, REQ, sizeof REQ);
  const uint8_t extra[] = {0x80, 0x22, 0x00, 0x04, 'x', 'y', 'z', 'w'};
  memcpy(buf + sizeof REQ, extra, sizeof extra);
  buf[3] = 0x58 + 8;
  why = NULL;
  CHECK_EQ(vg_stun_parse(&m, buf, sizeof REQ + 8, &why), VG_EPROTO);
  CHECK_STR(why, "attribute after FINGERPRINT");

  /* Trailing bytes after the message are left to the caller. */
  memcpy(buf, REQ, sizeof REQ);
  CHECK_EQ(parse(&m, buf, sizeof REQ + 4), sizeof REQ);
}

/* RFC 8489 §14.5: after MESSAGE-INTEGRITY only FINGERPRINT counts; other
 * attributes there are ignored, known or not. */
static void test_attributes_after_integrity_ignored(void) {
  uint8_t buf[256];
  size_t mi_end = 100; /* REQ up to and including MESSAGE-INTEGRITY */
  memcpy(buf, REQ, mi_end);
  const uint8_t after[] = {
      0x00, 0x24, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, /* a second PRIORITY */
      0x00, 0x25, 0x00, 0x00,                         /* USE-CANDIDATE */
      0x7f, 0x01, 0x00, 0x00,                         /* unknown, comprehension-required */
  };
  memcpy(buf + mi_end, after, sizeof after);
  size_t len = mi_end + sizeof after;
  vg_store_u16(buf + 2, (uint16_t)(len - 20));
  vg_stun_msg_t m;
  CHECK_EQ(parse(&m, buf, len), len);
  CHECK_EQ(m.priority, 0x6e0001ffu);
  CHECK(!m.use_candidate);
  CHECK_EQ(m.unknown_count, 0);
  /* M-I still verifies: its length adjustment covers only what precedes it. */
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_OK);
}

static void test_unknown_attributes_recorded(void) {
  uint8_t out[256];
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_REQUEST, TXID);
  vg_stun_add_attr(&b, 0x7001, "ab", 2); /* comprehension-required */
  vg_stun_add_attr(&b, 0xC001, "cd", 2); /* comprehension-optional: not listed */
  for (uint16_t t = 0x7002; t < 0x7007; t++) vg_stun_add_attr(&b, t, NULL, 0);
  int n = vg_stun_build_end(&b);
  CHECK(n > 0);
  vg_stun_msg_t m;
  CHECK_EQ(parse(&m, out, (size_t)n), n);
  CHECK_EQ(m.unknown_count, 6);
  CHECK_EQ(m.unknown[0], 0x7001);
  CHECK_EQ(m.unknown[1], 0x7002);
  CHECK_EQ(m.unknown[VG_STUN_MAX_UNKNOWN - 1], 0x7001 + VG_STUN_MAX_UNKNOWN - 1);
}

static void test_build_error_response_roundtrip(void) {
  uint8_t out[256];
  vg_stun_builder_t b;
  const uint16_t unknown[] = {0x7001, 0x0031};
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_ERROR, TXID);
  vg_stun_add_error_code(&b, 420, "Unknown Attribute");
  vg_stun_add_unknown_attributes(&b, unknown, 2);
  vg_stun_add_use_candidate(&b);
  vg_stun_add_ice_controlling(&b, 0x0102030405060708ull);
  vg_stun_add_message_integrity(&b, pw(), pw_len());
  vg_stun_add_fingerprint(&b);
  int n = vg_stun_build_end(&b);
  CHECK(n > 0);
  /* Padding defaults to zero: the 17-byte reason is followed by 3 zeros. */
  CHECK_EQ(out[24 + 4 + 17], 0);
  vg_stun_msg_t m;
  CHECK_EQ(parse(&m, out, (size_t)n), n);
  CHECK_EQ(m.cls, VG_STUN_CLASS_ERROR);
  CHECK_EQ(m.method, VG_STUN_METHOD_BINDING);
  CHECK(m.has_error_code);
  CHECK_EQ(m.error_code, 420);
  CHECK(text_is(m.error_reason, m.error_reason_len, "Unknown Attribute"));
  CHECK(m.use_candidate);
  CHECK(m.has_ice_controlling);
  CHECK(m.ice_controlling == 0x0102030405060708ull);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_OK);
  CHECK_EQ(vg_stun_check_fingerprint(&m), VG_OK);
}

static void test_builder_errors_are_sticky(void) {
  uint8_t out[64];
  vg_stun_builder_t b;
  /* Out of space: the first failing add sets VG_ENOSPC, later adds do
   * nothing even if they would fit. */
  vg_stun_build_begin(&b, out, 30, VG_STUN_BINDING_REQUEST, TXID);
  vg_stun_add_username(&b, "evtj:h6vY", 9); /* needs 16 */
  vg_stun_add_use_candidate(&b);
  CHECK_EQ(vg_stun_build_end(&b), VG_ENOSPC);
  CHECK_EQ(b.pos, VG_STUN_HEADER_LEN);

  vg_stun_build_begin(&b, out, 10, VG_STUN_BINDING_REQUEST, TXID);
  CHECK_EQ(vg_stun_build_end(&b), VG_ENOSPC);

  /* Nothing but FINGERPRINT after MESSAGE-INTEGRITY, nothing after it. */
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_REQUEST, TXID);
  vg_stun_add_message_integrity(&b, pw(), pw_len());
  vg_stun_add_priority(&b, 1);
  CHECK_EQ(vg_stun_build_end(&b), VG_EINVAL);
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_REQUEST, TXID);
  vg_stun_add_fingerprint(&b);
  vg_stun_add_fingerprint(&b);
  CHECK_EQ(vg_stun_build_end(&b), VG_EINVAL);

  /* Bad arguments. */
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_ERROR, TXID);
  vg_stun_add_error_code(&b, 200, "OK");
  CHECK_EQ(vg_stun_build_end(&b), VG_EINVAL);
  vg_addr_t none = {0};
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_SUCCESS, TXID);
  vg_stun_add_xor_mapped_address(&b, &none);
  CHECK_EQ(vg_stun_build_end(&b), VG_EINVAL);
}

static void test_peek_username(void) {
  const uint8_t *u = NULL;
  size_t n = 0;
  CHECK_EQ(vg_stun_peek_username(REQ, sizeof REQ, &u, &n), VG_OK);
  CHECK(text_is(u, n, "evtj:h6vY"));
  CHECK(u > REQ && u < REQ + sizeof REQ); /* points into the input */
  /* A response is not routed by username. */
  CHECK_EQ(vg_stun_peek_username(RESP4, sizeof RESP4, &u, &n), VG_ENOTFOUND);
  /* Truncated, or not STUN. */
  CHECK_EQ(vg_stun_peek_username(REQ, sizeof REQ - 4, &u, &n), VG_EPROTO);
  CHECK_EQ(vg_stun_peek_username(REQ, 3, &u, &n), VG_EPROTO);
  const uint8_t rtp[24] = {0x80, 0x6f};
  CHECK_EQ(vg_stun_peek_username(rtp, sizeof rtp, &u, &n), VG_EPROTO);
  /* A request without USERNAME. */
  uint8_t out[64];
  vg_stun_builder_t b;
  vg_stun_build_begin(&b, out, sizeof out, VG_STUN_BINDING_REQUEST, TXID);
  vg_stun_add_priority(&b, 7);
  int len = vg_stun_build_end(&b);
  CHECK(len > 0);
  CHECK_EQ(vg_stun_peek_username(out, (size_t)len, &u, &n), VG_ENOTFOUND);
  /* An attribute overrunning the message. */
  uint8_t bad[sizeof REQ];
  memcpy(bad, REQ, sizeof bad);
  bad[23] = 0xF0; /* SOFTWARE length */
  CHECK_EQ(vg_stun_peek_username(bad, sizeof bad, &u, &n), VG_EPROTO);
}

/* A pre-keyed credential gives the RFC 5769 results, message after message
 * on one key (it restarts from its keyed state each time), both checking
 * and building; a wrong password fails; and it never disagrees with the
 * key-bytes path. */
static void test_rfc5769_with_prekeyed_key(void) {
  vg_stun_key_t *k = NULL, *wrong = NULL;
  CHECK_EQ(vg_stun_key_create(pw(), pw_len(), &k), VG_OK);
  CHECK_EQ(vg_stun_key_create((const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBu", 22, &wrong), VG_OK);
  const uint8_t *vecs[3] = {REQ, RESP4, RESP6};
  size_t lens[3] = {sizeof REQ, sizeof RESP4, sizeof RESP6};
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 3; i++) {
      vg_stun_msg_t m;
      CHECK_EQ(parse(&m, vecs[i], lens[i]), lens[i]);
      CHECK_EQ(vg_stun_check_integrity_key(&m, k), VG_OK);
      CHECK_EQ(vg_stun_check_integrity_key(&m, wrong), VG_EAUTH);
    }
    /* The request rebuilt byte for byte with the key object. */
    uint8_t out[256];
    vg_stun_builder_t b;
    begin_req(&b, out, sizeof out);
    vg_stun_add_message_integrity_key(&b, k);
    vg_stun_add_fingerprint(&b);
    CHECK_EQ(vg_stun_build_end(&b), sizeof REQ);
    CHECK_MEM(out, REQ, sizeof REQ);
  }
  /* A tampered byte before the attribute fails with either path. */
  uint8_t bad[sizeof RESP4];
  memcpy(bad, RESP4, sizeof bad);
  bad[30] ^= 0x01;
  vg_stun_msg_t m;
  CHECK_EQ(parse(&m, bad, sizeof bad), sizeof bad);
  CHECK_EQ(vg_stun_check_integrity_key(&m, k), VG_EAUTH);
  CHECK_EQ(vg_stun_check_integrity(&m, pw(), pw_len()), VG_EAUTH);
  /* An empty password is a valid (if useless) HMAC key. */
  vg_stun_key_t *empty = NULL;
  CHECK_EQ(vg_stun_key_create(NULL, 0, &empty), VG_OK);
  vg_stun_key_t *none = NULL;
  CHECK_EQ(vg_stun_key_create(NULL, 4, &none), VG_EINVAL); /* a length without a key */
  CHECK(none == NULL);
  vg_stun_key_destroy(empty);
  vg_stun_key_destroy(wrong);
  vg_stun_key_destroy(k);
  vg_stun_key_destroy(NULL);
}

VGT_MAIN(VGT_CASE(test_rfc5769_with_prekeyed_key), VGT_CASE(test_crc32_check_value), VGT_CASE(test_rfc5769_request),
         VGT_CASE(test_rfc5769_ipv4_response), VGT_CASE(test_rfc5769_ipv6_response),
         VGT_CASE(test_rfc5769_long_term_request), VGT_CASE(test_tampered_vectors_fail),
         VGT_CASE(test_malformed_inputs), VGT_CASE(test_attributes_after_integrity_ignored),
         VGT_CASE(test_unknown_attributes_recorded),
         VGT_CASE(test_build_error_response_roundtrip),
         VGT_CASE(test_builder_errors_are_sticky), VGT_CASE(test_peek_username))
