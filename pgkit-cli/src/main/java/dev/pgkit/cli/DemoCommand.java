package dev.pgkit.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** A tour of every adapter, one section each, against the configured or an embedded PostgreSQL. */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Walk through every adapter (starts an embedded PostgreSQL when no database is configured).")
final class DemoCommand extends DatabaseCommand {

    @Override
    public Integer call() throws Exception {
        PrintWriter out = out();
        try (DatabaseOptions.Target target = connect(true)) {
            out.println("connected to " + target.pgkit().status().server() + ", schema " + target.pgkit().schema());
            for (CliAdapter adapter : CliAdapter.ALL) {
                adapter.demo().run(target.pgkit(), out);
                out.flush();
            }
            out.println();
            out.println("demo finished: every value above was read back from PostgreSQL.");
        }
        out.flush();
        return 0;
    }
}
