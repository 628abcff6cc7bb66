/* ctl_exec with a fake ctl_ops: a config loaded from an example file, a
 * real SAD with the two manual SAs of that config, and an apply that
 * swaps the config and counts. Checks abbreviation, ambiguity, help,
 * completion, show crypto ipsec sa (text and JSON), configure terminal
 * (apply, errors that change nothing, modes and prompts), configure
 * lines, clear crypto sa counters, and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "config/model.h"
#include "control/control.h"
#include "crypto/alg.h"
#include "ipsec/sad.h"
#include "lib/log.h"

#define EXAMPLE "examples/manual-esp-cbc-sha256-gwA.cfg"

struct fake {
	struct config *running;
	struct sad *sad;
	unsigned applies;
	int apply_ret;
};

static const struct config *f_running(void *arg)
{
	return ((struct fake *)arg)->running;
}

static int f_apply(void *arg, struct config *c, char *err, size_t errlen)
{
	struct fake *f = arg;

	f->applies++;
	if (f->apply_ret) {
		snprintf(err, errlen, "refused by the test");
		config_free(c);
		return -1;
	}
	config_free(f->running);
	f->running = c;
	return 0;
}

static struct sad *f_sad(void *arg)
{
	return ((struct fake *)arg)->sad;
}

static struct dp *f_dp(void *arg)
{
	(void)arg;
	return NULL;
}

static const char *f_path(void *arg)
{
	(void)arg;
	return "";
}

struct t {
	struct fake f;
	struct ctl_ops ops;
	struct ctl_session *s;
	struct strbuf out;
};

/* peer_port: UDP encapsulation (RFC 3948) with the peer at that port (a
 * NAT'ed one), us at 4500; 0: native ESP. */
static void install_encap(struct sad *sad, uint32_t spi, uint8_t dir, uint16_t peer_port)
{
	struct sa_params p;
	struct secret *ek = secret_new(32), *ik = secret_new(32);

	memset(ek->p, 0x11, 32);
	memset(ik->p, 0x22, 32);
	memset(&p, 0, sizeof(p));
	p.spi = spi;
	p.proto = IPSEC_PROTO_ESP;
	p.dir = dir;
	p.mode = IPSEC_MODE_TUNNEL;
	ip_addr_parse(dir == SA_DIR_IN ? "198.18.0.2" : "198.18.0.1", &p.src);
	ip_addr_parse(dir == SA_DIR_IN ? "198.18.0.1" : "198.18.0.2", &p.dst);
	p.encr_id = ENCR_AES_CBC;
	p.encr_key_bits = 256;
	p.encr_key = ek;
	p.integ_id = AUTH_HMAC_SHA2_256_128;
	p.integ_key = ik;
	p.replay_window = dir == SA_DIR_IN ? 64 : 0;
	p.reqid = 4242;
	if (peer_port) {
		p.encap_sport = dir == SA_DIR_IN ? peer_port : 4500;
		p.encap_dport = dir == SA_DIR_IN ? 4500 : peer_port;
	}
	p.origin = SA_ORIGIN_MANUAL; /* clear crypto sa removes manual SAs only */
	p.sel.n = 1;
	ip_prefix_parse("198.19.1.0/24", &p.sel.ts[0].src);
	ip_prefix_parse("198.19.2.0/24", &p.sel.ts[0].dst);
	p.sel.ts[0].sport_hi = p.sel.ts[0].dport_hi = 65535;
	snprintf(p.name, sizeof(p.name), "VPN 10");
	assert_int_equal(sad_install(sad, &p), 0);
	secret_free(ek);
	secret_free(ik);
}

static void install(struct sad *sad, uint32_t spi, uint8_t dir)
{
	install_encap(sad, spi, dir, 0);
}

/* Counters as the data plane would have left them. */
static void set_counters(struct sa *sa, void *arg)
{
	(void)arg;
	if (sa->p.dir == SA_DIR_OUT) {
		sa->stats[0].packets = 5;
		sa->stats[0].bytes = 500;
	} else {
		sa->stats[0].packets = 3;
		sa->stats[0].bytes = 300;
		sa->stats[0].drops[DROP_REPLAY] = 2;
		sa->stats[0].drops[DROP_ICV] = 1;
	}
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct cfg_error ce;

	rcu_register_thread();
	t->f.running = config_load_file(EXAMPLE, &ce);
	assert_non_null(t->f.running);
	t->f.sad = sad_new(1);
	install(t->f.sad, 8193, SA_DIR_IN);
	install(t->f.sad, 4097, SA_DIR_OUT);
	sad_foreach(t->f.sad, set_counters, NULL);
	t->ops = (struct ctl_ops){.running = f_running, .apply = f_apply, .sad = f_sad, .dp = f_dp,
				  .config_path = f_path, .arg = &t->f};
	t->s = ctl_session_new();
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	ctl_session_free(t->s);
	strbuf_free(&t->out);
	sad_free(t->f.sad);
	config_free(t->f.running);
	free(t);
	rcu_unregister_thread();
	return 0;
}

/* Run one line; the output is in t->out.p (reset on every call). */
static int run(struct t *t, const char *line, bool json)
{
	t->out.len = 0;
	if (t->out.p)
		t->out.p[0] = '\0';
	return ctl_exec(&t->ops, t->s, line, json, &t->out);
}

static void prompt_is(struct t *t, const char *want)
{
	char p[128];
	ctl_session_prompt(&t->ops, t->s, p, sizeof(p));
	assert_string_equal(p, want);
}

/* ---- exec parsing ------------------------------------------------------- */

static void test_abbreviation(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, "sh cry ips sa", false), 0);
	assert_non_null(strstr(t->out.p, "spi: 0x2001(8193)"));
	assert_int_equal(run(t, "SHOW Crypto IPSEC SA", false), 0);
	assert_non_null(strstr(t->out.p, "spi: 0x1001(4097)"));
}

static void test_ambiguous_and_invalid(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, "c", false), 1);
	assert_non_null(strstr(t->out.p, "% Ambiguous command"));
	assert_non_null(strstr(t->out.p, "clear"));
	assert_non_null(strstr(t->out.p, "configure"));

	assert_int_equal(run(t, "show crypto ipsex sa", false), 1);
	assert_non_null(strstr(t->out.p, "% Invalid input detected at '^' marker."));
	/* the caret is under the bad word (column 12) */
	assert_non_null(strstr(t->out.p, "\n            ^\n"));

	assert_int_equal(run(t, "show crypto", false), 1);
	assert_non_null(strstr(t->out.p, "% Incomplete command."));
	assert_int_equal(run(t, "show crypto ipsec sa peer not-an-address", false), 1);
}

static void test_help(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, "show ?", false), 0);
	assert_non_null(strstr(t->out.p, "crypto"));
	assert_non_null(strstr(t->out.p, "running-config"));
	assert_null(strstr(t->out.p, "clear"));

	assert_int_equal(run(t, "sh cr?", false), 0);
	assert_non_null(strstr(t->out.p, "crypto"));
	assert_null(strstr(t->out.p, "running-config"));

	/* a complete command offers <cr> */
	assert_int_equal(run(t, "show crypto ipsec sa ?", false), 0);
	assert_non_null(strstr(t->out.p, "<cr>"));
	assert_non_null(strstr(t->out.p, "detail"));
	assert_non_null(strstr(t->out.p, "peer"));

	assert_int_equal(run(t, "show ?", true), 0);
	struct json_object *o = json_tokener_parse(t->out.p);
	assert_non_null(o);
	assert_true(json_object_array_length(json_object_object_get(o, "help")) >= 4);
	json_object_put(o);
}

static void test_complete(void **state)
{
	struct t *t = *state;

	t->out.len = 0;
	assert_int_equal(ctl_complete(&t->ops, t->s, "sh cry ip", &t->out), 1);
	assert_string_equal(t->out.p, "ipsec\n");
	t->out.len = 0;
	assert_int_equal(ctl_complete(&t->ops, t->s, "c", &t->out), 2);
	t->out.len = 0;
	assert_int_equal(ctl_complete(&t->ops, t->s, "show crypto ipsec sa ", &t->out), 2);
	assert_non_null(strstr(t->out.p, "detail\n"));
}

/* ---- show crypto ipsec sa --------------------------------------------------- */

static void test_show_sa_text(void **state)
{
	struct t *t = *state;
	const char *o;

	assert_int_equal(run(t, "show crypto ipsec sa", false), 0);
	o = t->out.p;
	assert_non_null(strstr(o, "interface: wan0\n"));
	assert_non_null(strstr(o, "Crypto map tag: VPN, local addr 198.18.0.1"));
	assert_non_null(strstr(o, "local  ident (addr/mask/prot/port): "
				  "(198.19.1.0/255.255.255.0/0/0)"));
	assert_non_null(strstr(o, "remote ident (addr/mask/prot/port): "
				  "(198.19.2.0/255.255.255.0/0/0)"));
	assert_non_null(strstr(o, "current_peer 198.18.0.2 port 500\n"));
	assert_non_null(strstr(o, "#pkts encaps: 5, #pkts encrypt: 5, #pkts digest: 5"));
	assert_non_null(strstr(o, "#pkts decaps: 3, #pkts decrypt: 3, #pkts verify: 3"));
	assert_non_null(strstr(o, "#send errors 0, #recv errors 3"));
	assert_non_null(strstr(o, "current outbound spi: 0x1001(4097)"));
	assert_non_null(strstr(o, "transform: esp-aes 256 esp-sha256-hmac ,"));
	assert_non_null(strstr(o, "in use settings ={Tunnel, }"));
	assert_non_null(strstr(o, "no sa timing"));
	assert_non_null(strstr(o, "replay window size: 64"));
	assert_non_null(strstr(o, "Status: ACTIVE"));
	/* inbound ESP comes before outbound ESP, and the AH/PCP lists exist */
	assert_true(strstr(o, "inbound esp sas:") < strstr(o, "spi: 0x2001(8193)"));
	assert_true(strstr(o, "spi: 0x2001(8193)") < strstr(o, "outbound esp sas:"));
	assert_non_null(strstr(o, "inbound ah sas:"));
	assert_non_null(strstr(o, "outbound pcp sas:"));
	assert_null(strstr(o, "#pkts replay failed")); /* detail only */

	assert_int_equal(run(t, "show crypto ipsec sa detail", false), 0);
	assert_non_null(strstr(t->out.p, "#pkts replay failed (replay): 2"));
	assert_non_null(strstr(t->out.p, "#pkts verify failed (icv-failure): 1"));

	assert_int_equal(run(t, "show crypto ipsec sa peer 198.18.0.2", false), 0);
	assert_non_null(strstr(t->out.p, "spi: 0x2001(8193)"));
	assert_int_equal(run(t, "show crypto ipsec sa peer 198.18.0.9 detail", false), 0);
	assert_null(strstr(t->out.p, "spi:"));
}

/* Behind a NAT the peer's port is the NAT's, not 4500: current_peer shows
 * the outbound SA's destination port (the inbound SA's source port), not
 * our own 4500 (was: the first SA's destination port, 4500 for an inbound
 * one). */
static void json_peer_port(struct t *t, int want)
{
	struct json_object *o, *sa;

	assert_int_equal(run(t, "show crypto ipsec sa", true), 0);
	o = json_tokener_parse(t->out.p);
	assert_non_null(o);
	sa = json_object_array_get_idx(json_object_object_get(o, "sas"), 0);
	assert_int_equal(json_object_get_int(json_object_object_get(sa, "peer_port")), want);
	json_object_put(o);
}

static void test_show_sa_nat_peer_port(void **state)
{
	struct t *t = *state;

	json_peer_port(t, 500);
	sad_flush(t->f.sad);
	install_encap(t->f.sad, 8193, SA_DIR_IN, 44500);
	install_encap(t->f.sad, 4097, SA_DIR_OUT, 44500);
	assert_int_equal(run(t, "show crypto ipsec sa", false), 0);
	assert_non_null(strstr(t->out.p, "current_peer 198.18.0.2 port 44500\n"));
	json_peer_port(t, 44500);
	/* inbound only (the outbound one gone): still the peer's port */
	assert_int_equal(sad_delete(t->f.sad, 4097, IPSEC_PROTO_ESP, NULL), 0);
	assert_int_equal(run(t, "show crypto ipsec sa", false), 0);
	assert_non_null(strstr(t->out.p, "current_peer 198.18.0.2 port 44500\n"));
	/* the NAT mapping moves (sad_set_encap_ports, as IKE does) */
	install_encap(t->f.sad, 4097, SA_DIR_OUT, 44500);
	assert_int_equal(sad_set_encap_ports(t->f.sad, 4097, IPSEC_PROTO_ESP, 4500, 45123), 0);
	assert_int_equal(sad_set_encap_ports(t->f.sad, 8193, IPSEC_PROTO_ESP, 45123, 4500), 0);
	assert_int_equal(run(t, "show crypto ipsec sa", false), 0);
	assert_non_null(strstr(t->out.p, "current_peer 198.18.0.2 port 45123\n"));
	json_peer_port(t, 45123);
}

static void test_show_sa_json(void **state)
{
	struct t *t = *state;
	struct json_object *o, *sas, *sa, *in;

	assert_int_equal(run(t, "show crypto ipsec sa", true), 0);
	o = json_tokener_parse(t->out.p);
	assert_non_null(o);
	sas = json_object_object_get(o, "sas");
	assert_int_equal(json_object_array_length(sas), 1);
	sa = json_object_array_get_idx(sas, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(sa, "map")), "VPN");
	assert_int_equal(json_object_get_int(json_object_object_get(sa, "seq")), 10);
	assert_string_equal(json_object_get_string(json_object_object_get(sa, "peer")),
			    "198.18.0.2");
	assert_string_equal(json_object_get_string(json_object_object_get(sa, "local_ident")),
			    "198.19.1.0/24");
	assert_int_equal(json_object_get_int64(json_object_object_get(sa, "pkts_encaps")), 5);
	assert_int_equal(json_object_get_int64(json_object_object_get(sa, "pkts_decaps")), 3);
	assert_int_equal(json_object_get_int64(json_object_object_get(sa, "recv_errors")), 3);
	in = json_object_object_get(sa, "inbound");
	assert_int_equal(json_object_array_length(in), 1);
	in = json_object_array_get_idx(in, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(in, "proto")), "esp");
	assert_int_equal(json_object_get_int64(json_object_object_get(in, "spi")), 8193);
	assert_int_equal(json_object_get_int64(json_object_object_get(in, "replay_window")), 64);
	assert_int_equal(json_object_get_int64(json_object_object_get(
				 json_object_object_get(in, "drops"), "replay")),
			 2);
	json_object_put(o);
}

static void test_clear_counters(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, "clear crypto sa counters", false), 0);
	assert_int_equal(run(t, "show crypto ipsec sa detail", false), 0);
	assert_non_null(strstr(t->out.p, "#pkts encaps: 0, #pkts encrypt: 0, #pkts digest: 0"));
	assert_non_null(strstr(t->out.p, "#pkts decaps: 0"));
	assert_non_null(strstr(t->out.p, "#pkts replay failed (replay): 0"));
	assert_non_null(strstr(t->out.p, "spi: 0x2001(8193)")); /* SAs stay */
}

static void note_seq(struct sa *sa, void *arg)
{
	uint64_t *seq = arg;

	if (sa->p.dir == SA_DIR_OUT)
		*seq = sa->seq_out;
}

/* clear crypto sa: the inbound manual SA goes (the apply installs it
 * again with a new replay window); the outbound one stays with its
 * sequence number: the same key from 1 again would repeat GCM/CTR nonces. */
static void test_clear_sa_reapplies(void **state)
{
	struct t *t = *state;
	uint64_t seq = 0;

	sad_foreach(t->f.sad, note_seq, &seq);
	assert_int_equal(seq, 0);
	rcu_read_lock();
	sad_lookup_out(t->f.sad, 4242, IPSEC_PROTO_ESP)->seq_out = 41; /* 41 packets sent */
	rcu_read_unlock();
	assert_int_equal(run(t, "clear crypto sa", false), 0);
	assert_int_equal(t->f.applies, 1);
	assert_int_equal(sad_count(t->f.sad), 1); /* the fake apply installs nothing */
	sad_foreach(t->f.sad, note_seq, &seq);
	assert_int_equal(seq, 41);
}

/* ---- other show commands ------------------------------------------------------ */

static void test_show_config(void **state)
{
	struct t *t = *state;
	struct json_object *o;

	assert_int_equal(run(t, "show crypto map", false), 0);
	assert_non_null(strstr(t->out.p, "Crypto Map VPN 10 ipsec-manual"));
	assert_non_null(strstr(t->out.p, "Peer = 198.18.0.2"));
	assert_non_null(strstr(t->out.p, "Extended IP access list 101"));
	assert_non_null(strstr(t->out.p, "access-list 101 permit ip 198.19.1.0 0.0.0.255 "
					 "198.19.2.0 0.0.0.255"));
	assert_non_null(strstr(t->out.p, "TS:  { esp-aes 256 esp-sha256-hmac  }"));
	assert_non_null(strstr(t->out.p, "Interfaces using crypto map VPN:\n\t\twan0"));

	assert_int_equal(run(t, "show crypto map", true), 0);
	o = json_tokener_parse(t->out.p);
	assert_non_null(o);
	assert_int_equal(json_object_array_length(json_object_object_get(o, "crypto_maps")), 1);
	json_object_put(o);

	assert_int_equal(run(t, "show running-config", false), 0);
	assert_non_null(strstr(t->out.p, "hostname gwA"));
	assert_int_equal(run(t, "show access-lists", false), 0);
	assert_non_null(strstr(t->out.p, "Extended IP access list 101\n    10 permit ip"));
	assert_int_equal(run(t, "show crypto ipsec transform-set", false), 0);
	assert_non_null(strstr(t->out.p, "Transform set TS: { esp-aes 256 esp-sha256-hmac  }"));
	assert_int_equal(run(t, "show version", false), 0);
	assert_non_null(strstr(t->out.p, "esprit"));
	assert_int_equal(run(t, "terminal length 0", false), 0);
	assert_int_equal(run(t, "undebug all", false), 0);
}

/* ---- configure terminal --------------------------------------------------------- */

static void test_configure_terminal(void **state)
{
	struct t *t = *state;

	prompt_is(t, "gwA#");
	assert_int_equal(run(t, "conf t", false), 0);
	prompt_is(t, "gwA(config)#");
	assert_int_equal(run(t, "hostname gwZ", false), 0);
	assert_int_equal(run(t, "crypto map VPN 20 ipsec-manual", false), 0);
	prompt_is(t, "gwA(config-crypto-map)#");
	/* help in the sub-mode comes from the crypto map grammar */
	assert_int_equal(run(t, "?", false), 0);
	assert_non_null(strstr(t->out.p, "set"));
	assert_non_null(strstr(t->out.p, "match"));
	/* a global command leaves the sub-mode (implicit exit) */
	assert_int_equal(run(t, "no crypto map VPN 20", false), 0);
	assert_int_equal(run(t, "interface lan0", false), 0);
	prompt_is(t, "gwA(config-if)#");
	assert_int_equal(run(t, "exit", false), 0);
	prompt_is(t, "gwA(config)#");
	/* `do` runs an exec command; nothing is applied yet */
	assert_int_equal(run(t, "do show running-config", false), 0);
	assert_non_null(strstr(t->out.p, "hostname gwA"));
	assert_int_equal(t->f.applies, 0);
	assert_int_equal(run(t, "end", false), 0);
	assert_int_equal(t->f.applies, 1);
	assert_string_equal(t->f.running->hostname, "gwZ");
	prompt_is(t, "gwZ#");
}

static void test_configure_errors(void **state)
{
	struct t *t = *state;
	char *before = config_write(t->f.running);

	assert_int_equal(run(t, "configure terminal", false), 0);
	/* a syntax error is refused at once, with the IOS marker */
	assert_int_equal(run(t, "hostnam", false), 1);
	assert_non_null(strstr(t->out.p, "%"));
	assert_int_equal(run(t, "crypto map VPN 10", false), 0);
	assert_int_equal(run(t, " set peerz 1.2.3.4", false), 1);
	assert_non_null(strstr(t->out.p, "^"));
	/* a reference error is found at end: nothing is applied */
	assert_int_equal(run(t, " set transform-set NOPE", false), 0);
	assert_int_equal(run(t, "end", false), 1);
	assert_non_null(strstr(t->out.p, "nothing changed"));
	assert_int_equal(t->f.applies, 0);
	char *after = config_write(t->f.running);
	assert_string_equal(before, after);
	free(after);
	prompt_is(t, "gwA#");

	/* abort discards */
	assert_int_equal(run(t, "configure terminal", false), 0);
	assert_int_equal(run(t, "hostname other", false), 0);
	assert_int_equal(run(t, "abort", false), 0);
	assert_int_equal(t->f.applies, 0);
	assert_string_equal(t->f.running->hostname, "gwA");

	/* the daemon refusing the config is reported too */
	t->f.apply_ret = -1;
	assert_int_equal(run(t, "configure terminal", false), 0);
	assert_int_equal(run(t, "hostname other", false), 0);
	assert_int_equal(run(t, "end", false), 1);
	assert_non_null(strstr(t->out.p, "refused by the test"));
	free(before);
}

static void test_configure_lines_and_eof(void **state)
{
	struct t *t = *state;

	assert_int_equal(run(t, "configure lines", false), 1); /* no data */
	assert_int_equal(ctl_session_data_add(t->s, "hostname gwL"), 0);
	assert_int_equal(ctl_session_data_add(t->s, "crypto ipsec transform-set T2 esp-aes "
						    "esp-sha-hmac"), 0);
	assert_int_equal(run(t, "configure lines", false), 0);
	assert_int_equal(t->f.applies, 1);
	assert_string_equal(t->f.running->hostname, "gwL");
	assert_non_null(config_transform_set(t->f.running, "T2"));
	/* a bad line in the data: nothing applied */
	assert_int_equal(ctl_session_data_add(t->s, "hostname gwM"), 0);
	assert_int_equal(ctl_session_data_add(t->s, "bogus line"), 0);
	assert_int_equal(run(t, "configure lines", false), 1);
	assert_string_equal(t->f.running->hostname, "gwL");

	/* EOF in configure terminal applies what was typed */
	assert_int_equal(run(t, "configure terminal", false), 0);
	assert_int_equal(run(t, "hostname gwE", false), 0);
	t->out.len = 0;
	assert_int_equal(ctl_session_eof(&t->ops, t->s, &t->out), 0);
	assert_string_equal(t->f.running->hostname, "gwE");
	assert_false(ctl_session_in_config(t->s));
}

static void test_hostile_input(void **state)
{
	struct t *t = *state;
	size_t n = 20000;
	char *big = malloc(n + 1);

	memset(big, 'a', n);
	big[n] = '\0';
	assert_int_equal(run(t, big, false), 1);
	for (size_t i = 0; i < n; i += 2)
		big[i] = ' ';
	assert_int_equal(run(t, big, false), 1);
	big[200] = '?';
	big[201] = '\0';
	assert_int_equal(run(t, big, false), 1);
	free(big);
	assert_int_equal(run(t, "", false), 0);
	assert_int_equal(run(t, "   ", false), 0);
	assert_int_equal(run(t, "?", false), 0);
	assert_int_equal(run(t, "\t?\t", false), 0);
	assert_int_equal(run(t, "show crypto ipsec sa peer", false), 1);
	assert_int_equal(run(t, "\x01\x02\xff", false), 1);
	assert_int_equal(run(t, "configure terminal", false), 0);
	assert_int_equal(run(t, "?", false), 0);
	assert_int_equal(run(t, "\x01\xff ?", false), 1);
	assert_int_equal(run(t, "abort", false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_abbreviation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ambiguous_and_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_sa_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_sa_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_sa_nat_peer_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_sa_reapplies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure_terminal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_configure_lines_and_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_input, setup, teardown),
	};
	log_setup("test_control_exec", true, false, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
