#!/usr/bin/env bash
# Install the real DNS servers the tests start (Debian/Ubuntu, as root): PowerDNS with the lmdb
# and sqlite3 backends, BIND and Knot with their tools, and chattr (the yaml backend's fault
# injection). Only what is missing is installed, and the packaged daemons are not started.
set -euo pipefail

need_apt=()
command -v pdns_server >/dev/null 2>&1 || need_apt+=(pdns-server)
ls /usr/lib/*/pdns/liblmdbbackend.so >/dev/null 2>&1 || need_apt+=(pdns-backend-lmdb)
ls /usr/lib/*/pdns/libgsqlite3backend.so >/dev/null 2>&1 || need_apt+=(pdns-backend-sqlite3)
command -v sqlite3 >/dev/null 2>&1 || need_apt+=(sqlite3)
command -v named >/dev/null 2>&1 || need_apt+=(bind9)
command -v knotd >/dev/null 2>&1 || need_apt+=(knot)
command -v kdig >/dev/null 2>&1 || need_apt+=(knot-dnsutils)
command -v nsupdate >/dev/null 2>&1 || need_apt+=(bind9-dnsutils)
command -v chattr >/dev/null 2>&1 || need_apt+=(e2fsprogs)

if [ ${#need_apt[@]} -eq 0 ]; then
  echo "test servers: already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test servers: missing ${need_apt[*]}; run as root: sudo $0" >&2
  exit 1
fi
# Installing pdns-server or bind9 may try to start the packaged daemon on port 53; a
# policy-rc.d that exits 101 stops that. Create it only if missing.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
