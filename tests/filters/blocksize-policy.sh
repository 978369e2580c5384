#!/usr/bin/env bash
# blocksize-policy filter: the same advertised block sizes as Debian's
# nbdkit for each combination of parameters, the same answers to
# misaligned and oversized requests under each error policy (with
# libnbd's own checks off), and the same bad parameters refused.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/compare.sh"
require_commands nbdinfo /usr/bin/python3

# The null plugin: ours and Debian's advertise no block sizes of their own.
# Our server never advertises a maximum above its 64M request limit.
CAPS_FIELDS='block_size_(minimum|preferred)|block_size_maximum":(1048576|65536)'
for sizes in "" blocksize-preferred=32K blocksize-minimum=512 blocksize-maximum=1M \
    "blocksize-minimum=4096 blocksize-maximum=64K"; do
    # shellcheck disable=SC2086  # parameters are words
    same_caps "$sizes" --filter=blocksize-policy null 1M $sizes
done

export NBD_OPS_LAX=1
ops="read:0:512 read:1:512 read:0:100 read:0:131072 write:512:512 write:0:131072 zero:0:100
     zero:0:131072 trim:3:512 cache:0:512"
for policy in allow error; do
    # shellcheck disable=SC2086  # ops are words
    same_ops "$policy" "$ops" --filter=blocksize-policy memory 1M \
        blocksize-error-policy=$policy blocksize-minimum=512 blocksize-maximum=64K
    if [[ $policy == error ]]; then
        [[ $answers == "ok EINVAL EINVAL EINVAL ok EINVAL EINVAL ok EINVAL ok " ]] ||
            fail "error policy: $answers"
    fi
done
unset NBD_OPS_LAX

for bad in blocksize-minimum=128K blocksize-minimum=3 blocksize-preferred=256 \
    blocksize-preferred=64M "blocksize-minimum=4096 blocksize-preferred=512" \
    "blocksize-maximum=1024 blocksize-preferred=4096" blocksize-error-policy=foo; do
    # shellcheck disable=SC2086
    expect_bad_parameter "blocksize-" --filter=blocksize-policy memory 1M $bad
done
