#!/usr/bin/env python3
"""Print the benchmark table and the esprit/peer ratios from results.tsv."""
import re
import sys

rows = {}
notes = []
rev = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if f[0] == "#note":
        notes.append(f[1])
        continue
    if f[0] == "#rev":  # reverse UDP64 pps of an esprit-<N>sa row
        rev[f[1]] = float(f[2]) if f[2] not in ("nan", "") else float("nan")
        continue
    if len(f) < 6:
        rows[f[0]] = None
        continue
    v = [float(x) if x not in ("nan", "") else float("nan") for x in f[1:7]]
    rows[f[0]] = v + [float("nan")] * (6 - len(v))  # the 1k rows have no GSO column

hdr = (f"{'contender':<26}{'TCP Gbit/s':>11}{'UDP1400 pps':>13}{'UDP64 pps':>11}{'ping ms':>9}"
       f"{'CPU%':>6}{'UDP64 GSO/GRO pps':>19}")
print(hdr)
print("-" * len(hdr))
for name, v in rows.items():
    if v is None:
        print(f"{name:<26}{'failed':>11}")
        continue
    print(f"{name:<26}{v[0]:>11.2f}{v[1]:>13.0f}{v[2]:>11.0f}{v[3]:>9.3f}{v[4]:>6.0f}{v[5]:>15.0f}")

# Many tunnels: each esprit-<N>sa row against esprit-1sa (the same
# generated configuration with one entry, the same tools and the same
# parallelism: the target, within 10%, i.e. x0.90 or more for the
# throughputs), and, for reference, against the single-tunnel row
# esprit-aes128gcm (one iperf3 stream, iperf3 UDP: other tools).
def ratios(a, b):
    return [(a[i] / b[i]) if b[i] else float("nan") for i in range(3)]

for m in rows:
    if not (rows[m] and re.match(r"esprit-\d+sa-", m)) or m.startswith("esprit-1sa-"):
        continue
    base = "esprit-1sa-" + m.split("sa-", 1)[1]
    if rows.get(base):
        r = ratios(rows[m], rows[base])
        rb = rev.get(base, float("nan"))
        r.append(rev.get(m, float("nan")) / rb if rb else float("nan"))
        verdict = ", ".join(f"{k} {'ok' if x >= 0.90 else 'MISSED'}"
                            for k, x in zip(("TCP", "UDP1400", "UDP64", "reverse UDP64"), r))
        print(f"{m} / {base}: TCP x{r[0]:.2f}, UDP1400 x{r[1]:.2f}, UDP64 x{r[2]:.2f},"
              f" reverse UDP64 x{r[3]:.2f} ({rev.get(m, float('nan')):.0f} / {rb:.0f} pps)"
              f"  (target: within 10% -> {verdict})")
    if rows.get("esprit-aes128gcm"):
        r = ratios(rows[m], rows["esprit-aes128gcm"])
        print(f"{m} / esprit-aes128gcm: TCP x{r[0]:.2f}, UDP1400 x{r[1]:.2f}, UDP64 x{r[2]:.2f}"
              f"  (reference only: 1 iperf3 stream and iperf3 UDP there)")
for n in notes:
    print("note: " + n)

peers = [p for p in ("strongswan-libipsec", "wireguard-go") if rows.get(p)]
for e in [n for n in rows if n.startswith("esprit") and rows[n]]:
    for p in peers:
        a, b = rows[e], rows[p]
        r = lambda i: (a[i] / b[i]) if b[i] else float("nan")
        print(f"{e} / {p}: TCP x{r(0):.2f}, UDP1400 x{r(1):.2f}, UDP64 x{r(2):.2f}, ping x{r(3):.2f},"
              f" UDP64 GSO/GRO x{r(5):.2f}")

# Latency target: ping through the idle tunnel adds <= 0.15 ms over plain
# veth. The minimal relay (bench/relay.c) is the floor of any userspace
# tunnel here: what it adds, the machine adds.
if rows.get("plain-veth"):
    base = rows["plain-veth"][3]
    added = ", ".join(f"{n} +{rows[n][3] - base:.3f}" for n in rows
                      if rows[n] and n != "plain-veth" and rows[n][3] == rows[n][3])
    print(f"ping added over plain-veth ({base:.3f} ms), target +0.150: {added}")
floor = rows.get("relay-floor-aes128gcm")
if floor:
    for e in [n for n in rows if n.startswith("esprit") and rows[n]]:
        a = rows[e]
        r = lambda i: (a[i] / floor[i]) if floor[i] else float("nan")
        print(f"{e} / relay-floor-aes128gcm: TCP x{r(0):.2f}, UDP1400 x{r(1):.2f},"
              f" UDP64 x{r(2):.2f}, ping {a[3] - floor[3]:+.3f} ms")
