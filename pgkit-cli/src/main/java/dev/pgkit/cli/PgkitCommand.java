package dev.pgkit.cli;

import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;

/** The {@code pgkit} command: a demo of every adapter, schema tooling, housekeeping and benchmarks. */
@Command(name = "pgkit", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Locks, caches, lists and queues on PostgreSQL.",
        subcommands = {DemoCommand.class, SchemaCommand.class, MigrateCommand.class, StatusCommand.class,
                CleanupCommand.class, BenchCommand.class, SyncCommand.class})
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

    /** {@code --version} of every subcommand. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"pgkit 0.1.0"};
        }
    }

    /**
     * The command line with every adapter's bench subcommand, whose exceptions print as one message (exit 1;
     * 2 when no database is configured), never a stack trace.
     */
    static CommandLine commandLine(PgkitCommand command) {
        CommandLine line = new CommandLine(command);
        CommandLine bench = line.getSubcommands().get("bench");
        for (CliAdapter adapter : CliAdapter.ALL) {
            bench.addSubcommand(adapter.name(), adapter.bench().get());
        }
        line.setExecutionExceptionHandler((e, cl, parsed) -> {
            cl.getErr().println(cl.getCommandSpec().qualifiedName() + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return e instanceof DatabaseOptions.NotConfiguredException ? 2 : 1;
        });
        return line;
    }

    public static void main(String[] args) {
        System.exit(commandLine(new PgkitCommand()).execute(args));
    }
}
