#ifndef BERTH_LINUX_H
#define BERTH_LINUX_H

#include <spawn.h>
#include <stddef.h>

/// The whole container monitor ("shim"), in C so that the child of clone(2)
/// runs no Swift. `argv` is `berth-shim run|pause|exec CONFIG`; CONFIG is a
/// file of NUL-terminated key/value strings written by BerthRuntime
/// (ShimConfig.swift). Returns the process exit code.
int berth_shim_main(int argc, char **argv);

/// Start time of a process in clock ticks since boot (field 22 of
/// /proc/PID/stat), or 0 if the process does not exist. Used to re-adopt
/// containers after a restart without being fooled by pid reuse.
unsigned long long berth_proc_start_time(int pid);

/// pipe2(fds, O_CLOEXEC): pipe2 is hidden from Swift behind _GNU_SOURCE.
int berth_pipe_cloexec(int fds[2]);

/// memfd_create(name, MFD_CLOEXEC), for libseccomp's export of the BPF program.
int berth_memfd(const char *name);

/// posix_spawn_file_actions_addclosefrom_np: nothing of Berth's leaks into the shim.
int berth_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);
/// From now on `sig` goes to process `pid` (by pidfd); pid <= 0 restores the default.
int berth_forward_signal(int sig, int pid);

/// Removes a directory tree without following symlinks (nftw, depth first):
/// much faster than FileManager for a container's upper/work dirs.
int berth_remove_tree(const char *path);

/// Writes `len` bytes to `path` atomically (temp file + rename).
int berth_write_file(const char *path, const void *data, size_t len);

/// One device cgroup rule, as a line of v1's devices.allow: type 'c', 'b' or
/// 'a' (all), major/minor (-1 = any), access bits 1 = mknod, 2 = read, 4 = write.
struct berth_device_rule {
    char type;
    int major;
    int minor;
    int access;
};

/// cgroup v2 device control: builds a BPF_PROG_TYPE_CGROUP_DEVICE program
/// that allows exactly `rules` (everything else EPERM) and attaches it to the
/// cgroup directory (BPF_F_ALLOW_MULTI). Returns 0, or -1 with `err` set.
int berth_cgroup_attach_devices(const char *cgroup_dir, const struct berth_device_rule *rules, int count,
                                char *err, size_t errlen);

/// A host pty pair (posix_openpt + grantpt + unlockpt + open of the slave),
/// both O_CLOEXEC|O_NOCTTY: tests stand it in for a user's terminal.
int berth_openpty(int *master, int *slave);

#endif
