package dev.pgkit.json;

/**
 * Turns values into the JSON text pgkit stores and back. The default, {@link JacksonJsonCodec},
 * writes what {@code JSON.stringify} would, so rows are shared with the Node adapters.
 */
public interface JsonCodec {
    /** The JSON text of {@code value}. */
    String encode(Object value);

    /** The value of JSON text {@code json} as a {@code type}. */
    <T> T decode(String json, Class<T> type);
}
