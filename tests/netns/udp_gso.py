"""UDP datagrams sent with UDP_SEGMENT (as QUIC stacks send), and a
receiver that checks each one, for tests/netns/t_manual_uso.sh.

  udp_gso.py send DST PORT SEG NSEG COUNT [EVERY]
                                            COUNT sendmsg calls, each of
                                            NSEG datagrams of SEG bytes
                                            (one UDP GSO superpacket),
                                            2 ms pause after every EVERY
                                            calls (default 8);
                                            prints "sent N"
  udp_gso.py recv PORT SEG IDLE             datagrams on [::]:PORT until
                                            IDLE seconds pass without one;
                                            prints "received GOOD bad BAD
                                            drops D reordered R" (D: what
                                            the kernel dropped on this
                                            socket, its buffer full; R:
                                            datagrams that arrived after a
                                            later one of their flow)

Datagram n carries n (4 bytes, big endian) then bytes (n + j) & 0xff; a
datagram of another length or content, or seen twice, counts as bad. A
flow is one sender's address and port; each numbers its datagrams from 0."""
import select
import socket
import sys
import time

UDP_SEGMENT = 103  # linux/udp.h
SO_RCVBUFFORCE = 33  # asm-generic/socket.h
SO_MEMINFO = 55
SK_MEMINFO_DROPS = 8  # linux/sock_diag.h


def body(n, seg):
    return n.to_bytes(4, "big") + bytes((n + j) & 0xFF for j in range(seg - 4))


def send(dst, port, seg, nseg, count, every):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, seg)
    n = 0
    for k in range(count):
        s.sendto(b"".join(body(n + i, seg) for i in range(nseg)), (dst, port))
        n += nseg
        if k % every == every - 1:
            time.sleep(0.002)  # paced: the test is about correctness
    print("sent", n)


def recv(port, seg, idle):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:  # root passes net.core.rmem_max
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("::", port))
    good = bad = reordered = 0
    seen = set()
    top = {}  # flow -> highest n so far
    while select.select([s], [], [], idle)[0]:
        d, src = s.recvfrom(65536)
        n = int.from_bytes(d[:4], "big")
        flow = src[:2]
        if len(d) == seg and (flow, n) not in seen and d == body(n, seg):
            good += 1
            seen.add((flow, n))
            if n < top.get(flow, -1):
                reordered += 1
            top[flow] = max(n, top.get(flow, -1))
        else:
            bad += 1
    mi = s.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 4 * (SK_MEMINFO_DROPS + 1))
    drops = int.from_bytes(mi[4 * SK_MEMINFO_DROPS:], sys.byteorder)
    print("received", good, "bad", bad, "drops", drops, "reordered", reordered)


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "send":
        send(a[2], int(a[3]), int(a[4]), int(a[5]), int(a[6]),
             int(a[7]) if len(a) > 7 else 8)
    else:
        recv(int(a[2]), int(a[3]), float(a[4]))
