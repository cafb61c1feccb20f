package dev.pgkit.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** Runs every adapter's cleanups now, in bounded batches. */
@Command(name = "cleanup", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Delete every adapter's garbage now (expired rows, rows past retention or beyond keep-newest limits), "
                + "in bounded batches: what background housekeeping does.")
final class CleanupCommand extends DatabaseCommand {

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (DatabaseOptions.Target target = connect(false)) {
            out.println("deleted " + target.pgkit().cleanup() + " row(s) in schema " + target.pgkit().schema());
        }
        out.flush();
        return 0;
    }
}
