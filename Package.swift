// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "DAKit",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "DomainData", targets: ["DomainData"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "HDF5Kit", targets: ["HDF5Kit"]),
        .library(name: "Adaptation", targets: ["Adaptation"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .library(name: "DAKit", targets: ["TensorCore", "DomainData", "NN", "HDF5Kit", "Adaptation", "Experiments"]),
        .library(name: "DAKitCLI", targets: ["DAKitCLI"]),
        .executable(name: "dakit", targets: ["dakit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        .target(name: "TensorCore", dependencies: ["CBLAS"]),
        .target(name: "NN", dependencies: ["TensorCore"]),
        .target(name: "DomainData", dependencies: ["TensorCore"]),
        .target(name: "HDF5Kit", dependencies: ["CHDF5", "TensorCore", "DomainData", "NN"]),
        .target(name: "Adaptation", dependencies: ["TensorCore", "DomainData", "NN"]),
        .target(
            name: "Experiments",
            dependencies: ["TensorCore", "NN", "HDF5Kit", "Adaptation", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "DAKitCLI",
            dependencies: [
                "TensorCore", "NN", "HDF5Kit", "Adaptation", "Experiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "dakit", dependencies: ["DAKitCLI"]),
        .target(name: "TestSupport", dependencies: ["TensorCore", "NN"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "DomainDataTests", dependencies: ["DomainData", "TensorCore", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "HDF5KitTests", dependencies: ["HDF5Kit", "NN", "TensorCore", "TestSupport"]),
        .testTarget(name: "AdaptationTests", dependencies: ["Adaptation", "HDF5Kit", "NN", "TensorCore", "TestSupport"]),
        .testTarget(
            name: "ExperimentsTests",
            dependencies: ["Experiments", "Adaptation", "HDF5Kit", "NN", "TensorCore", "TestSupport", "dakit"],
            exclude: ["Golden"]),
    ]
)
