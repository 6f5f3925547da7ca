import ArgumentParser

/// The `interp` command-line tool.
@main
struct InterpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interp",
        abstract: "Mechanistic interpretability and circuit discovery for Hugging Face language models, on the CPU.",
        version: "0.1.0",
        subcommands: [BenchCommand.self]
    )
}
