#include "base/err.h"

const char *vg_strerror(int err) {
  switch (err) {
  case VG_OK: return "success";
  case VG_EAGAIN: return "incomplete input";
  case VG_EINVAL: return "invalid argument or input";
  case VG_ENOMEM: return "out of memory";
  case VG_ENOSPC: return "buffer too small";
  case VG_EPROTO: return "protocol violation";
  case VG_EAUTH: return "authentication failed";
  case VG_ENOTFOUND: return "not found";
  case VG_ESTATE: return "not allowed in this state";
  case VG_ETIMEDOUT: return "timed out";
  case VG_EUNSUPPORTED: return "not supported";
  case VG_ECRYPTO: return "cryptographic failure";
  case VG_EREPLAY: return "replayed packet";
  case VG_ECLOSED: return "closed";
  case VG_EEXIST: return "already exists";
  case VG_ELIMIT: return "limit reached";
  default: return "unknown error";
  }
}
