#!/usr/bin/env bash
# Start Janus on this folder's configuration, its @NAMES@ filled in from the environment:
#   JANUS_API_SECRET, JANUS_ADMIN_SECRET, JANUS_ROOM_ADMIN_KEY  (required)
#   JANUS_HTTP_IP (127.0.0.1), JANUS_HTTP_PORT (8088), JANUS_ADMIN_PORT (7088),
#   JANUS_RTP_PORTS (20000-40000), JANUS_CONFIG_DIR (a fresh temporary folder)
# The filled-in files hold secrets: they are written to a folder only this user can read.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${JANUS_API_SECRET:?}" "${JANUS_ADMIN_SECRET:?}" "${JANUS_ROOM_ADMIN_KEY:?}"
out="${JANUS_CONFIG_DIR:-$(mktemp -d)}"
mkdir -p "$out"
chmod 700 "$out"
libdir="$(dirname "$(find /usr/lib -maxdepth 3 -type d -path '*/janus/plugins' | head -n 1)")"
for file in "$here"/*.jcfg; do
  sed -e "s|@CONFIGS@|$out|g" -e "s|@LIBDIR@|$libdir|g" \
      -e "s|@API_SECRET@|$JANUS_API_SECRET|g" -e "s|@ADMIN_SECRET@|$JANUS_ADMIN_SECRET|g" \
      -e "s|@ROOM_ADMIN_KEY@|$JANUS_ROOM_ADMIN_KEY|g" \
      -e "s|@HTTP_IP@|${JANUS_HTTP_IP:-127.0.0.1}|g" -e "s|@HTTP_PORT@|${JANUS_HTTP_PORT:-8088}|g" \
      -e "s|@ADMIN_PORT@|${JANUS_ADMIN_PORT:-7088}|g" -e "s|@RTP_PORTS@|${JANUS_RTP_PORTS:-20000-40000}|g" \
      "$file" > "$out/$(basename "$file")"
done
chmod 600 "$out"/*.jcfg
exec janus --configs-folder="$out" --config="$out/janus.jcfg" --disable-colors "$@"
