package dev.pgkit.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;

/** Applies every adapter's missing schema versions. */
@Command(name = "migrate", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Apply every adapter's missing schema versions.")
final class MigrateCommand extends DatabaseCommand {

    @Override
    public Integer call() {
        PrintWriter out = out();
        try (DatabaseOptions.Target target = connect(false)) {
            int applied = target.pgkit().migrate();
            out.println("applied " + applied + " schema version(s) in schema " + target.pgkit().schema()
                    + "; now at " + target.pgkit().status().schemaVersions());
        }
        out.flush();
        return 0;
    }
}
