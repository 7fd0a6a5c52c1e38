/* Reports of a monitor run: text, JSON, CSV (report.h). */
#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h> /* isfinite: a macro */
#include <string.h>

const char *ht_report_cause(enum ht_mon_loss_cause c)
{
	switch (c) {
	case HT_MON_CAUSE_NONE:
		return "-";
	case HT_MON_CAUSE_UNKNOWN:
		return "?";
	case HT_MON_CAUSE_FORWARDING:
		return "fwd";
	case HT_MON_CAUSE_REPLY_ONLY:
		return "reply";
	case HT_MON_CAUSE_LAST_HOP:
		return "last";
	}
	return "?";
}

static const char *cause_name(enum ht_mon_loss_cause c)
{
	switch (c) {
	case HT_MON_CAUSE_NONE:
		return "none";
	case HT_MON_CAUSE_UNKNOWN:
		return "unknown";
	case HT_MON_CAUSE_FORWARDING:
		return "forwarding";
	case HT_MON_CAUSE_REPLY_ONLY:
		return "reply_only";
	case HT_MON_CAUSE_LAST_HOP:
		return "last_hop";
	}
	return "unknown";
}

static double loss_pct(uint32_t sent, uint32_t received)
{
	if (!sent)
		return 0.0;
	if (received > sent)
		received = sent;
	return 100.0 * (double)(sent - received) / (double)sent;
}

static double ms(double us)
{
	return us / 1000.0;
}

/* "name (addr)", "addr", or "???" for a hop nobody answered. */
static void host_text(char *buf, size_t len, const struct ht_report_opts *o, const ht_addr *a)
{
	char addr[INET6_ADDRSTRLEN];
	const char *name = NULL;

	if (!a) {
		snprintf(buf, len, "???");
		return;
	}
	ht_addr_str(a, addr, sizeof(addr));
	if (!o->numeric && o->name)
		name = o->name(o->name_u, a);
	if (name && strcmp(name, addr))
		snprintf(buf, len, "%s (%s)", name, addr);
	else
		snprintf(buf, len, "%s", addr);
}

static void text_row(FILE *f, const struct ht_report_opts *o, int width, int ttl, bool first,
                     const struct ht_mon_hop *h, uint32_t sent, uint32_t received,
                     const struct ht_mon_addr *a)
{
	char host[600], lead[16];

	host_text(host, sizeof(host), o, a ? &a->addr : NULL);
	if (!o->wide && (int)strlen(host) > width)
		host[width] = '\0';
	if (first)
		snprintf(lead, sizeof(lead), "%3d.|--", ttl);
	else
		snprintf(lead, sizeof(lead), "    |  ");
	fprintf(f, "%s %-*s", lead, width, host);
	if (first)
		fprintf(f, " %5.1f%% %5u", loss_pct(sent, received), sent);
	else
		fprintf(f, " %6s %5s", "", "");
	if (a && a->received) {
		fprintf(f, " %5u %6.1f %6.1f %6.1f %6.1f %6.1f %6.1f", a->received,
		        ms(a->rtt.last_us), ms(a->rtt.mean_us), ms(a->rtt.best_us),
		        ms(a->rtt.worst_us), ms(ht_mon_rtt_stdev_us(&a->rtt)), ms(a->rtt.jitter_us));
	} else {
		fprintf(f, " %5u %6.1f %6.1f %6.1f %6.1f %6.1f %6.1f", 0u, 0.0, 0.0, 0.0, 0.0, 0.0,
		        0.0);
	}
	if (o->ping) {
		uint32_t ps = 0, pr = 0;
		double pm;
		if (a && o->ping(o->ping_u, &a->addr, &ps, &pr, &pm) && ps)
			fprintf(f, " %5.1f%%", loss_pct(ps, pr));
		else
			fprintf(f, " %6s", "-");
	}
	if (first && h) {
		if (h->cause == HT_MON_CAUSE_NONE || h->cause == HT_MON_CAUSE_UNKNOWN)
			fprintf(f, "  %s", ht_report_cause(h->cause));
		else
			/* Never certain: at most 99 %. */
			fprintf(f, "  %s %.0f%%", ht_report_cause(h->cause),
			        h->cause_confidence > 0.99 ? 99.0 : 100.0 * h->cause_confidence);
		if (h->changed)
			fputs(" (path changed)", f);
	}
	fputc('\n', f);
	if (o->extensions && a && a->last.n_mpls) {
		fprintf(f, "        |  MPLS");
		for (int i = 0; i < a->last.n_mpls; i++)
			fprintf(f, " L=%u E=%u S=%u T=%u", a->last.mpls[i].label, a->last.mpls[i].tc,
			        a->last.mpls[i].s, a->last.mpls[i].ttl);
		fputc('\n', f);
	}
	if (o->extensions && a && a->last.has_ifinfo && a->last.if_name[0])
		fprintf(f, "        |  interface %s\n", a->last.if_name);
}

static void text_table(FILE *f, const ht_monitor *m, const struct ht_report_opts *o, int flow)
{
	int width = 30;

	if (o->wide) {
		/* As wide as the longest host, in full. */
		for (int t = ht_monitor_first_ttl(m); t <= ht_monitor_last_ttl(m); t++) {
			const struct ht_mon_hop *h = ht_monitor_hop(m, t);
			for (int k = 0; h && k < h->naddrs; k++) {
				char host[600];
				host_text(host, sizeof(host), o, &h->addrs[k].addr);
				if ((int)strlen(host) > width)
					width = (int)strlen(host);
			}
		}
	}
	fprintf(f, "%-*s %7s %5s %5s %6s %6s %6s %6s %6s %6s%s  %s\n", width + 8,
	        flow < 0 ? "HOST" : "HOST (this flow)", "Loss%", "Snt", "Rcv", "Last", "Avg",
	        "Best", "Wrst", "StDev", "Jttr", o->ping ? "  Ping%" : "", "Cause");
	for (int t = ht_monitor_first_ttl(m); t <= ht_monitor_last_ttl(m); t++) {
		const struct ht_mon_hop *h = ht_monitor_hop(m, t);
		const struct ht_mon_addr *addrs;
		uint32_t sent, received;
		int n;

		if (!h)
			continue;
		if (flow < 0) {
			addrs = h->addrs;
			n = h->naddrs;
			sent = h->sent;
			received = h->received;
		} else {
			addrs = h->flow[flow].addrs;
			n = h->flow[flow].naddrs;
			sent = h->flow[flow].sent;
			received = h->flow[flow].received;
		}
		if (!n)
			text_row(f, o, width, t, true, flow < 0 ? h : NULL, sent, received, NULL);
		for (int k = 0; k < n; k++)
			text_row(f, o, width, t, k == 0, flow < 0 ? h : NULL, sent, received,
			         &addrs[k]);
	}
}

static int text_report(FILE *f, const ht_monitor *m, const struct ht_report_opts *o)
{
	const struct ht_monitor_config *c = ht_monitor_config(m);
	const struct ht_mon_path_change *ch;
	char addr[INET6_ADDRSTRLEN], gone[600], came[600];
	int nch = ht_monitor_changes(m, &ch);
	const char *warn = ht_monitor_rate_limit_warning(m);

	fprintf(f, "Start: %s\n", o->start_utc ? o->start_utc : "");
	fprintf(f, "HOST: %s (%s), %llu rounds of %d probe%s per hop every %.3g s, %d flow%s\n",
	        o->target ? o->target : "", ht_addr_str(&c->trace.dst, addr, sizeof(addr)),
	        (unsigned long long)ht_monitor_rounds_done(m), c->trace.nqueries,
	        c->trace.nqueries == 1 ? "" : "s", (double)c->interval_us / 1e6, c->flows,
	        c->flows == 1 ? "" : "s");
	text_table(f, m, o, -1);
	for (int i = 0; i < nch; i++) {
		host_text(gone, sizeof(gone), o, ch[i].gone.family ? &ch[i].gone : NULL);
		host_text(came, sizeof(came), o, ch[i].came.family ? &ch[i].came : NULL);
		fprintf(f, "path change: round %llu (%.1f s after the start), hop %d: %s -> %s\n",
		        (unsigned long long)ch[i].round,
		        o->start_us && ch[i].at_us > o->start_us
		                ? (double)(ch[i].at_us - o->start_us) / 1e6
		                : 0.0,
		        ch[i].ttl,
		        ch[i].gone.family ? gone : "(none)", ch[i].came.family ? came : "(none)");
	}
	if (warn)
		fprintf(f, "note: %s\n", warn);
	fprintf(f, "Cause: fwd = the loss persists at every later hop (forwarding loss); "
	           "reply = later hops lose less: this router drops or rate-limits its own "
	           "replies, forwarding is fine\n");
	if (o->ping)
		fprintf(f, "Ping%%: echo requests sent straight to the address each round "
		           "(--hop-ping): a router that drops time-exceeded but answers pings "
		           "shows its reply-side loss here as 0\n");
	for (int k = 0; c->flows > 1 && k < c->flows; k++) {
		fprintf(f, "\nFlow %d\n", k + 1);
		text_table(f, m, o, k);
	}
	return ferror(f) ? -EIO : 0;
}

static json_t *addr_json(const struct ht_report_opts *o, const struct ht_mon_addr *a)
{
	char buf[INET6_ADDRSTRLEN];
	json_t *j = json_object();
	const char *name = !o->numeric && o->name ? o->name(o->name_u, &a->addr) : NULL;

	json_object_set_new(j, "addr", json_string(ht_addr_str(&a->addr, buf, sizeof(buf))));
	if (name)
		json_object_set_new(j, "name", json_string(name));
	json_object_set_new(j, "received", json_integer(a->received));
	json_object_set_new(j, "reached", json_boolean(a->reached));
	if (a->received) {
		json_object_set_new(j, "last_ms", json_real(ms(a->rtt.last_us)));
		json_object_set_new(j, "avg_ms", json_real(ms(a->rtt.mean_us)));
		json_object_set_new(j, "best_ms", json_real(ms(a->rtt.best_us)));
		json_object_set_new(j, "worst_ms", json_real(ms(a->rtt.worst_us)));
		json_object_set_new(j, "stdev_ms", json_real(ms(ht_mon_rtt_stdev_us(&a->rtt))));
		json_object_set_new(j, "jitter_ms", json_real(ms(a->rtt.jitter_us)));
	}
	uint32_t ps = 0, pr = 0;
	double pm = 0;
	if (o->ping && o->ping(o->ping_u, &a->addr, &ps, &pr, &pm) && ps) {
		json_t *pj = json_object();
		json_object_set_new(pj, "sent", json_integer(ps));
		json_object_set_new(pj, "received", json_integer(pr));
		json_object_set_new(pj, "loss_pct", json_real(loss_pct(ps, pr)));
		if (pr)
			json_object_set_new(pj, "avg_ms", json_real(ms(pm)));
		json_object_set_new(j, "ping", pj);
	}
	if (a->last.n_mpls) {
		json_t *l = json_array();
		for (int i = 0; i < a->last.n_mpls; i++) {
			json_t *e = json_object();
			json_object_set_new(e, "label", json_integer(a->last.mpls[i].label));
			json_object_set_new(e, "tc", json_integer(a->last.mpls[i].tc));
			json_object_set_new(e, "s", json_integer(a->last.mpls[i].s));
			json_object_set_new(e, "ttl", json_integer(a->last.mpls[i].ttl));
			json_array_append_new(l, e);
		}
		json_object_set_new(j, "mpls", l);
	}
	return j;
}

static int json_report(FILE *f, const ht_monitor *m, const struct ht_report_opts *o)
{
	const struct ht_monitor_config *c = ht_monitor_config(m);
	const struct ht_mon_path_change *ch;
	char buf[INET6_ADDRSTRLEN];
	int nch = ht_monitor_changes(m, &ch), rc;
	const char *warn = ht_monitor_rate_limit_warning(m);
	json_t *doc = json_object(), *hops = json_array(), *changes = json_array();

	json_object_set_new(doc, "target", json_string(o->target ? o->target : ""));
	json_object_set_new(doc, "addr", json_string(ht_addr_str(&c->trace.dst, buf, sizeof(buf))));
	if (o->start_utc)
		json_object_set_new(doc, "start", json_string(o->start_utc));
	json_object_set_new(doc, "rounds", json_integer((json_int_t)ht_monitor_rounds_done(m)));
	json_object_set_new(doc, "interval_ms", json_real((double)c->interval_us / 1000.0));
	json_object_set_new(doc, "probes_per_hop", json_integer(c->trace.nqueries));
	json_object_set_new(doc, "flows", json_integer(c->flows));
	json_object_set_new(doc, "probes_sent", json_integer(ht_monitor_probes_sent(m)));
	if (ht_monitor_dest_ttl(m))
		json_object_set_new(doc, "dest_ttl", json_integer(ht_monitor_dest_ttl(m)));
	for (int t = ht_monitor_first_ttl(m); t <= ht_monitor_last_ttl(m); t++) {
		const struct ht_mon_hop *h = ht_monitor_hop(m, t);
		json_t *hj, *addrs, *flows;
		if (!h)
			continue;
		hj = json_object();
		addrs = json_array();
		json_object_set_new(hj, "ttl", json_integer(t));
		json_object_set_new(hj, "sent", json_integer(h->sent));
		json_object_set_new(hj, "received", json_integer(h->received));
		json_object_set_new(hj, "loss_pct", json_real(loss_pct(h->sent, h->received)));
		json_object_set_new(hj, "cause", json_string(cause_name(h->cause)));
		if (h->cause != HT_MON_CAUSE_NONE && isfinite(h->cause_confidence))
			json_object_set_new(hj, "cause_confidence", json_real(h->cause_confidence));
		json_object_set_new(hj, "rate_limited", json_integer(h->rate_limited));
		json_object_set_new(hj, "path_changed", json_boolean(h->changed));
		for (int k = 0; k < h->naddrs; k++)
			json_array_append_new(addrs, addr_json(o, &h->addrs[k]));
		json_object_set_new(hj, "addrs", addrs);
		if (c->flows > 1) {
			flows = json_array();
			for (int fl = 0; fl < c->flows; fl++) {
				json_t *fj = json_object(), *fa = json_array();
				json_object_set_new(fj, "flow", json_integer(fl + 1));
				json_object_set_new(fj, "sent", json_integer(h->flow[fl].sent));
				json_object_set_new(fj, "received", json_integer(h->flow[fl].received));
				json_object_set_new(fj, "loss_pct", json_real(loss_pct(h->flow[fl].sent,
				                                                       h->flow[fl].received)));
				for (int k = 0; k < h->flow[fl].naddrs; k++)
					json_array_append_new(fa, addr_json(o, &h->flow[fl].addrs[k]));
				json_object_set_new(fj, "addrs", fa);
				json_array_append_new(flows, fj);
			}
			json_object_set_new(hj, "flows", flows);
		}
		json_array_append_new(hops, hj);
	}
	json_object_set_new(doc, "hops", hops);
	for (int i = 0; i < nch; i++) {
		json_t *cj = json_object();
		json_object_set_new(cj, "round", json_integer((json_int_t)ch[i].round));
		if (o->start_us && ch[i].at_us > o->start_us)
			json_object_set_new(cj, "after_s",
			                    json_real((double)(ch[i].at_us - o->start_us) / 1e6));
		json_object_set_new(cj, "ttl", json_integer(ch[i].ttl));
		if (ch[i].gone.family)
			json_object_set_new(cj, "gone", json_string(ht_addr_str(&ch[i].gone, buf,
			                                                        sizeof(buf))));
		if (ch[i].came.family)
			json_object_set_new(cj, "came", json_string(ht_addr_str(&ch[i].came, buf,
			                                                        sizeof(buf))));
		json_array_append_new(changes, cj);
	}
	json_object_set_new(doc, "path_changes", changes);
	if (warn)
		json_object_set_new(doc, "warning", json_string(warn));
	rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	json_decref(doc);
	fputc('\n', f);
	return rc < 0 || ferror(f) ? -EIO : 0;
}

/* A CSV field: quoted, inner quotes doubled (names are sanitised already,
 * but may hold commas). */
static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static int csv_report(FILE *f, const ht_monitor *m, const struct ht_report_opts *o)
{
	char buf[INET6_ADDRSTRLEN];

	fputs("ttl,addr,name,loss_pct,sent,received,last_ms,avg_ms,best_ms,worst_ms,stdev_ms,"
	      "jitter_ms,cause,cause_confidence,path_changed\n",
	      f);
	for (int t = ht_monitor_first_ttl(m); t <= ht_monitor_last_ttl(m); t++) {
		const struct ht_mon_hop *h = ht_monitor_hop(m, t);
		if (!h)
			continue;
		for (int k = 0; k < (h->naddrs ? h->naddrs : 1); k++) {
			const struct ht_mon_addr *a = h->naddrs ? &h->addrs[k] : NULL;
			const char *name = a && !o->numeric && o->name ? o->name(o->name_u, &a->addr)
			                                               : NULL;
			fprintf(f, "%d,", t);
			csv_str(f, a ? ht_addr_str(&a->addr, buf, sizeof(buf)) : "");
			fputc(',', f);
			csv_str(f, name ? name : "");
			fprintf(f, ",%.1f,%u,%u", loss_pct(h->sent, h->received), h->sent,
			        a ? a->received : 0u);
			if (a && a->received)
				fprintf(f, ",%.3f,%.3f,%.3f,%.3f,%.3f,%.3f", ms(a->rtt.last_us),
				        ms(a->rtt.mean_us), ms(a->rtt.best_us), ms(a->rtt.worst_us),
				        ms(ht_mon_rtt_stdev_us(&a->rtt)), ms(a->rtt.jitter_us));
			else
				fputs(",,,,,,", f);
			fprintf(f, ",%s,%.2f,%d\n", cause_name(h->cause), h->cause_confidence,
			        h->changed ? 1 : 0);
		}
	}
	return ferror(f) ? -EIO : 0;
}

int ht_report_write(FILE *f, const ht_monitor *m, const struct ht_report_opts *o)
{
	int rc;

	switch (o->format) {
	case HT_REPORT_JSON:
		rc = json_report(f, m, o);
		break;
	case HT_REPORT_CSV:
		rc = csv_report(f, m, o);
		break;
	default:
		rc = text_report(f, m, o);
		break;
	}
	if (fflush(f) == EOF)
		rc = -EIO;
	return rc;
}
