#!/bin/bash
# Builds Sotto's container images without a daemon: buildah (Debian package)
# from the Bazel outputs, on a Debian bookworm-slim base made here with
# mmdebstrap from Debian's package mirror (no container registry needed).
#
#   tools/images/build.sh [--bin-dir DIR] [--tag TAG] [SERVICE...]
#
# SERVICE: broker policy media recorder reporting (default: all). Without
# --bin-dir the binaries are built with Bazel first; with it, DIR holds
# sotto-SERVICE and sotto-health-probe. Images: localhost/sotto-SERVICE:TAG
# (TAG default: latest), in buildah's storage (SOTTO_IMAGE_STORAGE, default
# /var/lib/containers/storage); push with `buildah push`.
# Every image is checked: no shared library "not found" inside it, and its
# entrypoint answers --help as the non-root user.
#
# BUILDAH_ISOLATION=chroot (set below): RUN steps and checks run in a
# chroot and need no OCI runtime (runc/crun are not installed here). Needs
# root (buildah's storage, mmdebstrap --mode=root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$ROOT/tools/images"
export BUILDAH_ISOLATION=chroot
storage="${SOTTO_IMAGE_STORAGE:-/var/lib/containers/storage}"
driver="${SOTTO_IMAGE_STORAGE_DRIVER:-overlay}"
bah() { buildah --root "$storage" --runroot "$storage.run" --storage-driver "$driver" "$@"; }

declare -A TARGET=(
  [broker]=//services/broker:sotto-broker
  [policy]=//services/policy:sotto-policy
  [media]=//media_engine:sotto-media
  [recorder]=//services/recorder:sotto-recorder
  [reporting]=//services/reporting:sotto-reporting
)
PROBE=//services/health_probe:sotto-health-probe

bin_dir="" tag=latest services=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) [ -n "${TARGET[$1]:-}" ] || { echo "build.sh: unknown service '$1'" >&2; exit 2; }
       services+=("$1"); shift ;;
  esac
done
[ ${#services[@]} -gt 0 ] || services=(broker policy media recorder reporting)
say() { printf 'images: %s\n' "$*" >&2; }

if [ -z "$bin_dir" ]; then
  targets=("$PROBE")
  for s in "${services[@]}"; do targets+=("${TARGET[$s]}"); done
  (cd "$ROOT" && bazel build -c opt "${targets[@]}" >&2)
  bin_dir="$(mktemp -d)"
  trap 'rm -rf "$bin_dir"' EXIT
  for t in "${targets[@]}"; do
    path="${t#//}"; path="${path/://}"
    cp "$ROOT/bazel-bin/$path" "$bin_dir/"
  done
fi

have_image() { bah inspect --type image "$1" > /dev/null 2>&1; }

# 1. Debian bookworm-slim: minbase plus the slimming debuerreotype applies to
# the official -slim images (no docs, man pages or locales). Rebuilt when
# this script's base recipe changes (the tag is its hash).
base_recipe="mmdebstrap minbase bookworm v2; $(sed -n '/^slim_dpkg_cfg=/,/^EOF$/p' "$0" | sha256sum)"
base="localhost/sotto-bookworm-slim:$(printf '%s' "$base_recipe" | sha256sum | cut -c1-12)"
slim_dpkg_cfg=$(cat <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/groff/*
EOF
)
if ! have_image "$base"; then
  say "making $base with mmdebstrap (once; 20-90 s, the Debian mirror's speed)"
  work="$(mktemp -d)"
  printf '%s\n' "$slim_dpkg_cfg" > "$work/slim.cfg"
  # merged-usr hook: /usr-merge by symlinks, without the usrmerge package
  # (which would drag perl in). The dpkg excludes cover packages installed
  # later; the customize hook strips what the essential set already unpacked.
  mmdebstrap --variant=minbase --mode=root --format=tar --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt="$work/slim.cfg" \
    --customize-hook='cd "$1"/usr/share &&
      find doc -mindepth 1 ! -type d ! -name copyright -delete &&
      find locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + &&
      rm -rf man/* info/* lintian linda groff &&
      rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log' \
    bookworm "$work/rootfs.tar" >&2
  ctr="$(bah from scratch)"
  bah add "$ctr" "$work/rootfs.tar" / >&2
  bah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --label org.opencontainers.image.title=sotto-bookworm-slim "$ctr"
  bah commit --quiet --rm "$ctr" "$base" >&2
  bah tag "$base" localhost/sotto-bookworm-slim:latest
  rm -rf "$work"
fi

# 2. The shared runtime layer, then each service.
build() { # NAME CONTEXT BUILD-ARG
  bah build --quiet --layers --pull=never -f "$here/$1/Containerfile" \
    --build-arg "$3" -t "localhost/sotto-$1:$tag" "$2" >&2
}
say "sotto-runtime"
build runtime "$here/runtime" "BASE=$base"

for s in "${services[@]}"; do
  ctx="$(mktemp -d)"
  cp "$bin_dir/sotto-$s" "$bin_dir/sotto-health-probe" "$ctx/"
  chmod 0755 "$ctx"/*
  say "sotto-$s"
  build "$s" "$ctx" "RUNTIME=localhost/sotto-runtime:$tag"
  rm -rf "$ctx"

  # 3. Check the image: every library resolves, and the entrypoint answers
  # --help as the image's non-root user.
  image="localhost/sotto-$s:$tag"
  ctr="$(bah from --pull=never "$image")"
  missing="$(bah run "$ctr" -- sh -c \
    "ldd /usr/local/bin/sotto-$s /usr/local/bin/sotto-health-probe | grep 'not found' || true")"
  entrypoint="$(bah inspect --format '{{.OCIv1.Config.Entrypoint}}' "$image")"
  user="$(bah run "$ctr" -- id -u)"
  bah rm "$ctr" > /dev/null
  if [ -n "$missing" ]; then
    say "sotto-$s: libraries missing in the image (add their Debian packages to tools/images/$s/Containerfile):"
    printf '%s\n' "$missing" >&2
    exit 1
  fi
  [ "$user" = 10001 ] || { say "sotto-$s: runs as uid $user, not 10001"; exit 1; }
  say "sotto-$s: ok ($image, entrypoint $entrypoint)"
  echo "$image"
done
