#!/usr/bin/env bash
# System packages the project needs: libGL/glib for opencv-python, OSMesa for headless rendering
# in `infantpose synth`; with --textures also the Debian wallpaper packages whose photographs the
# training-time realism uses (infantpose/train/realism.py; training works without them, with a
# warning, but transfers worse to real footage); with --browser headless Chromium (tests). Installs with apt-get when run as root on
# Debian/Ubuntu and something is missing; otherwise says what to install.
set -euo pipefail
need=()
ldconfig -p | grep -q 'libGL.so.1' || need+=(libgl1)
ldconfig -p | grep -q 'libglib-2.0.so.0' || need+=(libglib2.0-0)
ldconfig -p | grep -q 'libOSMesa.so' || need+=(libosmesa6)
for flag in "$@"; do
    if [ "$flag" = "--textures" ]; then
        for p in gnome-backgrounds plasma-workspace-wallpapers ukui-wallpapers lomiri-wallpapers; do
            dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
        done
    fi
    # --browser: headless Chromium, for the tests that load `infantpose analyze`'s viewer in a real browser.
    if [ "$flag" = "--browser" ]; then
        command -v chromium >/dev/null || need+=(chromium)
    fi
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
    echo "warning: missing system packages (${need[*]}); install them with your package manager" >&2
fi
