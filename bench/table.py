#!/usr/bin/env python3
"""Print the benchmark table and the esprit/peer ratios from results.tsv."""
import sys

rows = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    if len(f) < 6:
        rows[f[0]] = None
        continue
    rows[f[0]] = [float(x) if x not in ("nan", "") else float("nan") for x in f[1:6]]

hdr = f"{'contender':<26}{'TCP Gbit/s':>11}{'UDP1400 pps':>13}{'UDP64 pps':>11}{'ping ms':>9}{'CPU%':>6}"
print(hdr)
print("-" * len(hdr))
for name, v in rows.items():
    if v is None:
        print(f"{name:<26}{'failed':>11}")
        continue
    print(f"{name:<26}{v[0]:>11.2f}{v[1]:>13.0f}{v[2]:>11.0f}{v[3]:>9.3f}{v[4]:>6.0f}")

peers = [p for p in ("strongswan-libipsec", "wireguard-go") if rows.get(p)]
for e in [n for n in rows if n.startswith("esprit") and rows[n]]:
    for p in peers:
        a, b = rows[e], rows[p]
        r = lambda i: (a[i] / b[i]) if b[i] else float("nan")
        print(f"{e} / {p}: TCP x{r(0):.2f}, UDP1400 x{r(1):.2f}, UDP64 x{r(2):.2f}, ping x{r(3):.2f}")
