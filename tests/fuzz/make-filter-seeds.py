#!/usr/bin/python3
"""Writes the seed corpora of fuzz_tar and fuzz_partition in corpus/NAME/
(run once; the files are committed): small archives in each tar format
and small disks with MBR (primary, extended, logical) and GPT tables."""

import io
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def archive(fmt, members):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    # Drop tarfile's padding to 10 KiB records: two zero blocks end it.
    data = out.getvalue()
    while data.endswith(bytes(1024)) and len(data) > 1024:
        data = data[:-512]
    return data


members = [("readme.txt", b"hello\n"), ("disk.img", bytes(range(256)) * 4),
           ("long/name", b"x" * 600), ("d/" * 60 + "deep", b"y")]
write("fuzz_tar", {
    "gnu.tar": archive(tarfile.GNU_FORMAT, members),
    "pax.tar": archive(tarfile.PAX_FORMAT, members + [("p\u00e9", b"z")]),
    "ustar.tar": archive(tarfile.USTAR_FORMAT, members[:3]),
})


def mbr_entry(ptype, start, sectors):
    return struct.pack("<B3sB3sII", 0, b"", ptype, b"", start, sectors)


def boot_record(entries):
    entries = entries + [bytes(16)] * (4 - len(entries))
    return bytes(446) + b"".join(entries) + b"\x55\xaa"


def disk(sectors, records):
    data = bytearray(512 * sectors)
    for sector, record in records.items():
        data[512 * sector:512 * sector + len(record)] = record
    return bytes(data)


mbr = boot_record([mbr_entry(0x83, 1, 2), mbr_entry(0x05, 4, 12), mbr_entry(0x83, 16, 2)])
ebr1 = boot_record([mbr_entry(0x83, 1, 2), mbr_entry(0x05, 4, 4)])
ebr2 = boot_record([mbr_entry(0x83, 1, 2)])
gpt_header = b"EFI PART" + struct.pack("<IIIIQQQQ16sQII", 0x10000, 92, 0, 0, 1, 39, 6, 34,
                                        bytes(16), 2, 4, 128)
gpt_entry = b"\x11" * 32 + struct.pack("<QQ", 6, 9)
write("fuzz_partition", {
    "mbr": disk(20, {0: mbr, 4: ebr1, 8: ebr2}) + b"\x04",
    "gpt": disk(40, {0: boot_record([mbr_entry(0xEE, 1, 39)]), 1: gpt_header,
                     2: gpt_entry + gpt_entry}) + b"\x01",
})
