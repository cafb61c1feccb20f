package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints the DDL of every adapter; needs no database. */
@Command(name = "schema", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Print the DDL of every adapter (for DBAs, Flyway, Liquibase). Needs no database.")
final class SchemaCommand implements Callable<Integer> {
    @Option(names = "--schema", defaultValue = "public", description = "schema of pgkit's tables (default: ${DEFAULT-VALUE})")
    String schema;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(Pgkit.schemaDdl(schema));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
