package dev.pgkit.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Applies every adapter's missing schema versions. */
@Command(name = "migrate", description = "Apply every adapter's missing schema versions.")
final class MigrateCommand implements Callable<Integer> {
    @Mixin
    DatabaseOptions database;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (DatabaseOptions.Target target = database.connect("migrate", ((PgkitCommand) spec.root().userObject()).environment, false, out)) {
            int applied = target.pgkit().migrate();
            out.println("applied " + applied + " schema version(s) in schema " + target.pgkit().schema()
                    + "; now at " + target.pgkit().status().schemaVersions());
        }
        out.flush();
        return 0;
    }
}
