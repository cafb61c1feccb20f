package dev.pgkit.json;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.pgkit.PgkitException;

/** The default {@link JsonCodec}, on a Jackson {@link ObjectMapper}. */
public final class JacksonJsonCodec implements JsonCodec {
    private final ObjectMapper mapper;

    /** A codec on a mapper with every Jackson module found on the class path (e.g. java.time support). */
    public JacksonJsonCodec() {
        this(JsonMapper.builder().findAndAddModules().build());
    }

    /** A codec on the caller's mapper. */
    public JacksonJsonCodec(ObjectMapper mapper) {
        this.mapper = java.util.Objects.requireNonNull(mapper, "mapper");
    }

    @Override
    public String encode(Object value) {
        try {
            return mapper.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode a " + value.getClass().getName() + " as JSON: " + e.getOriginalMessage(), e);
        }
    }

    @Override
    public <T> T decode(String json, Class<T> type) {
        try {
            return mapper.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new PgkitException("stored JSON cannot be read as " + type.getName() + ": " + e.getOriginalMessage(), e);
        }
    }
}
