// SPDX-License-Identifier: GPL-2.0-or-later
/* upcallctl ping: the handshake alone, timed. */
#include <stdio.h>

#include "upcallctl.h"

static int run_ping(struct cli *cli, void *args)
{
	struct upcall_session *s;
	enum upcall_status st;
	char target[160];
	int rc = cli_session(cli, &s);

	(void)args;
	if (rc)
		return rc;
	upcall_disconnect(s);	/* time a fresh handshake, even in the shell */
	st = upcall_connect(s);
	upcall_target_format(upcall_session_target(s), target, sizeof(target));
	cli_set(cli, "target", json_text(target));
	if (st == UPCALL_OK) {
		double ns = (double)upcall_session_stat(s, UPCALL_STAT_LAST_CONNECT_NS);

		cli_set(cli, "rtt_us", json_real(ns / 1e3));
		cli_say(cli, "%s: device manager answered in %.3f ms", target, ns / 1e6);
	}
	return cli_finish(cli, st);
}

const struct cli_cmd upcallctl_ping_cmds[] = {
	{ "ping", NULL, NULL, "Handshake only; print the round trip",
	  NULL, NULL, 0, run_ping, NULL },
	{ 0 }
};
