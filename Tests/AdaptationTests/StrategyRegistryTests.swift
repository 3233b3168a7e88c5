import Adaptation
import NN
import TensorCore
import XCTest

final class StrategyRegistryTests: XCTestCase {
    private let context = StrategyContext(featureSize: 15, classCount: 2, rng: SeededGenerator(seed: 0))

    func testBuiltInNamesAndDefaults() throws {
        let registry = StrategyRegistry.builtIn
        for name in ["sourceOnly", "targetOnly", "fineTune", "dann", "domainConfusion", "mmd", "ddc", "dan", "selfTraining", "coral", "entropyMinimization"] {
            let entry = try registry.entry(named: name)
            XCTAssertFalse(entry.paper.isEmpty, name)
            _ = try registry.make(name, options: StrategyOptions(), context: context)
        }
        XCTAssertEqual(try registry.entry(named: "dann").defaultSchedule, .dannRamp(gamma: 10))
        XCTAssertEqual(try registry.entry(named: "ddc").defaultWeight, 0.25)
        let dann = try registry.make("dann", options: StrategyOptions(), context: context) as! DANNStrategy
        XCTAssertEqual(dann.discriminator.hidden, [30], "narrow features: one hidden layer of 2d units")
        let wide = try registry.make(
            "dann", options: StrategyOptions(), context: StrategyContext(featureSize: 512, classCount: 31, rng: SeededGenerator(seed: 0)))
        XCTAssertEqual((wide as! DANNStrategy).discriminator.hidden, [1024, 1024])
        let mmd = try registry.make("mmd", options: StrategyOptions(), context: context) as! MMDStrategy
        XCTAssertEqual(mmd.kernel, .gaussian(.mean(multipliers: [0.25, 0.5, 1, 2, 4])))
        XCTAssertEqual(mmd.estimator, .unbiased)
        let dan = try registry.make("dan", options: StrategyOptions(), context: context) as! MMDStrategy
        XCTAssertEqual(dan.layers, [.features, .logits])
        XCTAssertEqual(dan.estimator, .linear)
    }

    /// Defaults changed by measurement (issue 9; Papers.md "DAN's λ schedule" and "cdan"): dan ramps λ
    /// like dann, cdan's discriminator has the authors' dropout 0.5 (dann's and domainConfusion's keep 0).
    func testDefaultsChosenByMeasurement() throws {
        let registry = StrategyRegistry.builtIn
        XCTAssertEqual(try registry.entry(named: "dan").defaultSchedule, .dannRamp(gamma: 10))
        XCTAssertEqual(try registry.entry(named: "mmd").defaultSchedule, .constant)
        XCTAssertEqual(try registry.entry(named: "ddc").defaultSchedule, .constant)
        func dropouts(_ name: String, _ options: StrategyOptions = StrategyOptions()) throws -> [String] {
            let strategy = try registry.make(name, options: options, context: context)
            let network: Sequential
            switch strategy {
            case let cdan as CDANStrategy: network = cdan.discriminator.network
            case let dann as DANNStrategy: network = dann.discriminator.network
            default: throw XCTSkip("no discriminator")
            }
            return network.layers.map(\.summary).filter { $0.hasPrefix("Dropout") }
        }
        XCTAssertEqual(try dropouts("cdan"), ["Dropout(0.5)"])
        XCTAssertEqual(try dropouts("cdan", StrategyOptions(["discriminatorDropout": .number(0)])), [])
        XCTAssertEqual(try dropouts("dann"), [])
    }

    /// `bandwidthRule: long2015`: the DAN paper's 33 bandwidths, 2^−8 … 2^8 by factors of 2^½,
    /// around the median heuristic; `multipliers` (now up to 64 values) stays for the other rules.
    func testDANPaperKernelFamily() throws {
        let family = BandwidthRule.long2015Multipliers
        XCTAssertEqual(family.count, 33)
        XCTAssertEqual(family.first, 1.0 / 256)
        XCTAssertEqual(family[16], 1)
        XCTAssertEqual(family.last, 256)
        for (a, b) in zip(family, family.dropFirst()) { XCTAssertEqual(b / a, Float(2).squareRoot(), accuracy: 1e-5) }
        let registry = StrategyRegistry.builtIn
        let context = StrategyContext(featureSize: 15, classCount: 2, rng: SeededGenerator(seed: 0))
        let dan = try registry.make("dan", options: StrategyOptions(["bandwidthRule": .string("long2015")]), context: context) as! MMDStrategy
        XCTAssertEqual(dan.kernel, .gaussian(.median(multipliers: family)))
        let many = (1...40).map { OptionValue.number(Double($0)) }
        let mmd = try registry.make("mmd", options: StrategyOptions(["bandwidthRule": .string("median"), "multipliers": .list(many)]), context: context)
        XCTAssertEqual((mmd as! MMDStrategy).kernel, .gaussian(.median(multipliers: (1...40).map(Float.init))))
        XCTAssertThrowsError(try registry.make("dan", options: StrategyOptions(["bandwidthRule": .string("long2016")]), context: context))
    }

    func testErrorsNameTheProblemAndSuggest() {
        let registry = StrategyRegistry.builtIn
        XCTAssertThrowsError(try registry.make("dannn", options: StrategyOptions(), context: context)) { error in
            XCTAssertEqual(error as? StrategyError, .unknownStrategy(name: "dannn", suggestion: "dann"))
        }
        XCTAssertThrowsError(try registry.make("mmd", options: StrategyOptions(["estimater": .string("linear")]), context: context)) { error in
            XCTAssertEqual(error as? StrategyError, .unknownOption(strategy: "mmd", key: "estimater", suggestion: "estimator"))
            XCTAssertTrue("\(error)".contains("did you mean 'estimator'"))
        }
        XCTAssertThrowsError(try registry.make("selfTraining", options: StrategyOptions(["threshold": .string("high")]), context: context)) {
            error in
            guard case .wrongType(let s, let key, _, _)? = error as? StrategyError else { return XCTFail("\(error)") }
            XCTAssertEqual([s, key], ["selfTraining", "threshold"])
        }
        XCTAssertThrowsError(try registry.make("mmd", options: StrategyOptions(["kernel": .string("gausian")]), context: context)) { error in
            XCTAssertTrue("\(error)".contains("did you mean 'gaussian'"), "\(error)")
        }
        XCTAssertThrowsError(try registry.make("selfTraining", options: StrategyOptions(["rounds": .number(2.5)]), context: context))
    }

    func testUserRegisteredStrategy() throws {
        final class Nothing: AdaptationStrategy {
            let name = "nothing"
            func loss(_ batch: StrategyBatch, context: ForwardContext) -> StrategyLoss { .zero }
        }
        var registry = StrategyRegistry.builtIn
        registry.register(StrategyEntry(name: "nothing", summary: "test", paper: "none") { _, _ in Nothing() })
        XCTAssertTrue(registry.names.contains("nothing"))
        XCTAssertEqual(try registry.makeTerm("nothing", context: context).label, "nothing")
        XCTAssertFalse(StrategyRegistry.builtIn.names.contains("nothing"), "no hidden global")
    }
}

final class StrategyRegistryDocumentationTests: XCTestCase {
    func testDocumentationListsOptionsDefaultsAndPapers() {
        let text = StrategyRegistry.builtIn.documentation(names: ["dann"])
        XCTAssertTrue(text.contains("Ganin et al., JMLR 2016"), text)
        XCTAssertTrue(text.contains("2/(1+exp(−10.0·p)) − 1"), text)
        XCTAssertTrue(text.contains("discriminatorDropout"), text)
        XCTAssertFalse(text.contains("target labels:"), "dann trains on no target label")
        XCTAssertTrue(StrategyRegistry.builtIn.documentation(names: ["targetOnly"]).contains("target labels: all"))
        XCTAssertEqual(try StrategyRegistry.builtIn.entry(named: "targetOnly").targetLabels, .all, "the oracle is a grant of every label")
        let brief = StrategyRegistry.builtIn.documentation(brief: true)
        XCTAssertEqual(brief.split(separator: "\n").count, StrategyRegistry.builtIn.names.count)
    }
}
