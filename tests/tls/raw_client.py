#!/usr/bin/python3
"""A hand-written NBD client for what libnbd will not do on purpose.

raw_client.py SOCKET tls-required
    Under --tls=require: options other than STARTTLS get ERR_TLS_REQD,
    and NBD_OPT_EXPORT_NAME before TLS ends the connection.
raw_client.py SOCKET garbage
    Asks for STARTTLS, then sends junk instead of a TLS ClientHello.
"""
import socket
import struct
import sys

IHAVEOPT = 0x49484156454F5054
REPLY_MAGIC = 0x0003E889045565A9
OPT_EXPORT_NAME, OPT_LIST, OPT_STARTTLS, OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY = 1, 3, 5, 6, 7, 8
REP_ACK = 1
REP_ERR_TLS_REQD = 2**31 + 5


def read_exact(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {size} bytes")
        data += chunk
    return data


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(20)
    sock.connect(path)
    magic, opt_magic, _flags = struct.unpack(">8sQH", read_exact(sock, 18))
    assert magic == b"NBDMAGIC" and opt_magic == IHAVEOPT, "not a newstyle server"
    sock.sendall(struct.pack(">I", 3))  # FIXED_NEWSTYLE | NO_ZEROES
    return sock


def send_option(sock, option, data=b""):
    sock.sendall(struct.pack(">QII", IHAVEOPT, option, len(data)) + data)


def read_reply(sock, option):
    magic, replied_to, reply_type, length = struct.unpack(">QIII", read_exact(sock, 20))
    assert magic == REPLY_MAGIC and replied_to == option, (hex(magic), replied_to)
    read_exact(sock, length)
    return reply_type


def tls_required(path):
    sock = connect(path)
    export = struct.pack(">I", 0) + struct.pack(">H", 0)
    for option, data in ((OPT_LIST, b""), (OPT_STRUCTURED_REPLY, b""), (OPT_INFO, export), (OPT_GO, export)):
        send_option(sock, option, data)
        reply_type = read_reply(sock, option)
        assert reply_type == REP_ERR_TLS_REQD, f"option {option}: reply {reply_type:#x}"
    send_option(sock, OPT_EXPORT_NAME, b"")
    try:
        leaked = sock.recv(1)
    except ConnectionResetError:
        leaked = b""
    assert leaked == b"", "data after NBD_OPT_EXPORT_NAME without TLS"


def garbage(path):
    sock = connect(path)
    send_option(sock, OPT_STARTTLS)
    assert read_reply(sock, OPT_STARTTLS) == REP_ACK
    sock.sendall(b"\x16\x03\x01\x00\x05hello, this is not TLS at all" * 10)
    sock.shutdown(socket.SHUT_WR)
    try:
        while sock.recv(4096):  # whatever alert the server sends, then EOF
            pass
    except ConnectionResetError:
        pass


{"tls-required": tls_required, "garbage": garbage}[sys.argv[2]](sys.argv[1])
print(f"{sys.argv[2]}: ok")
