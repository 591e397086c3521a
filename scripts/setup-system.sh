#!/usr/bin/env bash
# System packages the project needs: libGL/glib for opencv-python, OSMesa for headless rendering
# in `infantpose synth`; with --textures also the Debian wallpaper packages whose photographs the
# training-time realism uses (infantpose/train/realism.py; training works without them, with a
# warning, but transfers worse to real footage). Installs with apt-get when run as root on
# Debian/Ubuntu and something is missing; otherwise says what to install.
set -euo pipefail
need=()
ldconfig -p | grep -q 'libGL.so.1' || need+=(libgl1)
ldconfig -p | grep -q 'libglib-2.0.so.0' || need+=(libglib2.0-0)
ldconfig -p | grep -q 'libOSMesa.so' || need+=(libosmesa6)
if [ "${1:-}" = "--textures" ]; then
    for p in gnome-backgrounds plasma-workspace-wallpapers ukui-wallpapers lomiri-wallpapers; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
    echo "warning: missing system packages (${need[*]}); install them with your package manager" >&2
fi
