/* The process's own resident size and open descriptors, read from /proc
 * (Linux): what pssh-stress and the memory benchmark report. */
#ifndef PSSH_TOOLS_PROCSTAT_H
#define PSSH_TOOLS_PROCSTAT_H

/* VmRSS in KiB, or -1 when /proc is not there. */
long procstat_rss_kib(void);
/* Open descriptors, not counting the one used to count them; -1 without /proc. */
long procstat_open_fds(void);

#endif
