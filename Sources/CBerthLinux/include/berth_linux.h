#ifndef BERTH_LINUX_H
#define BERTH_LINUX_H

#include <spawn.h>

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

/// Removes a directory tree without following symlinks (nftw, depth first):
/// much faster than FileManager for a container's upper/work dirs.
int berth_remove_tree(const char *path);

/// Writes `len` bytes to `path` atomically (temp file + rename).
int berth_write_file(const char *path, const void *data, size_t len);

#endif
