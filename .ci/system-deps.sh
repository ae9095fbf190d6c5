#!/usr/bin/env bash
# Install, where missing and where we may, the Debian packages the project needs at run time:
# a CJK font (Chinese figure labels) and Chromium with its driver (the explorer's browser test).
set -u
need=()
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: missing system packages ${need[*]} (install them with your package manager);" \
       "Chinese figures and the browser test need them" >&2
  exit 0
fi
echo "installing ${need[*]}"
apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
  || echo "note: could not install ${need[*]}" >&2
exit 0
