package dev.pgkit.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** A tour of every adapter, one section each, against the configured or an embedded PostgreSQL. */
@Command(name = "demo", description = "Walk through every adapter (starts an embedded PostgreSQL when no database is configured).")
final class DemoCommand implements Callable<Integer> {
    @Mixin
    DatabaseOptions database;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (DatabaseOptions.Target target = database.connect("demo", ((PgkitCommand) spec.root().userObject()).environment, true, out)) {
            out.println("connected to " + target.pgkit().status().server() + ", schema " + target.pgkit().schema());
            new StateDemo(target.pgkit(), out).run();
            out.println();
            out.println("demo finished: every operation above ran against PostgreSQL.");
        }
        out.flush();
        return 0;
    }
}
