# state.py IKE_A IKE_B IPSEC_A IPSEC_B: "OK ike=SPIi/SPIr child=AOUT/AIN"
# when settled (one IKE SA per side, READY, same SPIs; one ESP SA per
# direction per side, crossing), else "WAIT why".
import json, sys
def load(f):
    try:
        return json.load(open(f))
    except Exception:
        return None
ia, ib, sa, sb = (load(f) for f in sys.argv[1:5])
if None in (ia, ib, sa, sb):
    print("WAIT unreadable JSON"); sys.exit(0)
def ike(d, who):
    l = d.get("ike_sas", [])
    if len(l) != 1:
        return None, "%s has %d IKE SAs" % (who, len(l))
    s = l[0]
    if s["status"] != "READY":
        return None, "%s IKE SA %s" % (who, s["status"])
    if s.get("child_sas") != 1:
        return None, "%s IKE SA has %s child SAs" % (who, s.get("child_sas"))
    return (s["spi_i"], s["spi_r"]), None
def esp(d, who):
    i = [x["spi"] for g in d.get("sas", []) for x in g.get("inbound", []) if x["proto"] == "esp"]
    o = [x["spi"] for g in d.get("sas", []) for x in g.get("outbound", []) if x["proto"] == "esp"]
    if len(i) != 1 or len(o) != 1:
        return None, "%s has %d inbound / %d outbound ESP SAs" % (who, len(i), len(o))
    return (i[0], o[0]), None
ka, wa = ike(ia, "gwA"); kb, wb = ike(ib, "gwB")
ca, xa = esp(sa, "gwA"); cb, xb = esp(sb, "gwB")
why = wa or wb or xa or xb
if why:
    print("WAIT " + why); sys.exit(0)
if ka != kb:
    print("WAIT IKE SPIs differ: gwA %s/%s gwB %s/%s" % (ka + kb)); sys.exit(0)
if ca[1] != cb[0] or ca[0] != cb[1]:
    print("WAIT child SPIs do not cross: gwA in %08x out %08x, gwB in %08x out %08x" % (ca + cb)); sys.exit(0)
print("OK ike=%s/%s child=%08x/%08x" % (ka[0], ka[1], ca[1], ca[0]))
