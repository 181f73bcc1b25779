#!/bin/sh
# Fails when a sans-IO folder (core, sig, media) includes a header that
# brings in sockets, threads, an event loop or the clock.
src=${1:?usage: check_sans_io.sh SRC_DIR}
bad='#[[:space:]]*include[[:space:]]*<(sys/socket|netinet/[a-z_]+|arpa/inet|netdb|pthread|threads|uv|sys/epoll|sys/select|poll|unistd|time|sys/time|signal)\.h>'
found=0
for d in core sig media; do
  [ -d "$src/$d" ] || continue
  if grep -rnE "$bad" "$src/$d"; then found=1; fi
done
if [ $found -ne 0 ]; then
  echo "sans-IO rule broken: the lines above include IO, thread or clock headers" >&2
  exit 1
fi
echo "sans-IO headers: ok"
