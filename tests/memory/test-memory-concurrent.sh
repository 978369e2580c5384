#!/usr/bin/env bash
# Several clients at once, each owning a range: writes, reads and zeroes
# never show torn or stale data.  Also overlapping readers of one page.
. "$(dirname "$0")/functions.sh"
require_commands /usr/bin/python3
/usr/bin/python3 -c 'import nbd' 2>/dev/null || skip "python3-libnbd is not installed"

for allocator in sparse zstd malloc; do
  start_server_unix memory 64M allocator=$allocator
  /usr/bin/python3 - "$server_uri" <<'PY' || fail "allocator=$allocator"
import random, sys, threading
import nbd

uri = sys.argv[1]
clients, span = 6, 8 << 20
errors = []

def client(number):
    h = nbd.NBD()
    h.connect_uri(uri)
    rng = random.Random(number)
    base = number * span
    shadow = bytearray(span)
    for i in range(150):
        length = rng.randrange(1, 300000)
        offset = rng.randrange(0, span - length)
        if i % 5 == 4:
            h.zero(length, base + offset)
            shadow[offset:offset + length] = bytes(length)
        else:
            data = rng.randbytes(length)
            h.pwrite(data, base + offset)
            shadow[offset:offset + length] = data
        check = rng.randrange(0, span - 65536)
        if h.pread(65536, base + check) != shadow[check:check + 65536]:
            errors.append(f"client {number}: stale or torn data at {check}")
            return
    if h.pread(span, base) != bytes(shadow):
        errors.append(f"client {number}: final contents differ")
    h.shutdown()

# One extra pair fights over a single page: every read must see one fill.
def page_writer():
    h = nbd.NBD()
    h.connect_uri(uri)
    for i in range(300):
        h.pwrite(bytes([1 + i % 250]) * 65536, 60 << 20)
        h.trim(65536, 60 << 20)
    h.shutdown()

def page_reader():
    h = nbd.NBD()
    h.connect_uri(uri)
    for _ in range(600):
        page = h.pread(65536, 60 << 20)
        if page.count(page[0]) != len(page):
            errors.append("torn page")
            return
    h.shutdown()

threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
threads += [threading.Thread(target=page_writer), threading.Thread(target=page_reader)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    print("\n".join(errors))
    sys.exit(1)
PY
done
echo "$0: PASS"
