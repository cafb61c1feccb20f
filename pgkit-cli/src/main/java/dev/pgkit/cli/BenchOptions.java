package dev.pgkit.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * The option checks every {@code pgkit bench} subcommand shares: each rejects an impossible value before anything
 * connects or runs, with a {@link ParameterException} naming the option.
 */
final class BenchOptions {
    /** Longest accepted cell, in seconds. */
    static final int MAX_SECONDS = 3600;
    /** Most client threads (pgkit's pool limit). */
    static final int MAX_CLIENTS = 1000;

    private BenchOptions() {
    }

    /** {@code --duration}: 1 to {@link #MAX_SECONDS} seconds. */
    static void duration(CommandSpec spec, int seconds) {
        seconds(spec, "--duration", seconds, 1, MAX_SECONDS);
    }

    /** An option counting seconds: "{@code option} must be between {@code min} and {@code max} seconds, was ...". */
    static void seconds(CommandSpec spec, String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new ParameterException(spec.commandLine(), option + " must be between " + min + " and " + max + " seconds, was " + value);
        }
    }

    /** A count: "{@code option} must be between {@code min} and {@code max}, was ...". */
    static void range(CommandSpec spec, String option, int value, int min, int max) {
        if (value < min || value > max) {
            throw new ParameterException(spec.commandLine(), option + " must be between " + min + " and " + max + ", was " + value);
        }
    }

    /** {@code --concurrency}: at least one {@code unit} (e.g. "client count"), each from 1 to {@code max}. */
    static void concurrency(CommandSpec spec, List<Integer> values, int max, String unit) {
        if (values.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--concurrency needs at least one " + unit);
        }
        concurrencyValues(spec, values, max);
    }

    /** Each {@code --concurrency} value from 1 to {@code max}. */
    static void concurrencyValues(CommandSpec spec, List<Integer> values, int max) {
        for (int clients : values) {
            range(spec, "--concurrency values", clients, 1, max);
        }
    }

    /** {@code --json}: when given, its directory exists. */
    static void json(CommandSpec spec, Path json) {
        if (json != null) {
            Path parent = json.toAbsolutePath().getParent();
            if (parent == null || !Files.isDirectory(parent)) {
                throw new ParameterException(spec.commandLine(), "--json " + json + ": directory " + parent + " does not exist");
            }
        }
    }
}
