package dev.pgkit.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** Deletes expired rows now, in bounded batches. */
@Command(name = "cleanup", description = "Delete every expired row now (what background housekeeping does).")
final class CleanupCommand extends DatabaseCommand {

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (DatabaseOptions.Target target = connect(false)) {
            out.println("deleted " + target.pgkit().cleanup() + " expired row(s) in schema " + target.pgkit().schema());
        }
        out.flush();
        return 0;
    }
}
