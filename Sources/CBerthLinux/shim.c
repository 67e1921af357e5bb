// berth-shim: container monitor, namespace setup and the container's init.
//
// Why C: the process that calls clone(2) and everything the child does until
// execve must not run Swift (a Swift process has threads; after fork only
// async-signal-safe calls are allowed). The shim is a fresh, single-threaded
// C process started by Berth, so its child may use plain libc.
//
// Process tree of a running container:
//
//   berth-shim (monitor, host namespaces, setsid'd; pumps logs, writes exit)
//     └── init  (PID 1 of the container: C code of this file; reaps zombies,
//          │     forwards signals; dropped to CAP_KILL, non-dumpable, seccomp)
//          └── the container's process (execve'd)
//
// Protocol with Berth: fd 3 (if open) gets "ok <pid>\n" once the process has
// exec'd, or "err <step>: <message>\n"; then, when the container ends,
// "exit <code> <signal> <oom>\n". fds 4 and 5 (attach mode) get a raw copy of
// stdout and stderr.
//
// Early start (`berth-shim run - [attach] [stdin] [tty]`, what `berth run`
// uses): the shim is started before the container's configuration exists,
// detaches and creates the container's namespaces while Berth resolves the
// image and writes the configuration; fd 7 then brings the configuration's
// path (EOF there: Berth gave up, the shim goes away). Such a container gets
// new net, ipc and uts namespaces (it cannot join a pod's).
#define _GNU_SOURCE
#include "berth_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define MAX_LIST 256

// MARK: - Configuration

struct berth_bind {
    char *src;
    char *dst;
    int ro;
};

struct berth_config {
    const char *mode;
    char *rootfs, *lowerdir, *upperdir, *workdir;
    int readonly;
    char *hostname;
    char *argv[MAX_LIST + 1];
    int argc;
    char *envp[MAX_LIST + 1];
    int envc;
    char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t groups[64];
    int ngroups;
    uint64_t cap_bnd, cap_prm, cap_eff;
    int nnp;
    struct sock_fprog prog;
    int has_prog;
    struct {
        int res;
        rlim_t soft, hard;
    } rlimits[16];
    int nrlimits;
    struct berth_bind binds[64];
    int nbinds;
    char *netns, *ipcns, *utsns, *pidns, *mntns;
    char *cgroups[16];
    int ncgroups;
    char *log_path;
    long long log_max;
    char *exit_path;
    char *oom_path;
    int attach;
    int timeout;
    // --rm: the shim removes the container itself when it ends (docker's
    // daemon does this for `run -d --rm`; Berth has no daemon to do it).
    int autoremove;
    char *container_dir, *trash_dir, *lease_path;
    // -i: fd 6 of the shim is the container's stdin (or, with a tty, what
    // the monitor copies to the terminal). -t: a pty from the container's
    // own devpts is its stdin/stdout/stderr and controlling terminal.
    int stdin_attach;
    int tty;
    unsigned short tty_rows, tty_cols;
};

static struct berth_config cfg;
static int status_fd = -1;
static char **shim_argv;
static int shim_argc;

/// The container sees its PID 1 as "berth-init", not the host path of the shim.
static void set_title(const char *title) {
    if (!shim_argv || shim_argc < 1) return;
    char *start = shim_argv[0];
    char *end = shim_argv[shim_argc - 1] + strlen(shim_argv[shim_argc - 1]);
    memset(start, 0, (size_t)(end - start));
    snprintf(start, (size_t)(end - start) + 1, "%s", title);
    prctl(PR_SET_NAME, title, 0, 0, 0);
}
static int attach_out = -1, attach_err = -1, attach_in = -1;

static void status_write(const char *s) {
    if (status_fd < 0) return;
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(status_fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { status_fd = -1; return; }
        s += w;
        n -= (size_t)w;
    }
}

static char *read_file(const char *path, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) { close(fd); return NULL; }
    for (;;) {
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) { free(buf); close(fd); return NULL; }
            buf = nb;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { free(buf); close(fd); return NULL; }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return buf;
}

static int load_seccomp(const char *path) {
    size_t len = 0;
    char *bytes = read_file(path, &len);
    if (!bytes || len == 0 || len % sizeof(struct sock_filter) != 0) return -1;
    cfg.prog.len = (unsigned short)(len / sizeof(struct sock_filter));
    cfg.prog.filter = (struct sock_filter *)bytes;
    cfg.has_prog = 1;
    return 0;
}

static int load_config(const char *path, char *err, size_t errlen) {
    size_t len = 0;
    char *data = read_file(path, &len);
    if (!data) { snprintf(err, errlen, "read config %s: %s", path, strerror(errno)); return -1; }
    memset(&cfg, 0, sizeof(cfg));
    cfg.cap_bnd = cfg.cap_prm = cfg.cap_eff = 0;
    char *p = data, *end = data + len;
    while (p < end) {
        char *key = p;
        p += strlen(p) + 1;
        if (p >= end) break;
        char *val = p;
        p += strlen(p) + 1;
        if (!strcmp(key, "rootfs")) cfg.rootfs = val;
        else if (!strcmp(key, "lowerdir")) cfg.lowerdir = val;
        else if (!strcmp(key, "upperdir")) cfg.upperdir = val;
        else if (!strcmp(key, "workdir")) cfg.workdir = val;
        else if (!strcmp(key, "readonly")) cfg.readonly = atoi(val);
        else if (!strcmp(key, "hostname")) cfg.hostname = val;
        else if (!strcmp(key, "arg")) { if (cfg.argc < MAX_LIST) cfg.argv[cfg.argc++] = val; }
        else if (!strcmp(key, "env")) { if (cfg.envc < MAX_LIST) cfg.envp[cfg.envc++] = val; }
        else if (!strcmp(key, "cwd")) cfg.cwd = val;
        else if (!strcmp(key, "uid")) cfg.uid = (uid_t)strtoul(val, NULL, 10);
        else if (!strcmp(key, "gid")) cfg.gid = (gid_t)strtoul(val, NULL, 10);
        else if (!strcmp(key, "group")) { if (cfg.ngroups < 64) cfg.groups[cfg.ngroups++] = (gid_t)strtoul(val, NULL, 10); }
        else if (!strcmp(key, "cap_bnd")) cfg.cap_bnd = strtoull(val, NULL, 16);
        else if (!strcmp(key, "cap_prm")) cfg.cap_prm = strtoull(val, NULL, 16);
        else if (!strcmp(key, "cap_eff")) cfg.cap_eff = strtoull(val, NULL, 16);
        else if (!strcmp(key, "nnp")) cfg.nnp = atoi(val);
        else if (!strcmp(key, "seccomp")) {
            if (load_seccomp(val) < 0) { snprintf(err, errlen, "read seccomp program %s", val); return -1; }
        } else if (!strcmp(key, "rlimit")) {
            if (cfg.nrlimits < 16) {
                unsigned long long s = 0, h = 0;
                int r = 0;
                if (sscanf(val, "%d %llu %llu", &r, &s, &h) == 3) {
                    cfg.rlimits[cfg.nrlimits].res = r;
                    cfg.rlimits[cfg.nrlimits].soft = (rlim_t)s;
                    cfg.rlimits[cfg.nrlimits].hard = (rlim_t)h;
                    cfg.nrlimits++;
                }
            }
        } else if (!strcmp(key, "bind_src")) {
            if (cfg.nbinds < 64) { cfg.binds[cfg.nbinds].src = val; cfg.binds[cfg.nbinds].dst = NULL; }
        } else if (!strcmp(key, "bind_dst")) {
            if (cfg.nbinds < 64) cfg.binds[cfg.nbinds].dst = val;
        } else if (!strcmp(key, "bind_ro")) {
            if (cfg.nbinds < 64 && cfg.binds[cfg.nbinds].src && cfg.binds[cfg.nbinds].dst) {
                cfg.binds[cfg.nbinds].ro = atoi(val);
                cfg.nbinds++;
            }
        } else if (!strcmp(key, "netns")) cfg.netns = val;
        else if (!strcmp(key, "ipcns")) cfg.ipcns = val;
        else if (!strcmp(key, "utsns")) cfg.utsns = val;
        else if (!strcmp(key, "pidns")) cfg.pidns = val;
        else if (!strcmp(key, "mntns")) cfg.mntns = val;
        else if (!strcmp(key, "cgroup")) { if (cfg.ncgroups < 16) cfg.cgroups[cfg.ncgroups++] = val; }
        else if (!strcmp(key, "log")) cfg.log_path = val;
        else if (!strcmp(key, "log_max")) cfg.log_max = strtoll(val, NULL, 10);
        else if (!strcmp(key, "exit")) cfg.exit_path = val;
        else if (!strcmp(key, "oom")) cfg.oom_path = val;
        else if (!strcmp(key, "attach")) cfg.attach = atoi(val);
        else if (!strcmp(key, "timeout")) cfg.timeout = atoi(val);
        else if (!strcmp(key, "autoremove")) cfg.autoremove = atoi(val);
        else if (!strcmp(key, "stdin")) cfg.stdin_attach = atoi(val);
        else if (!strcmp(key, "tty")) cfg.tty = atoi(val);
        else if (!strcmp(key, "tty_rows")) cfg.tty_rows = (unsigned short)atoi(val);
        else if (!strcmp(key, "tty_cols")) cfg.tty_cols = (unsigned short)atoi(val);
        else if (!strcmp(key, "container_dir")) cfg.container_dir = val;
        else if (!strcmp(key, "trash_dir")) cfg.trash_dir = val;
        else if (!strcmp(key, "lease")) cfg.lease_path = val;
    }
    cfg.argv[cfg.argc] = NULL;
    cfg.envp[cfg.envc] = NULL;
    return 0;
}

// MARK: - Child error reporting

struct child_error {
    int err;
    char step[248];
};

static int error_fd = -1;

/// Reports a failed step to the monitor and exits: the monitor turns it into
/// "err <step>: <strerror>" for Berth, never a silent exit 127.
static void __attribute__((noreturn)) child_fail(const char *step) {
    struct child_error e;
    memset(&e, 0, sizeof(e));
    e.err = errno;
    snprintf(e.step, sizeof(e.step), "%s", step);
    if (error_fd >= 0) {
        ssize_t w = write(error_fd, &e, sizeof(e));
        (void)w;
    }
    _exit(127);
}

static void child_failf(const char *fmt, const char *arg) {
    char buf[248];
    int saved = errno;
    snprintf(buf, sizeof(buf), fmt, arg);
    errno = saved;
    child_fail(buf);
}

// MARK: - Namespaces and mounts (child side)

static void join_ns(const char *path, int nstype, const char *what) {
    if (!path) return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) child_failf("open namespace %s", path);
    if (setns(fd, nstype) < 0) child_failf("setns %s", what);
    close(fd);
}

static void mkdir_p(const char *path, mode_t mode) {
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(buf, mode);
            *p = '/';
        }
    }
    mkdir(buf, mode);
}

static void join_path(char *out, size_t n, const char *root, const char *rel) {
    while (*rel == '/') rel++;
    snprintf(out, n, "%s/%s", root, rel);
}

static void mount_or_fail(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
    if (mount(src, dst, type, flags, data) < 0) child_failf("mount %s", dst);
}

/// Opens `rel` inside `rootfs` with every symlink resolved as if rootfs were
/// "/" (openat2 RESOLVE_IN_ROOT), so that an image's symlink cannot redirect
/// a bind mount to a host path.
static int open_in_root(int rootfd, const char *rel) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    while (*rel == '/') rel++;
    return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

static void bind_into_root(int rootfd, const struct berth_bind *b) {
    char target[4096];
    join_path(target, sizeof(target), cfg.rootfs, b->dst);
    struct stat st;
    if (stat(b->src, &st) < 0) child_failf("bind source %s", b->src);
    int fd = open_in_root(rootfd, b->dst);
    if (fd < 0) {
        // Create the mount point: a directory, or an empty file for a file.
        char parent[4096];
        snprintf(parent, sizeof(parent), "%s", target);
        char *slash = strrchr(parent, '/');
        if (slash) { *slash = 0; mkdir_p(parent, 0755); }
        if (S_ISDIR(st.st_mode)) {
            mkdir(target, 0755);
        } else {
            int f = open(target, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
            if (f >= 0) close(f);
        }
        fd = open_in_root(rootfd, b->dst);
        if (fd < 0) child_failf("bind target %s", b->dst);
    }
    char fdpath[64];
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
    if (mount(b->src, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0) child_failf("bind mount %s", b->dst);
    close(fd);
    if (b->ro) {
        // Reopen: the old O_PATH fd still points below the new mount.
        fd = open_in_root(rootfd, b->dst);
        if (fd < 0) child_failf("reopen bind target %s", b->dst);
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        if (mount(NULL, fdpath, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
            child_failf("remount read-only %s", b->dst);
        close(fd);
    }
}

static void make_dev(const char *dev, const char *name, mode_t mode, unsigned maj, unsigned min) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dev, name);
    if (mknod(path, S_IFCHR | mode, makedev(maj, min)) < 0) child_failf("mknod /dev/%s", name);
}

static void setup_dev(void) {
    char dev[4096], p[4096];
    join_path(dev, sizeof(dev), cfg.rootfs, "dev");
    mkdir(dev, 0755);
    mount_or_fail("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    mode_t old = umask(0);
    make_dev(dev, "null", 0666, 1, 3);
    make_dev(dev, "zero", 0666, 1, 5);
    make_dev(dev, "full", 0666, 1, 7);
    make_dev(dev, "random", 0666, 1, 8);
    make_dev(dev, "urandom", 0666, 1, 9);
    make_dev(dev, "tty", 0666, 5, 0);
    umask(old);
    static const char *links[][2] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dev, links[i][1]);
        if (symlink(links[i][0], p) < 0) child_failf("symlink /dev/%s", links[i][1]);
    }
    snprintf(p, sizeof(p), "%s/pts", dev);
    mkdir(p, 0755);
    mount_or_fail("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    snprintf(p, sizeof(p), "%s/shm", dev);
    mkdir(p, 01777);
    mount_or_fail("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    snprintf(p, sizeof(p), "%s/mqueue", dev);
    mkdir(p, 0755);
    mount_or_fail("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static const char *masked_paths[] = {
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
    "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};
static const char *readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static void setup_rootfs(void) {
    // Nothing we mount may propagate back to the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) child_fail("make / private");
    if (cfg.lowerdir) {
        char opts[8192];
        snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", cfg.lowerdir, cfg.upperdir, cfg.workdir);
        if (mount("overlay", cfg.rootfs, "overlay", 0, opts) < 0) child_fail("mount overlay rootfs");
    } else {
        if (mount(cfg.rootfs, cfg.rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) child_fail("bind rootfs");
    }
    char p[4096];
    join_path(p, sizeof(p), cfg.rootfs, "proc");
    mkdir(p, 0555);
    mount_or_fail("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    setup_dev();
    join_path(p, sizeof(p), cfg.rootfs, "sys");
    mkdir(p, 0555);
    if (mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        // Joined a network namespace we may not mount sysfs for: bind the host's, read-only.
        mount_or_fail("/sys", p, NULL, MS_BIND | MS_REC, NULL);
        mount_or_fail(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
    }
    int rootfd = open(cfg.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) child_fail("open rootfs");
    for (int i = 0; i < cfg.nbinds; i++) bind_into_root(rootfd, &cfg.binds[i]);
    close(rootfd);

    if (chdir(cfg.rootfs) < 0) child_fail("chdir rootfs");
    if (syscall(SYS_pivot_root, ".", ".") < 0) child_fail("pivot_root");
    if (umount2(".", MNT_DETACH) < 0) child_fail("unmount old root");
    if (chdir("/") < 0) child_fail("chdir /");

    struct stat st;
    for (int i = 0; masked_paths[i]; i++) {
        const char *m = masked_paths[i];
        if (stat(m, &st) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (mount("tmpfs", m, "tmpfs", MS_RDONLY, NULL) < 0) child_failf("mask %s", m);
        } else if (mount("/dev/null", m, NULL, MS_BIND, NULL) < 0) {
            child_failf("mask %s", m);
        }
    }
    for (int i = 0; readonly_paths[i]; i++) {
        const char *r = readonly_paths[i];
        if (stat(r, &st) < 0) continue;
        if (mount(r, r, NULL, MS_BIND | MS_REC, NULL) < 0) child_failf("bind %s", r);
        if (mount(r, r, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_REC, NULL) < 0)
            child_failf("remount read-only %s", r);
    }
    if (cfg.readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        child_fail("remount rootfs read-only");
}

static void loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) child_fail("socket for loopback");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) child_fail("get lo flags");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) child_fail("bring lo up");
    close(s);
}

// MARK: - Credentials, capabilities, seccomp

static int raw_capset(uint64_t eff, uint64_t prm, uint64_t inh) {
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)eff;
    data[1].effective = (uint32_t)(eff >> 32);
    data[0].permitted = (uint32_t)prm;
    data[1].permitted = (uint32_t)(prm >> 32);
    data[0].inheritable = (uint32_t)inh;
    data[1].inheritable = (uint32_t)(inh >> 32);
    return (int)syscall(SYS_capset, &hdr, data);
}

static void drop_bounding(uint64_t keep) {
    for (int c = 0; c < 64; c++) {
        if (keep & (1ULL << c)) continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
            if (errno == EINVAL) break; // past the kernel's last capability
            child_fail("drop bounding capability");
        }
    }
}

static void apply_seccomp(void) {
    if (!cfg.has_prog) return;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &cfg.prog, 0, 0) < 0) child_fail("seccomp");
}

/// Drops to the configured user, capabilities and seccomp filter. The filter
/// goes last (after setuid) when no_new_privs is set; without no_new_privs
/// the kernel requires CAP_SYS_ADMIN to install it, so it goes first.
static void apply_credentials(void) {
    drop_bounding(cfg.cap_bnd);
    if (!cfg.nnp) apply_seccomp();
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) child_fail("keepcaps");
    if (setgroups((size_t)cfg.ngroups, cfg.groups) < 0) child_fail("setgroups");
    if (setresgid(cfg.gid, cfg.gid, cfg.gid) < 0) child_fail("setgid");
    if (setresuid(cfg.uid, cfg.uid, cfg.uid) < 0) child_fail("setuid");
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) child_fail("keepcaps");
    if (raw_capset(cfg.cap_eff, cfg.cap_prm, 0) < 0) child_fail("capset");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) child_fail("clear ambient capabilities");
    if (cfg.nnp) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail("no_new_privs");
        apply_seccomp();
    }
}

static void __attribute__((noreturn)) exec_process(void) {
    const char *cmd = cfg.argv[0];
    if (!cmd) { errno = EINVAL; child_fail("exec: empty command"); }
    if (cfg.cwd && chdir(cfg.cwd) < 0) child_failf("chdir %s", cfg.cwd);
    apply_credentials();
    if (strchr(cmd, '/')) {
        execve(cmd, cfg.argv, cfg.envp);
        child_failf("exec %s", cmd);
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (int i = 0; i < cfg.envc; i++)
        if (!strncmp(cfg.envp[i], "PATH=", 5)) path = cfg.envp[i] + 5;
    int best = ENOENT;
    char buf[4096];
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", cmd);
        execve(buf, cfg.argv, cfg.envp);
        if (errno == EACCES) best = EACCES;
        else if (errno != ENOENT && errno != ENOTDIR) best = errno;
        path += n;
        if (*path == ':') path++;
    }
    errno = best;
    child_failf("exec %s", cmd);
    _exit(127);
}

// MARK: - Init (PID 1 of the container)

/// Reaps zombies and forwards signals to the main process, like tini. It
/// keeps only CAP_KILL, is non-dumpable (so the container cannot ptrace it or
/// open /proc/1/exe) and runs under the same seccomp filter.
static void __attribute__((noreturn)) run_init(pid_t main_pid, int report_fd) {
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) _exit(126);
    uint64_t kill_cap = 1ULL << CAP_KILL;
    for (int c = 0; c < 64; c++) {
        if (c == CAP_KILL) continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno == EINVAL) break;
    }
    raw_capset(kill_cap, kill_cap, 0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (cfg.has_prog) prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &cfg.prog, 0, 0);
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            int st;
            pid_t p;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == main_pid) {
                    if (report_fd >= 0) {
                        ssize_t w = write(report_fd, &st, sizeof(st));
                        (void)w;
                    }
                    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
                }
            }
        } else if (sig != SIGTTIN && sig != SIGTTOU && sig != SIGTSTP && sig != SIGWINCH) {
            kill(main_pid, sig);
        }
    }
}

static void __attribute__((noreturn)) run_pause(void) {
    drop_bounding(0);
    raw_capset(0, 0, 0);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (cfg.has_prog) prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &cfg.prog, 0, 0);
    sigset_t all;
    sigfillset(&all);
    for (;;) {
        int sig = sigwaitinfo(&all, NULL);
        if (sig == SIGTERM || sig == SIGINT) _exit(0);
        if (sig == SIGCHLD) while (waitpid(-1, NULL, WNOHANG) > 0) {}
    }
}

// MARK: - Child of clone

struct child_pipes {
    int sync_r, out_w, err_w, init_w, tty_sock;
};

/// -t: opens a pty in the container's own devpts (after pivot_root, so that
/// `tty` inside names /dev/pts/0 of the container), sends the master to the
/// monitor over `sock` (SCM_RIGHTS, as runc's console socket) and returns
/// the slave, owned by the container's user.
static int open_tty(int sock) {
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) child_fail("open /dev/pts/ptmx");
    int unlock = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0) child_fail("unlock pty");
    unsigned int n = 0;
    if (ioctl(master, TIOCGPTN, &n) < 0) child_fail("get pty number");
    char path[64];
    snprintf(path, sizeof(path), "/dev/pts/%u", n);
    int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) child_failf("open %s", path);
    if (fchown(slave, cfg.uid, 5) < 0 && fchown(slave, cfg.uid, cfg.gid) < 0) child_fail("chown pty");
    if (cfg.tty_rows && cfg.tty_cols) {
        struct winsize ws = {cfg.tty_rows, cfg.tty_cols, 0, 0};
        ioctl(slave, TIOCSWINSZ, &ws);
    }
    char dummy = 't';
    struct iovec iov = {&dummy, 1};
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &master, sizeof(int));
    if (sendmsg(sock, &msg, 0) < 0) child_fail("send pty to monitor");
    close(master);
    close(sock);
    return slave;
}

static int receive_fd(int sock) {
    char dummy;
    struct iovec iov = {&dummy, 1};
    char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t r;
    do { r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (r < 0 && errno == EINTR);
    if (r <= 0) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

static int join_cgroups_self(void);

static void __attribute__((noreturn)) container_child(struct child_pipes pp, int is_pause) {
    // "1", or on an early start the configuration's path, which the monitor
    // received after this child was cloned: load it here too.
    char msg[4096];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(pp.sync_r, msg + got, sizeof(msg) - 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got == 0) _exit(126); // the monitor gave up on us
    close(pp.sync_r);
    msg[got] = 0;
    if (msg[0] == '/') {
        msg[strcspn(msg, "\n")] = 0;
        char err[600];
        if (load_config(msg, err, sizeof(err)) < 0) { errno = EINVAL; child_failf("%s", err); }
    }
    // First of all, into the container's cgroups: everything below, and every
    // process the container starts, is accounted and limited there.
    int failed = join_cgroups_self();
    if (failed >= 0) child_failf("join cgroup %s", cfg.cgroups[failed]);
    set_title(is_pause ? "berth-pause" : "berth-init");

    join_ns(cfg.netns, CLONE_NEWNET, "net");
    join_ns(cfg.ipcns, CLONE_NEWIPC, "ipc");
    join_ns(cfg.utsns, CLONE_NEWUTS, "uts");

    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0) child_fail("open /dev/null");
    int in = (attach_in >= 0 && !cfg.tty) ? attach_in : devnull;
    if (dup2(in, 0) < 0 || dup2(pp.out_w, 1) < 0 || dup2(pp.err_w, 2) < 0) child_fail("dup2 stdio");
    if (devnull > 2) close(devnull);
    if (attach_in >= 0) close(attach_in);
    if (pp.out_w > 2) close(pp.out_w);
    if (pp.err_w > 2) close(pp.err_w);

    if (cfg.hostname && !cfg.utsns && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0) child_fail("sethostname");
    if (!cfg.netns) loopback_up();

    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    if (is_pause) {
        close(error_fd);
        error_fd = -1;
        run_pause();
    }

    setup_rootfs();
    int tty_slave = cfg.tty ? open_tty(pp.tty_sock) : -1;
    for (int i = 0; i < cfg.nrlimits; i++) {
        struct rlimit rl = {cfg.rlimits[i].soft, cfg.rlimits[i].hard};
        if (setrlimit(cfg.rlimits[i].res, &rl) < 0) child_fail("setrlimit");
    }
    pid_t main_pid = fork();
    if (main_pid < 0) child_fail("fork container process");
    if (main_pid == 0) {
        close(pp.init_w);
        sigprocmask(SIG_SETMASK, &old, NULL);
        setsid();
        if (tty_slave >= 0) {
            if (ioctl(tty_slave, TIOCSCTTY, 0) < 0) child_fail("set controlling terminal");
            if (dup2(tty_slave, 0) < 0 || dup2(tty_slave, 1) < 0 || dup2(tty_slave, 2) < 0) child_fail("dup2 tty");
            if (tty_slave > 2) close(tty_slave);
        }
        exec_process();
    }
    if (tty_slave >= 0) close(tty_slave);
    close(error_fd);
    error_fd = -1;
    // The init keeps no copy of the container's stdin, stdout and stderr.
    // A pipe an exiting process holds is released only after its namespaces
    // are: for the init that is the whole container's teardown (the mount
    // namespace's unmounts wait for RCU grace periods, ~4 ms here), and the
    // monitor, which waits for the end of both streams, would learn of the
    // main process' exit only then.
    close(0);
    close(1);
    close(2);
    run_init(main_pid, pp.init_w);
}

// MARK: - Monitor: logs and exit status

struct log_stream {
    int fd;
    const char *name;
    int attach_fd;
    char buf[16384];
    size_t len;
};

static int log_fd = -1;
static long long log_size = 0;

static void open_log(void) {
    if (!cfg.log_path) return;
    log_fd = open(cfg.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stat st;
    log_size = (log_fd >= 0 && fstat(log_fd, &st) == 0) ? st.st_size : 0;
}

static void rfc3339_now(char *out, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%09ldZ", base, ts.tv_nsec);
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

/// One CRI log record: `<time> <stream> <F|P> <text>\n`. Rotates to
/// `<log>.1` past the size limit (one old file kept, as kubelet's default
/// of a small number of files).
static void log_record(const char *stream, char tag, const char *text, size_t n) {
    if (log_fd < 0) return;
    if (cfg.log_max > 0 && log_size >= cfg.log_max) {
        char old[4096];
        snprintf(old, sizeof(old), "%s.1", cfg.log_path);
        close(log_fd);
        rename(cfg.log_path, old);
        open_log();
        if (log_fd < 0) return;
    }
    char head[96];
    char ts[48];
    rfc3339_now(ts, sizeof(ts));
    int h = snprintf(head, sizeof(head), "%s %s %c ", ts, stream, tag);
    struct iovec_like { const char *p; size_t n; };
    size_t total = (size_t)h + n + 1;
    char *line = malloc(total);
    if (!line) return;
    memcpy(line, head, (size_t)h);
    memcpy(line + h, text, n);
    line[total - 1] = '\n';
    write_all(log_fd, line, total);
    free(line);
    log_size += (long long)total;
}

static int pump(struct log_stream *s) {
    ssize_t r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
    if (r <= 0) {
        if (s->len > 0) log_record(s->name, 'F', s->buf, s->len);
        s->len = 0;
        return 0;
    }
    if (s->attach_fd >= 0) {
        const char *p = s->buf + s->len;
        size_t n = (size_t)r;
        while (n > 0) {
            ssize_t w = write(s->attach_fd, p, n);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) { s->attach_fd = -1; break; }
            p += w;
            n -= (size_t)w;
        }
    }
    s->len += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] == '\n') {
            log_record(s->name, 'F', s->buf + start, i - start);
            start = i + 1;
        }
    }
    if (start == 0 && s->len == sizeof(s->buf)) {
        log_record(s->name, 'P', s->buf, s->len);
        s->len = 0;
    } else if (start > 0) {
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
    }
    return 1;
}

static long long oom_kills(void) {
    if (!cfg.oom_path) return 0;
    size_t len = 0;
    char *text = read_file(cfg.oom_path, &len);
    if (!text) return 0;
    long long n = 0;
    char *p = strstr(text, "oom_kill ");
    if (p) n = strtoll(p + 9, NULL, 10);
    free(text);
    return n;
}

static void write_exit(int code, int sig, int oom, const char *error) {
    char ts[48];
    rfc3339_now(ts, sizeof(ts));
    if (cfg.exit_path) {
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", cfg.exit_path);
        FILE *f = fopen(tmp, "we");
        if (f) {
            fprintf(f, "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"", code, sig,
                    oom ? "true" : "false", ts);
            if (error) {
                fputs(",\"error\":\"", f);
                for (const char *c = error; *c; c++) {
                    if (*c == '"' || *c == '\\') fputc('\\', f);
                    if ((unsigned char)*c >= 0x20) fputc(*c, f);
                }
                fputc('"', f);
            }
            fputs("}\n", f);
            // No fsync: the file must outlive Berth (a process), not the host,
            // whose crash takes the container with it; fsync cost milliseconds.
            fclose(f);
            rename(tmp, cfg.exit_path);
        }
    }
}

/// Moves the calling process into the container's cgroups. On v1 it writes
/// "0" (itself) to each `tasks` file: the kernel moves a thread that migrates
/// itself without the global threadgroup lock, whose write side waits for an
/// RCU grace period (6-20 ms per start on a busy host, measured) when Berth
/// writes a pid to `cgroup.procs` instead. Only for single-threaded callers
/// (the shim's C processes): `tasks` moves one thread. v2 has no `tasks`
/// file; there "0" goes to `cgroup.procs`.
/// Returns the index of the cgroup that could not be joined (errno set), or -1.
static int join_cgroups_self(void) {
    for (int i = 0; i < cfg.ncgroups; i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s", cfg.cgroups[i]);
        char *slash = strrchr(path, '/');
        int fd = -1;
        if (slash && !strcmp(slash, "/cgroup.procs")) {
            strcpy(slash, "/tasks");
            fd = open(path, O_WRONLY | O_CLOEXEC);
        }
        if (fd < 0) fd = open(cfg.cgroups[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) {
            int saved = errno;
            if (fd >= 0) close(fd);
            errno = saved;
            return i;
        }
        close(fd);
    }
    return -1;
}

// MARK: - Auto-remove (--rm)

/// rmdir of a cgroup whose last task may still be on its way out (EBUSY):
/// kill what is left, retry briefly.
static void remove_cgroup_dir(const char *dir) {
    char procs[4096];
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
    for (int attempt = 0; attempt < 100; attempt++) {
        if (rmdir(dir) == 0 || errno == ENOENT) return;
        size_t len = 0;
        char *text = read_file(procs, &len);
        if (text) {
            for (char *p = text; *p;) {
                long pid = strtol(p, &p, 10);
                if (pid > 0) kill((pid_t)pid, SIGKILL);
                while (*p == '\n') p++;
                if (*p && (*p < '0' || *p > '9')) break;
            }
            free(text);
        }
        usleep(attempt < 10 ? 1000 : 20000);
    }
}

/// The container is gone from `berth ps` at once (its directory moves to the
/// trash, atomically) before anyone learns the exit code; then the shim
/// removes the cgroups, the directory and the image lease after telling
/// Berth, so a foreground `run --rm` does not wait for the removal. A shim
/// killed halfway leaves a trash directory that the next Berth collects.
/// `init`, if not 0, is the container's init, still to be reaped: after the
/// exit is reported and before its cgroups can go.
static void auto_remove(const char *exit_line, pid_t init) {
    if (rename(cfg.container_dir, cfg.trash_dir) < 0) {
        // Keep the record (with its exit file) rather than lose the container silently.
        if (init > 0) while (waitpid(init, NULL, 0) < 0 && errno == EINTR) {}
        write_exit(-1, 0, 0, "auto-remove: cannot move the container directory to the trash");
        status_write(exit_line);
        return;
    }
    status_write(exit_line);
    if (status_fd >= 0) close(status_fd);
    status_fd = -1;
    if (init > 0) while (waitpid(init, NULL, 0) < 0 && errno == EINTR) {}
    for (int i = 0; i < cfg.ncgroups; i++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", cfg.cgroups[i]);
        char *slash = strrchr(dir, '/');
        if (slash && !strcmp(slash, "/cgroup.procs")) {
            *slash = 0;
            remove_cgroup_dir(dir);
        }
    }
    if (cfg.lease_path) unlink(cfg.lease_path);
    berth_remove_tree(cfg.trash_dir);
}

// MARK: - run / pause

/// -t: the CLI sends the monitor SIGWINCH when its terminal is resized (the
/// monitor is in its own session, so the kernel does not); the monitor copies
/// the terminal's size to the container's pty, whose kernel side then signals
/// the container's foreground process group, as with a local terminal.
static volatile sig_atomic_t winch_pending = 0;

static void on_winch(int sig) {
    (void)sig;
    winch_pending = 1;
}

static void copy_window_size(int from, int to) {
    struct winsize ws;
    if (from >= 0 && ioctl(from, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) ioctl(to, TIOCSWINSZ, &ws);
}

/// The configuration's path from fd 7 on an early start, into `path`.
/// 0 on success, -1 if Berth closed the pipe without sending one.
static int receive_config_path(char *path, size_t n) {
    size_t got = 0;
    for (;;) {
        ssize_t r = read(7, path + got, n - 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
        if (memchr(path, '\n', got) || got == n - 1) break;
    }
    close(7);
    path[got] = 0;
    path[strcspn(path, "\n")] = 0;
    return path[0] == '/' ? 0 : -1;
}

static int monitor_main(int is_pause, int early) {
    char err[512];
    int outp[2], errp[2], errorp[2], syncp[2], initp[2], ttyp[2] = {-1, -1};
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(errorp, O_CLOEXEC) < 0 ||
        pipe2(syncp, O_CLOEXEC) < 0 || pipe2(initp, O_CLOEXEC) < 0 ||
        (cfg.tty && !is_pause && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ttyp) < 0)) {
        snprintf(err, sizeof(err), "err pipe: %s\n", strerror(errno));
        status_write(err);
        return 1;
    }
    unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | SIGCHLD;
    if (!cfg.netns) flags |= CLONE_NEWNET;
    if (!cfg.ipcns) flags |= CLONE_NEWIPC;
    if (!cfg.utsns) flags |= CLONE_NEWUTS;
    pid_t pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
    if (pid < 0) {
        snprintf(err, sizeof(err), "err clone: %s\n", strerror(errno));
        status_write(err);
        return 1;
    }
    if (pid == 0) {
        close(outp[0]);
        close(errp[0]);
        close(errorp[0]);
        close(syncp[1]);
        close(initp[0]);
        error_fd = errorp[1];
        if (status_fd >= 0) close(status_fd);
        if (attach_out >= 0) close(attach_out);
        if (attach_err >= 0) close(attach_err);
        if (ttyp[0] >= 0) close(ttyp[0]);
        struct child_pipes pp = {syncp[0], outp[1], errp[1], initp[1], ttyp[1]};
        container_child(pp, is_pause);
    }
    close(outp[1]);
    close(errp[1]);
    close(errorp[1]);
    close(syncp[0]);
    close(initp[1]);
    if (ttyp[1] >= 0) close(ttyp[1]);
    if (attach_in >= 0 && !cfg.tty) { close(attach_in); attach_in = -1; } // the container has it

    char sync_msg[4096] = "1";
    if (early) {
        // The namespaces exist; now the configuration (Berth was resolving
        // the image meanwhile). The child loads it too, from the same path.
        int want_attach = cfg.attach, want_stdin = cfg.stdin_attach, want_tty = cfg.tty;
        if (receive_config_path(sync_msg, sizeof(sync_msg) - 1) < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return 1;
        }
        int loaded = load_config(sync_msg, err, sizeof(err)) == 0;
        if (!loaded || cfg.netns || cfg.ipcns || cfg.utsns ||
            cfg.attach != want_attach || cfg.stdin_attach != want_stdin || cfg.tty != want_tty) {
            char line[700];
            snprintf(line, sizeof(line), "err %s\n",
                     loaded ? "early start: the configuration does not match how the shim was started" : err);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            status_write(line);
            return 1;
        }
        cfg.mode = "run";
        strcat(sync_msg, "\n");
    }
    size_t sync_len = strlen(sync_msg);
    if (write(syncp[1], sync_msg, sync_len) != (ssize_t)sync_len) {
        kill(pid, SIGKILL);
        return 1;
    }
    close(syncp[1]);

    struct child_error ce;
    ssize_t r;
    do { r = read(errorp[0], &ce, sizeof(ce)); } while (r < 0 && errno == EINTR);
    close(errorp[0]);
    if (r == (ssize_t)sizeof(ce)) {
        ce.step[sizeof(ce.step) - 1] = 0;
        snprintf(err, sizeof(err), "err %s: %s\n", ce.step, strerror(ce.err));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        status_write(err);
        err[strlen(err) - 1] = 0;
        write_exit(127, 0, 0, err + 4);
        return 1;
    }
    int master = -1;
    if (ttyp[0] >= 0) {
        master = receive_fd(ttyp[0]);
        close(ttyp[0]);
    }
    char ok[64];
    snprintf(ok, sizeof(ok), "ok %d %d\n", (int)pid, (int)getpid());
    status_write(ok);

    open_log();
    // With -t the terminal's output is the container's stdout; the pipes
    // then carry nothing and close when its init exits.
    static struct log_stream so, se, sty;
    so.fd = outp[0]; so.name = "stdout"; so.attach_fd = master >= 0 ? -1 : attach_out; so.len = 0;
    se.fd = errp[0]; se.name = "stderr"; se.attach_fd = attach_err; se.len = 0;
    sty.fd = master; sty.name = "stdout"; sty.attach_fd = attach_out; sty.len = 0;
    int open_out = 1, open_err = 1, tty_open = master >= 0, open_in = master >= 0 && attach_in >= 0;
    // SIGWINCH is blocked except inside ppoll, so that a resize between two
    // polls is not lost; the terminal is whichever of the CLI's fds is one.
    sigset_t poll_mask;
    sigprocmask(SIG_SETMASK, NULL, &poll_mask);
    int terminal = -1;
    if (master >= 0) {
        terminal = (attach_out >= 0 && isatty(attach_out)) ? attach_out : (attach_in >= 0 && isatty(attach_in)) ? attach_in : -1;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_winch;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGWINCH, &sa, NULL);
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGWINCH);
        sigprocmask(SIG_BLOCK, &block, NULL);
        sigdelset(&poll_mask, SIGWINCH);
        copy_window_size(terminal, master); // a resize before the handler existed
    }
    while (open_out || open_err || tty_open) {
        struct pollfd fds[4];
        int n = 0;
        if (open_out) { fds[n].fd = so.fd; fds[n].events = POLLIN; n++; }
        if (open_err) { fds[n].fd = se.fd; fds[n].events = POLLIN; n++; }
        if (tty_open) { fds[n].fd = sty.fd; fds[n].events = POLLIN; n++; }
        if (open_in) { fds[n].fd = attach_in; fds[n].events = POLLIN; n++; }
        int ready = ppoll(fds, (nfds_t)n, NULL, &poll_mask);
        if (winch_pending) {
            winch_pending = 0;
            if (tty_open) copy_window_size(terminal, master);
        }
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (fds[i].fd == attach_in) {
                // Keystrokes (or piped input) to the terminal.
                char buf[4096];
                ssize_t r = read(attach_in, buf, sizeof(buf));
                if (r < 0 && errno == EINTR) continue;
                if (r <= 0) { open_in = 0; continue; }
                write_all(master, buf, (size_t)r);
                continue;
            }
            struct log_stream *s = fds[i].fd == so.fd ? &so : fds[i].fd == se.fd ? &se : &sty;
            if (!pump(s)) {
                if (s == &so) open_out = 0; else if (s == &se) open_err = 0; else tty_open = 0;
            }
        }
    }
    if (master >= 0) close(master);
    // The streams have ended: let go of the CLI's stdout, stderr and stdin
    // now, not after the --rm cleanup below, or `out=$(berth run --rm …)`
    // would wait for that cleanup too.
    if (attach_out >= 0) { close(attach_out); attach_out = -1; }
    if (attach_err >= 0) { close(attach_err); attach_err = -1; }
    if (attach_in >= 0) { close(attach_in); attach_in = -1; }
    // The init writes its process' status just before it exits; its own
    // end (the pid and mount namespaces torn down) can take milliseconds
    // more, which a --rm container's exit report need not wait for.
    int main_status = 0;
    do { r = read(initp[0], &main_status, sizeof(main_status)); } while (r < 0 && errno == EINTR);
    int got = (r == (ssize_t)sizeof(main_status));
    int st = 0, reaped = 0;
    if (!got || !cfg.autoremove) {
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        reaped = 1;
        if (!got) main_status = st;
    }
    int code, sig = 0;
    if (WIFEXITED(main_status)) code = WEXITSTATUS(main_status);
    else { sig = WTERMSIG(main_status); code = 128 + sig; }
    int oom = oom_kills() > 0;
    char line[96];
    snprintf(line, sizeof(line), "exit %d %d %d\n", code, sig, oom);
    if (cfg.autoremove && cfg.container_dir && cfg.trash_dir) {
        if (log_fd >= 0) close(log_fd);
        log_fd = -1;
        auto_remove(line, reaped ? 0 : pid);
        return 0;
    }
    write_exit(code, sig, oom, NULL);
    status_write(line);
    if (log_fd >= 0) close(log_fd);
    return 0;
}

// MARK: - exec

static volatile pid_t exec_child = 0;

static void exec_timeout(int sig) {
    (void)sig;
    if (exec_child > 0) kill(exec_child, SIGKILL);
}

/// `berth exec`: joins the container's cgroups and namespaces, forks (the
/// pid namespace applies to children), and runs the command with the same
/// capabilities, no_new_privs and seccomp filter. stdio is inherited.
static int exec_main(void) {
    int failed = join_cgroups_self();
    if (failed >= 0) {
        fprintf(stderr, "berth-shim: join cgroup %s: %s\n", cfg.cgroups[failed], strerror(errno));
        return 125;
    }
    const char *paths[] = {cfg.pidns, cfg.ipcns, cfg.utsns, cfg.netns, cfg.mntns};
    int types[] = {CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET, CLONE_NEWNS};
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = -1;
        if (!paths[i]) continue;
        fds[i] = open(paths[i], O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            fprintf(stderr, "berth-shim: open %s: %s\n", paths[i], strerror(errno));
            return 125;
        }
    }
    for (int i = 0; i < 5; i++) {
        if (fds[i] < 0) continue;
        if (setns(fds[i], types[i]) < 0) {
            fprintf(stderr, "berth-shim: setns %s: %s\n", paths[i], strerror(errno));
            return 125;
        }
        close(fds[i]);
    }
    int errorp[2];
    if (pipe2(errorp, O_CLOEXEC) < 0) return 125;
    pid_t pid = fork();
    if (pid < 0) { perror("berth-shim: fork"); return 125; }
    if (pid == 0) {
        close(errorp[0]);
        error_fd = errorp[1];
        if (status_fd >= 0) close(status_fd);
        exec_process();
    }
    close(errorp[1]);
    exec_child = pid;
    if (cfg.timeout > 0) {
        signal(SIGALRM, exec_timeout);
        alarm((unsigned)cfg.timeout);
    }
    struct child_error ce;
    ssize_t r;
    do { r = read(errorp[0], &ce, sizeof(ce)); } while (r < 0 && errno == EINTR);
    close(errorp[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (r == (ssize_t)sizeof(ce)) {
        ce.step[sizeof(ce.step) - 1] = 0;
        fprintf(stderr, "berth exec: %s: %s\n", ce.step, strerror(ce.err));
        return 126;
    }
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

// MARK: - Entry

int berth_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)ftw;
    if (flag == FTW_DP) return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int berth_remove_tree(const char *path) {
    // overlayfs' work dir holds a 000-mode "work" dir: root can remove it anyway.
    return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

int berth_write_file(const char *path, const void *data, size_t len) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { int e = errno; close(fd); unlink(tmp); errno = e; return -1; }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) { int e = errno; unlink(tmp); errno = e; return -1; }
    return 0;
}

int berth_openpty(int *master, int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    char name[64];
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) { close(m); return -1; }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) { close(m); return -1; }
    *master = m;
    *slave = s;
    return 0;
}

int berth_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int berth_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

unsigned long long berth_proc_start_time(int pid) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) return 0;
    char *p = strrchr(text, ')'); // comm may contain spaces and parentheses
    unsigned long long start = 0;
    if (p) {
        // Fields after comm start at 3 (state); starttime is field 22.
        int field = 2;
        for (char *c = p + 1; *c; c++) {
            if (*c == ' ') {
                field++;
                if (field == 22) { start = strtoull(c + 1, NULL, 10); break; }
            }
        }
    }
    free(text);
    return start;
}

int berth_shim_main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: berth-shim run|pause|exec CONFIG, or berth-shim run - [attach] [stdin] [tty]\n");
        return 2;
    }
    const char *mode = argv[1];
    shim_argv = argv;
    shim_argc = argc;
    char err[600];
    int early = !strcmp(mode, "run") && !strcmp(argv[2], "-");
    if (early) {
        // Early start: the configuration comes later (fd 7); what has to be
        // known before the clone comes as words.
        memset(&cfg, 0, sizeof(cfg));
        for (int i = 3; i < argc; i++) {
            if (!strcmp(argv[i], "attach")) cfg.attach = 1;
            else if (!strcmp(argv[i], "stdin")) cfg.stdin_attach = 1;
            else if (!strcmp(argv[i], "tty")) cfg.tty = 1;
        }
        if (fcntl(7, F_GETFD) < 0) {
            fprintf(stderr, "berth-shim: early start without the configuration pipe on fd 7\n");
            return 2;
        }
        fcntl(7, F_SETFD, FD_CLOEXEC);
    } else if (load_config(argv[2], err, sizeof(err)) < 0) {
        fprintf(stderr, "berth-shim: %s\n", err);
        if (fcntl(3, F_GETFD) >= 0) {
            status_fd = 3;
            char line[700];
            snprintf(line, sizeof(line), "err %s\n", err);
            status_write(line);
        }
        return 2;
    }
    cfg.mode = mode;
    signal(SIGPIPE, SIG_IGN);
    if (fcntl(3, F_GETFD) >= 0) {
        status_fd = 3;
        fcntl(3, F_SETFD, FD_CLOEXEC);
    }
    if (cfg.attach) {
        // Move the attach fds out of the way of the pipes made later.
        attach_out = fcntl(4, F_DUPFD_CLOEXEC, 10);
        attach_err = fcntl(5, F_DUPFD_CLOEXEC, 10);
        close(4);
        close(5);
    }
    if (cfg.stdin_attach) {
        attach_in = fcntl(6, F_DUPFD_CLOEXEC, 10);
        close(6);
    }
    if (!strcmp(mode, "exec")) return exec_main();
    int is_pause = !strcmp(mode, "pause");
    if (!is_pause && strcmp(mode, "run") != 0) {
        fprintf(stderr, "berth-shim: unknown mode %s\n", mode);
        return 2;
    }
    // Detach from Berth: a new session, reparented away from Berth, so the
    // container outlives a Berth restart.
    pid_t d = fork();
    if (d < 0) { perror("berth-shim: fork"); return 1; }
    if (d > 0) _exit(0);
    setsid();
    if (chdir("/") < 0) return 1;
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    return monitor_main(is_pause, early);
}
