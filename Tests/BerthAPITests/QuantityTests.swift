import Testing
@testable import BerthAPI

@Suite struct QuantityTests {
    @Test(arguments: [
        ("1000m", "1"), ("0.5", "500m"), ("250m", "250m"), ("1", "1"),
        ("128Mi", "128Mi"), ("1024Mi", "1Gi"), ("0.5Gi", "512Mi"), ("1G", "1G"),
        ("1000M", "1G"), ("1e3", "1e3"), ("1500m", "1500m"), ("100u", "100u"), ("0", "0"),
    ])
    func canonicalForm(input: String, expected: String) throws {
        let quantity = try #require(Quantity(input))
        #expect(quantity.description == expected)
    }

    @Test func equivalentFormsAreEqual() throws {
        #expect(Quantity("1000m") == Quantity("1"))
        #expect(Quantity("1Ki") == Quantity("1024"))
        #expect(Quantity("1e3") == Quantity("1k"))
        #expect(Quantity("1") != Quantity("2"))
    }

    @Test func valuesRoundUp() throws {
        #expect(try #require(Quantity("250m")).milliValue == 250)
        #expect(try #require(Quantity("128Mi")).value == 134_217_728)
        #expect(try #require(Quantity("0.1")).value == 1)
    }

    @Test(arguments: ["", "abc", "1.2.3", "12Zi", "m", "1e"])
    func rejectsGarbage(input: String) {
        #expect(Quantity(input) == nil)
    }
}

@Suite struct IntOrStringTests {
    @Test func scalesPercentages() {
        #expect(IntOrString.string("25%").scaled(total: 10, roundUp: true) == 3)
        #expect(IntOrString.string("25%").scaled(total: 10, roundUp: false) == 2)
        #expect(IntOrString.int(2).scaled(total: 10, roundUp: false) == 2)
        #expect(IntOrString.string("x%").scaled(total: 10, roundUp: false) == nil)
    }
}

@Suite struct LabelSelectorTests {
    @Test func matchLabelsAndExpressions() {
        let selector = LabelSelector(
            matchLabels: ["app": "web"],
            matchExpressions: [.init(key: "tier", operator: "In", values: ["front", "edge"])])
        #expect(selector.matches(["app": "web", "tier": "front"]))
        #expect(!selector.matches(["app": "web", "tier": "back"]))
        #expect(!selector.matches(["app": "api", "tier": "front"]))
        #expect(LabelSelector().matches(["anything": "x"]))
    }
}
