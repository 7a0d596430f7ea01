#include "hostfiles.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NEVER, OPEN, CLOSED, DONE, BROKEN };

typedef struct {
    FILE *f;
    int state;
    unsigned dup;       /* 1: first entry of its host; 2, 3...: ".2", ".3" */
    size_t prev, next;  /* the open files, most recently written first */
} entry;

struct hostfiles {
    const char *prog, *dir;
    char *const *hosts;
    entry *e;
    size_t n, budget, open, failed;
    size_t head, tail; /* of the open list; n: none */
};

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(70);
    }
    return p;
}

/* Duplicates numbered in one sort, not one scan per host. */
static char *const *sort_hosts;
static int by_host_then_index(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(sort_hosts[x], sort_hosts[y]);
    return c ? c : (x > y) - (x < y);
}

hostfiles *hf_new(const char *prog, const char *dir, char *const *hosts, size_t n, size_t budget)
{
    hostfiles *f = xcalloc(1, sizeof *f);
    f->prog = prog;
    f->dir = dir;
    f->hosts = hosts;
    f->n = n;
    f->budget = budget ? budget : 1;
    f->head = f->tail = n;
    f->e = xcalloc(n, sizeof *f->e);
    size_t *order = xcalloc(n, sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_hosts = hosts;
    qsort(order, n, sizeof *order, by_host_then_index);
    for (size_t k = 0; k < n; k++)
        f->e[order[k]].dup = k > 0 && !strcmp(hosts[order[k]], hosts[order[k - 1]]) ? f->e[order[k - 1]].dup + 1 : 1;
    free(order);
    return f;
}

static void unlink_open(hostfiles *f, size_t i)
{
    entry *e = &f->e[i];
    if (e->prev != f->n)
        f->e[e->prev].next = e->next;
    else
        f->head = e->next;
    if (e->next != f->n)
        f->e[e->next].prev = e->prev;
    else
        f->tail = e->prev;
}

static void push_front(hostfiles *f, size_t i)
{
    entry *e = &f->e[i];
    e->prev = f->n;
    e->next = f->head;
    if (f->head != f->n)
        f->e[f->head].prev = i;
    else
        f->tail = i;
    f->head = i;
}

static void path_of(const hostfiles *f, size_t i, char *path, size_t len)
{
    char name[512];
    snprintf(name, sizeof name, "%s", f->hosts[i]);
    for (char *c = name; *c; c++)
        if (*c == '/')
            *c = '_';
    if (f->e[i].dup > 1)
        snprintf(path, len, "%s/%s.%u", f->dir, name, f->e[i].dup);
    else
        snprintf(path, len, "%s/%s", f->dir, name);
}

static void broken(hostfiles *f, size_t i, int err)
{
    char path[1024];
    path_of(f, i, path, sizeof path);
    fprintf(stderr, "%s: %s: %s\n", f->prog, path, strerror(err));
    f->e[i].state = BROKEN;
    f->failed++;
}

/* Closes an open file; 0 when a write of what it held failed. */
static int close_entry(hostfiles *f, size_t i, int next_state)
{
    entry *e = &f->e[i];
    unlink_open(f, i);
    f->open--;
    int ok = fclose(e->f) == 0;
    int err = errno;
    e->f = NULL;
    e->state = next_state;
    if (!ok)
        broken(f, i, err);
    return ok;
}

static int open_entry(hostfiles *f, size_t i)
{
    entry *e = &f->e[i];
    if (f->open >= f->budget)
        close_entry(f, f->tail, CLOSED);
    char path[1024];
    path_of(f, i, path, sizeof path);
    const char *mode = e->state == CLOSED ? "ae" : "we";
    FILE *file;
    while (!(file = fopen(path, mode)) && (errno == EMFILE || errno == ENFILE) && f->open > 0)
        close_entry(f, f->tail, CLOSED); /* the descriptors went to the hosts: give one back */
    if (!file) {
        broken(f, i, errno);
        return 0;
    }
    e->f = file;
    e->state = OPEN;
    f->open++;
    push_front(f, i);
    return 1;
}

void hf_write(hostfiles *f, size_t i, const char *p, size_t n)
{
    entry *e = &f->e[i];
    if (e->state == BROKEN || e->state == DONE)
        return;
    if (e->state != OPEN && !open_entry(f, i))
        return;
    if (f->head != i) {
        unlink_open(f, i);
        push_front(f, i);
    }
    if (fwrite(p, 1, n, e->f) != n) {
        int err = errno;
        if (close_entry(f, i, BROKEN)) /* else close_entry reported it */
            broken(f, i, err);
    }
}

void hf_finish(hostfiles *f, size_t i)
{
    entry *e = &f->e[i];
    if (e->state == OPEN)
        close_entry(f, i, DONE);
    else if (e->state == NEVER && open_entry(f, i))
        close_entry(f, i, DONE);
    else if (e->state == CLOSED)
        e->state = DONE;
}

void hf_flush(hostfiles *f)
{
    for (size_t i = f->head; i != f->n;) {
        size_t next = f->e[i].next;
        if (fflush(f->e[i].f) != 0) {
            int err = errno;
            if (close_entry(f, i, BROKEN))
                broken(f, i, err);
        }
        i = next;
    }
}

size_t hf_close(hostfiles *f)
{
    if (!f)
        return 0;
    for (size_t i = 0; i < f->n; i++)
        hf_finish(f, i);
    size_t failed = f->failed;
    free(f->e);
    free(f);
    return failed;
}
