#!/usr/bin/env bash
# virtio-blk-vfio-pci and virtio-blk-vhost-vdpa on a host without VFIO or
# vDPA: every way of pointing them at the wrong thing is a clear error at
# start-up that names the path and says what to fix.  The sysfs
# directories are imitated under $TEST_TMPDIR (a PCI function's
# directory is only symlinks that matter here: iommu_group and driver).
# Debian's nbdkit has no blkio plugin (no libblkio in Debian): nothing to
# compare against.
. "$(dirname "$0")/functions.sh"
require_commands nbdinfo

# expect_connect_error PATTERN ARGS...: the device is opened by the first
# client, so the client fails and the server logs PATTERN.
expect_connect_error() {
  local pattern=$1
  shift
  if timeout 60 "$NBDKIT" -U - "$@" --run 'nbdinfo "$uri"' \
      >"$TEST_TMPDIR/out" 2>"$TEST_TMPDIR/err"; then
    fail "nbdkit $*: served anyway"
  fi
  grep -qF -- "$pattern" "$TEST_TMPDIR/err" ||
    fail "nbdkit $*: message lacks '$pattern': $(cat "$TEST_TMPDIR/err")"
  echo "ok: nbdkit $*: $(grep -F -- "$pattern" "$TEST_TMPDIR/err" | head -1)"
}

vfio=virtio-blk-vfio-pci
vdpa=virtio-blk-vhost-vdpa
"$NBDKIT" blkio --dump-plugin | grep -qx "blkio_driver_$vfio=yes" || fail "$vfio not built"
"$NBDKIT" blkio --dump-plugin | grep -qx "blkio_driver_$vdpa=yes" || fail "$vdpa not built"

# ---- vfio-pci ----
expect_connect_error 'path must be set' blkio $vfio
expect_error "$vfio doesn't support the fd property" blkio $vfio fd=3
expect_error "path=$TEST_TMPDIR/0000:00:09.0: No such file or directory" \
  blkio $vfio path="$TEST_TMPDIR/0000:00:09.0"
touch "$TEST_TMPDIR/file"
expect_connect_error 'is not a PCI function' blkio $vfio path="$TEST_TMPDIR/file"

# A function with no IOMMU group (a host without an IOMMU).
fn=$TEST_TMPDIR/devices/0000:00:07.0
mkdir -p "$fn" "$TEST_TMPDIR/iommu_groups/42" "$TEST_TMPDIR/drivers/virtio-pci" \
    "$TEST_TMPDIR/drivers/vfio-pci"
expect_connect_error "$fn has no IOMMU group" blkio $vfio path="$fn"

# In a group, but bound to no driver, then to the wrong one.
ln -s ../../iommu_groups/42 "$fn/iommu_group"
expect_connect_error 'is not bound to any driver, not vfio-pci' blkio $vfio path="$fn"
ln -s ../../drivers/virtio-pci "$fn/driver"
expect_connect_error 'is bound to virtio-pci, not vfio-pci' blkio $vfio path="$fn"

# Bound to vfio-pci, but no /dev/vfio (this host has no VFIO).
if [ ! -e /dev/vfio/vfio ]; then
  ln -sfn ../../drivers/vfio-pci "$fn/driver"
  expect_connect_error '/dev/vfio/vfio: No such file or directory (is the vfio module loaded' \
    blkio $vfio path="$fn"
fi

# A real PCI function of this machine, if it has one without an IOMMU group.
for real in /sys/bus/pci/devices/*; do
  [ -e "$real/iommu_group" ] && continue
  [ -d "$real" ] || continue
  expect_connect_error "$real has no IOMMU group" blkio $vfio path="$real"
  break
done

# ---- vhost-vdpa ----
expect_connect_error 'One of path and fd must be set' blkio $vdpa
expect_connect_error 'path and fd cannot be set at the same time' blkio $vdpa path=/dev/null fd=3
missing=$TEST_TMPDIR/vhost-vdpa-0
expect_error "path=$missing: No such file or directory" blkio $vdpa path="$missing"
expect_connect_error "$TEST_TMPDIR/file is not a character device" blkio $vdpa path="$TEST_TMPDIR/file"
# A character device that is not vhost: the first ioctl says so.
expect_connect_error 'VHOST_SET_OWNER: Inappropriate ioctl for device' blkio $vdpa path=/dev/null
echo "$0: PASS"
