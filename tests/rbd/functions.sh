# shellcheck shell=bash disable=SC2034  # conf is for the caller
# Shared by the rbd tests: the cluster the ctest fixture started.
source "$(dirname "$0")/../lib/common.sh"
conf=${CEPH_CLUSTER_DIR:-}/ceph.conf
[[ -n ${CEPH_CLUSTER_DIR:-} && -f $conf ]] || skip "no Ceph cluster (tests/rbd/ceph-cluster.sh)"

# rbd ARGS...: the rbd tool on the test cluster.
rbd() { command rbd -c "$conf" "$@"; }

# new_image SIZE: creates an image with a name of its own in pool nbd and
# prints "nbd/NAME"; it is removed when the test exits.
new_image() {
  local name
  name=img-$(basename "$0" .sh)-$$-$RANDOM
  rbd create --size "$1" "nbd/$name"
  on_exit "rbd snap purge nbd/$name >/dev/null 2>&1; rbd rm nbd/$name >/dev/null 2>&1 || true"
  echo "nbd/$name"
}
