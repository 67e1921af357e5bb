// Device access control on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program.
//
// Why: cgroup v2 has no devices.allow/devices.deny files. The kernel instead
// runs the BPF programs attached (BPF_CGROUP_DEVICE) to a task's cgroup, and
// to every ancestor (BPF_F_ALLOW_MULTI), on each open/mknod of a device node;
// 0 denies with EPERM. This is what runc and crun do on v2. The program is a
// plain allowlist generated from the same rules as the v1 devices.allow file,
// assembled by hand (no libbpf, no clang at run time): a dozen instructions
// per rule. Once attached it lives as long as the cgroup; the fd can close.
#define _GNU_SOURCE
#include "berth_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_INSNS 512

static struct bpf_insn insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm) {
    struct bpf_insn i;
    memset(&i, 0, sizeof(i));
    i.code = code;
    i.dst_reg = dst;
    i.src_reg = src;
    i.off = off;
    i.imm = imm;
    return i;
}

#define LDX_W(dst, src, off) insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define MOV_REG(dst, src) insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV_IMM(dst, imm) insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define AND_IMM(dst, imm) insn(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH_IMM(dst, imm) insn(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define JNE_IMM(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static int berth_device_program(const struct berth_device_rule *rules, int count, struct bpf_insn *out, int max) {
    int n = 0;
    if (max < 7) return -1;
    // r2 = access_type; r3 = device type (low 16 bits); r4 = access (high 16); r5 = major; r6 = minor.
    out[n++] = LDX_W(2, 1, 0);
    out[n++] = MOV_REG(3, 2);
    out[n++] = AND_IMM(3, 0xffff);
    out[n++] = MOV_REG(4, 2);
    out[n++] = RSH_IMM(4, 16);
    out[n++] = LDX_W(5, 1, 4);
    out[n++] = LDX_W(6, 1, 8);
    for (int r = 0; r < count; r++) {
        const struct berth_device_rule *rule = &rules[r];
        struct bpf_insn block[8];
        int b = 0;
        // Every jump below goes to the end of this block (the next rule); offsets are patched after.
        int jumps[4], nj = 0;
        if (rule->type == 'c' || rule->type == 'b') {
            jumps[nj++] = b;
            block[b++] = JNE_IMM(3, rule->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0);
        } else if (rule->type != 'a') {
            errno = EINVAL;
            return -1;
        }
        // Requested access must be a subset of the rule's: (access & ~allowed) == 0.
        block[b++] = MOV_REG(7, 4);
        block[b++] = AND_IMM(7, (~rule->access) & 0x7);
        jumps[nj++] = b;
        block[b++] = JNE_IMM(7, 0, 0);
        if (rule->major >= 0) { jumps[nj++] = b; block[b++] = JNE_IMM(5, rule->major, 0); }
        if (rule->minor >= 0) { jumps[nj++] = b; block[b++] = JNE_IMM(6, rule->minor, 0); }
        block[b++] = MOV_IMM(0, 1);
        block[b++] = EXIT();
        for (int j = 0; j < nj; j++) block[jumps[j]].off = (__s16)(b - jumps[j] - 1);
        if (n + b + 2 > max) { errno = E2BIG; return -1; }
        memcpy(out + n, block, sizeof(struct bpf_insn) * (size_t)b);
        n += b;
    }
    out[n++] = MOV_IMM(0, 0);
    out[n++] = EXIT();
    return n;
}

int berth_cgroup_attach_devices(const char *cgroup_dir, const struct berth_device_rule *rules, int count,
                                char *err, size_t errlen) {
    struct bpf_insn prog[MAX_INSNS];
    int n = berth_device_program(rules, count, prog, MAX_INSNS);
    if (n < 0) { snprintf(err, errlen, "build device program: %s", strerror(errno)); return -1; }

    static char log[8192];
    log[0] = 0;
    union bpf_attr load;
    memset(&load, 0, sizeof(load));
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insn_cnt = (__u32)n;
    load.insns = (__u64)(unsigned long)prog;
    load.license = (__u64)(unsigned long)"Apache";
    load.log_buf = (__u64)(unsigned long)log;
    load.log_size = sizeof(log);
    load.log_level = 1;
    int prog_fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
    if (prog_fd < 0) {
        // The verifier log only when the program was refused; it says which instruction.
        int e = errno;
        snprintf(err, errlen, "load device program: %s%s%.300s", strerror(e), log[0] ? ": " : "", log);
        errno = e;
        return -1;
    }
    int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) {
        int e = errno;
        snprintf(err, errlen, "open %s: %s", cgroup_dir, strerror(e));
        close(prog_fd);
        errno = e;
        return -1;
    }
    union bpf_attr attach;
    memset(&attach, 0, sizeof(attach));
    attach.target_fd = (__u32)cg;
    attach.attach_bpf_fd = (__u32)prog_fd;
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach));
    int e = errno;
    close(cg);
    close(prog_fd);
    if (rc < 0) {
        snprintf(err, errlen, "attach device program to %s: %s", cgroup_dir, strerror(e));
        errno = e;
        return -1;
    }
    return 0;
}
