#!/usr/bin/env bash
# Photographs and textures for training-time realism (infantpose/train/realism.py): Debian
# wallpaper packages, installed with apt-get when run as root and missing. Training works
# without them (procedural textures stand in, with a warning), but transfers worse to real footage.
set -euo pipefail
pkgs=(gnome-backgrounds plasma-workspace-wallpapers ukui-wallpapers lomiri-wallpapers)
need=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing texture packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
    echo "warning: texture packages missing (${need[*]}); install them for realistic training data" >&2
fi
