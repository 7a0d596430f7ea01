/* Hardening: retries, re-entrancy, hostile servers, the end of output.
 * Each test here failed before the fix it guards (issue 14). */
#include "fixtures/fleet.h"
#include "fixtures/sshd.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TestSuite(hardening, .timeout = 120);

/* The fixture itself: a second sshd that takes the fleet's key. */
Test(hardening, extra_sshd_serves_commands)
{
    extra_sshd s = extra_sshd_start(fleet_path("host_ed25519"), NULL);
    pssh_config *cfg = fleet_config();
    pssh_config_set_known_hosts(cfg, extra_sshd_known_hosts(&s, fleet_path("host_ed25519.pub")));
    pssh_client *c = NULL;
    cr_assert_eq(pssh_client_new(NULL, extra_sshd_host(&s), cfg, &c), PSSH_OK);
    pssh_output *o = fleet_run(c, "echo extra", NULL);
    size_t n;
    char *out = read_all(o, PSSH_STDOUT, &n);
    cr_assert_str_eq(out, "extra\n");
    free(out);
    pssh_output_unref(o);
    pssh_client_unref(c);
    pssh_config_free(cfg);
    extra_sshd_stop(&s);
}
