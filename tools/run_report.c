/* What pssh-run prints about hosts and the run: JSON objects, groups, the
 * progress line and the summary. Output goes through the run's buffers. */
#include "json.h"
#include "run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void buf_add(buf *b, const char *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            fprintf(stderr, "pssh-run: out of memory keeping output\n");
            exit(70);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    }
    return "a signal";
}

const char *host_message(const run_state *st, size_t i, char *out, size_t cap)
{
    pssh_output *o = st->outs[i];
    if (st->hosts[i].interrupted) {
        snprintf(out, cap, "%s: interrupted by %s before its command was over", pssh_output_alias(o),
                 signal_name(st->signal));
        return out;
    }
    pssh_err e = pssh_output_error(o);
    if (!e)
        return NULL;
    char note[1024] = "";
    if (e == PSSH_E_AUTH)
        cli_skipped_keys_note(&st->conn, note, sizeof note);
    snprintf(out, cap, "%s%s", pssh_output_error_message(o), note);
    return out;
}

void print_json_host(run_state *st, size_t i, int with_output)
{
    outbuf *b = &st->out;
    pssh_output *o = st->outs[i];
    host_state *h = &st->hosts[i];
    pssh_timings t;
    pssh_output_timings(o, &t);
    int code = pssh_output_exit_code(o);
    char msg[2048];
    const char *m = host_message(st, i, msg, sizeof msg);
    pssh_err err = pssh_output_error(o);
    ob_printf(b, "{\"index\":%zu,\"host\":", i);
    json_cstr(b, pssh_output_host(o));
    ob_puts(b, ",\"alias\":");
    json_cstr(b, pssh_output_alias(o));
    if (code >= 0 && !h->interrupted)
        ob_printf(b, ",\"exit_code\":%d", code);
    else
        ob_puts(b, ",\"exit_code\":null");
    ob_puts(b, ",\"exit_signal\":");
    json_cstr(b, pssh_output_exit_signal(o));
    if (with_output) {
        ob_puts(b, ",\"stdout\":");
        json_string(b, h->out.data ? h->out.data : "", h->out.len);
        ob_puts(b, ",\"stderr\":");
        json_string(b, h->err.data ? h->err.data : "", h->err.len);
    }
    ob_puts(b, ",\"error\":");
    json_cstr(b, h->interrupted ? "interrupted" : err ? pssh_err_name(err) : NULL);
    ob_puts(b, ",\"error_message\":");
    json_cstr(b, m);
    ob_printf(b, ",\"timings_ms\":{\"connect\":%.3f,\"handshake\":%.3f,\"auth\":%.3f,\"exec\":%.3f,\"run\":%.3f}}\n",
              t.connect_ms, t.handshake_ms, t.auth_ms, t.exec_ms, t.run_ms);
    free(h->out.data);
    free(h->err.data);
    h->out = h->err = (buf){0};
}

void print_json_line(run_state *st, size_t i, pssh_stream s, const char *line, size_t len)
{
    outbuf *b = &st->out;
    host_state *h = &st->hosts[i];
    ob_put(b, h->prefix, h->prefix_len);
    ob_puts(b, s == PSSH_STDOUT ? "\"stream\":\"stdout\",\"data\":" : "\"stream\":\"stderr\",\"data\":");
    json_string(b, line, len);
    ob_put(b, "}\n", 2);
}

/* Hosts with byte-identical stdout share one block, in the order of their
 * first host. */
void print_groups(run_state *st)
{
    outbuf *b = &st->out;
    char *printed = calloc(st->n ? st->n : 1, 1);
    if (!printed)
        exit(70);
    for (size_t i = 0; i < st->n; i++) {
        if (printed[i])
            continue;
        buf *first = &st->hosts[i].out;
        size_t count = 0;
        ob_puts(b, "----------------\n");
        for (size_t j = i; j < st->n; j++) {
            buf *c = &st->hosts[j].out;
            if (printed[j] || c->len != first->len || (first->len && memcmp(c->data, first->data, first->len)))
                continue;
            printed[j] = 1;
            ob_printf(b, "%s%s%s", count++ ? ", " : "", pssh_output_alias(st->outs[j]),
                      st->hosts[j].interrupted ? " [interrupted]" : "");
        }
        ob_printf(b, " (%zu)\n----------------\n", count);
        if (first->len) {
            ob_put(b, first->data, first->len);
            if (first->data[first->len - 1] != '\n')
                ob_put(b, "\n", 1);
        }
    }
    free(printed);
}

void show_progress(run_state *st, int force)
{
    double t = now_ms();
    if (!force && t - st->last_progress < 100)
        return;
    st->last_progress = t;
    ob_printf(&st->err, "\r[%zu/%zu done, %zu failed, %zu non-zero, %zu killed]", st->finished, st->n, st->failed,
              st->nonzero, st->killed);
}

static const char *slowest_phase(const pssh_timings *t, double *ms)
{
    const char *names[] = {"connect", "handshake", "auth", "exec", "run"};
    double v[] = {t->connect_ms, t->handshake_ms, t->auth_ms, t->exec_ms, t->run_ms};
    int k = 0;
    for (int j = 1; j < 5; j++)
        if (v[j] > v[k])
            k = j;
    *ms = v[k];
    return names[k];
}

void print_summary(run_state *st, double wall)
{
    outbuf *b = &st->err;
    if (st->live)
        ob_puts(b, "\r\033[K");
    size_t ok = st->finished - st->failed - st->nonzero - st->killed - st->interrupted;
    ob_printf(b, "pssh-run: %zu hosts in %.2f s: %zu ok, %zu exited non-zero, %zu killed, %zu failed", st->n,
              wall / 1000, ok, st->nonzero, st->killed, st->failed);
    if (st->signal)
        ob_printf(b, ", %zu not finished (interrupted by %s)", st->n - st->finished + st->interrupted,
                  signal_name(st->signal));
    ob_puts(b, "\n");
    double worst = -1;
    size_t slow = 0;
    for (size_t i = 0; i < st->n; i++) {
        pssh_output *o = st->outs[i];
        char msg[2048];
        if (st->hosts[i].interrupted || !pssh_output_finished(o)) {
            ob_printf(b, "  unfinished %s\n", pssh_output_alias(o));
            continue;
        }
        if (pssh_output_error(o)) {
            ob_printf(b, "  failed   %s [%s]\n", host_message(st, i, msg, sizeof msg),
                      pssh_err_name(pssh_output_error(o)));
        } else if (pssh_output_exit_signal(o)) {
            ob_printf(b, "  killed   %s: signal %s\n", pssh_output_alias(o), pssh_output_exit_signal(o));
        } else if (pssh_output_exit_code(o) != 0) {
            ob_printf(b, "  exit %-3d %s\n", pssh_output_exit_code(o), pssh_output_alias(o));
        }
        pssh_timings t;
        pssh_output_timings(o, &t);
        double total = 0;
        double v[] = {t.connect_ms, t.handshake_ms, t.auth_ms, t.exec_ms, t.run_ms};
        for (int k = 0; k < 5; k++)
            total += v[k] > 0 ? v[k] : 0;
        if (total > worst) {
            worst = total;
            slow = i;
        }
    }
    if (worst >= 0) {
        pssh_timings t;
        pssh_output_timings(st->outs[slow], &t);
        double ms;
        const char *phase = slowest_phase(&t, &ms);
        ob_printf(b, "  slowest  %s: %.0f ms, most of it in %s (%.0f ms)\n", pssh_output_alias(st->outs[slow]),
                  worst, phase, ms);
    }
}
