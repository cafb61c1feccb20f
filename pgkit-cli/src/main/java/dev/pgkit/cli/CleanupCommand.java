package dev.pgkit.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Deletes expired rows now, in bounded batches. */
@Command(name = "cleanup", description = "Delete every expired row now (what background housekeeping does).")
final class CleanupCommand implements Callable<Integer> {
    @Mixin
    DatabaseOptions database;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (DatabaseOptions.Target target = database.connect("cleanup", ((PgkitCommand) spec.root().userObject()).environment, false, out)) {
            out.println("deleted " + target.pgkit().cleanup() + " expired row(s) in schema " + target.pgkit().schema());
        }
        out.flush();
        return 0;
    }
}
