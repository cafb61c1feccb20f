package dev.pgkit.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** A tour of every adapter, one section each, against the configured or an embedded PostgreSQL. */
@Command(name = "demo", description = "Walk through every adapter (starts an embedded PostgreSQL when no database is configured).")
final class DemoCommand extends DatabaseCommand {

    @Override
    public Integer call() throws Exception {
        PrintWriter out = out();
        try (DatabaseOptions.Target target = connect(true)) {
            out.println("connected to " + target.pgkit().status().server() + ", schema " + target.pgkit().schema());
            new StateDemo(target.pgkit(), out).run();
            out.println();
            out.println("demo finished: every operation above ran against PostgreSQL.");
        }
        out.flush();
        return 0;
    }
}
