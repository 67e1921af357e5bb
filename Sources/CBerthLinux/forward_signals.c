// Signal forwarding for `berth run` in the foreground: Ctrl-C and SIGTERM go
// to the container, a terminal resize to its monitor, as with `docker run`.
//
// A plain signal handler, not a Dispatch signal source: the source needs
// libdispatch's manager thread, and `berth run` otherwise runs on one thread
// (CurrentThreadExecutor). The process is named by a pidfd, so a pid that
// was reused after the container ended cannot be signalled; the handler does
// nothing but pidfd_send_signal(2), which is async-signal-safe.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth_linux.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static volatile int forward_fds[65] = {
    [0 ... 64] = -1,
};

static void forward(int sig) {
    int saved = errno;
    int fd = sig > 0 && sig <= 64 ? forward_fds[sig] : -1;
    if (fd >= 0) syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
    errno = saved;
}

int berth_forward_signal(int sig, int pid) {
    if (sig <= 0 || sig > 64) {
        errno = EINVAL;
        return -1;
    }
    int old = forward_fds[sig];
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    if (pid <= 0) {
        // Back to the default: the signal ends (or is ignored by) this process again.
        sa.sa_handler = SIG_DFL;
        sigaction(sig, &sa, NULL);
        forward_fds[sig] = -1;
        if (old >= 0) close(old);
        return 0;
    }
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return -1;
    forward_fds[sig] = fd;
    if (old >= 0) close(old);
    sa.sa_handler = forward;
    sa.sa_flags = SA_RESTART;
    if (sigaction(sig, &sa, NULL) < 0) return -1;
    // A parent may have started us with the signal blocked (a test runner's
    // thread, a supervisor): then it would wait, never forwarded.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 0 : -1;
}
