import Foundation

/// C source of the probe program compiled with `gcc -static` at test time
/// (busybox lacks keyctl, bpf, userfaultfd and a memory hog).
enum Probe {
    static let source = #"""
// Compiled with gcc -static at test time and copied into the busybox rootfs:
// tries one forbidden (or allowed) thing and prints "ok" or the errno name.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(long rc) {
    if (rc < 0) { printf("%s\n", strerrorname_np(errno)); return 1; }
    printf("ok\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *what = argv[1];
    if (!strcmp(what, "keyctl")) return report(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
    if (!strcmp(what, "add_key")) return report(syscall(SYS_add_key, "user", "berth", "x", 1, -3));
    if (!strcmp(what, "bpf")) return report(syscall(SYS_bpf, 0, NULL, 0));
    if (!strcmp(what, "userfaultfd")) return report(syscall(SYS_userfaultfd, 0));
    if (!strcmp(what, "unshare-user")) return report(unshare(CLONE_NEWUSER));
    if (!strcmp(what, "unshare-mnt")) return report(unshare(CLONE_NEWNS));
    if (!strcmp(what, "mount")) return report(mount("none", "/mnt", "tmpfs", 0, NULL));
    if (!strcmp(what, "clone-newns")) {
        long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid((pid_t)pid, NULL, 0);
        return report(pid);
    }
    if (!strcmp(what, "fork")) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid > 0) waitpid(pid, NULL, 0);
        return report(pid);
    }
    if (!strcmp(what, "hog")) {
        // Touch memory page by page until the cgroup's OOM killer stops us.
        for (size_t total = 0; total < ((size_t)1 << 32); total += 1 << 20) {
            char *p = malloc(1 << 20);
            if (!p) return report(-1);
            memset(p, 1, 1 << 20);
        }
        return report(0);
    }
    return 2;
}
"""#

    /// Compiles the probe into `rootfs/bin/probe` (once per rootfs). Suites
    /// run in parallel and each that uses the probe installs it: the binary
    /// is built aside and renamed into place, so no suite sees half of it.
    static func install(into rootfs: String) throws {
        let dst = rootfs + "/bin/probe"
        if FileManager.default.fileExists(atPath: dst) { return }
        let unique = "\(getpid())-\(UUID().uuidString)"
        let src = NSTemporaryDirectory() + "berth-probe-\(unique).c"
        let built = dst + ".tmp-" + unique
        try source.write(toFile: src, atomically: true, encoding: .utf8)
        defer {
            try? FileManager.default.removeItem(atPath: src)
            try? FileManager.default.removeItem(atPath: built)
        }
        try Fixtures.run("/usr/bin/gcc", ["-static", "-O1", "-o", built, src])
        guard rename(built, dst) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }
}
