#!/usr/bin/env bash
# The .deb on a clean Debian 12: a fresh minimal root (debootstrap --variant=minbase bookworm, in a temp dir),
# the package installed the way a user installs a downloaded one (`apt-get install ./locket_….deb`, which pulls
# its runtime dependencies from the mirror), then:
#   - the desktop entry is installed and registers the locket:// scheme (MimeType, mimeinfo.cache, xdg-mime);
#   - the app starts: on an Xvfb display (the host's, shared into the root) a window titled "Locket" appears,
#     showing the welcome screen (screenshot: artifacts/package/deb-started.png).
# Prints the package's size, its installed size and how many packages it pulled in.
#
#   tests/package/deb-install.sh [PATH.deb]      default: the newest target/release/bundle/deb/*.deb
#
# Needs root (chroot, mounts), debootstrap, Xvfb, xdotool and ImageMagick on the host (scripts/setup installs
# them), and the Debian mirror (LOCKET_DEB_MIRROR, default http://deb.debian.org/debian).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
say() { printf '\033[1m[deb]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[deb] FAILED:\033[0m %s\n' "$*" >&2; exit 1; }

DEB="${1:-$(ls -t "$ROOT"/target/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)}"
[ -n "$DEB" ] && [ -f "$DEB" ] || die "no .deb: build it with (cd src-tauri && ../ui/node_modules/.bin/tauri build --bundles deb)"
[ "$(id -u)" = 0 ] || die "needs root (chroot)"
MIRROR="${LOCKET_DEB_MIRROR:-http://deb.debian.org/debian}"
ART="$ROOT/artifacts/package"
mkdir -p "$ART"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/locket-deb.XXXXXX")"
R="$WORK/root"
XVFB_PID=""
cleanup() {
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
    pkill -f "$R/usr/bin/locket-desktop" 2>/dev/null || true
    for m in tmp/.X11-unix dev/pts dev proc; do
        mountpoint -q "$R/$m" 2>/dev/null && umount -l "$R/$m" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

say "package: $DEB ($(du -k "$DEB" | cut -f1) KiB)"
say "a clean Debian 12 root (debootstrap minbase) in $R"
debootstrap --variant=minbase bookworm "$R" "$MIRROR" >"$ART/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $ART/debootstrap.log"
mount -t proc proc "$R/proc"
mount --bind /dev "$R/dev"
mount --bind /dev/pts "$R/dev/pts"
before=$(chroot "$R" dpkg-query -W -f='.\n' | wc -l)

cp "$DEB" "$R/tmp/locket.deb"
say "apt-get install ./locket.deb (with its dependencies)"
chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/locket.deb \
    >"$ART/apt-install.log" 2>&1 || die "the package did not install; see $ART/apt-install.log"
after=$(chroot "$R" dpkg-query -W -f='.\n' | wc -l)
installed_kib=$(chroot "$R" dpkg-query -W -f='${Installed-Size}' locket 2>/dev/null || echo "?")
say "installed: locket ${installed_kib} KiB; $((after - before)) packages added to a minimal Debian 12"

# The desktop entry and the locket:// scheme.
entry="$(grep -l '^Exec=locket-desktop' "$R"/usr/share/applications/*.desktop 2>/dev/null | head -1 || true)"
[ -n "$entry" ] || die "no desktop entry running locket-desktop in /usr/share/applications"
grep -Eq '^MimeType=(.*;)?x-scheme-handler/locket(;|$)' "$entry" || die "$(basename "$entry") does not register x-scheme-handler/locket"
say "desktop entry: $(basename "$entry") registers x-scheme-handler/locket"
chroot "$R" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends xdg-utils desktop-file-utils \
    >>"$ART/apt-install.log" 2>&1 || die "xdg-utils did not install; see $ART/apt-install.log"
chroot "$R" update-desktop-database /usr/share/applications
grep -q "^x-scheme-handler/locket=$(basename "$entry")" "$R/usr/share/applications/mimeinfo.cache" \
    || die "mimeinfo.cache does not name $(basename "$entry") for locket://"
handler="$(chroot "$R" env XDG_DATA_DIRS=/usr/share xdg-mime query default x-scheme-handler/locket)"
[ "$handler" = "$(basename "$entry")" ] || die "xdg-mime names '$handler' for locket://"
say "xdg-mime: locket:// opens $handler"

# It starts: a window titled Locket on a display shared from the host.
say "starting locket-desktop on Xvfb"
Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$WORK/display" >"$ART/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
display="$(cat "$WORK/display")"
[ -n "$display" ] || die "Xvfb did not start"
mkdir -p "$R/tmp/.X11-unix"
mount --bind /tmp/.X11-unix "$R/tmp/.X11-unix"
chroot "$R" env -i HOME=/root PATH=/usr/bin:/bin DISPLAY=":$display" LOCKET_VAULT=/root/vault \
    XDG_RUNTIME_DIR=/tmp/runtime GDK_BACKEND=x11 \
    sh -c 'mkdir -p -m 700 /tmp/runtime; exec locket-desktop' >"$ART/app.log" 2>&1 &
found=""
for _ in $(seq 300); do
    if DISPLAY=":$display" xdotool search --onlyvisible --name '^Locket$' >/dev/null 2>&1; then found=1; break; fi
    sleep 0.1
done
[ -n "$found" ] || die "no window titled Locket within 30 s; see $ART/app.log"
sleep 3  # let the web view draw the welcome screen
import -display ":$display" -window root "$ART/deb-started.png"
pgrep -f "locket-desktop" >/dev/null || die "locket-desktop exited; see $ART/app.log"
say "started: a Locket window is up (screenshot $ART/deb-started.png)"
say "ok: the .deb installs on a clean Debian 12, registers locket:// and starts"
