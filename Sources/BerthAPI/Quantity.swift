import Foundation

/// A Kubernetes resource quantity: `250m`, `0.5`, `128Mi`, `1G`, `1e3`.
///
/// The value is kept exactly, in nano-units, so that `1000m` and `1` compare
/// equal and format to the same canonical text (as the API server does); a
/// plan that compared the raw strings would report drift that is not there.
public struct Quantity: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Format: String, Sendable, Hashable, Codable {
        case decimalSI, binarySI, decimalExponent
    }

    /// The value in units of 10⁻⁹.
    public let nanoValue: Int128
    public let format: Format

    public init(nanoValue: Int128, format: Format = .decimalSI) {
        self.nanoValue = nanoValue
        self.format = format
    }

    /// Parses Kubernetes' quantity syntax; nil when `text` is not one.
    public init?(_ text: String) {
        var chars = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !chars.isEmpty else { return nil }
        var negative = false
        if chars.first == "+" || chars.first == "-" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        var integerDigits = ""
        var fractionDigits = ""
        var seenDot = false
        while let c = chars.first, c.isASCII, c.isNumber || c == "." {
            if c == "." {
                if seenDot { return nil }
                seenDot = true
            } else if seenDot {
                fractionDigits.append(c)
            } else {
                integerDigits.append(c)
            }
            chars = chars.dropFirst()
        }
        guard !(integerDigits.isEmpty && fractionDigits.isEmpty) else { return nil }
        let suffix = String(chars)

        var decimalExponent = 0
        var binaryExponent = 0
        var format = Format.decimalSI
        switch suffix {
        case "": break
        case "n": decimalExponent = -9
        case "u": decimalExponent = -6
        case "m": decimalExponent = -3
        case "k": decimalExponent = 3
        case "M": decimalExponent = 6
        case "G": decimalExponent = 9
        case "T": decimalExponent = 12
        case "P": decimalExponent = 15
        case "E": decimalExponent = 18
        case "Ki": binaryExponent = 10; format = .binarySI
        case "Mi": binaryExponent = 20; format = .binarySI
        case "Gi": binaryExponent = 30; format = .binarySI
        case "Ti": binaryExponent = 40; format = .binarySI
        case "Pi": binaryExponent = 50; format = .binarySI
        case "Ei": binaryExponent = 60; format = .binarySI
        default:
            guard let first = suffix.first, first == "e" || first == "E",
                  let exponent = Int(suffix.dropFirst()), abs(exponent) <= 27
            else { return nil }
            decimalExponent = exponent
            format = .decimalExponent
        }

        // mantissa = integerDigits.fractionDigits, exact, as digits × 10^-fraction
        let digits = (integerDigits + fractionDigits).drop { $0 == "0" }
        guard digits.count <= 30 else { return nil }
        var mantissa = Int128(0)
        for d in digits {
            mantissa = mantissa * 10 + Int128(d.wholeNumberValue ?? 0)
        }
        var exponent10 = decimalExponent - fractionDigits.count + 9  // to nano-units
        var value = mantissa
        if binaryExponent > 0 {
            value *= Int128(1) << binaryExponent
        }
        while exponent10 > 0 {
            let (product, overflow) = value.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            value = product
            exponent10 -= 1
        }
        var roundUp = false
        while exponent10 < 0 {
            if value % 10 != 0 { roundUp = true }
            value /= 10
            exponent10 += 1
        }
        if roundUp { value += 1 }  // Kubernetes rounds sub-nano precision up
        self.nanoValue = negative ? -value : value
        self.format = format
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self.init(nanoValue: Int128(number) * 1_000_000_000)
            return
        }
        if let number = try? container.decode(Double.self), let parsed = Quantity("\(number)") {
            self = parsed
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = Quantity(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "'\(text)' is not a quantity (examples: 250m, 0.5, 128Mi, 1G)")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanoValue == rhs.nanoValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(nanoValue) }

    /// The value in thousandths, rounded up: millicores for cpu.
    public var milliValue: Int64 {
        let (quotient, remainder) = nanoValue.quotientAndRemainder(dividingBy: 1_000_000)
        return Int64(clamping: remainder > 0 ? quotient + 1 : quotient)
    }

    /// The value rounded up to a whole number: bytes for memory.
    public var value: Int64 {
        let (quotient, remainder) = nanoValue.quotientAndRemainder(dividingBy: 1_000_000_000)
        return Int64(clamping: remainder > 0 ? quotient + 1 : quotient)
    }

    /// Canonical text, as the API server prints it: `1000m` → `1`,
    /// `0.5` → `500m`, `1024Mi` → `1Gi`, `0.5Gi` → `512Mi`.
    public var description: String {
        if nanoValue == 0 { return "0" }
        let sign = nanoValue < 0 ? "-" : ""
        let magnitude = nanoValue.magnitude
        if format == .binarySI, magnitude % 1_000_000_000 == 0 {
            var whole = magnitude / 1_000_000_000
            let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
            var index = 0
            while index < suffixes.count - 1, whole >= 1024, whole % 1024 == 0 {
                whole /= 1024
                index += 1
            }
            return "\(sign)\(whole)\(suffixes[index])"
        }
        // Decimal: the largest power-of-1000 unit that keeps the mantissa whole.
        var mantissa = magnitude
        var exponent = -9
        while mantissa % 1000 == 0, exponent < 18 {
            mantissa /= 1000
            exponent += 3
        }
        if format == .decimalExponent {
            return exponent == 0 ? "\(sign)\(mantissa)" : "\(sign)\(mantissa)e\(exponent)"
        }
        let units: [Int: String] = [-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"]
        return "\(sign)\(mantissa)\(units[exponent] ?? "")"
    }
}
