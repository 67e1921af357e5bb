import BerthAPI
import Foundation
import Testing

@testable import BerthRuntime

/// The compiled seccomp program, run through a classic-BPF interpreter (the
/// instructions libseccomp emits): the verdicts Docker's profile gives,
/// whatever shape (chain or binary tree) libseccomp built. The root tests
/// check the same rules in real containers, under the kernel.
@Suite struct SeccompProgramTests {
    static let x86_64: UInt32 = 0xC000_003E
    static let i386: UInt32 = 0x4000_0003
    static let allow: UInt32 = 0x7fff_0000
    static func errno(_ e: Int32) -> UInt32 { 0x0005_0000 | UInt32(e) }

    struct BadInstruction: Error { var code: UInt16 }

    /// Runs `program` on a `struct seccomp_data` and returns the action.
    static func run(_ program: [UInt8], nr: Int32, arch: UInt32 = x86_64, args: [UInt64] = []) throws -> UInt32 {
        var data = [UInt8](repeating: 0, count: 64)
        func put32(_ value: UInt32, at offset: Int) {
            for i in 0..<4 { data[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
        }
        put32(UInt32(bitPattern: nr), at: 0)
        put32(arch, at: 4)
        for (i, arg) in args.enumerated() {
            put32(UInt32(truncatingIfNeeded: arg), at: 16 + 8 * i)
            put32(UInt32(truncatingIfNeeded: arg >> 32), at: 20 + 8 * i)
        }
        func load32(_ offset: Int) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(data[offset + $1]) << (8 * UInt32($1)) }
        }
        var a: UInt32 = 0, x: UInt32 = 0
        var memory = [UInt32](repeating: 0, count: 16)
        var pc = 0
        while pc * 8 + 8 <= program.count {
            let base = pc * 8
            let code = UInt16(program[base]) | UInt16(program[base + 1]) << 8
            let jt = Int(program[base + 2]), jf = Int(program[base + 3])
            let k = (0..<4).reduce(UInt32(0)) { $0 | UInt32(program[base + 4 + $1]) << (8 * UInt32($1)) }
            pc += 1
            func jump(_ taken: Bool) { pc += taken ? jt : jf }
            switch code {
            case 0x20: a = load32(Int(k))                 // ld [k]
            case 0x60: a = memory[Int(k)]                 // ld M[k]
            case 0x61: x = memory[Int(k)]                 // ldx M[k]
            case 0x00: a = k                              // ld #k
            case 0x01: x = k                              // ldx #k
            case 0x02: memory[Int(k)] = a                 // st M[k]
            case 0x03: memory[Int(k)] = x                 // stx M[k]
            case 0x54: a &= k                             // and #k
            case 0x44: a |= k                             // or #k
            case 0x07: x = a                              // tax
            case 0x87: a = x                              // txa
            case 0x05: pc += Int(k)                       // ja
            case 0x15: jump(a == k)                       // jeq #k
            case 0x25: jump(a > k)                        // jgt #k
            case 0x35: jump(a >= k)                       // jge #k
            case 0x45: jump(a & k != 0)                   // jset #k
            case 0x1d: jump(a == x)                       // jeq x
            case 0x2d: jump(a > x)                        // jgt x
            case 0x3d: jump(a >= x)                       // jge x
            case 0x4d: jump(a & x != 0)                   // jset x
            case 0x06: return k                           // ret #k
            case 0x16: return a                           // ret a
            default: throw BadInstruction(code: code)
            }
        }
        throw BadInstruction(code: 0xffff) // ran off the end
    }

    @Test func dockerDefaultVerdicts() throws {
        let program = try SeccompProfile.compile(capabilities: .dockerDefault)
        let run = { (nr: Int32, args: [UInt64]) in try Self.run(program, nr: nr, args: args) }
        #expect(try run(0, []) == Self.allow)                          // read
        #expect(try run(59, []) == Self.allow)                         // execve
        #expect(try run(250, []) == Self.errno(EPERM))                 // keyctl
        #expect(try run(248, []) == Self.errno(EPERM))                 // add_key
        #expect(try run(246, []) == Self.errno(EPERM))                 // kexec_load
        #expect(try run(323, []) == Self.errno(EPERM))                 // userfaultfd
        #expect(try run(321, []) == Self.errno(EPERM))                 // bpf
        #expect(try run(298, []) == Self.errno(EPERM))                 // perf_event_open
        #expect(try run(165, []) == Self.errno(EPERM))                 // mount
        #expect(try run(166, []) == Self.errno(EPERM))                 // umount2
        #expect(try run(272, []) == Self.errno(EPERM))                 // unshare
        #expect(try run(308, []) == Self.errno(EPERM))                 // setns
        #expect(try run(56, [0x0120_0011]) == Self.allow)              // clone as fork(): CHILD_SETTID|CHILD_CLEARTID|SIGCHLD
        #expect(try run(56, [0x1000_0000 | 0x11]) == Self.errno(EPERM)) // clone with CLONE_NEWUSER
        #expect(try run(56, [0x2000_0000 | 0x11]) == Self.errno(EPERM)) // clone with CLONE_NEWNET
        #expect(try run(435, []) == Self.errno(ENOSYS))                // clone3: libc falls back to clone
        #expect(try run(41, [2, 1, 0]) == Self.allow)                  // socket(AF_INET)
        #expect(try run(41, [40, 1, 0]) == Self.errno(EPERM))          // socket(AF_VSOCK)
        #expect(try run(135, [0]) == Self.allow)                       // personality(PER_LINUX)
        #expect(try run(135, [0x0400_0000]) == Self.errno(EPERM))      // personality(other)
        #expect(try run(9999, []) == Self.errno(EPERM))                // unknown syscall
        // 32-bit binaries meet the same rules with their own numbers.
        #expect(try Self.run(program, nr: 3, arch: Self.i386) == Self.allow)              // read
        #expect(try Self.run(program, nr: 288, arch: Self.i386) == Self.errno(EPERM))     // keyctl
        // Another architecture is not allowed through.
        #expect(try Self.run(program, nr: 0, arch: 0xC000_00B7) != Self.allow)
    }

    @Test func sysAdminOpensTheNamespaceCalls() throws {
        let program = try SeccompProfile.compile(capabilities: try CapabilitySet.resolve(add: ["SYS_ADMIN"], drop: []))
        #expect(try Self.run(program, nr: 165) == Self.allow)                      // mount
        #expect(try Self.run(program, nr: 272) == Self.allow)                      // unshare
        #expect(try Self.run(program, nr: 56, args: [0x1000_0000 | 0x11]) == Self.allow) // clone(CLONE_NEWUSER)
        #expect(try Self.run(program, nr: 250) == Self.errno(EPERM))               // keyctl stays denied
    }
}
