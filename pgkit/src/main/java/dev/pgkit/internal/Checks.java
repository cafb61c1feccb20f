package dev.pgkit.internal;

import dev.pgkit.json.JsonCodec;

/**
 * The argument checks the adapters share, run before any SQL so that bad input never reaches the database. Every
 * failure is an {@link IllegalArgumentException} whose message names the argument. Each adapter's own {@code Check}
 * keeps only its own rules (its limits, its nouns, its formats) and delegates here. Internal to pgkit (not exported).
 */
public final class Checks {
    private Checks() {
    }

    /** Describes a value the codec could not encode; the adapters word this failure differently. */
    @FunctionalInterface
    public interface EncodeFailure {
        /** The message for {@code name}'s {@code value}, which the codec refused with {@code failure}. */
        String describe(String name, Object value, RuntimeException failure);
    }

    /** {@code value}, or "{@code name} must not be null". */
    public static <T> T notNull(String name, T value) {
        if (value == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        return value;
    }

    /** {@code value}, or "{@code name} must be at least 1, was ...". */
    public static int positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + value);
        }
        return value;
    }

    /** {@code value}, or "{@code name} must be at least 1, was ...". */
    public static long positive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + value);
        }
        return value;
    }

    /** {@code value}, or "{@code name} must not be negative, was ...". */
    public static long notNegative(String name, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must not be negative, was " + value);
        }
        return value;
    }

    /** A page size from 1 to {@code max}, or "limit must be between 1 and {@code max}, was ...". */
    public static int limit(int limit, int max) {
        if (limit < 1 || limit > max) {
            throw new IllegalArgumentException("limit must be between 1 and " + max + ", was " + limit);
        }
        return limit;
    }

    /**
     * Text for a name, id or key: not null, not empty, at most {@code maxLength} chars, no control characters but tab
     * (see {@link #printable}).
     */
    public static String text(String name, String value, int maxLength, String noun) {
        notEmpty(name, value);
        maxLength(name, value, maxLength);
        return printable(name, value, noun);
    }

    /** {@code value}, or "{@code name} must not be null" / "... must not be empty". */
    public static String notEmpty(String name, String value) {
        notNull(name, value);
        if (value.isEmpty()) {
            throw new IllegalArgumentException(name + " must not be empty");
        }
        return value;
    }

    /** {@code value}, or "{@code name} must not be null" / "... is N characters long; at most M are allowed". */
    public static String maxLength(String name, String value, int maxLength) {
        notNull(name, value);
        if (value.length() > maxLength) {
            throw new IllegalArgumentException(name + " is " + value.length() + " characters long; at most " + maxLength + " are allowed");
        }
        return value;
    }

    /**
     * {@code value} if it holds no NUL and no control character but tab; the message names the first such character,
     * its index, and that pgkit rejects control characters in {@code noun} (e.g. "names", "keys").
     */
    public static String printable(String name, String value, String noun) {
        return printable(name, value, noun, false);
    }

    /** Like {@link #printable(String, String, String)}, and also refuses an unpaired surrogate (not valid UTF-8). */
    public static String printableUtf8(String name, String value, String noun) {
        return printable(name, value, noun, true);
    }

    private static String printable(String name, String value, String noun, boolean pairedSurrogates) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == 0 || (Character.isISOControl(c) && c != '\t')) {
                throw new IllegalArgumentException(name + " contains control character U+" + String.format("%04X", (int) c) + " at index " + i
                        + "; PostgreSQL text cannot hold NUL and pgkit rejects control characters in " + noun);
            }
            if (pairedSurrogates && Character.isSurrogate(c)
                    && !(Character.isHighSurrogate(c) && i + 1 < value.length() && Character.isLowSurrogate(value.charAt(++i)))) {
                throw new IllegalArgumentException(name + " contains an unpaired surrogate at index " + i + ", which is not valid UTF-8");
            }
        }
        return value;
    }

    /**
     * The codec's JSON text for a user value (not null), before any SQL; a value the codec throws on fails with an
     * {@link IllegalArgumentException} worded by {@code failure}, the codec's exception as its cause. The text is
     * returned as the codec gave it: the caller checks what its column cannot hold.
     */
    public static String encode(JsonCodec codec, String name, Object value, EncodeFailure failure) {
        notNull(name, value);
        try {
            return codec.encode(value);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(failure.describe(name, value, e), e);
        }
    }
}
