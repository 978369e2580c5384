#!/usr/bin/python3
"""Writes the seed corpora in corpus/NAME/ for the fuzz targets (run once;
the files are committed).  Each seed is a well-formed or nearly
well-formed input, so the fuzzer starts from inputs that get deep."""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
IHAVEOPT = 0x49484156454F5054
REQUEST_MAGIC = 0x25609513


def option(opt, data=b""):
    return struct.pack(">QII", IHAVEOPT, opt, len(data)) + data


def name_and(data, name=b""):
    return struct.pack(">I", len(name)) + name + data


def meta(*queries, name=b""):
    return name_and(struct.pack(">I", len(queries)) +
                    b"".join(struct.pack(">I", len(q)) + q for q in queries), name)


def request(cmd, offset=0, count=0, flags=0, cookie=1, data=b""):
    return struct.pack(">IHHQQI", REQUEST_MAGIC, flags, cmd, cookie, offset, count) + data


FLAGS = struct.pack(">I", 3)
GO = option(7, name_and(struct.pack(">HHH", 2, 1, 3)))
negotiation = {
    "go": FLAGS + GO,
    "export_name": struct.pack(">I", 1) + option(1, b"name"),
    "list_info": FLAGS + option(3) + option(6, name_and(struct.pack(">H", 0), b"x")) + GO,
    "meta": FLAGS + option(8) + option(9, meta()) + option(9, meta(b"base:")) +
    option(10, meta(b"base:allocation", b"qemu:dirty-bitmap:x")) + GO,
    "starttls_abort": FLAGS + option(5) + option(2),
    "unknown_then_go": FLAGS + option(11) + option(99, b"junk") + GO,
    "too_long": FLAGS + struct.pack(">QII", IHAVEOPT, 7, 1 << 26),
}
requests = {
    "read_write": request(1, 0, 8, data=b"abcdefgh") + request(0, 0, 8) + request(3),
    "zero_trim": request(6, 4096, 65536, flags=2) + request(4, 0, 4096, flags=1) +
    request(6, 0, 512, flags=16),
    "block_status": request(7, 0, 1 << 20) + request(7, 512, 0xFFFFFFFF, flags=8),
    "cache_disc": request(5, 0, 1 << 20) + request(2),
    "bad": request(0, 1 << 20, 1) + request(1, 0, 1 << 27) + request(9),
}
extents = {
    "one": bytes([0]) + struct.pack("<QI", 0, 4096) + bytes([0]) +
    struct.pack("<QBB", 1 << 20, 0, 3),
    "many": bytes([1]) + struct.pack("<QI", 1 << 32, 0xFFFFFFFF) + bytes([7]) +
    b"".join(struct.pack("<QBB", 512 << i, 0, i) for i in range(12)),
}
parsers = {str(i): s.encode() for i, s in enumerate([
    "1M", "1.5G", "512", "0x200", "1E", "16E", "18446744073709551615", "-1", "1.5s",
    "100ms", "3us", "0.000000001", "true", "off", "1e3", " 7 ", "2k"])}


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


write("fuzz_negotiation", negotiation)
write("fuzz_requests", requests)
write("fuzz_extents", extents)
write("fuzz_parsers", parsers)
