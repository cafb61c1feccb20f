package dev.pgkit.cli;

import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code pgkit} command: a demo of every adapter, schema tooling, housekeeping and benchmarks. */
@Command(name = "pgkit", mixinStandardHelpOptions = true, version = "pgkit 0.1.0",
        description = "Locks, caches, lists and queues on PostgreSQL.",
        subcommands = {DemoCommand.class, SchemaCommand.class, MigrateCommand.class, StatusCommand.class,
                CleanupCommand.class, BenchCommand.class})
public final class PgkitCommand implements Runnable {
    /** Where the database variables are read; replaceable for tests. */
    final Map<String, String> environment;

    public PgkitCommand() {
        this(System.getenv());
    }

    PgkitCommand(Map<String, String> environment) {
        this.environment = environment;
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** A command line whose exceptions print as one message (exit 1), not a stack trace. */
    static CommandLine commandLine(PgkitCommand command) {
        CommandLine line = new CommandLine(command);
        line.setExecutionExceptionHandler((e, cl, parsed) -> {
            cl.getErr().println("pgkit: " + e.getMessage());
            return e instanceof DatabaseOptions.NotConfiguredException ? 2 : 1;
        });
        return line;
    }

    public static void main(String[] args) {
        System.exit(commandLine(new PgkitCommand()).execute(args));
    }
}
