package dev.pgkit.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** A subcommand that talks to a database: {@code --url}/{@code --schema}, output, and connecting. */
abstract class DatabaseCommand implements Callable<Integer> {
    @Mixin
    DatabaseOptions database;

    @Spec
    CommandSpec spec;

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    /** Connects with a small pool; without a configured database, starts an embedded one if {@code embeddedAllowed}. */
    DatabaseOptions.Target connect(boolean embeddedAllowed) {
        return connect(embeddedAllowed, 4);
    }

    DatabaseOptions.Target connect(boolean embeddedAllowed, int poolSize) {
        PgkitCommand root = (PgkitCommand) spec.root().userObject();
        return database.connect(spec.name(), root.environment, embeddedAllowed, out(), poolSize);
    }
}
