import ArgumentParser

/// `switchboard`: the gateway, its migrations, and the provider simulator.
@main
struct SwitchboardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchboard",
        abstract: "A multi-channel messaging gateway (SMS, RCS, Messenger, web chat).",
        subcommands: [ServeCommand.self, MigrateCommand.self, SimulateCommand.self, BenchCommand.self])
}

/// Options every subcommand that reads the configuration shares.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: $SWITCHBOARD_CONFIG, else Config/switchboard.json when present).")
    var config: String?
}
