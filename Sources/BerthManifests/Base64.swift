/// Strict standard base64 (RFC 4648 with padding), as Go's
/// `base64.StdEncoding` which the API server uses for Secret `data`: the
/// error names the offset of the first bad byte, never the value.
enum Base64 {
    enum Failure: Error, Equatable { case illegal(at: Int) }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func decode(_ text: String) -> Result<[UInt8], Failure> {
        // Go skips \r and \n anywhere; offsets count the original bytes.
        var symbols: [(UInt8, Int)] = []
        symbols.reserveCapacity(text.utf8.count)
        for (offset, byte) in text.utf8.enumerated() where byte != 0x0A && byte != 0x0D {
            symbols.append((byte, offset))
        }
        let count = symbols.count
        var padding = 0
        for (position, (byte, offset)) in symbols.enumerated() {
            if byte == UInt8(ascii: "=") {
                // Padding: only the last one or two symbols, and nothing real after it.
                guard position >= count - 2, count % 4 == 0, position >= 2 else { return .failure(.illegal(at: offset)) }
                padding += 1
            } else if table[Int(byte)] == 0xFF || padding > 0 {
                return .failure(.illegal(at: offset))
            }
        }
        guard count % 4 == 0 else { return .failure(.illegal(at: text.utf8.count)) }
        var output: [UInt8] = []
        output.reserveCapacity(count / 4 * 3)
        var index = 0
        while index < count {
            var chunk: UInt32 = 0
            for position in 0..<4 {
                let byte = symbols[index + position].0
                chunk = chunk << 6 | (byte == UInt8(ascii: "=") ? 0 : UInt32(table[Int(byte)]))
            }
            output.append(UInt8(chunk >> 16 & 0xFF))
            output.append(UInt8(chunk >> 8 & 0xFF))
            output.append(UInt8(chunk & 0xFF))
            index += 4
        }
        output.removeLast(padding)
        return .success(output)
    }

    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 2 < input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output += [alphabet[Int(chunk >> 18 & 63)], alphabet[Int(chunk >> 12 & 63)],
                       alphabet[Int(chunk >> 6 & 63)], alphabet[Int(chunk & 63)]]
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let chunk = UInt32(input[index]) << 16
            output += [alphabet[Int(chunk >> 18 & 63)], alphabet[Int(chunk >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output += [alphabet[Int(chunk >> 18 & 63)], alphabet[Int(chunk >> 12 & 63)],
                       alphabet[Int(chunk >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: output, as: UTF8.self)
    }
}
