package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * What one adapter adds to the pgkit command: its section of {@code pgkit demo} and its
 * {@code pgkit bench <name>} subcommand. Schema, migrate, cleanup and status come from the library's own
 * registry through {@link Pgkit}; only these two need a line here.
 *
 * @param name  the adapter's name, as {@link Pgkit#adapterNames()} lists it
 * @param demo  its demo section
 * @param bench a new instance of its picocli bench command
 */
record CliAdapter(String name, DemoSection demo, Supplier<Callable<Integer>> bench) {

    /** Every adapter the command knows, in the library's order: one line per adapter. */
    static final List<CliAdapter> ALL = List.of(
            new CliAdapter("state", new StateDemo(), BenchCommand.State::new),
            new CliAdapter("conversation", new ConversationDemo(), ConversationBench::new),
            new CliAdapter("persistence", new PersistenceDemo(), PersistenceBench::new),
            new CliAdapter("store", new StoreDemo(), StoreBench::new),
            new CliAdapter("broadcast", new BroadcastDemo(), BroadcastBench::new));

    /** One adapter's part of {@code pgkit demo}: runs its operations and prints what it read back. */
    @FunctionalInterface
    interface DemoSection {
        void run(Pgkit pgkit, PrintWriter out) throws Exception;
    }
}
